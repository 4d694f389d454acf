// Runs many bench/pretrain-vs-scratch.mjs experiments side by side (a process each, CONCURRENCY at
// once) and gathers their JSON lines: the sweep behind docs/finetune.md's pretrained-vs-scratch
// tables. Usage: node bench/pvs-sweep.mjs SWEEP.json OUT.jsonl [CONCURRENCY=4]
// SWEEP.json: {"common": {...fields for every experiment}, "runs": [{tag, ...}, ...]}; a run's
// `env` object is added to its process's environment, except TATS_SYNTHETIC_STYLE (the look of the
// clips, set so in the sweeps of bench/sweeps/ before it became the config field
// data.syntheticStyle; the variable is refused now): it becomes the run's `style` field.
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';

const [file, outFile, conc = '4'] = process.argv.slice(2);
const sweep = JSON.parse(readFileSync(file, 'utf8'));
const queue = sweep.runs.map((r) => {
  const e = { ...sweep.common, ...r };
  const { TATS_SYNTHETIC_STYLE: look, ...env } = e.env ?? {};
  return look === undefined ? e : { ...e, env, style: e.style ?? JSON.parse(look) };
});
writeFileSync(outFile, '');
const t0 = Date.now();
async function worker() {
  for (let e = queue.shift(); e; e = queue.shift()) {
    await new Promise((resolve) => {
      const p = spawn(process.execPath, [new URL('./pretrain-vs-scratch.mjs', import.meta.url).pathname, JSON.stringify(e)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(e.env ?? {}) } });
      let err = '';
      p.stdout.on('data', (d) => {
        appendFileSync(outFile, d);
        process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(0)}s] ${d}`);
      });
      p.stderr.on('data', (d) => (err += d));
      p.on('close', (code) => {
        if (code !== 0) {
          const line = JSON.stringify({ tag: e.tag, error: `exit ${code}`, stderr: err.slice(-600) });
          appendFileSync(outFile, line + '\n');
          console.log(line);
        }
        resolve();
      });
    });
  }
}
await Promise.all(Array.from({ length: Number(conc) }, worker));
console.log(`sweep done in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
