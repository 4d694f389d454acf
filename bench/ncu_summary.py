# Sums an ncu --csv log (metric gpu__time_duration.sum) by kernel name for the last training step
# (from the last patchify kernel on). Usage: python3 bench/ncu_summary.py ncu.csv
import csv, sys, collections, re
rows = list(csv.reader(open(sys.argv[1], errors='replace')))
# find header
hi = next(i for i, r in enumerate(rows) if 'Kernel Name' in r)
h = rows[hi]; data = rows[hi+1:]
ki, vi, mi, ui = h.index('Kernel Name'), h.index('Metric Value'), h.index('Metric Name'), h.index('Metric Unit')
ks = []
for r in data:
    if len(r) <= vi or r[mi] != 'gpu__time_duration.sum': continue
    v = float(r[vi].replace(',', ''))
    unit = r[ui]
    ns = v * {'nsecond': 1, 'usecond': 1e3, 'msecond': 1e6, 'ns': 1, 'us': 1e3, 'ms': 1e6}.get(unit, 1)
    ks.append((r[ki], ns))
print('kernels', len(ks))
# step boundaries: patchify kernel
starts = [i for i, (n, _) in enumerate(ks) if 'patchify' in n]
print('patchify at', starts)
seg = ks[starts[-1]:] if starts else ks
tot = sum(t for _, t in seg)
print('last step: %d kernels, %.2f ms' % (len(seg), tot / 1e6))
agg = collections.defaultdict(lambda: [0, 0.0])
for n, t in seg:
    key = re.sub(r'\(.*', '', n)[:110]
    agg[key][0] += 1; agg[key][1] += t
for k, (c, t) in sorted(agg.items(), key=lambda x: -x[1][1])[:40]:
    print('%8.3f ms %5.1f%% %4d  %s' % (t / 1e6, 100 * t / tot, c, k))
