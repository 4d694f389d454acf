// Event-loop lag of an in-process training run, with and without `tats dashboard` in the same
// process (docs/dashboard.md records the results). Modes, alternated, each `--repeats` times:
//   off      training only
//   sse      + serveDashboard() with an in-process client reading the run's event stream
//   browser  + serveDashboard() with the page open in headless chromium (another process)
// Build first (npm run build:ts). Usage: node bench/dashboard-lag.mjs [--steps 120] [--repeats 2] [--modes off,sse,browser]
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { Trainer, info, serveDashboard } from '../dist/lib/index.js';

const { values: a } = parseArgs({ options: { steps: { type: 'string', default: '120' }, repeats: { type: 'string', default: '2' }, modes: { type: 'string', default: 'off,sse,browser' } } });
const steps = Number(a.steps);
const modes = a.modes.split(',');
const root = mkdtempSync(join(tmpdir(), 'tats-dashboard-lag-'));
// The CPU test suite's tiny TATS model; a checkpoint (and picture) every 30 steps.
const options = (out) => ({
  preset: 'cpu-demo', steps, checkpointEvery: 30, logEvery: 1, batchSize: 2, device: 'cpu', out,
  model: { encoderDepth: 2, decoderDepth: 1 }, sampler: { dim: 48, heads: 2, ppoEpochs: 2 }, data: { syntheticClips: 16 },
});

function sseClient(url, id) {
  const req = request(`${url}api/events?id=${encodeURIComponent(id)}`, (res) => res.on('data', () => undefined));
  req.on('error', () => undefined);
  req.end();
  return () => req.destroy();
}

let browser;
async function openBrowser(url) {
  const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
  if (!chromium) throw new Error('no chromium for mode browser');
  const { default: puppeteer } = await import('puppeteer-core');
  browser ??= await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const page = await browser.newPage();
  await page.goto(url);
  return () => page.close();
}

async function once(mode, i) {
  const out = join(root, `${mode}-${i}`);
  const trainer = await Trainer.open(options(out), { cudaAvailable: false });
  let dashboard, stop = () => undefined;
  if (mode !== 'off') {
    dashboard = await serveDashboard({ runs: root, port: 0 });
    const id = `${mode}-${i}`;
    stop = mode === 'sse' ? sseClient(dashboard.url, id) : await openBrowser(`${dashboard.url}#run=${encodeURIComponent(id)}`);
  }
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const t0 = performance.now();
  await trainer.run();
  const s = (performance.now() - t0) / 1000;
  h.disable();
  await stop();
  await dashboard?.close();
  await trainer.dispose();
  const ms = (ns) => ns / 1e6;
  return { mode, run: i, p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean), stepsPerS: steps / s };
}

info();
await once('off', 'warmup'); // libtorch's first-session costs, not part of any mode
const rows = [];
for (let i = 0; i < Number(a.repeats); i++) for (const m of modes) rows.push(await once(m, i));
await browser?.close();
rmSync(root, { recursive: true, force: true });
console.log(`| mode | run | p50 ms | p99 ms | max ms | mean ms | steps/s |\n|---|---:|---:|---:|---:|---:|---:|`);
for (const r of rows) console.log(`| ${r.mode} | ${r.run} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.mean.toFixed(2)} | ${r.stepsPerS.toFixed(2)} |`);
