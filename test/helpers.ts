// Shared test helpers: a seeded PRNG so random inputs are reproducible, the CLI runner, and the
// small pretraining config the CPU run tests share.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import type { PretrainOptions } from '../lib/config/index.js';
import { packageRoot } from '../lib/paths.js';

/** mulberry32: small, fast, seedable. Never returns all zeros for a run of draws. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}

/** Runs the built CLI (dist/cli/tats.js) and returns its exit status and output. */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  const r = spawnSync(process.execPath, [join(packageRoot, 'dist', 'cli', 'tats.js'), ...args], {
    cwd: packageRoot,
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    timeout: opts.timeoutMs ?? 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A pretraining run small enough for a step in tens of milliseconds on two shared cores (CPU). */
export const tinyPretrain: PretrainOptions = {
  preset: 'cpu-demo',
  model: { encoderDepth: 2, decoderDepth: 1 },
  masking: { strategy: 'tats' },
  sampler: { dim: 48, heads: 2, ppoEpochs: 2 },
  batchSize: 2,
  data: { syntheticClips: 16 },
  logEvery: 1,
  device: 'cpu',
};
