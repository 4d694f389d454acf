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
  it.each([1, 2, 3, 4])('gradients w.r.t. logits and values match central differences (seed %i)', async (seed) => {
    const r = await native().ppoGradCheck(seed);
    console.log(
      `ppo grad seed ${seed}: logits ${r.logitsMaxAbsDiff.toExponential(2)} (|g| ${r.logitsMaxAbsGrad.toFixed(3)}) ` +
        `values ${r.valuesMaxAbsDiff.toExponential(2)} (|g| ${r.valuesMaxAbsGrad.toFixed(3)}) clipFrac ${r.clipFrac}`,
    );
    expect(r.logitsMaxAbsGrad).toBeGreaterThan(1e-3);
    expect(r.valuesMaxAbsGrad).toBeGreaterThan(1e-3);
    expect(r.logitsMaxAbsDiff).toBeLessThan(1e-7);
    expect(r.valuesMaxAbsDiff).toBeLessThan(1e-7);
    expect(r.clipFrac).toBeGreaterThan(0);
    expect(r.clipFrac).toBeLessThan(1);
  });
});
