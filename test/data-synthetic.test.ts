// The built-in synthetic motion dataset: determinism, balance, motion-map share and meaning.
import { describe, expect, it } from 'vitest';

import { SYNTHETIC_CLASS_NAMES, SyntheticMotionDataset, synthetic } from '../lib/data/synthetic.js';
import { ConfigError } from '../lib/errors/index.js';

function share(motion: Uint8Array, from: number, n: number): number {
  let s = 0;
  for (let i = from; i < from + n; i++) s += motion[i]!;
  return s / n;
}

describe('SyntheticMotionDataset', () => {
  const ds = new SyntheticMotionDataset({ seed: 7, frames: 8, size: 64 });

  it('has the documented shapes', () => {
    expect(ds.tokens).toBe(4 * 4 * 4);
    expect(ds.clipBytes).toBe(8 * 64 * 64 * 3);
    expect(ds.classNames).toEqual(SYNTHETIC_CLASS_NAMES.slice(0, 8));
    const s = ds.get(0);
    expect(s.clip).toBeInstanceOf(Uint8Array);
    expect(s.clip.length).toBe(ds.clipBytes);
    expect(s.motion.length).toBe(ds.tokens);
    const b = ds.batch([0, 1, 2]);
    expect(b.clips.length).toBe(3 * ds.clipBytes);
    expect(b.motion.length).toBe(3 * ds.tokens);
    expect(b.labels).toBeInstanceOf(Int32Array);
  });

  it('is deterministic per (seed, index) and order-independent', () => {
    const a = ds.get(5);
    const again = new SyntheticMotionDataset({ seed: 7, frames: 8, size: 64 });
    again.get(9);
    const b = again.get(5);
    expect(Buffer.from(b.clip).equals(Buffer.from(a.clip))).toBe(true);
    expect(Buffer.from(b.motion).equals(Buffer.from(a.motion))).toBe(true);
    expect(b.label).toBe(a.label);
    const batch = ds.batch([3, 5]);
    expect(Buffer.from(batch.clips.subarray(ds.clipBytes)).equals(Buffer.from(a.clip))).toBe(true);
    expect(batch.labels[1]).toBe(a.label);
  });

  it('differs across indices, seeds and splits', () => {
    const a = Buffer.from(ds.get(0).clip);
    expect(a.equals(Buffer.from(ds.get(1).clip))).toBe(false);
    expect(a.equals(Buffer.from(synthetic({ seed: 8, frames: 8, size: 64 }).get(0).clip))).toBe(false);
    expect(a.equals(Buffer.from(synthetic({ seed: 7, frames: 8, size: 64, split: 'val' }).get(0).clip))).toBe(false);
  });

  it('balances labels exactly over each block of numClasses indices', () => {
    for (const c of [2, 8, 16]) {
      const d = new SyntheticMotionDataset({ seed: 1, frames: 4, size: 32, numClasses: c });
      const counts = new Array<number>(c).fill(0);
      for (let i = 0; i < c * 10; i++) counts[d.label(i)]!++;
      expect(counts).toEqual(new Array<number>(c).fill(10));
      // and not in a fixed order
      const firsts = new Set(Array.from({ length: 10 }, (_, k) => d.label(k * c)));
      expect(firsts.size).toBeGreaterThan(1);
    }
  });

  it.each([
    [8, 64, 16],
    [16, 112, 16],
    [16, 224, 16],
    [8, 64, 8],
  ])('moving-token share for %ix%i patch %i is in [10%%, 30%%] on average', (frames, size, patch) => {
    const d = new SyntheticMotionDataset({ seed: 11, frames, size, patch });
    const n = size >= 224 ? 16 : 64;
    const b = d.batch(Array.from({ length: n }, (_, i) => i));
    const s = share(b.motion, 0, n * d.tokens);
    expect(s).toBeGreaterThanOrEqual(0.1);
    expect(s).toBeLessThanOrEqual(0.3);
    for (let i = 0; i < n; i++) {
      const one = share(b.motion, i * d.tokens, d.tokens);
      expect(one).toBeGreaterThan(0);
      expect(one).toBeLessThan(0.5);
    }
  });

  it.each([1, 2, 4])('moving tokens change between frames and static ones do not (tubelet %i)', (tubelet) => {
    const T = 8;
    const S = 64;
    const P = 16;
    const d = new SyntheticMotionDataset({ seed: 3, frames: T, size: S, patch: P, tubelet });
    const G = S / P;
    for (let idx = 0; idx < 12; idx++) {
      const { clip, motion } = d.get(idx);
      for (let k = 0; k < T / tubelet; k++) {
        const pairs: number[] = [];
        if (tubelet === 1) pairs.push(Math.max(0, k - 1));
        else for (let t = k * tubelet; t < (k + 1) * tubelet - 1; t++) pairs.push(t);
        for (let gy = 0; gy < G; gy++) {
          for (let gx = 0; gx < G; gx++) {
            let changed = false;
            for (const t of pairs) {
              for (let y = gy * P; y < (gy + 1) * P && !changed; y++) {
                for (let x = gx * P * 3; x < (gx + 1) * P * 3; x++) {
                  const a = (t * S * S + y * S) * 3 + x;
                  if (clip[a] !== clip[a + S * S * 3]) {
                    changed = true;
                    break;
                  }
                }
              }
            }
            expect(motion[k * G * G + gy * G + gx], `clip ${idx} token (${k},${gy},${gx})`).toBe(changed ? 1 : 0);
          }
        }
      }
    }
  });

  it('moves sprites in the labelled direction', () => {
    // Mean position of changed pixels in the first vs last frame pair follows the class direction.
    const d = new SyntheticMotionDataset({ seed: 5, frames: 8, size: 64, objects: 1 });
    const S = 64;
    const F = S * S * 3;
    let agree = 0;
    const n = 32;
    for (let i = 0; i < n; i++) {
      const { clip, label } = d.get(i);
      const centre = (t: number): [number, number] => {
        let sx = 0;
        let sy = 0;
        let c = 0;
        for (let p = 0; p < S * S; p++) {
          const a = t * F + p * 3;
          if (clip[a] !== clip[a + F] || clip[a + 1] !== clip[a + F + 1] || clip[a + 2] !== clip[a + F + 2]) {
            sx += p % S;
            sy += Math.floor(p / S);
            c++;
          }
        }
        return [sx / c, sy / c];
      };
      const [x0, y0] = centre(0);
      const [x1, y1] = centre(6);
      const name = d.classNames[label]!;
      const okX = name.includes('right') ? x1 > x0 + 2 : name.includes('left') ? x1 < x0 - 2 : Math.abs(x1 - x0) <= 2;
      const okY = name.includes('down') ? y1 > y0 + 2 : name.includes('up') ? y1 < y0 - 2 : Math.abs(y1 - y0) <= 2;
      if (okX && okY) agree++;
    }
    expect(agree).toBeGreaterThanOrEqual(n - 1);
  });

  it('is fast: a batch of 8 clips of 8x64x64 in a few ms, 16x224 clips in about 10 ms', () => {
    const small = new SyntheticMotionDataset({ seed: 1, frames: 8, size: 64 });
    small.batch([0, 1, 2, 3, 4, 5, 6, 7]);
    let t0 = performance.now();
    for (let k = 1; k <= 10; k++) small.batch(Array.from({ length: 8 }, (_, i) => k * 8 + i));
    const smallMs = (performance.now() - t0) / 10;
    const big = new SyntheticMotionDataset({ seed: 1, frames: 16, size: 224 });
    big.get(0);
    t0 = performance.now();
    for (let i = 1; i <= 8; i++) big.get(i);
    const bigMs = (performance.now() - t0) / 8;
    // Generous bounds: the machine is shared. Typical here: ~0.5 ms and ~2 ms.
    expect(smallMs).toBeLessThan(10);
    expect(bigMs).toBeLessThan(20);
  });

  it('rejects bad options with ConfigError naming the field', () => {
    expect(() => new SyntheticMotionDataset({ seed: 1, frames: 7, size: 64 })).toThrow(/synthetic.frames: expected a multiple of tubelet 2, received 7/);
    expect(() => new SyntheticMotionDataset({ seed: 1, frames: 8, size: 60 })).toThrow(ConfigError);
    expect(() => new SyntheticMotionDataset({ seed: -1, frames: 8, size: 64 })).toThrow(/synthetic.seed/);
    expect(() => new SyntheticMotionDataset({ seed: 1, frames: 8, size: 64, numClasses: 17 })).toThrow(/synthetic.numClasses/);
    expect(() => new SyntheticMotionDataset({ seed: 1, frames: 8, size: 64, split: 'dev' as 'val' })).toThrow(/synthetic.split/);
    expect(() => ds.get(ds.length)).toThrow(/out of range/);
  });

  it('checks its style option with the one style check of data.syntheticStyle (same messages)', () => {
    const make = (style: unknown) => () => new SyntheticMotionDataset({ seed: 1, frames: 8, size: 64, style: style as never });
    expect(make({ background: 'stripes' })).toThrow(/^style\.background: expected one of texture, flat, grain, received "stripes"/);
    expect(make({ polarity: 'dark' })).toThrow(/^style\.polarity: expected one of random, bright-on-dark, received "dark"/);
    expect(make({ spriteTexture: 'yes' })).toThrow(/^style\.spriteTexture: expected true or false, received "yes"/);
    expect(make({ spriteScale: [0.4, 0.2] })).toThrow(/^style\.spriteScale: expected \[lo, hi\] with 0 < lo <= hi < 1/);
    expect(make({ backgound: 'flat' })).toThrow(/^style\.backgound: expected a known field \(did you mean style\.background\?\)/);
    expect(make(null)).toThrow(/^style: expected an object/);
    expect(make('textured')).toThrow(/^style: expected an object/);
    expect(new SyntheticMotionDataset({ seed: 1, frames: 8, size: 64, style: { background: 'grain' } }).style.background).toBe('grain');
  });
});
