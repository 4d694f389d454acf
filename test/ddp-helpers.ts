// Shared by the data-parallel tests (test/ddp.test.ts on Gloo, test/gpu/ddp.test.ts on NCCL): a
// small session config, running test/fixtures/ddp-rank.mjs as one process and as ranks, and
// comparing the state dicts they write.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'vitest';

import type { NativeSessionConfig, NativeStepMetrics } from '../lib/native.js';
import { freePort } from '../lib/train/distributed.js';
import { packageRoot } from '../lib/paths.js';

const script = join(packageRoot, 'test', 'fixtures', 'ddp-rank.mjs');
const dir = mkdtempSync(join(tmpdir(), 'tats-ddp-'));

// A small MAE (2+1 blocks) and sampler so that a few steps take seconds on 2 cores.
export function config(strategy: 'tube' | 'tats' | 'adamae', globalBatch: number, device: 'cpu' | 'cuda' = 'cpu'): NativeSessionConfig {
  return {
    model: {
      preset: 'tiny', frames: 4, size: 64, tubelet: 2, patch: 16, channels: 3,
      encoderDim: 48, encoderDepth: 2, encoderHeads: 3, decoderDim: 32, decoderDepth: 1, decoderHeads: 2, mlpRatio: 4,
    },
    masking: { strategy, ratio: 0.75 },
    sampler: {
      dim: 32, heads: 2, temperature: 1, ppoEpochs: 4, clipEps: 0.2, valueCoef: 0.5,
      beta: 1, betaStart: 1, betaSteps: 0, reward: 'error', targetKl: 0.01,
      lr: 1e-3, warmupSteps: 1, clipGrad: 1, weightDecay: 0.05, detachInput: true, exactKl: false, adamaeWeight: 1e-4,
    },
    optim: { lr: 1e-3, minLr: 1e-5, warmupSteps: 1, totalSteps: 10, weightDecay: 0.05, beta1: 0.9, beta2: 0.95, clipGrad: 1 },
    batchSize: globalBatch,
    device,
    seed: 7,
    precision: 'fp32',
    runtime: { graph: true, staging: true, sdpa: 'auto', layerNormBf16: true, legacyAdamw: false, rolloutGraph: true, ppoGraph: true },
  };
}

export interface RankOutput {
  rank: number;
  world: number;
  metrics: NativeStepMetrics[];
  state: Record<string, { dtype: string; shape: number[]; data: string }>;
}

function runProcess(job: object, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, JSON.stringify(job)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const baseEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env, OMP_NUM_THREADS: '1' };
  for (const k of ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT', 'SLURM_PROCID', 'SLURM_NTASKS']) delete env[k];
  return env;
};

/** One process on the global batch, then `world` Gloo ranks on its rows. */
export async function trainBoth(name: string, cfg: NativeSessionConfig, steps: number, world = 2, extra: object = {}) {
  const single = join(dir, `${name}-single.json`);
  const r1 = await runProcess({ config: cfg, steps, out: single }, baseEnv());
  expect(r1.code, r1.stderr).toBe(0);
  const port = await freePort();
  const outs = Array.from({ length: world }, (_, r) => join(dir, `${name}-rank${r}.json`));
  const runs = await Promise.all(
    outs.map((out, r) =>
      runProcess(
        { config: cfg, steps, out, ...extra },
        { ...baseEnv(), RANK: String(r), WORLD_SIZE: String(world), LOCAL_RANK: String(r), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), TATS_DIST_TIMEOUT_S: '60' },
      ),
    ),
  );
  for (const r of runs) expect(r.code, r.stderr).toBe(0);
  const read = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as RankOutput;
  return { single: read(single), ranks: outs.map(read) };
}

export function floats(t: { dtype: string; data: string }): Float32Array | null {
  if (t.dtype !== 'F32') return null;
  const b = Buffer.from(t.data, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Max |a - b| over every fp32 tensor whose name matches `filter`, and how many tensors were compared. */
export function maxDiff(a: RankOutput, b: RankOutput, filter: (name: string) => boolean) {
  let max = 0;
  let compared = 0;
  let worst = '';
  for (const [name, ta] of Object.entries(a.state)) {
    if (!filter(name)) continue;
    const tb = b.state[name];
    expect(tb, `missing ${name}`).toBeDefined();
    const fa = floats(ta);
    const fb = floats(tb!);
    if (!fa || !fb) continue;
    expect(fb.length).toBe(fa.length);
    compared++;
    for (let i = 0; i < fa.length; i++) {
      const d = Math.abs(fa[i]! - fb[i]!);
      if (!(d <= max)) {
        max = d;
        worst = name;
      }
    }
  }
  return { max, compared, worst };
}

export const isModel = (n: string) => !n.includes('.') || /^(encoder|decoder|encoder_to_decoder|mask_token)/.test(n);
// The actor's last bias adds the same number to every logit of a clip, and the policy is a softmax
// over the clip's tokens: its gradient is zero up to rounding, and AdamW turns that rounding noise
// into steps of up to lr (m / sqrt(v) ~ +-1 whatever the scale). It cannot change the policy, so it
// is compared on its own with that bound (lr * updates); everything else to fp32 rounding.
export const SHIFT_ONLY = 'sampler.actor.2.bias';
export const isSampler = (n: string) => n.startsWith('sampler.') && !n.startsWith('sampler.reward_norm') && n !== SHIFT_ONLY;
export const isOptim = (n: string) => n.startsWith('optim.') || n.startsWith('sampler_optim.');

