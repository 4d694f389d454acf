// TATS on the GPU: the chunked trajectory attention (fused SDPA kernels on libtorch 2.x) against
// the naive reference on CUDA, PPO on the bandit with device tensors and a CPU generator, the
// budgeted mask draw's frequencies, the cost of the sampler alone, and whole joint training steps
// (draw -> MAE step -> up to K PPO epochs) at the base setting. Skipped without CUDA.
import { describe, expect, it } from 'vitest';

import { SyntheticMotionDataset } from '../../lib/data/synthetic.js';
import { info } from '../../lib/info.js';
import { native } from '../../lib/native.js';
import { sessionConfig } from '../session-config.js';

const i = info();
const reason = i.flavour !== 'cuda' ? 'this binary has no CUDA kernels' : !i.cuda ? 'no CUDA device is available' : '';
if (reason) console.warn(`GPU tests skipped: ${reason}`);

describe.skipIf(Boolean(reason))(`TATS sampler on ${i.device}`, () => {
  it.each([1, 2])('trajectory attention equals the naive reference on CUDA in fp32 (seed %i)', async (seed) => {
    const r = await native().testing.trajectoryAttentionCheck(seed, 'cuda');
    console.log(JSON.stringify({ check: 'trajectoryAttention', device: 'cuda', ...r }));
    expect(r.yMaxAbsDiff).toBeLessThan(1e-4);
    expect(r.varianceMaxAbsDiff).toBeLessThan(1e-4);
    expect(r.gradMaxAbsDiff).toBeLessThan(2e-4);
    expect(r.paramGradMaxAbsDiff).toBeLessThan(1e-5 * r.paramGradMaxAbs);
    expect(r.keyBiasGradMaxAbs).toBe(0);
  });

  it('PPO teaches TATS the bandit on CUDA (ratio 0.9)', async () => {
    const r = await native().testing.samplerBanditCheck('tats', 1, 150, 'cuda');
    console.log(JSON.stringify({ check: 'bandit', device: 'cuda', ...r }));
    expect(r.qMoving).toBeGreaterThan(r.qStatic + 0.03);
  });

  it.each([0.5, 0.9, 0.95])('the budgeted mask draw on CUDA masks each token with its own probability (ratio %f)', async (ratio) => {
    const r = await native().testing.drawFrequencyCheck(3, ratio, 20000, 'cuda');
    console.log(JSON.stringify({ check: 'drawFrequency', device: 'cuda', ratio, ...r }));
    expect(r.exactCount).toBe(true);
    expect(r.maxAbsDiff).toBeLessThan(0.02);
  });

  it.each([0.9, 0.95])('sampler cost at the base setting (B 32, 16x224, C 384, K 4, rho %f)', async (ratio) => {
    const opts = { batch: 32, slots: 8, perSlot: 196, inputDim: 768, dim: 384, heads: 6, epochs: 4, steps: 8, ratio };
    // The update eager (as before runtime.ppoGraph) and as a CUDA graph (its default).
    for (const graph of [false, true]) {
      const r = await native().testing.samplerBench({ ...opts, bf16: true, graph }, 'cuda');
      console.log(JSON.stringify({ bench: 'samplerOnly', precision: 'bf16', graph, ...opts, ...r }));
      expect(r.actMs).toBeGreaterThan(0);
      expect(r.updateMs).toBeGreaterThan(0);
    }
  });

  describe('joint training steps, base preset, batch 32, 16x224, K 4, bf16', () => {
    const B = 32, warmup = 3, timed = 10;
    const ds = new SyntheticMotionDataset({ seed: 5, frames: 16, size: 224, length: 1000 });
    const batch = ds.batch(Array.from({ length: B }, (_, i) => i));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

    for (const strategy of ['tats', 'adamae', 'tube'] as const) {
      for (const ratio of strategy === 'tube' ? [0.9] : [0.9, 0.95]) {
        it(`${strategy}, rho ${ratio}`, async () => {
          const config = sessionConfig({ preset: 'base', frames: 16, size: 224, batchSize: B, strategy, ratio, device: 'cuda', precision: 'bf16' });
          const session = new (native().Session)(config);
          try {
            const ms: number[] = [];
            let last;
            for (let s = 0; s < warmup + timed; s++) {
              if (s === warmup) native().cudaResetPeak();
              last = await session.trainStep(batch.clips, batch.motion);
              if (s >= warmup) ms.push(last.stepMs);
              expect(Number.isFinite(last.loss)).toBe(true);
            }
            const stepMs = median(ms);
            const record = {
              bench: 'jointStep', strategy, ratio, batch: B, frames: 16, size: 224, preset: 'base',
              samplerDim: config.sampler.dim, ppoEpochs: config.sampler.ppoEpochs, precision: 'bf16',
              medianStepMs: stepMs, clipsPerSec: (B * 1000) / stepMs, peakGiB: native().cudaMemory().peakGiB, last,
            };
            console.log(JSON.stringify(record));
          } finally {
            session.dispose();
          }
        });
      }
    }
  });
});
