// The patchify CPU reference against an independent, obvious TypeScript version of VideoMAE's
// preprocessing: ImageNet-normalised tubelet patches in Conv3d weight order, and per-tubelet
// normalised targets in (dt, dy, dx, c) order with the unbiased std.
import { describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';
import { randomBytes } from './helpers.js';

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

function expected(clips: Uint8Array, B: number, T: number, H: number, W: number, tt: number, p: number) {
  const gt = T / tt, gh = H / p, gw = W / p, N = gt * gh * gw, pix = tt * p * p;
  const patches = new Float64Array(B * N * 3 * pix);
  const targets = new Float64Array(B * N * 3 * pix);
  for (let b = 0; b < B; b++)
    for (let tok = 0; tok < N; tok++) {
      const ti = Math.floor(tok / (gh * gw)), hi = Math.floor(tok / gw) % gh, wi = tok % gw;
      for (let c = 0; c < 3; c++) {
        const vals: number[] = [];
        for (let dt = 0; dt < tt; dt++)
          for (let dy = 0; dy < p; dy++)
            for (let dx = 0; dx < p; dx++) {
              const t = ti * tt + dt, y = hi * p + dy, x = wi * p + dx;
              vals.push(clips[(((b * T + t) * H + y) * W + x) * 3 + c]! / 255);
            }
        const mean = vals.reduce((s, v) => s + v, 0) / pix;
        const std = Math.sqrt(vals.reduce((s, v) => s + (v - mean) ** 2, 0) / (pix - 1));
        vals.forEach((v, q) => {
          patches[(b * N + tok) * 3 * pix + c * pix + q] = (v - MEAN[c]!) / STD[c]!;
          targets[(b * N + tok) * 3 * pix + q * 3 + c] = (v - mean) / (std + 1e-6);
        });
      }
    }
  return { patches, targets, N };
}

describe('patchify (CPU reference)', () => {
  it.each([
    { B: 2, T: 4, H: 32, W: 48, tt: 2, p: 16 },
    { B: 1, T: 6, H: 12, W: 8, tt: 3, p: 4 },
  ])('matches VideoMAE preprocessing for %o', ({ B, T, H, W, tt, p }) => {
    const clips = randomBytes(B * T * H * W * 3, 1234 + T);
    const got = native().patchify(clips, { batch: B, frames: T, height: H, width: W, tubelet: tt, patch: p });
    const want = expected(clips, B, T, H, W, tt, p);
    expect(got.tokens).toBe(want.N);
    expect(got.patches.length).toBe(want.patches.length);
    let worstP = 0, worstT = 0;
    for (let i = 0; i < want.patches.length; i++) {
      worstP = Math.max(worstP, Math.abs(got.patches[i]! - want.patches[i]!));
      worstT = Math.max(worstT, Math.abs(got.targets[i]! - want.targets[i]!));
    }
    expect(worstP).toBeLessThan(1e-5);
    expect(worstT).toBeLessThan(1e-4);
  });

  it('rejects shapes that do not tile into tubelets, naming the dimension', () => {
    const clips = randomBytes(3 * 32 * 32 * 3, 5);
    expect(() => native().patchify(clips, { batch: 1, frames: 3, height: 32, width: 32 })).toThrow(
      /frames \(3\) must be a multiple of the tubelet \(2\)/,
    );
  });
});
