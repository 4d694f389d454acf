// The fuzzer in CI (issue 18): fixed seeds, a bounded number of cases, every batch in a child
// process (test/fuzz/run.mjs -> test/fuzz/child.mjs). A crash or a hang fails with the seed and
// the case to replay; the counts by error code are printed. Long runs: `npm run fuzz`.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { packageRoot } from '../lib/paths.js';

interface Summary {
  cases: number;
  calls: number;
  seeds: number[];
  codes: Record<string, number>;
  kinds: Record<string, number>;
  workersReady: number;
  crashes: unknown[];
  hangs: unknown[];
  abnormalExits: unknown[];
  failures: unknown[];
  wallSeconds: number;
}

const SEEDS = [1, 2];
const CASES_PER_SEED = 2000;

describe('fuzz: the native boundary and the public sessions', () => {
  it(`${SEEDS.length * CASES_PER_SEED} generated cases (seeds ${SEEDS.join(', ')}): no crash, no hang, every failure an Error`, () => {
    const r = spawnSync(
      process.execPath,
      [join(packageRoot, 'test', 'fuzz', 'run.mjs'), '--cases', String(CASES_PER_SEED), '--seed', SEEDS.join(','), '--batch', '500', '--hang-ms', '60000'],
      { cwd: packageRoot, encoding: 'utf8', timeout: 170_000, maxBuffer: 64 * 1024 * 1024 },
    );
    expect(r.error, r.stderr).toBeUndefined();
    const summary = JSON.parse(r.stdout) as Summary;
    console.log(
      `fuzz: ${summary.cases} cases, ${summary.calls} calls in ${summary.wallSeconds} s; by code: ${JSON.stringify(summary.codes)}; by kind: ${JSON.stringify(summary.kinds)}; workers terminated after their session was built: ${summary.workersReady}`,
    );
    const trouble = JSON.stringify({ crashes: summary.crashes, hangs: summary.hangs, abnormalExits: summary.abnormalExits, failures: summary.failures }, null, 2);
    expect(summary.crashes, trouble).toEqual([]);
    expect(summary.hangs, trouble).toEqual([]);
    expect(summary.abnormalExits, trouble).toEqual([]);
    expect(summary.failures, trouble).toEqual([]);
    expect(r.status, r.stderr).toBe(0);
    expect(summary.cases).toBe(SEEDS.length * CASES_PER_SEED);
    // Every kind of case ran, and the calls did reach the engine (some succeeded, some were refused).
    for (const k of ['export', 'config', 'method', 'getter', 'disposed', 'concurrent', 'worker']) expect(summary.kinds[k], k).toBeGreaterThan(0);
    for (const c of ['ok', 'ERR_INVALID_ARG_TYPE', 'ERR_BUSY', 'ERR_DISPOSED']) expect(summary.codes[c], c).toBeGreaterThan(0);
    // Worker cases reach the addon: workers built their sessions and were terminated in their loop of calls.
    expect(summary.workersReady).toBeGreaterThan(0);
  }, 180_000);
});

describe('fuzz: the cases the recorded run found (bench/records/2026-12-06-fuzz.md)', () => {
  // Both hung the worker on an unbounded loop count; the addon now refuses them with ERR_CONFIG /
  // ERR_INVALID_ARG before any work.
  it.each([
    [13, 7377, 'Session.create with sampler.ppoEpochs = 2147483647'],
    [14, 8716, 'samplerBench with steps = 4294967297'],
  ])('seed %i case %i (%s) ends at once', (seed, start) => {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [join(packageRoot, 'test', 'fuzz', 'child.mjs'), '--seed', String(seed), '--start', String(start), '--count', '1'], {
      cwd: packageRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.error, r.stderr).toBeUndefined();
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });
});
