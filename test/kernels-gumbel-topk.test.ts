// The Gumbel-top-k CPU reference against an independent TypeScript version of the same draw:
// splitmix64 keyed by (seed, offset, row, token) in BigInt, Gumbel keys in double, a full sort.
// Then a statistical check that k = 1 draws follow softmax(logits / tau).
import { describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';
import { rng } from './helpers.js';

const M64 = (1n << 64n) - 1n;

function splitmix64(z: bigint): bigint {
  z = (z + 0x9e3779b97f4a7c15n) & M64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}

function key(logit: number, tau: number, seed: number, offset: number, row: number, i: number): number {
  let h = splitmix64(BigInt(seed));
  h = splitmix64(h ^ BigInt(offset));
  h = splitmix64(h ^ BigInt(row));
  h = splitmix64(h ^ BigInt(i));
  const u = (Number(h >> 12n) + 0.5) / 2 ** 52;
  return logit / tau - Math.log(-Math.log(u));
}

function expected(logits: Float32Array, B: number, N: number, k: number, tau: number, seed: number, offset: number) {
  const masked: number[] = [];
  const visible: number[] = [];
  for (let b = 0; b < B; b++) {
    const keys = Array.from({ length: N }, (_, i) => key(logits[b * N + i]!, tau, seed, offset, b, i));
    const order = keys.map((_, i) => i).sort((x, y) => keys[y]! - keys[x]! || x - y);
    const chosen = new Set(order.slice(0, k));
    for (let i = 0; i < N; i++) (chosen.has(i) ? masked : visible).push(i);
  }
  return { masked, visible };
}

describe('gumbelTopk (CPU reference)', () => {
  it.each([
    { B: 3, N: 98, k: 88, tau: 1, seed: 7, offset: 0 },
    { B: 1, N: 1568, k: 1411, tau: 1, seed: 2 ** 40 + 5, offset: 1000 },
    { B: 2, N: 37, k: 9, tau: 0.5, seed: 123456789, offset: 41 },
    { B: 1, N: 10, k: 0, tau: 2, seed: 1, offset: 2 },
    { B: 2, N: 10, k: 10, tau: 1, seed: 1, offset: 3 },
  ])('matches an independent TypeScript draw for %o', ({ B, N, k, tau, seed, offset }) => {
    const r = rng(seed);
    const logits = Float32Array.from({ length: B * N }, () => (r() - 0.5) * 6);
    const got = native().gumbelTopk(logits, { batch: B, tokens: N, k, tau, seed, offset });
    const want = expected(logits, B, N, k, tau, seed, offset);
    expect(Array.from(got.masked)).toEqual(want.masked);
    expect(Array.from(got.visible)).toEqual(want.visible);
  });

  it('a slice drawn with rowBase = its first global row gets the rows of the whole draw (data parallel)', () => {
    const B = 4, N = 64, k = 48;
    const r = rng(11);
    const logits = Float32Array.from({ length: B * N }, () => (r() - 0.5) * 4);
    const whole = native().gumbelTopk(logits, { batch: B, tokens: N, k, tau: 1, seed: 9, offset: 5 });
    const part = native().gumbelTopk(logits.slice(2 * N), { batch: 2, tokens: N, k, tau: 1, seed: 9, offset: 5, rowBase: 2 });
    expect(Array.from(part.masked)).toEqual(Array.from(whole.masked.slice(2 * k)));
    expect(Array.from(part.visible)).toEqual(Array.from(whole.visible.slice(2 * (N - k))));
    // Without the row base the slice would be keyed as rows 0 and 1: other sets.
    const unkeyed = native().gumbelTopk(logits.slice(2 * N), { batch: 2, tokens: N, k, tau: 1, seed: 9, offset: 5 });
    expect(Array.from(unkeyed.masked)).not.toEqual(Array.from(part.masked));
  });

  it('draws different sets for different offsets and the same set for the same offset', () => {
    const logits = new Float32Array(200).fill(0.25);
    const opts = { batch: 1, tokens: 200, k: 100, tau: 1, seed: 3, offset: 0 };
    const a = native().gumbelTopk(logits, opts).masked;
    const b = native().gumbelTopk(logits, opts).masked;
    const c = native().gumbelTopk(logits, { ...opts, offset: 1 }).masked;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('picks the largest logits when tau is small', () => {
    const logits = Float32Array.from([0.3, 5, -2, 4, 1, 3.5, -1, 0]);
    const got = native().gumbelTopk(logits, { batch: 1, tokens: 8, k: 3, tau: 1e-3, seed: 9, offset: 0 });
    expect(Array.from(got.masked)).toEqual([1, 3, 5]);
    expect(Array.from(got.visible)).toEqual([0, 2, 4, 6, 7]);
  });

  it('draws k = 1 in proportion to softmax(logits / tau)', () => {
    const base = [1, 0, -1, 0.5, 2];
    const tau = 1.5, rows = 20000, N = base.length;
    const logits = new Float32Array(rows * N);
    for (let b = 0; b < rows; b++) base.forEach((l, i) => (logits[b * N + i] = l));
    const got = native().gumbelTopk(logits, { batch: rows, tokens: N, k: 1, tau, seed: 11, offset: 5 });
    const counts = new Array<number>(N).fill(0);
    for (const i of got.masked) counts[i]!++;
    const z = base.reduce((s, l) => s + Math.exp(l / tau), 0);
    base.forEach((l, i) => {
      const p = Math.exp(l / tau) / z;
      const sd = Math.sqrt((p * (1 - p)) / rows);
      expect(Math.abs(counts[i]! / rows - p), `token ${i}`).toBeLessThan(4 * sd);
    });
  });

  it('rejects k outside [0, N] and a non-positive tau, naming them', () => {
    const logits = new Float32Array(4).fill(1);
    expect(() => native().gumbelTopk(logits, { batch: 1, tokens: 4, k: 5, tau: 1, seed: 0, offset: 0 })).toThrow(
      /k \(5\) must be in \[0, 4\]/,
    );
    expect(() => native().gumbelTopk(logits, { batch: 1, tokens: 4, k: 1, tau: 0, seed: 0, offset: 0 })).toThrow(
      /tau must be positive/,
    );
  });
});
