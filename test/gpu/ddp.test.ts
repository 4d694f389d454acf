// Data parallelism on NCCL. World size 1 on one GPU: the group's collectives are in the step
// (one-rank all-reduces, the metrics reduction, the NCCL communicator) and the result must match
// a plain single process. Two ranks on two GPUs (skipped with fewer): the same comparison as the
// CPU test on Gloo (test/ddp.test.ts), fp32, with a tolerance for GPU reduction order, and the
// launcher (`tats pretrain --nproc-per-node 2`, LOCAL_RANK picking the device) end to end.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { readMetrics } from '../../lib/index.js';
import { info } from '../../lib/info.js';
import { native } from '../../lib/native.js';
import { SHIFT_ONLY, config, isModel, isOptim, isSampler, maxDiff, trainBoth, type RankOutput } from '../ddp-helpers.js';
import { runCli } from '../helpers.js';

const i = info();
const hasNccl = native().distributedBackends().includes('nccl');
const reason = i.flavour !== 'cuda' ? 'this binary has no CUDA kernels' : !i.cuda ? 'no CUDA device is available' : !hasNccl ? 'this binary was built without NCCL' : '';
if (reason) console.warn(`GPU data-parallel tests skipped: ${reason}`);
const gpus = reason ? 0 : i.devices.length;
const dir = mkdtempSync(join(tmpdir(), 'tats-gpu-ddp-'));

function compare(label: string, single: RankOutput, rank0: RankOutput) {
  const model = maxDiff(single, rank0, isModel);
  const sampler = maxDiff(single, rank0, isSampler);
  const optim = maxDiff(single, rank0, isOptim);
  const shift = maxDiff(single, rank0, (n) => n === SHIFT_ONLY);
  console.log(JSON.stringify({ check: 'ddp', label, modelMaxDiff: model.max, modelWorst: model.worst, samplerMaxDiff: sampler.max, samplerWorst: sampler.worst, optimMaxDiff: optim.max, shiftOnlyBiasMaxDiff: shift.max }));
  return { model, sampler, optim };
}

describe.skipIf(Boolean(reason))('data parallel over NCCL, world size 1', () => {
  it('tats, 3 steps, fp32: one NCCL rank trains like a plain process', async () => {
    const { single, ranks } = await trainBoth('nccl-w1', config('tats', 4, 'cuda'), 3, 1);
    const { model, sampler, optim } = compare('world1-tats', single, ranks[0]!);
    // The same kernels on the same batch: only atomics-order nondeterminism separates the runs.
    expect(model.max).toBeLessThan(1e-4);
    expect(sampler.max).toBeLessThan(1e-4);
    expect(optim.max).toBeLessThan(1e-4);
    for (let s = 0; s < 3; s++) expect(ranks[0]!.metrics[s]!.loss).toBeCloseTo(single.metrics[s]!.loss, 4);
  });

  it('the CLI under RANK=0 WORLD_SIZE=1 trains on cuda through the group', () => {
    const out = join(dir, 'cli-w1');
    const r = runCli(
      ['pretrain', '--json', '--model', 'small', '--frames', '16', '--size', '112', '--strategy', 'tats', '--batch-size', '4', '--steps', '3', '--log-every', '1', '--no-picture', '--out', out],
      { env: { RANK: '0', WORLD_SIZE: '1', LOCAL_RANK: '0' }, timeoutMs: 300_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).config).toMatchObject({ worldSize: 1, device: 'cuda' });
    expect(readMetrics(join(out, 'metrics.jsonl'))).toHaveLength(3);
  });
});

describe.skipIf(Boolean(reason) || gpus < 2)(`data parallel over NCCL, 2 ranks on 2 GPUs (${gpus} visible)`, () => {
  it.each(['tats', 'tube'] as const)('%s, 3 steps, fp32: 2 ranks = 1 process on the combined batch', async (strategy) => {
    const { single, ranks } = await trainBoth(`nccl-w2-${strategy}`, config(strategy, 4, 'cuda'), 3, 2);
    expect(maxDiff(ranks[0]!, ranks[1]!, () => true).max).toBe(0);
    const { model, sampler, optim } = compare(`world2-${strategy}`, single, ranks[0]!);
    expect(model.max).toBeLessThan(1e-4);
    if (strategy === 'tats') expect(sampler.max).toBeLessThan(1e-4);
    expect(optim.max).toBeLessThan(1e-4);
  });

  it('tats pretrain --nproc-per-node 2: one rank per GPU, rank 0 writes', () => {
    const out = join(dir, 'cli-w2');
    const r = runCli(
      ['pretrain', '--json', '--nproc-per-node', '2', '--model', 'small', '--frames', '16', '--size', '112', '--strategy', 'tats', '--batch-size', '4', '--steps', '5', '--log-every', '1', '--no-picture', '--out', out],
      { timeoutMs: 300_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.config).toMatchObject({ worldSize: 2, batchSize: 4, device: 'cuda' });
    expect(readMetrics(join(out, 'metrics.jsonl'))).toHaveLength(5);
    console.log(JSON.stringify({ check: 'ddp-cli', gpus: 2, clipsPerS: summary.clips_per_s }));
  });
});
