// Gumbel-top-k mask sampling: static set sizes, no duplicates, a partition of the tokens, and
// draw frequencies that match the policy (k = 1: softmax(l / tau); k = 2: the exact
// Plackett-Luce probabilities of each unordered pair), by Pearson chi-square tests.
import { describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';
import { rng } from './helpers.js';
import { chiSquare, softmax } from './stats.js';

const ALPHA = 1e-3; // a correct sampler fails one of these tests about once in 1000 runs per test

describe('gumbelTopk', () => {
  it.each([0.85, 0.9, 0.95])('draws exactly round(rho*N) distinct masked tokens, ascending (rho %f)', (rho) => {
    const B = 4, N = 1568, k = Math.round(rho * N);
    const r = rng(7);
    const logits = Float32Array.from({ length: B * N }, () => 3 * (r() - 0.5));
    const draws = 3;
    const { chosen, rest } = native().gumbelTopk(logits, B, N, k, 0.5, 11, draws);
    expect(chosen.length).toBe(draws * B * k);
    expect(rest.length).toBe(draws * B * (N - k));
    for (let row = 0; row < draws * B; row++) {
      const m = chosen.subarray(row * k, (row + 1) * k), v = rest.subarray(row * (N - k), (row + 1) * (N - k));
      for (let i = 1; i < m.length; i++) expect(m[i]!).toBeGreaterThan(m[i - 1]!);
      for (let i = 1; i < v.length; i++) expect(v[i]!).toBeGreaterThan(v[i - 1]!);
      const all = new Set([...m, ...v]);
      expect(all.size).toBe(N);
      expect(Math.min(...all)).toBe(0);
      expect(Math.max(...all)).toBe(N - 1);
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const logits = new Float32Array(64).fill(0);
    const a = native().gumbelTopk(logits, 1, 64, 8, 1, 5, 4).chosen;
    const b = native().gumbelTopk(logits, 1, 64, 8, 1, 5, 4).chosen;
    const c = native().gumbelTopk(logits, 1, 64, 8, 1, 6, 4).chosen;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  const logits = [0.3, -1.2, 1.5, 0.0, 0.8, -0.4];
  const N = logits.length, draws = 200_000;

  it('k = 1: frequencies match softmax(l / tau) (chi-square)', () => {
    for (const tau of [1, 0.5]) {
      const p = softmax(logits, tau);
      const { chosen } = native().gumbelTopk(Float32Array.from(logits), 1, N, 1, tau, 21, draws);
      const counts = new Array<number>(N).fill(0);
      for (const i of chosen) counts[i]!++;
      const t = chiSquare(counts, p);
      console.log(`gumbel k=1 tau=${tau}: chi2 ${t.stat.toFixed(2)} df ${t.df} p ${t.p.toFixed(4)}`);
      expect(t.p).toBeGreaterThan(ALPHA);
      // The test has power: the same draws against the policy at the other temperature fail.
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
    const { chosen } = native().gumbelTopk(Float32Array.from(logits), 1, N, 2, tau, 33, draws);
    const counts = new Array<number>(pairs.length).fill(0);
    for (let d = 0; d < draws; d++) {
      const i = chosen[2 * d]!, j = chosen[2 * d + 1]!;
      counts[pairs.findIndex(([a, b]) => a === i && b === j)]!++;
    }
    const t = chiSquare(counts, probs);
    console.log(`gumbel k=2 tau=${tau}: chi2 ${t.stat.toFixed(2)} df ${t.df} p ${t.p.toFixed(4)}`);
    expect(t.p).toBeGreaterThan(ALPHA);
    // Inclusion probabilities differ from k * p_i (the naive with-replacement guess): the test can tell.
    const naive = pairs.map(([i, j]) => 2 * p[i]! * p[j]!);
    const z = naive.reduce((a, b) => a + b, 0);
    expect(chiSquare(counts, naive.map((v) => v / z)).p).toBeLessThan(1e-6);
  });
});
