/**
 * bench/speed-summary.mjs (bench/gpu-speed-call.sh's lines and summary) on a hand-written jsonl: the
 * numbers below are made up to exercise the table, the ratios and the met/missed verdicts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const script = join(root, 'bench', 'speed-summary.mjs');
const dir = mkdtempSync(join(tmpdir(), 'speed-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]): string {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

const ours = (strategy: string, batch: number, clips: number, mfu: number, peak: number, ratio: number) => ({
  row: 'tats', strategy, batch, batch_size: batch, mask_ratio: ratio, clips_per_s: clips, step_ms: (batch * 1000) / clips,
  model_tflops: mfu * 700, mfu, matmul_peak_tflops: 700, peak_mem_gib: peak, config: { sampler: { ppoEpochs: 4 } },
});
const ref = (model: string, batch: number, compiled: boolean, clips: number, peak: number) => ({
  row: 'ref', model, attn: 'sdpa', amp: 'bf16', compiled, batch, mask_ratio: model === 'videomae' ? 0.9 : 0.95,
  clips_per_s: clips, step_ms: (batch * 1000) / clips, peak_gib: peak, model_tflops: 100,
});
const sample = [
  { row: 'meta', gpu: 'NVIDIA H100 80GB HBM3', torch: '2.11.0+cu130', node: 'v20', commit: 'abc', end_s: 550, smoke: false },
  { row: 'matmul', size: 8192, dtype: 'bf16', reps: 9, iters: 20, tflops: 780, tflops_best: 790 },
  ours('tube', 32, 1100, 0.35, 6.5, 0.9),
  ours('tube', 64, 1300, 0.42, 12, 0.9),
  ours('adamae', 32, 900, 0.3, 7.0, 0.95),
  { row: 'tats', strategy: 'adamae', batch: 64, not_run: 'out of time: 20 s left before END_S=550, needs ~30 s' },
  ours('tats', 32, 700, 0.25, 8.5, 0.9),
  ref('videomae', 64, true, 600, 15.3),
  ref('adamae', 64, true, 490, 16.8),
  ref('videomae', 32, false, 430, 8.7),
  ref('videomae', 32, true, 514, 8.5),
  { row: 'ref', model: 'adamae', attn: 'sdpa', amp: 'bf16', compiled: true, batch: 32, rc: 124, failed: 'timed out after 200 s' },
  ref('adamae', 32, false, 339, 9.4),
  { row: 'call', wall_s: 540, build_s: 105, prewarm_s: 105, end_s: 550 },
];

describe('bench/speed-summary.mjs', () => {
  const file = join(dir, 'speed.jsonl');
  writeFileSync(file, sample.map((r) => JSON.stringify(r)).join('\n') + '\nnot json\n');
  const md = run('summary', file);

  it('gives each of our rows its ratio to the best reference of its kind and its memory against SDPA b32', () => {
    expect(md).toContain('| tube | 0.9 | 64 | 1300.0 |');
    expect(md).toMatch(/\| tube \| 0\.9 \| 64 .*\| 2\.17x VideoMAE \(VideoMAE, bf16, SDPA, compiled b64\) \| - \|/);
    expect(md).toMatch(/\| tube \| 0\.9 \| 32 .*\| 6\.50 \| 1\.83x VideoMAE .*\| 0\.75x \(8\.70 GiB\) \|/);
    expect(md).toMatch(/\| tats \| 0\.9, 4 PPO epochs \| 32 .*\| 1\.43x AdaMAE \(AdaMAE, bf16, SDPA, compiled b64\) \| 0\.90x \(9\.40 GiB\) \|/);
    // MFU against the PyTorch matmul row: 0.42 * 700 / 780
    expect(md).toContain('| 42.0% | 37.7% |');
  });

  it('marks the targets met or missed, by how much', () => {
    expect(md).toMatch(/\| tube >= 2x best VideoMAE .*= 2\.17x.* \| \*\*met\*\*, 8\.3% above \|/);
    expect(md).toMatch(/\| tube MFU >= 40% \| tube b64: 42\.0% .*\| \*\*met\*\*, 5\.0% above \|/);
    expect(md).toMatch(/\| adamae >= 2x best AdaMAE .*= 1\.84x.* \| \*\*missed\*\*, 8\.2% short \(needs 1\.09x more\) \|/);
    expect(md).toMatch(/\| tats >= 1\.5x best AdaMAE .*= 1\.43x.* \| \*\*missed\*\*, 4\.8% short \(needs 1\.05x more\) \|/);
    // The MFU a speed goal asks for: 1.5 x 490 clips/s at tats's 175 TFLOP/s / 700 clips/s per clip, over the 700 peak.
    expect(md).toContain('= 1.43x; the goal, 735.0 clips/s, is 26.3% MFU at our FLOPs per clip |');
    expect(md).toMatch(/\| tube peak memory at b32 .*6\.50 \/ 8\.70 GiB = 0\.75x \| \*\*met\*\*, 10\.0% under \|/);
    expect(md).toMatch(/\| tats peak memory at b32 .*8\.50 \/ 9\.40 GiB = 0\.90x \| \*\*missed\*\*, 8\.9% over \|/);
  });

  it('lists the rows that did not run or failed', () => {
    expect(md).toContain('- tats bench adamae b64: not run (out of time: 20 s left before END_S=550, needs ~30 s)');
    expect(md).toContain('- AdaMAE, bf16, SDPA, compiled b32: failed (timed out after 200 s)');
    expect(md).toContain('1 of 6 reference rows did not run or failed');
    expect(md).not.toContain('SMOKE');
  });

  it('tags a row with the last JSON line of its output, or with `failed`', () => {
    const out = join(dir, 'row.out');
    const err = join(dir, 'row.err');
    writeFileSync(out, 'compiling...\n{"clips_per_s": 12.5, "batch": 999}\n');
    writeFileSync(err, 'warning\nRuntimeError: CUDA out of memory\n');
    const tag = '{"row":"ref","model":"videomae","batch":32}';
    expect(JSON.parse(run('row', tag, out, '0', err, '61', '200'))).toEqual({ row: 'ref', model: 'videomae', batch: 32, clips_per_s: 12.5, wall_s: 61 });
    expect(JSON.parse(run('row', tag, out, '124', err, '200', '200'))).toMatchObject({ rc: 124, failed: 'timed out after 200 s' });
    writeFileSync(out, '');
    expect(JSON.parse(run('row', tag, out, '1', err)).failed).toBe('exit 1: warning / RuntimeError: CUDA out of memory');
    writeFileSync(out, '{"error":{"code":"ERR_CONFIG","message":"--strategy: bad"}}\n');
    expect(JSON.parse(run('row', tag, out, '2', err)).failed).toBe('exit 2: --strategy: bad');
    expect(JSON.parse(run('notrun', tag, 'no torch/cuda'))).toEqual({ row: 'ref', model: 'videomae', batch: 32, not_run: 'no torch/cuda' });
  });
});
