// Every CUDA kernel against its CPU reference on random inputs. Runs on the GPU machine
// (`npm run test:gpu`); skipped with a reason where there is no CUDA device.
import { describe, expect, it } from 'vitest';

import { info } from '../../lib/info.js';
import { native } from '../../lib/native.js';

const i = info();
const reason = i.flavour !== 'cuda' ? 'this binary has no CUDA kernels' : !i.cuda ? 'no CUDA device is available' : '';
if (reason) console.warn(`GPU tests skipped: ${reason}`);

describe.skipIf(Boolean(reason))(`kernel parity on ${i.device}`, () => {
  it('runs on the CUDA flavour', () => {
    expect(i.flavour).toBe('cuda');
    expect(i.cuda).toBe(true);
  });
  for (const name of native().testing.kernelNames()) {
    it.each([1, 2, 3])(`${name} matches its CPU reference (seed %i)`, async (seed) => {
      const reports = await native().testing.kernelParity(name, seed);
      expect(reports.length).toBeGreaterThan(0);
      for (const r of reports) {
        console.log(JSON.stringify(r));
        expect(r.ok, `${r.kernel}/${r.output}: ${r.mismatches} mismatches, max abs ${r.maxAbsDiff}: ${r.firstMismatches}`).toBe(true);
      }
    });
  }
});
