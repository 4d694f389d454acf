// Gumbel-top-k mask sampling as the samplers use it (the kernel op's CPU reference, exported as
// gumbelTopk): static set sizes, no duplicates, a partition of the tokens, and draw frequencies
// that match the policy (k = 1: softmax(l / tau); k = 2: the exact Plackett-Luce probabilities
// of each unordered pair), by Pearson chi-square tests. Rows are independent draws (the noise is
// keyed by row), so one call with `draws` copies of the logits gives `draws` samples.
import { describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';
import { rng } from './helpers.js';
import { chiSquare, softmax } from './stats.js';

const ALPHA = 1e-3; // a correct sampler fails one of these tests about once in 1000 runs per test

function draws(logits: number[], k: number, tau: number, seed: number, n: number) {
  const N = logits.length;
  const rows = new Float32Array(n * N);
  for (let d = 0; d < n; d++) rows.set(logits, d * N);
  return native().gumbelTopk(rows, { batch: n, tokens: N, k, tau, seed, offset: 0 }).masked;
}

describe('Gumbel-top-k masks', () => {
  it.each([0.85, 0.9, 0.95])('draw exactly round(rho*N) distinct masked tokens, ascending (rho %f)', (rho) => {
    const B = 12, N = 1568, k = Math.round(rho * N);
    const r = rng(7);
    const logits = Float32Array.from({ length: B * N }, () => 3 * (r() - 0.5));
    const { masked, visible } = native().gumbelTopk(logits, { batch: B, tokens: N, k, tau: 0.5, seed: 11, offset: 3 });
    expect(masked.length).toBe(B * k);
    expect(visible.length).toBe(B * (N - k));
    for (let row = 0; row < B; row++) {
      const m = masked.subarray(row * k, (row + 1) * k), v = visible.subarray(row * (N - k), (row + 1) * (N - k));
      for (let i = 1; i < m.length; i++) expect(m[i]!).toBeGreaterThan(m[i - 1]!);
      for (let i = 1; i < v.length; i++) expect(v[i]!).toBeGreaterThan(v[i - 1]!);
      const all = new Set([...m, ...v]);
      expect(all.size).toBe(N);
      expect(Math.min(...all)).toBe(0);
      expect(Math.max(...all)).toBe(N - 1);
    }
  });

  const logits = [0.3, -1.2, 1.5, 0.0, 0.8, -0.4];
  const N = logits.length, n = 200_000;

  it('k = 1: frequencies match softmax(l / tau) (chi-square)', () => {
    for (const tau of [1, 0.5]) {
      const p = softmax(logits, tau);
      const chosen = draws(logits, 1, tau, 21, n);
      const counts = new Array<number>(N).fill(0);
      for (const i of chosen) counts[i]!++;
      const t = chiSquare(counts, p);
      console.log(`gumbel k=1 tau=${tau}: chi2 ${t.stat.toFixed(2)} df ${t.df} p ${t.p.toFixed(4)}`);
      expect(t.p).toBeGreaterThan(ALPHA);
      // The test has power: the same draws against the policy at another temperature fail.
      expect(chiSquare(counts, softmax(logits, tau === 1 ? 0.8 : 0.6)).p).toBeLessThan(1e-6);
    }
  });

  it('k = 2: unordered-pair frequencies match the exact Plackett-Luce probabilities (chi-square)', () => {
    const tau = 0.8;
    const p = softmax(logits, tau);
    const pairs: [number, number][] = [];
    for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) pairs.push([i, j]);
    // P({i, j}) = p_i p_j / (1 - p_i) + p_j p_i / (1 - p_j)  (i first, or j first)
    const probs = pairs.map(([i, j]) => (p[i]! * p[j]!) / (1 - p[i]!) + (p[j]! * p[i]!) / (1 - p[j]!));
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const chosen = draws(logits, 2, tau, 33, n);
    const counts = new Array<number>(pairs.length).fill(0);
    for (let d = 0; d < n; d++) {
      const i = chosen[2 * d]!, j = chosen[2 * d + 1]!;
      counts[pairs.findIndex(([a, b]) => a === i && b === j)]!++;
    }
    const t = chiSquare(counts, probs);
    console.log(`gumbel k=2 tau=${tau}: chi2 ${t.stat.toFixed(2)} df ${t.df} p ${t.p.toFixed(4)}`);
    expect(t.p).toBeGreaterThan(ALPHA);
    // Pair probabilities differ from the with-replacement guess 2 p_i p_j (renormalised): the test can tell.
    const naive = pairs.map(([i, j]) => 2 * p[i]! * p[j]!);
    const z = naive.reduce((a, b) => a + b, 0);
    expect(chiSquare(counts, naive.map((v) => v / z)).p).toBeLessThan(1e-6);
  });
});
