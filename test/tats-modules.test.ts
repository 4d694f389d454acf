// The sampler's numerics: chunked trajectory attention against a naive per-frame reference, and
// the PPO loss's autograd gradients against central finite differences.
import { describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';

describe('trajectory attention', () => {
  it.each([1, 2, 3])('equals the naive per-frame reference in fp32 (seed %i)', async (seed) => {
    const r = await native().trajectoryAttentionCheck(seed);
    console.log(
      `trajectory attention seed ${seed}: y ${r.yMaxAbsDiff.toExponential(2)} var ${r.varianceMaxAbsDiff.toExponential(2)} ` +
        `grad ${r.gradMaxAbsDiff.toExponential(2)} (|y| max ${r.yMaxAbs.toFixed(2)}, N ${r.tokens}, T ${r.frames})`,
    );
    expect(r.yMaxAbs).toBeGreaterThan(0.5);
    expect(r.yMaxAbsDiff).toBeLessThan(1e-5);
    expect(r.varianceMaxAbsDiff).toBeLessThan(1e-5);
    expect(r.gradMaxAbsDiff).toBeLessThan(2e-5);
  });
});

describe('PPO loss', () => {
  it.each([1, 2, 3, 4])('gradients w.r.t. logits and values match central differences, fp32 path too (seed %i)', async (seed) => {
    const r = await native().ppoGradCheck(seed);
    console.log(
      `ppo grad seed ${seed}: logits ${r.logitsMaxAbsDiff.toExponential(2)} (|g| ${r.logitsMaxAbsGrad.toFixed(3)}) ` +
        `values ${r.valuesMaxAbsDiff.toExponential(2)} (|g| ${r.valuesMaxAbsGrad.toFixed(3)}) clipFrac ${r.clipFrac}; ` +
        `fp32 kernel path vs fp64: logits ${r.kernelLogitsMaxAbsDiff.toExponential(2)} values ${r.kernelValuesMaxAbsDiff.toExponential(2)}`,
    );
    expect(r.logitsMaxAbsGrad).toBeGreaterThan(1e-3);
    expect(r.valuesMaxAbsGrad).toBeGreaterThan(1e-3);
    expect(r.logitsMaxAbsDiff).toBeLessThan(1e-7);
    expect(r.valuesMaxAbsDiff).toBeLessThan(1e-7);
    expect(r.kernelLogitsMaxAbsDiff).toBeLessThan(1e-5);
    expect(r.kernelValuesMaxAbsDiff).toBeLessThan(1e-5);
    expect(r.clipFrac).toBeGreaterThan(0);
    expect(r.clipFrac).toBeLessThan(1);
  });
});

describe('samplers on a contextual bandit (no MAE)', () => {
  // A quarter of the tokens "move" (their embedding says so) and pay reward 1 when masked, the rest
  // 0.2. Half the tokens are masked, so masking every moving token gives a masked-moving share
  // of ~0.5 and a random mask ~0.25.
  it('PPO teaches TATS to mask the high-reward tokens', { timeout: 240_000 }, async () => {
    const r = await native().samplerBanditCheck('tats', 1, 100);
    console.log('bandit tats', JSON.stringify(r));
    expect(r.lastMaskedMovingShare).toBeGreaterThan(r.movingShare + 0.15);
    expect(r.lastMaskedMovingShare).toBeGreaterThan(r.firstMaskedMovingShare + 0.05);
    expect(r.entropy).toBeGreaterThan(1); // still stochastic
    expect(r.valueLoss).toBeLessThan(0.5);
  });

  it("AdaMAE's REINFORCE loss makes high-error tokens visible (its sign)", { timeout: 240_000 }, async () => {
    const r = await native().samplerBanditCheck('adamae', 1, 100);
    console.log('bandit adamae', JSON.stringify(r));
    expect(r.lastMaskedMovingShare).toBeLessThan(r.movingShare - 0.05);
  });
});
