// The sampler's numerics: chunked trajectory attention against a naive per-frame reference, the
// PPO loss's autograd gradients against central finite differences, and the mask draw's
// frequencies against the policy's own probabilities (principle 1 of the design: the likelihood
// that PPO scores is the one that draws the masks).
import { describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';

describe('trajectory attention', () => {
  it.each([1, 2, 3])('equals the naive per-frame reference in fp32 (seed %i)', async (seed) => {
    const r = await native().testing.trajectoryAttentionCheck(seed);
    console.log(
      `trajectory attention seed ${seed}: y ${r.yMaxAbsDiff.toExponential(2)} var ${r.varianceMaxAbsDiff.toExponential(2)} ` +
        `grad ${r.gradMaxAbsDiff.toExponential(2)} params ${r.paramGradMaxAbsDiff.toExponential(2)} ` +
        `(|y| max ${r.yMaxAbs.toFixed(2)}, |param grad| max ${r.paramGradMaxAbs.toFixed(2)}, N ${r.tokens}, T ${r.frames})`,
    );
    expect(r.yMaxAbs).toBeGreaterThan(0.5);
    expect(r.yMaxAbsDiff).toBeLessThan(1e-5);
    expect(r.varianceMaxAbsDiff).toBeLessThan(1e-5);
    expect(r.gradMaxAbsDiff).toBeLessThan(2e-5);
    // The module's stage 2 is factored through proj_kv (never forming the keys and values); the
    // reference projects every trajectory token. Parameter gradients are sums over the 48 tokens;
    // fp32 rounding gives ~4e-7 of their scale.
    expect(r.paramGradMaxAbs).toBeGreaterThan(1);
    expect(r.paramGradMaxAbsDiff).toBeLessThan(2e-6 * r.paramGradMaxAbs);
    // The key bias cancels in the softmax over frames: exactly zero gradient, not just small.
    expect(r.keyBiasGradMaxAbs).toBe(0);
  });
});

describe('PPO loss', () => {
  it.each([1, 2, 3, 4])('gradients w.r.t. logits and values match central differences, fp32 path too (seed %i)', async (seed) => {
    const r = await native().testing.ppoGradCheck(seed);
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

describe('the budgeted Bernoulli mask draw', () => {
  // 4 clips of 128 tokens, a policy far from uniform; 20000 draws give each frequency a standard
  // error of at most 0.0035, so 0.02 is > 5 standard errors for the worst of the 512 tokens.
  it.each([0.5, 0.9, 0.95])('masks each token with its own probability q_i within 0.02, exactly k per draw (ratio %f)', async (ratio) => {
    const r = await native().testing.drawFrequencyCheck(7, ratio, 20000);
    console.log(`draw frequency ratio ${ratio}: k ${r.masked}/${r.tokens}, max |freq - q| ${r.maxAbsDiff.toFixed(4)} (std error <= ${r.maxStdError.toFixed(4)}), q in [${r.qMin.toFixed(3)}, ${r.qMax.toFixed(3)}], |sum q - k| ${r.budgetMaxAbsDiff.toExponential(1)}`);
    expect(r.masked).toBe(Math.round(ratio * r.tokens));
    expect(r.exactCount).toBe(true);
    expect(r.budgetMaxAbsDiff).toBeLessThan(1e-4); // sum of 128 fp32 probabilities
    expect(r.qMax - r.qMin).toBeGreaterThan(0.2); // a policy worth testing, not the uniform one
    expect(r.maxAbsDiff).toBeLessThan(0.02);
  });
});

describe('samplers on a contextual bandit (no MAE)', () => {
  // A quarter of the tokens "move" (their embedding says so) and pay reward 1 when masked, the rest
  // 0.2. At the default ratio 0.9, 58 of 64 tokens are masked: a policy that has learned gives the
  // moving tokens a higher masking probability than the static ones (a random one: the same), and
  // the KL penalty towards uniform masking (beta 1) keeps it stochastic.
  it('PPO teaches TATS to mask the high-reward tokens', { timeout: 240_000 }, async () => {
    const r = await native().testing.samplerBanditCheck('tats', 1, 150);
    console.log('bandit tats', JSON.stringify(r));
    expect(r.qMoving).toBeGreaterThan(r.qStatic + 0.03);
    expect(r.lastMaskedMovingShare).toBeGreaterThan(r.movingShare);
    expect(r.entropy).toBeGreaterThan(0.05); // still stochastic (uniform masking at 0.9: 0.33 nats per token)
    expect(r.entropy).toBeLessThan(Math.log(2));
    expect(r.kl).toBeLessThan(0.05);
    expect(r.ppoEpochs).toBeGreaterThanOrEqual(1);
    expect(r.valueLoss).toBeLessThan(0.5);
  });

  it("AdaMAE's REINFORCE loss makes high-error tokens visible (its sign)", { timeout: 240_000 }, async () => {
    const r = await native().testing.samplerBanditCheck('adamae', 1, 150);
    console.log('bandit adamae', JSON.stringify(r));
    expect(r.lastMaskedMovingShare).toBeLessThan(r.movingShare - 0.01); // at 0.9 at most 6 of 58 masked tokens can turn visible
  });
});
