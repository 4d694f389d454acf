// The JSON lines and the summary of bench/gpu-speed-call.sh (issue 19): `tats bench` beside the public
// PyTorch references (anchor_bench.py), timed in one call on one GPU.
// Usage:
//   node bench/speed-summary.mjs row TAG_JSON STDOUT_FILE RC [STDERR_FILE] [WALL_S] [TIMEOUT_S]
//       one line: TAG merged with the last JSON object of STDOUT_FILE, or TAG with `failed` when none
//   node bench/speed-summary.mjs notrun TAG_JSON REASON
//       one line: TAG with `not_run`
//   node bench/speed-summary.mjs summary SPEED_JSONL
//       markdown: our rows (clips/s, MFU, peak GiB, ratio to the best reference of their kind, peak
//       memory against the SDPA reference at batch 32), the references, the issue's targets (met/missed)
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';

/** The issue's targets: clips/s ratios to the best reference, MFU, peak memory against the SDPA reference. */
export const TARGETS = {
  tubeSpeedup: 2,
  tubeMfu: 0.4,
  adamaeSpeedup: 2,
  tatsSpeedup: 1.5,
  memoryRatio: 0.83,
};

/** The reference each of our strategies is compared with. */
const KIND = { tube: 'videomae', adamae: 'adamae', tats: 'adamae' };
const NAME = { videomae: 'VideoMAE', adamae: 'AdaMAE' };

function lastJson(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i].startsWith('{')) continue;
    try {
      const j = JSON.parse(lines[i]);
      if (j && typeof j === 'object' && !Array.isArray(j)) return j;
    } catch {
      // not a JSON line: a log line that starts with a brace
    }
  }
  return null;
}

function lastLines(file, n) {
  if (!file || !fs.existsSync(file)) return '';
  const lines = fs.readFileSync(file, 'utf8').replace(/\x1b\[[0-9;]*m/g, '').split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.slice(-n).join(' / ').slice(0, 400);
}

/** One row's line: the tag first (its values win), then the row's own fields, then how it went. */
export function rowLine(tag, stdout, rc, stderrTail, wallS, timeoutS) {
  const res = lastJson(stdout);
  const extra = {};
  if (wallS !== undefined) extra.wall_s = wallS;
  if (rc !== 0) extra.rc = rc;
  // A row failed when its command did (`tats bench --json` prints {"error": ...} and exits 2) or printed no JSON.
  if (rc !== 0 || !res || res.error) {
    const timedOut = rc === 124 || rc === 137;
    const why = res?.error?.message ?? stderrTail ?? '';
    extra.failed = timedOut ? `timed out after ${timeoutS ?? '?'} s` : `exit ${rc}: ${why || 'no JSON line'}`;
    if (timedOut && stderrTail) extra.stderr_tail = stderrTail;
  }
  return JSON.stringify({ ...tag, ...(res ?? {}), ...tag, ...extra });
}

export function parseLines(text) {
  return text.split('\n').flatMap((l) => {
    try {
      const j = JSON.parse(l);
      return j && typeof j === 'object' && typeof j.row === 'string' ? [j] : [];
    } catch {
      return [];
    }
  });
}

const num = (v) => typeof v === 'number' && Number.isFinite(v);
const f = (v, d = 1) => (num(v) ? (v !== 0 && Math.abs(v) < 1 ? v.toPrecision(2) : v.toFixed(d)) : '-');
const pct = (v, d = 1) => (num(v) ? `${(v * 100).toFixed(d)}%` : '-');
const measured = (r) => !r.not_run && !r.failed && num(r.clips_per_s);

function refLabel(r) {
  const parts = [NAME[r.model] ?? r.model, r.amp, r.attn === 'sdpa' ? 'SDPA' : r.attn];
  if (r.compiled) parts.push('compiled');
  return parts.join(', ');
}
function oursMask(r) {
  const ppo = r.strategy === 'tats' && num(r.config?.sampler?.ppoEpochs) ? `, ${r.config.sampler.ppoEpochs} PPO epochs` : '';
  return `${r.mask_ratio ?? '-'}${ppo}`;
}
function rowName(r) {
  if (r.row === 'tats') return `tats bench ${r.strategy ?? '?'} b${r.batch ?? r.batch_size ?? '?'}${r.flags ? ` ${r.flags}` : ''}`;
  if (r.row === 'ref') return `${refLabel(r)} b${r.batch ?? '?'}`;
  return r.row;
}

/** "met, 12.0% above" / "missed, 19.0% short (needs 1.23x more)": at-least goals. */
function atLeast(value, goal) {
  if (!num(value)) return 'unknown (not measured)';
  if (value >= goal) return `**met**, ${pct(value / goal - 1)} above`;
  return `**missed**, ${pct(1 - value / goal)} short (needs ${(goal / value).toFixed(2)}x more)`;
}
/** At-most goals (memory). */
function atMost(value, goal) {
  if (!num(value)) return 'unknown (not measured)';
  if (value <= goal) return `**met**, ${pct(1 - value / goal)} under`;
  return `**missed**, ${pct(value / goal - 1)} over`;
}

export function summarize(rows) {
  const meta = rows.find((r) => r.row === 'meta') ?? {};
  const call = rows.find((r) => r.row === 'call') ?? {};
  const mm = rows.find((r) => r.row === 'matmul' && num(r.tflops));
  const ours = rows.filter((r) => r.row === 'tats');
  const refs = rows.filter((r) => r.row === 'ref');
  const bestRef = (kind) =>
    refs.filter((r) => r.model === kind && measured(r)).reduce((a, r) => (!a || r.clips_per_s > a.clips_per_s ? r : a), null);
  const sdpaRef32 = (kind) =>
    refs.find((r) => r.model === kind && r.attn === 'sdpa' && !r.compiled && r.batch === 32 && num(r.peak_gib) && measured(r));
  // The targets take our rows at the default settings only: a row with flags is a comparison.
  const bestOurs = (strategy) =>
    ours.filter((r) => r.strategy === strategy && !r.flags && measured(r)).reduce((a, r) => (!a || r.clips_per_s > a.clips_per_s ? r : a), null);
  const ours32 = (strategy) => ours.find((r) => r.strategy === strategy && !r.flags && (r.batch ?? r.batch_size) === 32 && measured(r));
  const mfuTorch = (r) => (mm && num(r.model_tflops) ? r.model_tflops / mm.tflops : null);

  const out = [];
  out.push('# Speed: `tats bench` beside the PyTorch references, one call, one GPU (issue 19)', '');
  if (meta.smoke) out.push('**SMOKE run: CPU, toy sizes; not a measurement.**', '');
  out.push(
    `- device: ${meta.gpu ?? '?'}${meta.driver ? ` (driver ${meta.driver})` : ''}; PyTorch ${meta.torch ?? '-'} (references); libtorch ${ours.find((r) => r.torch)?.torch ?? '-'} (ours); node ${meta.node ?? '?'}`,
    `- tats commit: ${meta.commit ?? '?'}; date: ${meta.date ?? '?'}; call wall ${f(call.wall_s, 0)} s of END_S ${meta.end_s ?? '?'} (native build ${f(call.build_s, 0)} s)`,
    `- ${mm ? `matmul ${mm.size}^3 ${mm.dtype} (PyTorch): **${f(mm.tflops)} TFLOP/s** (median of ${mm.reps} x ${mm.iters}; best ${f(mm.tflops_best)})` : 'matmul (PyTorch): not measured'}`,
    '',
  );

  out.push('## Ours (`tats bench --json`)', '');
  out.push(`| strategy | mask | batch | clips/s | step ms | model TFLOP/s | MFU | MFU vs PyTorch matmul | peak GiB | x best reference (clips/s) | peak vs SDPA reference b32 |`);
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|');
  for (const r of ours.filter(measured)) {
    const kind = KIND[r.strategy];
    const best = kind ? bestRef(kind) : null;
    const sd = kind ? sdpaRef32(kind) : null;
    const batch = r.batch ?? r.batch_size;
    const speed = best ? `${(r.clips_per_s / best.clips_per_s).toFixed(2)}x ${NAME[kind]} (${refLabel(best)} b${best.batch})` : '-';
    const mem = batch === 32 && sd && num(r.peak_mem_gib) ? `${(r.peak_mem_gib / sd.peak_gib).toFixed(2)}x (${f(sd.peak_gib, 2)} GiB)` : '-';
    out.push(
      `| ${r.strategy}${r.flags ? ` \`${r.flags}\`` : ''} | ${oursMask(r)} | ${batch} | ${f(r.clips_per_s)} | ${f(r.step_ms, 1)} | ${f(r.model_tflops)} | ${pct(r.mfu)} | ${pct(mfuTorch(r))} | ${f(r.peak_mem_gib, 2)} | ${speed} | ${mem} |`,
    );
  }
  out.push('');

  out.push('## References (`anchor_bench.py`: VideoMAE tube masking, AdaMAE learned sampler; ViT-B/16, 16x224, decoder 4 x 384, AdamW)', '');
  out.push('| reference | mask | batch | clips/s | step ms | peak GiB | model TFLOP/s | MFU vs PyTorch matmul |');
  out.push('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const r of refs.filter(measured)) {
    out.push(`| ${refLabel(r)} | ${r.mask_ratio ?? '-'} | ${r.batch} | ${f(r.clips_per_s)} | ${f(r.step_ms, 1)} | ${f(r.peak_gib, 2)} | ${f(r.model_tflops)} | ${pct(mfuTorch(r))} |`);
  }
  out.push('');

  out.push('## Targets', '');
  const refsMissing = refs.filter((r) => !measured(r)).length;
  if (refsMissing) out.push(`The best reference is the best of those measured: ${refsMissing} of ${refs.length} reference rows did not run or failed (listed below).`, '');
  out.push('| target | measured | verdict |', '|---|---|---|');
  const speedTarget = (strategy, goal) => {
    const kind = KIND[strategy];
    const o = bestOurs(strategy);
    const b = bestRef(kind);
    const label = `${strategy} >= ${goal}x best ${NAME[kind]} (clips/s)`;
    if (!o || !b) return `| ${label} | ${!o ? `no ${strategy} row measured` : `no ${NAME[kind]} reference measured`} | unknown |`;
    const r = o.clips_per_s / b.clips_per_s;
    // What the goal asks of our step in MFU terms: goal x the reference's clips/s at our FLOPs per clip.
    const peak = num(o.matmul_peak_tflops) ? o.matmul_peak_tflops : mm?.tflops;
    const goalClips = goal * b.clips_per_s;
    const goalMfu = num(o.model_tflops) && num(peak) ? (goalClips * o.model_tflops) / o.clips_per_s / peak : null;
    const asks = `; the goal, ${f(goalClips)} clips/s, is ${goalMfu === null ? 'an unknown MFU' : `${pct(goalMfu)} MFU`} at our FLOPs per clip`;
    return `| ${label} | ${strategy} b${o.batch ?? o.batch_size} ${f(o.clips_per_s)} / ${refLabel(b)} b${b.batch} ${f(b.clips_per_s)} = ${r.toFixed(2)}x${asks} | ${atLeast(r, goal)} |`;
  };
  out.push(speedTarget('tube', TARGETS.tubeSpeedup));
  {
    const o = bestOurs('tube');
    const label = `tube MFU >= ${pct(TARGETS.tubeMfu, 0)}`;
    out.push(
      o
        ? `| ${label} | tube b${o.batch ?? o.batch_size}: ${pct(o.mfu)} of the in-process matmul peak ${f(o.matmul_peak_tflops)} TFLOP/s (${pct(mfuTorch(o))} of the PyTorch matmul) | ${atLeast(o.mfu ?? mfuTorch(o), TARGETS.tubeMfu)} |`
        : `| ${label} | no tube row measured | unknown |`,
    );
  }
  out.push(speedTarget('adamae', TARGETS.adamaeSpeedup));
  out.push(speedTarget('tats', TARGETS.tatsSpeedup));
  for (const strategy of ['tube', 'adamae', 'tats']) {
    const kind = KIND[strategy];
    const o = ours32(strategy);
    const sd = sdpaRef32(kind);
    const label = `${strategy} peak memory at b32 <= ${TARGETS.memoryRatio}x ${NAME[kind]} SDPA (bf16, not compiled) b32`;
    if (!o || !sd || !num(o.peak_mem_gib)) {
      out.push(`| ${label} | ${!o ? `no ${strategy} b32 row measured` : !sd ? `no ${NAME[kind]} SDPA b32 reference measured` : 'no peak memory'} | unknown |`);
      continue;
    }
    const r = o.peak_mem_gib / sd.peak_gib;
    out.push(`| ${label} | ${f(o.peak_mem_gib, 2)} / ${f(sd.peak_gib, 2)} GiB = ${r.toFixed(2)}x | ${atMost(r, TARGETS.memoryRatio)} |`);
  }
  out.push('');

  const skipped = rows.filter((r) => (r.row === 'tats' || r.row === 'ref' || r.row === 'matmul') && (r.not_run || r.failed));
  if (skipped.length) {
    out.push('## Not run or failed', '');
    for (const r of skipped) out.push(`- ${rowName(r)}: ${r.not_run ? `not run (${r.not_run})` : `failed (${r.failed})`}`);
    out.push('');
  }

  out.push(
    '## Notes',
    '',
    '- Speed ratios are clips/s, measured in this call on this GPU, one process per row, one row at a time.',
    '- MFU: our model FLOPs (lib/train/flops.ts) over the 8192^2 bf16 matmul peak measured in the same `tats bench` process; "vs PyTorch matmul" divides model TFLOP/s by the matmul row above. The references count their FLOPs their own way (anchor_bench.py), so compare speed by clips/s.',
    '- Peak memory: ours is the allocator peak over warm-up and timed steps (the CUDA graph pool included); anchor_bench.py resets the peak after its warm-up steps.',
    '',
  );
  return out.join('\n');
}

function main(argv) {
  const [mode, ...args] = argv;
  if (mode === 'row') {
    const [tag, stdoutFile, rc, stderrFile, wall, timeout] = args;
    const stdout = fs.existsSync(stdoutFile) ? fs.readFileSync(stdoutFile, 'utf8') : '';
    const toNum = (v) => (v === undefined || v === '' ? undefined : Number(v));
    console.log(rowLine(JSON.parse(tag), stdout, Number(rc), lastLines(stderrFile, 2), toNum(wall), toNum(timeout)));
  } else if (mode === 'notrun') {
    console.log(JSON.stringify({ ...JSON.parse(args[0]), not_run: args[1] }));
  } else if (mode === 'summary') {
    process.stdout.write(summarize(parseLines(fs.readFileSync(args[0], 'utf8'))));
  } else {
    console.error('usage: node bench/speed-summary.mjs row TAG STDOUT RC [STDERR] [WALL_S] [TIMEOUT_S] | notrun TAG REASON | summary JSONL');
    process.exit(2);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2));
