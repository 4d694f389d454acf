// Prints one markdown row per pretraining run under the given folders (any depth): the last step
// logged, the loss, clips/s and the sampler's telemetry at that step, and the last line of its stderr
// log when there is one. Used between the device calls of a sweep to see how far each run got.
// Usage: node bench/run-status.mjs runs/sweep runs/long
import fs from 'node:fs';
import path from 'node:path';

function* metricsFiles(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'checkpoints' && !e.name.startsWith('shards')) yield* metricsFiles(p);
    else if (e.name === 'metrics.jsonl') yield p;
  }
}
const f = (v, d) => (typeof v === 'number' ? v.toPrecision(d) : '-');
console.log('| run | step | loss | clips/s | kl | entropy | masked-moving / moving | last stderr line |');
console.log('|---|---:|---:|---:|---:|---:|---|---|');
for (const root of process.argv.slice(2)) {
  if (!fs.existsSync(root)) continue;
  for (const m of [...metricsFiles(root)].sort()) {
    const rows = fs.readFileSync(m, 'utf8').split('\n').flatMap((l) => { try { const j = JSON.parse(l); return typeof j.step === 'number' ? [j] : []; } catch { return []; } });
    const last = rows[rows.length - 1] ?? {};
    const dir = path.dirname(m);
    const errs = [path.join(path.dirname(dir), 'stderr.log'), dir + '.err'].filter((e) => fs.existsSync(e));
    const tail = errs.length ? fs.readFileSync(errs[0], 'utf8').trim().split('\n').pop().slice(0, 160) : '';
    console.log(`| ${dir} | ${last.step ?? 0} | ${f(last.loss, 4)} | ${f(last.clips_per_s, 4)} | ${f(last.kl, 2)} | ${f(last.entropy, 3)} | ${f(last.masked_moving_share, 3)} / ${f(last.moving_share, 3)} | ${tail.replace(/\|/g, '/')} |`);
  }
}
