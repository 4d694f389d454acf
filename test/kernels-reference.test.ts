// Every kernel's CPU reference (forward and backward) against an independent computation composed
// of libtorch ops, with autograd for the gradients (native/kernels/<op>_op.cpp, <op>_check), on
// random inputs for three seeds. The reports carry the tolerance chosen for each output.
import { describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';

describe('kernel CPU references vs composed libtorch', () => {
  it('has a check for every kernel with a backward or a composed equivalent', () => {
    expect(native().testing.kernelCheckNames()).toEqual(
      expect.arrayContaining(['masked_mse', 'gather_visible', 'decoder_assemble', 'ppo_loss', 'budget_shift', 'trajectory_pool']),
    );
  });
  for (const name of native().testing.kernelCheckNames()) {
    it.each([1, 2, 3])(`${name} (seed %i)`, (seed) => {
      const reports = native().testing.kernelCheck(name, seed);
      expect(reports.length).toBeGreaterThan(0);
      for (const r of reports) {
        expect(r.numel).toBeGreaterThan(0);
        expect(r.ok, `${r.kernel}/${r.output}: ${r.mismatches} mismatches, max abs ${r.maxAbsDiff}: ${r.firstMismatches}`).toBe(true);
      }
    });
  }
});
