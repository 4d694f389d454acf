// A shard index whose `shape` is edited (to another of the same byte count) is damage, not a
// silent reinterpretation of the bytes: the reader names index.json and clips[i].shape, version 3
// checksums cover the shape (a one-clip set, which has no other clip to compare with), version 2
// sets are checked against the set's shape, and data.onDamaged stops or skips as for a flipped byte.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { packSynthetic } from '../lib/data/pack.js';
import { clipChecksum, readShardIndex, ShardReader, type ShardIndex } from '../lib/data/shards.js';
import { openSource } from '../lib/data/sources.js';
import { readMetrics } from '../lib/train/metrics.js';
import { buildDist, cleanTemp, tempDir } from './data-fixtures.js';
import { runCli } from './helpers.js';

const EDITED = 5;

function packed(tag: string, count = 8): string {
  const out = tempDir(tag);
  packSynthetic({ synthetic: { seed: 1, frames: 8, size: 64, length: count }, out, count });
  return out;
}

function editIndex(dir: string, edit: (j: ShardIndex) => void): void {
  const j = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as ShardIndex;
  edit(j);
  writeFileSync(join(dir, 'index.json'), JSON.stringify(j));
}

/** Clip EDITED's shape [8, 64, 64, 3] becomes [8, 32, 128, 3]: the same bytes, read as another picture. */
const reshape = (j: ShardIndex) => {
  j.clips[EDITED]!.shape = [8, 32, 128, 3];
};

beforeAll(() => buildDist());
afterAll(() => cleanTemp());

describe('an edited shape in the shard index', () => {
  it('is refused on read, naming index.json and clips[i].shape; the other clips read', () => {
    const dir = packed('shape');
    expect(readShardIndex(dir).version).toBe(3);
    editIndex(dir, reshape);
    const r = new ShardReader(dir);
    expect(() => r.read(EDITED)).toThrow(
      expect.objectContaining({
        code: 'ERR_SHARD_INDEX',
        message: expect.stringMatching(new RegExp(`index\\.json: clips\\[${EDITED}\\]\\.shape is \\[8, 32, 128, 3\\] .*where the set's clips are \\[8, 64, 64, 3\\]`)),
      }),
    );
    for (let i = 0; i < r.length; i++) if (i !== EDITED) expect(() => r.read(i)).not.toThrow();
    r.close();
  });

  it('fails the version 3 checksum where no other clip shows the set shape (one clip)', () => {
    const dir = packed('shape-one', 1);
    editIndex(dir, (j) => {
      j.clips[0]!.shape = [8, 32, 128, 3];
    });
    expect(() => new ShardReader(dir).read(0)).toThrow(/clip 0 \(.*\) fails its checksum .*shape\) are damaged/);
  });

  it('is refused in a version 2 set too (its checksum does not cover the shape)', () => {
    const dir = packed('shape-v2');
    const idx = readShardIndex(dir);
    const reader = new ShardReader(dir);
    // The same set as pack wrote it in version 2: crc32 over data and the version 2 record.
    const clips = idx.clips.map((c, i) => {
      const s = reader.read(i);
      return { ...c, crc32: clipChecksum(2, c, s.clip, s.motion) };
    });
    reader.close();
    editIndex(dir, (j) => {
      j.version = 2;
      j.clips = clips;
    });
    expect(() => new ShardReader(dir).read(EDITED)).not.toThrow();
    editIndex(dir, reshape);
    expect(() => new ShardReader(dir).read(EDITED)).toThrow(new RegExp(`clips\\[${EDITED}\\]\\.shape is \\[8, 32, 128, 3\\]`));
  });

  it('the shard source stops on it by default and reports it as bad under onDamaged: skip', async () => {
    const dir = packed('shape-source');
    editIndex(dir, reshape);
    const clip = new Uint8Array(8 * 64 * 64 * 3);
    const stop = openSource({ kind: 'shards', dir });
    await expect(stop.load(EDITED - 1, 0, clip)).resolves.toMatchObject({ ok: true });
    await expect(stop.load(EDITED, 0, clip)).rejects.toMatchObject({ code: 'ERR_SHARD_INDEX', message: expect.stringMatching(/clips\[5\]\.shape/) });
    const skip = openSource({ kind: 'shards', dir, onDamaged: 'skip' });
    await expect(skip.load(EDITED, 0, clip)).resolves.toMatchObject({ ok: false, clip: EDITED, reason: expect.stringMatching(/clips\[5\]\.shape/) });
    stop.close();
    skip.close();
  });

  it('tats pretrain stops with exit 3 naming the file and field; --on-damaged skip records the clip', () => {
    const dir = packed('shape-cli');
    editIndex(dir, reshape);
    const work = tempDir('shape-run');
    const config = join(work, 'tiny.json');
    writeFileSync(
      config,
      JSON.stringify({ preset: 'cpu-demo', model: { preset: 'micro', encoderDepth: 1, decoderDepth: 1 }, masking: { strategy: 'random' }, batchSize: 2, logEvery: 1, device: 'cpu', steps: 4, seed: 5 }),
    );
    const stop = runCli(['pretrain', '--config', config, '--dataset', `shards:${dir}`, '--out', join(work, 'stop'), '--no-picture']);
    expect(stop.status, stop.stderr).toBe(3);
    expect(stop.stderr).toMatch(/ERR_SHARD_INDEX.*index\.json: clips\[5\]\.shape is \[8, 32, 128, 3\]/);
    const out = join(work, 'skip');
    const skip = runCli(['pretrain', '--config', config, '--dataset', `shards:${dir}`, '--out', out, '--no-picture', '--on-damaged', 'skip', '--json']);
    expect(skip.status, skip.stderr).toBe(0);
    const summary = JSON.parse(skip.stdout);
    // 4 steps of 2 read each of the 8 clips once.
    expect(summary.bad_samples).toBe(1);
    expect(summary.bad_files).toEqual([{ file: join(dir, 'shard-00000.bin'), clip: EDITED, reason: expect.stringMatching(/clips\[5\]\.shape/) }]);
    expect(readMetrics(join(out, 'bad_samples.jsonl'))).toEqual([expect.objectContaining({ clip: EDITED, reason: expect.stringMatching(/clips\[5\]\.shape/) })]);
  });
});
