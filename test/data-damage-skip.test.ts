// data.onDamaged: a damaged shard clip stops `tats pretrain` by default (exit 3, the shard file and
// the clip named); with `skip` the run completes and its record lists each clip it replaced
// (bad_samples.jsonl with the step, the summary, bad_samples in metrics.jsonl and the checkpoint),
// a stopped run may go on with skip, and a resume records each replaced clip once.
import { closeSync, existsSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { resolveConfig } from '../lib/config/index.js';
import { packSynthetic } from '../lib/data/pack.js';
import { readShardIndex } from '../lib/data/shards.js';
import { readMetrics } from '../lib/train/metrics.js';
import { listCheckpoints, runPaths } from '../lib/train/rundir.js';
import { buildDist, cleanTemp, tempDir } from './data-fixtures.js';
import { runCli } from './helpers.js';

let dir: string;
let shards: string;
let config: string;
/** The damaged clip's index in the set. */
const DAMAGED = 3;

beforeAll(() => {
  buildDist();
  dir = tempDir('damage-skip');
  shards = join(dir, 'shards');
  packSynthetic({ synthetic: { seed: 1, frames: 8, size: 64, length: 8 }, out: shards, count: 8 });
  const idx = readShardIndex(shards);
  // One flipped byte inside clip DAMAGED.
  const fd = openSync(join(shards, 'shard-00000.bin'), 'r+');
  const byte = Buffer.alloc(1);
  const at = idx.clips[DAMAGED]!.offset + 777;
  readSync(fd, byte, 0, 1, at);
  byte[0] = byte[0]! ^ 0x10;
  writeSync(fd, byte, 0, 1, at);
  closeSync(fd);
  config = join(dir, 'tiny.json');
  // 8 clips, batch 2: every clip is read in each 4-step epoch; checkpoints every 2 steps.
  writeFileSync(
    config,
    JSON.stringify({
      preset: 'cpu-demo',
      model: { preset: 'micro', encoderDepth: 1, decoderDepth: 1 },
      masking: { strategy: 'random' },
      batchSize: 2,
      logEvery: 1,
      checkpointEvery: 2,
      device: 'cpu',
      steps: 8,
      seed: 5,
    }),
  );
});

afterAll(() => cleanTemp());

const metaOf = (path: string) => JSON.parse(readFileSync(join(path, 'meta.json'), 'utf8')) as { trainer?: { badSamples?: number }; badSamples?: number };

describe('data.onDamaged', () => {
  it('is a config field: stop by default, skip or stop, anything else named', () => {
    expect(resolveConfig({}, { cudaAvailable: false }).data.onDamaged).toBe('stop');
    expect(resolveConfig({ data: { onDamaged: 'skip' } }, { cudaAvailable: false }).data.onDamaged).toBe('skip');
    expect(() => resolveConfig({ data: { onDamaged: 'ignore' as 'skip' } }, { cudaAvailable: false })).toThrow(/data\.onDamaged: expected one of stop, skip/);
    const r = runCli(['pretrain', '--config', config, '--dataset', `shards:${shards}`, '--out', join(dir, 'bad-value'), '--set', 'data.onDamaged=maybe']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/data\.onDamaged: expected one of stop, skip, received "maybe"/);
    const f = runCli(['pretrain', '--config', config, '--dataset', `shards:${shards}`, '--out', join(dir, 'bad-flag'), '--on-damaged', 'never']);
    expect(f.status).toBe(2);
    expect(f.stderr).toMatch(/--on-damaged \(data\.onDamaged\): expected one of stop, skip, received "never"/);
  });

  it('stop (the default) ends the run with exit 3 naming the shard file and the clip; skip completes and records the clip', () => {
    const stopped = join(dir, 'run-stop');
    const r = runCli(['pretrain', '--config', config, '--dataset', `shards:${shards}`, '--out', stopped, '--no-picture']);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`ERR_SHARD_CHECKSUM.*shard-00000\\.bin: clip ${DAMAGED} \\(synthetic:.*\\) fails its checksum`));
    expect(existsSync(join(stopped, 'bad_samples.jsonl'))).toBe(false);

    const out = join(dir, 'run-skip');
    const s = runCli(['pretrain', '--config', config, '--dataset', `shards:${shards}`, '--out', out, '--no-picture', '--set', 'data.onDamaged=skip', '--json']);
    expect(s.status, s.stderr).toBe(0);
    const summary = JSON.parse(s.stdout);
    expect(summary.step).toBe(8);
    expect(summary.config.data.onDamaged).toBe('skip');
    // The clip is read once per epoch: 2 epochs of 8 clips in 8 steps of 2.
    expect(summary.bad_samples).toBe(2);
    expect(summary.bad_files).toEqual([{ file: join(shards, 'shard-00000.bin'), clip: DAMAGED, reason: expect.stringMatching(new RegExp(`clip ${DAMAGED} .* fails its checksum`)) }]);
    expect(summary.bad_samples_log).toBe(join(out, 'bad_samples.jsonl'));
    const log = readMetrics(join(out, 'bad_samples.jsonl'));
    expect(log).toHaveLength(2);
    for (const l of log) expect(l).toMatchObject({ file: join(shards, 'shard-00000.bin'), clip: DAMAGED, reason: expect.stringMatching(/fails its checksum/) });
    const steps = log.map((l) => l.step as number);
    expect(steps[0]).toBeLessThanOrEqual(4);
    expect(steps[1]).toBeGreaterThan(4);
    // bad_samples in metrics.jsonl: the count up to each step, from the step whose batch held the clip.
    const metrics = readMetrics(join(out, 'metrics.jsonl'));
    expect(metrics.map((m) => m.bad_samples ?? 0)).toEqual(metrics.map((m) => steps.filter((t) => t <= (m.step as number)).length));
    // The checkpoint carries the count of its step (not of batches read ahead of it).
    for (const c of listCheckpoints(runPaths(out))) {
      const meta = metaOf(c.path);
      const count = meta.trainer?.badSamples ?? meta.badSamples ?? 0;
      expect(count, c.path).toBe(steps.filter((t) => t <= c.step).length);
    }
    // Without --json the summary names the clips too.
    const h = runCli(['pretrain', '--config', config, '--dataset', `shards:${shards}`, '--out', join(dir, 'run-skip-human'), '--no-picture', '--on-damaged', 'skip', '--steps', '4']);
    expect(h.status, h.stderr).toBe(0);
    expect(h.stdout).toMatch(new RegExp(`bad +1 sample\\(s\\) failed to load .*bad_samples\\.jsonl\\):\\n +.*shard-00000\\.bin clip ${DAMAGED}: `));
  });

  it('a run stopped by a damaged clip goes on with --resume --on-damaged skip; the record lists each replaced clip once', () => {
    const out = join(dir, 'run-resume');
    // Stop at the first damaged read (after the checkpoint at step 2 at the latest).
    const r = runCli(['pretrain', '--config', config, '--dataset', `shards:${shards}`, '--out', out, '--no-picture']);
    expect(r.status, r.stderr).toBe(3);
    const s = runCli(['pretrain', '--config', config, '--dataset', `shards:${shards}`, '--out', out, '--no-picture', '--resume', '--on-damaged', 'skip', '--json']);
    expect(s.status, s.stderr).toBe(0);
    const summary = JSON.parse(s.stdout);
    expect(summary.step).toBe(8);
    expect(summary.bad_samples).toBe(2);
    const again = join(dir, 'run-skip');
    // The same record, step by step, as the run that skipped from the start.
    const strip = (ls: Record<string, unknown>[]) => ls.map(({ time: _t, ...rest }) => rest);
    expect(strip(readMetrics(join(out, 'bad_samples.jsonl')))).toEqual(strip(readMetrics(join(again, 'bad_samples.jsonl'))));
    const lossA = readMetrics(join(out, 'metrics.jsonl')).map((m) => [m.step, m.loss, m.bad_samples ?? 0]);
    const lossB = readMetrics(join(again, 'metrics.jsonl')).map((m) => [m.step, m.loss, m.bad_samples ?? 0]);
    expect(lossA).toEqual(lossB);
  });
});
