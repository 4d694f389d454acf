// Data parallel (`--nproc-per-node 2`, CPU, Gloo) with `--on-damaged skip`: the damaged clips that
// each rank replaces all reach bad_samples.jsonl (rank-tagged), and the counts in metrics.jsonl,
// the checkpoints and the summary are the run's, not rank 0's alone.
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { packSynthetic } from '../lib/data/pack.js';
import { readShardIndex } from '../lib/data/shards.js';
import { native } from '../lib/native.js';
import { readMetrics } from '../lib/train/metrics.js';
import { DataOrder } from '../lib/train/order.js';
import { listCheckpoints, runPaths } from '../lib/train/rundir.js';
import { buildDist, cleanTemp, tempDir } from './data-fixtures.js';
import { runCli } from './helpers.js';

const CLIPS = 40;
const PER_RANK = 2;
const SEED = 5;
let dir: string;
let shards: string;
/** The first clip rank 0 reads at step 2, and the first clip rank 1 reads at step 3. */
let rank0Clip: number;
let rank1Clip: number;

beforeAll(() => {
  buildDist();
  dir = tempDir('ddp-bad');
  shards = join(dir, 'shards');
  packSynthetic({ synthetic: { seed: 1, frames: 8, size: 64, length: CLIPS }, out: shards, count: CLIPS });
  // The trainer's order: step s, rank r reads PER_RANK clips from (s - 1) * 4 + r * PER_RANK.
  const order = new DataOrder(CLIPS, SEED);
  rank0Clip = order.indices(1 * 2 * PER_RANK + 0 * PER_RANK, 1)[0]!;
  rank1Clip = order.indices(2 * 2 * PER_RANK + 1 * PER_RANK, 1)[0]!;
  const idx = readShardIndex(shards);
  const fd = openSync(join(shards, 'shard-00000.bin'), 'r+');
  for (const c of [rank0Clip, rank1Clip]) {
    const at = idx.clips[c]!.offset + 321;
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] = b[0]! ^ 0x40;
    writeSync(fd, b, 0, 1, at);
  }
  closeSync(fd);
});

afterAll(() => cleanTemp());

const env: NodeJS.ProcessEnv = { RANK: '', WORLD_SIZE: '', LOCAL_RANK: '', MASTER_ADDR: '', MASTER_PORT: '', OMP_NUM_THREADS: '1' };
function cleanEnv(): NodeJS.ProcessEnv {
  const e = { ...process.env, ...env };
  for (const k of Object.keys(env)) if (e[k] === '') delete e[k];
  return e;
}

describe.skipIf(!native().distributedBackends().includes('gloo'))('bad samples under --nproc-per-node 2', () => {
  it('every rank\'s replaced clips are in bad_samples.jsonl once, with the rank; counts are the run\'s', () => {
    expect(rank0Clip).not.toBe(rank1Clip);
    const out = join(dir, 'run');
    const r = runCli(
      ['pretrain', '--preset', 'cpu-demo', '--batch-size', String(PER_RANK), '--nproc-per-node', '2', '--dataset', `shards:${shards}`, '--on-damaged', 'skip',
        '--steps', '6', '--set', `seed=${SEED}`, '--set', 'checkpointEvery=1', '--set', 'keepCheckpoints=10', '--log-every', '1', '--no-picture', '--out', out, '--json'],
      { env: cleanEnv(), timeoutMs: 240_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const file = join(shards, 'shard-00000.bin');
    const log = readMetrics(join(out, 'bad_samples.jsonl'));
    expect(log.map(({ step, clip, rank, file: f }) => ({ step, clip, rank, file: f })).sort((a, b) => (a.step as number) - (b.step as number))).toEqual([
      { step: 2, clip: rank0Clip, rank: 0, file },
      { step: 3, clip: rank1Clip, rank: 1, file },
    ]);
    for (const l of log) expect(l.reason).toMatch(/fails its checksum/);
    const summary = JSON.parse(r.stdout);
    expect(summary.bad_samples).toBe(2);
    expect(summary.bad_files.map((b: { clip: number }) => b.clip).sort()).toEqual([rank0Clip, rank1Clip].sort());
    // The count at each step and in each checkpoint: the clips of the steps up to it, every rank.
    const expected = (s: number) => (s >= 3 ? 2 : s >= 2 ? 1 : 0);
    expect(readMetrics(join(out, 'metrics.jsonl')).map((m) => [m.step, m.bad_samples ?? 0])).toEqual([1, 2, 3, 4, 5, 6].map((s) => [s, expected(s)]));
    for (const c of listCheckpoints(runPaths(out))) {
      const meta = JSON.parse(readFileSync(join(c.path, 'meta.json'), 'utf8')) as { trainer?: { badSamples?: number }; badSamples?: number };
      expect(meta.trainer?.badSamples ?? meta.badSamples ?? 0, c.path).toBe(expected(c.step));
    }
    // Rank 1 kept its own journal, which rank 0 copied from.
    expect(readMetrics(join(out, 'bad_samples.rank-1.jsonl')).map((l) => [l.step, l.clip])).toEqual([[3, rank1Clip]]);
  });

  it('a run stopped after step 2 and resumed records each clip once', () => {
    const out = join(dir, 'resumed');
    const args = (steps: number, ...more: string[]) => [
      'pretrain', '--preset', 'cpu-demo', '--batch-size', String(PER_RANK), '--dataset', `shards:${shards}`, '--on-damaged', 'skip',
      '--steps', String(steps), '--set', `seed=${SEED}`, '--set', 'optim.totalSteps=6', '--log-every', '1', '--no-picture', '--out', out, ...more,
    ];
    const first = runCli(args(2, '--nproc-per-node', '2'), { env: cleanEnv(), timeoutMs: 240_000 });
    expect(first.status, first.stderr).toBe(0);
    const second = runCli(args(6, '--resume', '--json'), { env: cleanEnv(), timeoutMs: 240_000 });
    expect(second.status, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).bad_samples).toBe(2);
    const log = readMetrics(join(out, 'bad_samples.jsonl'));
    expect(log.map((l) => [l.step, l.clip, l.rank]).sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual([
      [2, rank0Clip, 0],
      [3, rank1Clip, 1],
    ]);
  });
});
