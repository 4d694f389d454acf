# Sums a Chrome trace written by TATS_TRACE (native/core/step_trace.h): GPU kernel time per step
# phase (the tats.* scopes), per kernel name, per launching aten op, per phase and op, and the
# copies and casts (aten::copy_) per phase and input shapes/dtypes.
# Usage: python3 bench/trace_summary.py trace.json [top]
import collections, json, re, sys

trace = json.load(open(sys.argv[1]))
top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
ev = [e for e in trace.get('traceEvents', trace) if isinstance(e, dict) and e.get('ph') == 'X']
kernels = [e for e in ev if e.get('cat') in ('kernel', 'gpu_memcpy', 'gpu_memset')]
op_events = {e['args']['External id']: e for e in ev
             if e.get('cat') == 'cpu_op' and 'External id' in e.get('args', {})}
ops = {i: e['name'] for i, e in op_events.items()}
phases = [e for e in ev if e.get('cat') == 'gpu_user_annotation' and str(e.get('name', '')).startswith('tats.')]
if not phases:  # older traces: the CPU-side ranges
    phases = [e for e in ev if e.get('cat') == 'user_annotation' and str(e.get('name', '')).startswith('tats.')]

total = sum(k['dur'] for k in kernels)
span = (max(k['ts'] + k['dur'] for k in kernels) - min(k['ts'] for k in kernels)) if kernels else 0
print(f'kernels {len(kernels)}, GPU busy {total / 1e3:.2f} ms, first-to-last span {span / 1e3:.2f} ms')

def phase_of(k):
    # innermost tats.* range (GPU timeline) that contains the kernel's start
    best = None
    for p in phases:
        if p['ts'] <= k['ts'] < p['ts'] + p['dur'] and (best is None or p['dur'] < best['dur']):
            best = p
    return best['name'] if best else '(outside scopes)'

by_phase = collections.defaultdict(lambda: [0, 0.0])
by_name = collections.defaultdict(lambda: [0, 0.0])
by_op = collections.defaultdict(lambda: [0, 0.0])
by_phase_op = collections.defaultdict(lambda: [0, 0.0])
copies = collections.defaultdict(lambda: [0, 0.0])
for k in kernels:
    ph = phase_of(k)
    by_phase[ph][0] += 1; by_phase[ph][1] += k['dur']
    # The function's name: '(anonymous namespace)::' would cut it at its '(' (tats and ATen kernels).
    name = re.sub(r'<.*', '', re.sub(r'\(.*', '', k['name'].replace('(anonymous namespace)::', '')))[:90]
    by_name[name][0] += 1; by_name[name][1] += k['dur']
    op_event = op_events.get(k.get('args', {}).get('External id'))
    op = op_event['name'] if op_event else '?'
    by_op[op][0] += 1; by_op[op][1] += k['dur']
    by_phase_op[f'{ph}  {op}'][0] += 1; by_phase_op[f'{ph}  {op}'][1] += k['dur']
    if op == 'aten::copy_':  # what is copied or cast: (dst, src) shapes and dtypes (report_input_shapes)
        a = op_event.get('args', {})
        key = f"{ph}  {a.get('Input Dims', '?')[:2]} {a.get('Input type', '?')[:2]}"
        copies[key][0] += 1; copies[key][1] += k['dur']

def show(title, table, n):
    print(f'\n## {title}')
    for key, (c, t) in sorted(table.items(), key=lambda x: -x[1][1])[:n]:
        print(f'{t / 1e3:9.3f} ms {100 * t / max(total, 1):5.1f}% {c:5d}  {key}')

show('GPU time by step phase (tats.* scopes)', by_phase, 20)
show('GPU time by launching aten op', by_op, top)
show('GPU time by kernel', by_name, top)
show('GPU time by step phase and aten op', by_phase_op, top)
show('aten::copy_ by step phase, (dst, src) dims and dtypes', copies, top)
