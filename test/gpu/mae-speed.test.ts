// The ViT-B MAE step's speed paths side by side in one process (issue 5): the same session config
// with the native switches TATS_LEGACY_ADAMW / TATS_STAGING / TATS_GRAPH (read when a Session is
// built and at each step). Prints one JSON line per variant and a table; bench/records/*-mae-speed.md
// keeps the numbers. Runs on the GPU machine; skipped where there is no CUDA device.
import { describe, expect, it } from 'vitest';

import { info } from '../../lib/info.js';
import { native } from '../../lib/native.js';
import { Session } from '../../lib/session.js';
import { randomBytes } from '../helpers.js';
import { sessionConfig } from '../session-config.js';

const i = info();
const reason = i.flavour !== 'cuda' ? 'this binary has no CUDA kernels' : !i.cuda ? 'no CUDA device is available' : '';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Variant {
  name: string;
  env: Record<string, string>;
  batchSize?: number;
}

const EAGER = { TATS_LEGACY_ADAMW: '0', TATS_STAGING: '1', TATS_GRAPH: '0', TATS_SDPA: 'default', TATS_LN_BF16: '0' };
const GRAPH = { ...EAGER, TATS_GRAPH: '1' };
// The CUDA graph's capture creates the capturing thread's cuBLAS/cuDNN handles first (steps run on
// libuv pool threads; a handle created inside the capture failed it before).
const VARIANTS: Variant[] = [
  { name: 'legacy (torch AdamW, pageable H2D, eager)', env: { TATS_LEGACY_ADAMW: '1', TATS_STAGING: '0', TATS_GRAPH: '0', TATS_SDPA: 'default', TATS_LN_BF16: '0' } },
  { name: 'fused AdamW, pinned staging, eager', env: EAGER },
  { name: 'fused AdamW, pinned staging, CUDA graph', env: GRAPH },
  { name: 'eager, LayerNorm in bf16', env: { ...EAGER, TATS_LN_BF16: '1' } },
  { name: 'CUDA graph, LayerNorm in bf16', env: { ...GRAPH, TATS_LN_BF16: '1' } },
  { name: 'CUDA graph, SDPA cuDNN only', env: { ...GRAPH, TATS_SDPA: 'cudnn' } },
  { name: 'fused AdamW eager again (spread)', env: EAGER },
  { name: 'CUDA graph again (spread)', env: GRAPH },
  { name: 'CUDA graph, batch 16 (memory)', env: GRAPH, batchSize: 16 },
];

describe.skipIf(Boolean(reason))(`MAE step speed paths on ${i.device}`, () => {
  it('ViT-B 16x224, tube 0.9, bf16: legacy vs fused AdamW vs pinned staging vs CUDA graph', async () => {
    const frames = 16, size = 224, warmup = 4, timed = 15;
    const rows: Record<string, unknown>[] = [];
    const clips32 = randomBytes(32 * frames * size * size * 3, 1);
    for (const v of VARIANTS) {
      for (const [k, val] of Object.entries(v.env)) process.env[k] = val;
      const batchSize = v.batchSize ?? 32;
      const clips = batchSize === 32 ? clips32 : clips32.subarray(0, batchSize * frames * size * size * 3);
      const cfg = sessionConfig({ preset: 'base', frames, size, batchSize, strategy: 'tube', ratio: 0.9, device: 'cuda', precision: 'bf16', warmupSteps: 10, totalSteps: 1000 });
      cfg.optim.lr = 1.5e-4 * (batchSize / 256);
      const session = await Session.create(cfg);
      try {
        await (async () => {
        const losses: number[] = [];
        native().cudaResetPeak();  // peak over warm-up and capture too (a graph's pool is taken then)
        for (let k = 0; k < warmup; k++) losses.push((await session.trainStep(clips)).loss);
        const ms: number[] = [], wallMs: number[] = [];
        const t0 = performance.now();
        for (let k = 0; k < timed; k++) {
          const c0 = performance.now();
          const m = await session.trainStep(clips);
          wallMs.push(performance.now() - c0);
          ms.push(m.stepMs);
          losses.push(m.loss);
        }
        const wall = performance.now() - t0;
        const mem = native().cudaMemory();
        const row = {
          test: 'mae-speed', variant: v.name, batchSize,
          medianStepMs: +median(ms).toFixed(2), minStepMs: +Math.min(...ms).toFixed(2),
          medianWallMs: +median(wallMs).toFixed(2), maxWallMs: +Math.max(...wallMs).toFixed(2),
          clipsPerSec: +((batchSize * timed) / (wall / 1000)).toFixed(1),
          peakGiB: +mem.peakGiB.toFixed(2), losses: losses.map((l) => +l.toFixed(5)),
        };
        rows.push(row);
        console.log(JSON.stringify(row));
        for (const l of losses) expect(Number.isFinite(l)).toBe(true);
        })();
      } catch (err) {
        // One backend that does not apply (e.g. cuDNN attention) must not hide the other rows.
        rows.push({ test: 'mae-speed', variant: v.name, batchSize, error: String(err).slice(0, 300) });
        console.log(JSON.stringify(rows[rows.length - 1]));
      } finally {
        session.dispose();
      }
    }
    process.env.TATS_SDPA = 'default';
    for (const k of ['TATS_LEGACY_ADAMW', 'TATS_STAGING', 'TATS_GRAPH', 'TATS_LN_BF16']) delete process.env[k];
    console.log(['| variant | batch | median step ms | min | median wall ms | clips/s | peak GiB |', '|---|---|---|---|---|---|---|',
      ...rows.map((r) => (r.error ? `| ${r.variant} | ${r.batchSize} | error: ${r.error} |` : `| ${r.variant} | ${r.batchSize} | ${r.medianStepMs} | ${r.minStepMs} | ${r.medianWallMs} | ${r.clipsPerSec} | ${r.peakGiB} |`))].join('\n'));
    // Same seed, same clips and masks: the fused, graphed path must train like the legacy one
    // (bf16 + nondeterministic reductions: close, not equal).
    const legacy = rows[0]!.losses as number[], graph = rows[2]!.losses as number[];
    for (let k = 0; k < 6; k++) expect(Math.abs(graph[k]! - legacy[k]!)).toBeLessThan(2e-2 * Math.abs(legacy[k]!) + 1e-3);
  }, 600_000);
});
