/**
 * bench/track-summary.mjs (bench/gpu-track-call.sh's comparison of the fastest settings against the
 * eager path) on hand-made loss curves: equal curves with scatter pass, a curve offset by far more
 * than its scatter fails, non-finite losses are counted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { compare, readLosses } from '../bench/track-summary.mjs';

const dir = mkdtempSync(join(tmpdir(), 'track-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A metrics.jsonl of 400 steps logged every 10: a decaying curve plus deterministic scatter. */
function curve(name: string, offset: number, scatterSeed: number, nullAt?: number): string {
  const lines: string[] = [];
  for (let step = 10; step <= 400; step += 10) {
    const scatter = 0.01 * Math.sin(step * 0.37 + scatterSeed);
    const loss = step === nullAt ? null : 1 / (1 + step / 100) + offset + scatter;
    lines.push(JSON.stringify({ step, loss, lr: 1e-4 }));
  }
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, lines.join('\n') + '\n{"step": 41');  // and a torn last line
  return path;
}

describe('track-summary', () => {
  it('passes curves that differ by their scatter only', () => {
    const r = compare(readLosses(curve('a', 0, 0)), readLosses(curve('b', 0, 1.3)), 200);
    expect(r.steps).toBe(40);
    expect(r.nonFinite).toBe(0);
    expect(r.rows).toHaveLength(2);
    expect(r.rows.every((x: { within: boolean }) => x.within)).toBe(true);
  });

  it('fails a curve offset by far more than its scatter, and counts non-finite losses', () => {
    const r = compare(readLosses(curve('c', 0.05, 0, 200)), readLosses(curve('d', 0, 0)), 200);
    expect(r.nonFinite).toBe(1);
    expect(r.rows.some((x: { within: boolean }) => !x.within)).toBe(true);
    expect(r.rows[0].rel).toBeGreaterThan(0.05);
  });
});
