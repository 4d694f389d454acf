// The ViT-B MAE step's speed paths side by side in one process (issue 5): the same session config
// with the fields of its runtime section (legacyAdamw, staging, graph, layerNormBf16, sdpa; they
// were environment variables before issue 17). Prints one JSON line per variant and a table; bench/records/*-mae-speed.md
// keeps the numbers. Runs on the GPU machine; skipped where there is no CUDA device.
import { describe, expect, it } from 'vitest';

import { info } from '../../lib/info.js';
import { native } from '../../lib/native.js';
import { Session } from '../../lib/session.js';
import { randomBytes } from '../helpers.js';
import { sessionConfig } from '../session-config.js';
import type { SessionConfig } from '../../lib/session.js';

const i = info();
const reason = i.flavour !== 'cuda' ? 'this binary has no CUDA kernels' : !i.cuda ? 'no CUDA device is available' : '';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Variant {
  name: string;
  runtime: SessionConfig['runtime'];
  batchSize?: number;
}

const EAGER: SessionConfig['runtime'] = { legacyAdamw: false, staging: true, graph: false, sdpa: 'auto', layerNormBf16: false, rolloutGraph: true, ppoGraph: false };
const GRAPH: SessionConfig['runtime'] = { ...EAGER, graph: true };
// The CUDA graph's capture creates the capturing thread's cuBLAS/cuDNN handles first (steps run on
// libuv pool threads; a handle created inside the capture failed it before).
const VARIANTS: Variant[] = [
  { name: 'legacy (torch AdamW, pageable H2D, eager)', runtime: { ...EAGER, legacyAdamw: true, staging: false } },
  { name: 'fused AdamW, pinned staging, eager', runtime: EAGER },
  { name: 'fused AdamW, pinned staging, CUDA graph', runtime: GRAPH },
  { name: 'eager, LayerNorm in bf16', runtime: { ...EAGER, layerNormBf16: true } },
  { name: 'CUDA graph, LayerNorm in bf16', runtime: { ...GRAPH, layerNormBf16: true } },
  { name: 'CUDA graph, SDPA cuDNN only', runtime: { ...GRAPH, sdpa: 'cudnn' } },
  { name: 'fused AdamW eager again (spread)', runtime: EAGER },
  { name: 'CUDA graph again (spread)', runtime: GRAPH },
  { name: 'CUDA graph, batch 16 (memory)', runtime: GRAPH, batchSize: 16 },
];

describe.skipIf(Boolean(reason))(`MAE step speed paths on ${i.device}`, () => {
  it('ViT-B 16x224, tube 0.9, bf16: legacy vs fused AdamW vs pinned staging vs CUDA graph', async () => {
    const frames = 16, size = 224, warmup = 4, timed = 15;
    const rows: Record<string, unknown>[] = [];
    const clips32 = randomBytes(32 * frames * size * size * 3, 1);
    for (const v of VARIANTS) {
      const batchSize = v.batchSize ?? 32;
      const clips = batchSize === 32 ? clips32 : clips32.subarray(0, batchSize * frames * size * size * 3);
      const cfg = sessionConfig({ preset: 'base', frames, size, batchSize, strategy: 'tube', ratio: 0.9, device: 'cuda', precision: 'bf16', warmupSteps: 10, totalSteps: 1000 });
      cfg.optim.lr = 1.5e-4 * (batchSize / 256);
      // The session after a cuDNN-only one restores libtorch's SDPA choice (runtime.sdpa auto).
      cfg.runtime = v.runtime;
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
    console.log(['| variant | batch | median step ms | min | median wall ms | clips/s | peak GiB |', '|---|---|---|---|---|---|---|',
      ...rows.map((r) => (r.error ? `| ${r.variant} | ${r.batchSize} | error: ${r.error} |` : `| ${r.variant} | ${r.batchSize} | ${r.medianStepMs} | ${r.minStepMs} | ${r.medianWallMs} | ${r.clipsPerSec} | ${r.peakGiB} |`))].join('\n'));
    // Same seed, same clips and masks: the fused, graphed path must train like the legacy one
    // (bf16 + nondeterministic reductions: close, not equal).
    const legacy = rows[0]!.losses as number[], graph = rows[2]!.losses as number[];
    for (let k = 0; k < 6; k++) expect(Math.abs(graph[k]! - legacy[k]!)).toBeLessThan(2e-2 * Math.abs(legacy[k]!) + 1e-3);
  }, 600_000);
});
