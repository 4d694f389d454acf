// The prefetching loader over synthetic clips, shards and real videos (with bad files), in worker
// threads (transferred buffers) and on the main thread.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeFileSync } from 'node:fs';

import { DataLoader } from '../lib/data/loader.js';
import { datasetSource, parseDatasetSpec } from '../lib/data/spec.js';
import { packSynthetic } from '../lib/data/pack.js';
import { recipeFor } from '../lib/data/sampling.js';
import { SyntheticMotionDataset } from '../lib/data/synthetic.js';
import { DataError } from '../lib/errors/index.js';
import { buildDist, makeBadFiles, makeVideo, tempDir, cleanTemp } from './data-fixtures.js';

const syn = { seed: 2, frames: 4, size: 32, length: 24 };

async function collect(l: DataLoader) {
  const out = [];
  for await (const b of l) out.push(b);
  await l.close();
  return out;
}

describe('DataLoader', () => {
  beforeAll(() => buildDist());

  it.each([0, 2])('synthetic with %i workers: every clip once per epoch, in a seeded order, with motion', async (workers) => {
    const l = new DataLoader({ source: { kind: 'synthetic', options: syn }, batchSize: 4, workers, seed: 1, epochs: 2 });
    const bs = await collect(l);
    expect(bs).toHaveLength(12);
    const ds = new SyntheticMotionDataset(syn);
    const first = bs[0]!;
    expect(first.clips.length).toBe(4 * ds.clipBytes);
    expect(first.motion!.length).toBe(4 * ds.tokens);
    expect(first.labels).toBeInstanceOf(Int32Array);
    // each epoch covers all labels the dataset has (24 clips, 8 classes, 3 each)
    const counts = new Array<number>(8).fill(0);
    for (const b of bs.slice(0, 6)) for (const x of b.labels) counts[x]!++;
    expect(counts).toEqual(new Array<number>(8).fill(3));
    expect(bs.map((b) => b.step)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(l.stats).toMatchObject({ batches: 12, bad: 0, attempts: 48 });
  });

  it('worker and main-thread loaders give the same batches', async () => {
    const a = await collect(new DataLoader({ source: { kind: 'synthetic', options: syn }, batchSize: 3, workers: 0, seed: 5, steps: 4 }));
    const b = await collect(new DataLoader({ source: { kind: 'synthetic', options: syn }, batchSize: 3, workers: 2, seed: 5, steps: 4 }));
    expect(b).toHaveLength(4);
    for (let i = 0; i < 4; i++) expect(Buffer.from(b[i]!.clips).equals(Buffer.from(a[i]!.clips))).toBe(true);
  });

  it('recycled buffers are reused by the worker and still give the right clips', async () => {
    const dir = tempDir('ldrecycle');
    packSynthetic({ synthetic: syn, out: dir });
    const ds = new SyntheticMotionDataset(syn);
    const l = new DataLoader({ source: { kind: 'shards', dir }, batchSize: 4, workers: 1, shuffle: false, epochs: 2, prefetch: 1 });
    const firsts: number[] = [];
    for await (const b of l) {
      const want = ds.get((b.step % 6) * 4).clip;
      expect(Buffer.from(b.clips.subarray(0, ds.clipBytes)).equals(Buffer.from(want))).toBe(true);
      firsts.push(b.labels[0]!);
      l.recycle(b);
      expect(b.clips.byteLength).toBe(0); // transferred back
    }
    await l.close();
    expect(firsts).toHaveLength(12);
  });

  it('reads shards, optionally resized by multi-scale crops', async () => {
    const dir = tempDir('ldshards');
    packSynthetic({ synthetic: syn, out: dir });
    const same = await collect(new DataLoader({ source: { kind: 'shards', dir }, batchSize: 8, workers: 1, shuffle: false }));
    const ds = new SyntheticMotionDataset(syn);
    expect(Buffer.from(same[1]!.clips.subarray(0, ds.clipBytes)).equals(Buffer.from(ds.get(8).clip))).toBe(true);
    expect(Buffer.from(same[1]!.motion!.subarray(0, ds.tokens)).equals(Buffer.from(ds.get(8).motion))).toBe(true);
    const small = await collect(new DataLoader({ source: { kind: 'shards', dir, size: 16 }, batchSize: 8, workers: 0 }));
    expect(small[0]!.clips.length).toBe(8 * 4 * 16 * 16 * 3);
    expect(small[0]!.motion).toBeUndefined();
  });

  describe('videos with bad files', () => {
    let entries: Array<{ path: string; label: number }>;
    beforeAll(() => {
      const dir = tempDir('ldvideos');
      mkdirSync(dir, { recursive: true });
      const good = Array.from({ length: 6 }, (_, i) => makeVideo(join(dir, `g${i}.mp4`), { frames: 24, width: 40, height: 32 }));
      const bad = makeBadFiles(join(dir, 'bad'), good[0]!);
      entries = [...good.map((path, i) => ({ path, label: i % 3 })), { path: bad.missing, label: 0 }, { path: bad.garbage, label: 1 }];
    });

    it('skips and counts bad samples, replacing them', async () => {
      const l = new DataLoader({
        source: { kind: 'videos', entries, size: 16, recipe: { ...recipeFor('k400', 'pretrain', 4), rate: 2 }, seed: 0 },
        batchSize: 4,
        workers: 1,
        epochs: 1,
        maxBadShare: 0.5,
        minAttemptsForBadCheck: 1,
      });
      const bs = await collect(l);
      expect(bs).toHaveLength(2);
      expect(bs[0]!.clips.length).toBe(4 * 4 * 16 * 16 * 3);
      expect(l.stats.bad).toBeGreaterThanOrEqual(2);
      expect(l.stats.attempts).toBe(8 + l.stats.bad);
      expect(l.stats.errors.map((e) => e.file.split('/').pop()).sort()).toEqual(expect.arrayContaining(['garbage.mp4', 'missing.mp4']));
    });

    it('runs a list:FILE spec end to end (VideoMAE list file -> decoded, cropped batches)', async () => {
      const dir = tempDir('ldlist');
      const list = join(dir, 'train.csv');
      writeFileSync(list, entries.slice(0, 4).map((e) => `${e.path} ${e.label}`).join('\n') + '\n');
      const { source, classNames } = datasetSource(parseDatasetSpec(`list:${list}`), { frames: 4, size: 16, seed: 3 });
      expect(source).toMatchObject({ kind: 'videos', recipe: { kind: 'dense', rate: 4, frames: 4, flip: false } });
      expect(classNames).toEqual(['0', '1', '2']);
      const bs = await collect(new DataLoader({ source, batchSize: 2, workers: 0 }));
      expect(bs).toHaveLength(2);
      expect(bs[0]!.clips.length).toBe(2 * 4 * 16 * 16 * 3);
      const syn = datasetSource(parseDatasetSpec('synthetic'), { frames: 4, size: 32, seed: 1, length: 16 });
      expect(syn.classNames).toHaveLength(8);
      expect(syn.source).toMatchObject({ kind: 'synthetic', options: { frames: 4, size: 32, seed: 1, length: 16 } });
    });

    it('fails the run once more than maxBadShare of samples are bad', async () => {
      const l = new DataLoader({
        source: { kind: 'videos', entries, size: 16, recipe: { ...recipeFor('k400', 'pretrain', 4), rate: 2 }, seed: 0 },
        batchSize: 8,
        workers: 0,
        maxBadShare: 0.05,
        minAttemptsForBadCheck: 8,
      });
      let err: unknown;
      try {
        await collect(l);
      } catch (e) {
        err = e;
      }
      await l.close();
      expect(err).toBeInstanceOf(DataError);
      expect((err as DataError).code).toBe('ERR_DATA_TOO_MANY_BAD');
      expect((err as Error).message).toMatch(/of \d+ samples were bad .*> 5\.0% allowed/);
    });
  });
});

afterAll(cleanTemp);
