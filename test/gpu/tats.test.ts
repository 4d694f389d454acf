// TATS on the GPU: the chunked trajectory attention (fused SDPA kernels on libtorch 2.x) against
// the naive reference on CUDA, PPO on the bandit with device tensors and a CPU generator, and
// the cost of the sampler alone at the base setting. Skipped without CUDA.
import { describe, expect, it } from 'vitest';

import { info } from '../../lib/info.js';
import { native } from '../../lib/native.js';

const i = info();
const reason = i.flavour !== 'cuda' ? 'this binary has no CUDA kernels' : !i.cuda ? 'no CUDA device is available' : '';
if (reason) console.warn(`GPU tests skipped: ${reason}`);

describe.skipIf(Boolean(reason))(`TATS sampler on ${i.device}`, () => {
  it.each([1, 2])('trajectory attention equals the naive reference on CUDA in fp32 (seed %i)', async (seed) => {
    const r = await native().trajectoryAttentionCheck(seed, 'cuda');
    console.log(JSON.stringify({ check: 'trajectoryAttention', device: 'cuda', ...r }));
    expect(r.yMaxAbsDiff).toBeLessThan(1e-4);
    expect(r.varianceMaxAbsDiff).toBeLessThan(1e-4);
    expect(r.gradMaxAbsDiff).toBeLessThan(2e-4);
  });

  it('PPO teaches TATS the bandit on CUDA', async () => {
    const r = await native().samplerBanditCheck('tats', 1, 100, 'cuda');
    console.log(JSON.stringify({ check: 'bandit', device: 'cuda', ...r }));
    expect(r.lastMaskedMovingShare).toBeGreaterThan(r.movingShare + 0.15);
  });

  it.each([0.9, 0.95])('sampler cost at the base setting (B 32, 16x224, C 384, K 4, rho %f)', async (ratio) => {
    const opts = { batch: 32, slots: 8, perSlot: 196, inputDim: 768, dim: 384, heads: 6, epochs: 4, steps: 8, ratio };
    const r = await native().samplerBench({ ...opts, bf16: true }, 'cuda');
    console.log(JSON.stringify({ bench: 'samplerOnly', precision: 'bf16', ...opts, ...r }));
    expect(r.actMs).toBeGreaterThan(0);
    expect(r.updateMs).toBeGreaterThan(0);
  });
});
