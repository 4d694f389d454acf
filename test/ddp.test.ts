// Data-parallel training on the CPU: 2 Gloo ranks (two processes) against one process on the
// combined batch. The loss and the PPO terms are means over equal-sized per-rank batches, the
// ranks average their gradients, the reward and advantage statistics are those of the global
// batch, and every clip's mask is keyed by its global row: so after a step, and after a few, the
// weights (MAE, sampler) and both optimisers' moments must agree to fp32 rounding.
import { describe, expect, it } from 'vitest';

import { ConfigError, distBackend, readDistEnv } from '../lib/index.js';
import { native } from '../lib/native.js';
import { freePort } from '../lib/train/distributed.js';
import { SHIFT_ONLY, config, floats, isModel, isOptim, isSampler, maxDiff, trainBoth, type RankOutput } from './ddp-helpers.js';

describe.skipIf(!native().distributedBackends().includes('gloo'))('data parallel over Gloo: 2 ranks = 1 process on the combined batch', () => {
  it('tats (PPO sampler): weights, sampler, optimiser moments and metrics after 1 and after 3 steps', async () => {
    for (const steps of [1, 3]) {
      const { single, ranks } = await trainBoth(`tats${steps}`, config('tats', 4), steps);
      const [r0, r1] = ranks as [RankOutput, RankOutput];
      // The ranks hold the same state exactly (the same all-reduced gradients, the same updates).
      expect(maxDiff(r0, r1, () => true).max).toBe(0);
      const model = maxDiff(single, r0, isModel);
      const sampler = maxDiff(single, r0, isSampler);
      const optim = maxDiff(single, r0, isOptim);
      console.log(`tats, ${steps} step(s): max |w_1proc - w_2rank| model ${model.max.toExponential(2)} (${model.compared} tensors), sampler ${sampler.max.toExponential(2)} (${sampler.compared}, worst ${sampler.worst}), optimiser moments ${optim.max.toExponential(2)}`);
      expect(model.compared).toBeGreaterThan(10);
      expect(sampler.compared).toBeGreaterThan(5);
      expect(model.max).toBeLessThan(2e-6);
      expect(sampler.max).toBeLessThan(2e-6);
      expect(optim.max).toBeLessThan(2e-6);
      const shift = maxDiff(single, r0, (n) => n === SHIFT_ONLY);
      expect(shift.compared).toBe(1);
      expect(shift.max).toBeLessThanOrEqual(1e-3 * 4 * steps * 1.01); // sampler lr x PPO updates
      console.log(`  ${SHIFT_ONLY} (shift-invariant, zero gradient up to rounding): ${shift.max.toExponential(2)}`);
      // The reward statistics are the global batch's.
      for (const k of ['sampler.reward_norm.mean', 'sampler.reward_norm.var']) {
        expect(floats(r0.state[k]!)![0]).toBeCloseTo(floats(single.state[k]!)![0]!, 5);
      }
      // The metrics are means over the ranks: the single process's values.
      for (let s = 0; s < steps; s++) {
        const a = single.metrics[s]!;
        const b = r0.metrics[s]!;
        expect(b.loss).toBeCloseTo(a.loss, 5);
        expect(b.gradNorm).toBeCloseTo(a.gradNorm, 5);
        expect(b.entropy!).toBeCloseTo(a.entropy!, 4);
        expect(b.valueLoss!).toBeCloseTo(a.valueLoss!, 4);
        expect(b.reward!).toBeCloseTo(a.reward!, 5);
        expect(b.stopRequested).toBe(0);
        expect(r1.metrics[s]!.loss).toBe(b.loss);
      }
      // Training moved the weights well beyond the tolerance above.
      expect(maxDiff(single, r0, () => true).compared).toBeGreaterThan(0);
    }
  });

  it('tube: weights and optimiser moments after 3 steps', async () => {
    const { single, ranks } = await trainBoth('tube', config('tube', 4), 3);
    const [r0, r1] = ranks as [RankOutput, RankOutput];
    expect(maxDiff(r0, r1, () => true).max).toBe(0);
    const model = maxDiff(single, r0, isModel);
    const optim = maxDiff(single, r0, isOptim);
    console.log(`tube, 3 steps: max |w_1proc - w_2rank| model ${model.max.toExponential(2)} (${model.compared} tensors), optimiser moments ${optim.max.toExponential(2)}`);
    expect(model.compared).toBeGreaterThan(10);
    expect(model.max).toBeLessThan(2e-6);
    expect(optim.max).toBeLessThan(2e-6);
    for (let s = 0; s < 3; s++) expect(r0.metrics[s]!.loss).toBeCloseTo(single.metrics[s]!.loss, 5);
  });

  it('adamae: weights, sampler and optimiser moments after 2 steps', async () => {
    const { single, ranks } = await trainBoth('adamae', config('adamae', 4), 2);
    const [r0, r1] = ranks as [RankOutput, RankOutput];
    expect(maxDiff(r0, r1, () => true).max).toBe(0);
    const model = maxDiff(single, r0, isModel);
    // head.bias is AdaMAE's shift-only parameter (see SHIFT_ONLY).
    const sampler = maxDiff(single, r0, (n) => isSampler(n) && n !== 'sampler.head.bias');
    console.log(`adamae, 2 steps: max |w_1proc - w_2rank| model ${model.max.toExponential(2)}, sampler ${sampler.max.toExponential(2)} (${sampler.compared}, worst ${sampler.worst})`);
    expect(model.max).toBeLessThan(2e-6);
    expect(sampler.compared).toBeGreaterThan(5);
    expect(sampler.max).toBeLessThan(2e-6);
  });

  it('a stop asked by one rank reaches every rank after the same step', async () => {
    const { ranks } = await trainBoth('stop', config('tube', 4), 2, 2, { stopAt: { rank: 1, step: 2 } });
    for (const r of ranks) {
      expect(r.metrics[0]!.stopRequested).toBe(0);
      expect(r.metrics[1]!.stopRequested).toBe(0.5);
    }
  });
});

describe('the launch environment', () => {
  const ok = { RANK: '1', WORLD_SIZE: '2', LOCAL_RANK: '1', MASTER_ADDR: 'node0', MASTER_PORT: '29500' };
  const fails = (env: Record<string, string>, field: string, pattern: RegExp) => {
    let err: unknown;
    try {
      readDistEnv(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe(field);
    expect((err as ConfigError).message).toMatch(pattern);
  };

  it('reads torchrun variables, and Slurm variables when RANK is absent', () => {
    expect(readDistEnv({})).toBeNull();
    expect(readDistEnv(ok)).toMatchObject({ rank: 1, worldSize: 2, localRank: 1, masterAddr: 'node0', masterPort: 29500, source: 'env', timeoutMs: 600_000 });
    expect(readDistEnv({ SLURM_PROCID: '3', SLURM_NTASKS: '8', SLURM_LOCALID: '3', SLURM_NTASKS_PER_NODE: '4(x2)', MASTER_ADDR: 'n1', MASTER_PORT: '1234' })).toMatchObject({
      rank: 3, worldSize: 8, localRank: 3, localWorldSize: 4, source: 'slurm',
    });
    // A single-task Slurm job (sbatch's own shell) is not data parallel.
    expect(readDistEnv({ SLURM_PROCID: '0', SLURM_NTASKS: '1' })).toBeNull();
    // One rank needs no rendezvous address.
    expect(readDistEnv({ RANK: '0', WORLD_SIZE: '1' })).toMatchObject({ rank: 0, worldSize: 1, localRank: 0, masterAddr: '127.0.0.1', masterPort: 0 });
    expect(readDistEnv({ ...ok, TATS_DIST_TIMEOUT_S: '30', TATS_DIST_BACKEND: 'gloo' })).toMatchObject({ timeoutMs: 30_000, backend: 'gloo' });
  });

  it('names the variable and what was expected', () => {
    fails({ ...ok, RANK: '2' }, 'RANK', /RANK: expected an integer in \[0, WORLD_SIZE\) = \[0, 2\), received 2/);
    fails({ ...ok, RANK: 'one' }, 'RANK', /integer/);
    fails({ RANK: '0' }, 'WORLD_SIZE', /when RANK is set/);
    fails({ WORLD_SIZE: '2' }, 'RANK', /when WORLD_SIZE is set/);
    fails({ ...ok, MASTER_ADDR: '' }, 'MASTER_ADDR', /rank 0 when WORLD_SIZE > 1/);
    fails({ ...ok, MASTER_PORT: '' }, 'MASTER_PORT', /TCP port/);
    fails({ ...ok, MASTER_PORT: '70000' }, 'MASTER_PORT', /1\.\.65535/);
    fails({ ...ok, LOCAL_RANK: '' }, 'LOCAL_RANK', /GPU on its node/);
    fails({ SLURM_PROCID: '4', SLURM_NTASKS: '4', SLURM_LOCALID: '0', MASTER_ADDR: 'a', MASTER_PORT: '1' }, 'SLURM_PROCID', /\[0, SLURM_NTASKS\) = \[0, 4\)/);
    fails({ SLURM_PROCID: '1', SLURM_NTASKS: '4', SLURM_LOCALID: '1' }, 'MASTER_ADDR', /SLURM_NTASKS > 1/);
    fails({ ...ok, TATS_DIST_BACKEND: 'mpi' }, 'TATS_DIST_BACKEND', /"nccl" \(CUDA\) or "gloo" \(CPU\)/);
    fails({ ...ok, TATS_DIST_TIMEOUT_S: '0' }, 'TATS_DIST_TIMEOUT_S', /seconds/);
  });

  it('checks the backend against the device and the binary', () => {
    const dist = readDistEnv(ok)!;
    expect(distBackend(dist, 'cpu', ['gloo'])).toBe('gloo');
    expect(distBackend(dist, 'cuda', ['gloo', 'nccl'])).toBe('nccl');
    expect(() => distBackend({ ...dist, backend: 'nccl' }, 'cpu', ['gloo', 'nccl'])).toThrow(/TATS_DIST_BACKEND: expected "gloo" on the cpu device/);
    expect(() => distBackend(dist, 'cuda', ['gloo'])).toThrow(/device: expected a binary built with CUDA and NCCL .*this binary offers gloo/);
    expect(() => distBackend(dist, 'cpu', [])).toThrow(/built with Gloo/);
  });

  it('rendezvous times out with a message naming the rank and the store', async () => {
    const port = await freePort();
    const t0 = Date.now();
    await expect(
      native().initProcessGroup({ rank: 1, worldSize: 2, masterAddr: '127.0.0.1', masterPort: port, backend: 'gloo', timeoutMs: 1500, device: 'cpu' }),
    ).rejects.toThrow(new RegExp(`rendezvous \\(TCPStore\\) failed for rank 1 of 2 at 127\\.0\\.0\\.1:${port} within 1\\.5 s`));
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(native().processGroup()).toBeNull();
  });

  it('nccl on a binary without it is a clear error', async () => {
    if (native().distributedBackends().includes('nccl')) return;
    await expect(
      native().initProcessGroup({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: await freePort(), backend: 'nccl', timeoutMs: 5000, device: 'cuda:0' }),
    ).rejects.toThrow(/backend 'nccl': this binary was built without (CUDA|NCCL)/);
  });
});
