// Clip shards: round trip, resume, checksum refusal, and packing real videos with bad files mixed in.
import { copyFileSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync, writeSync, closeSync, statSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readUcf101 } from '../lib/data/annotations/index.js';
import { packSynthetic, packVideos } from '../lib/data/pack.js';
import { ShardReader, readShardIndex } from '../lib/data/shards.js';
import { SyntheticMotionDataset } from '../lib/data/synthetic.js';
import { DataError } from '../lib/errors/index.js';
import { runCli } from './helpers.js';
import { buildDist, frameIndexAt, makeBadFiles, makeVideo, tempDir, cleanTemp } from './data-fixtures.js';

const syn = { seed: 4, frames: 4, size: 32, length: 40 };

describe('shards from synthetic clips', () => {
  it('round-trips clips, motion maps and labels, across several shard files', () => {
    const out = tempDir('shards');
    const r = packSynthetic({ synthetic: syn, out, count: 30, maxShardBytes: 40_000 });
    expect(r).toMatchObject({ packed: 30, skipped: 0, alreadyPacked: 0, clips: 30 });
    expect(r.shards).toBeGreaterThan(1);
    const ds = new SyntheticMotionDataset(syn);
    const rd = new ShardReader(out);
    expect(rd.length).toBe(30);
    expect(rd.classNames).toEqual([...ds.classNames]);
    for (const i of [0, 7, 29]) {
      const a = ds.get(i);
      const b = rd.read(i);
      expect(Buffer.from(b.clip).equals(Buffer.from(a.clip))).toBe(true);
      expect(Buffer.from(b.motion!).equals(Buffer.from(a.motion))).toBe(true);
      expect(b.label).toBe(a.label);
    }
    const batch = rd.readBatch([3, 1]);
    expect(batch.clips.length).toBe(2 * ds.clipBytes);
    expect(Buffer.from(batch.clips.subarray(ds.clipBytes)).equals(Buffer.from(ds.get(1).clip))).toBe(true);
    expect(Array.from(batch.labels)).toEqual([ds.label(3), ds.label(1)]);
    rd.close();
  });

  it('resumes: packed clips are skipped, a torn tail is cut off', () => {
    const out = tempDir('resume');
    packSynthetic({ synthetic: syn, out, count: 10 });
    // a crash after writing data but before the index: garbage after the indexed end
    const shard = join(out, 'shard-00000.bin');
    const before = statSync(shard).size;
    appendFileSync(shard, Buffer.alloc(1000, 9));
    const r = packSynthetic({ synthetic: syn, out, count: 25 });
    expect(r).toMatchObject({ packed: 15, alreadyPacked: 10, clips: 25 });
    const idx = readShardIndex(out);
    expect(idx.clips[10]!.offset).toBe(before);
    const rd = new ShardReader(out);
    const ds = new SyntheticMotionDataset(syn);
    expect(Buffer.from(rd.read(24).clip).equals(Buffer.from(ds.get(24).clip))).toBe(true);
    rd.close();
  });

  it('refuses a clip whose checksum does not match, naming shard and clip', () => {
    const out = tempDir('crc');
    packSynthetic({ synthetic: syn, out, count: 4 });
    const idx = readShardIndex(out);
    const c = idx.clips[2]!;
    const fd = openSync(join(out, 'shard-00000.bin'), 'r+');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, c.offset + 100);
    b[0] = b[0]! ^ 0xff;
    writeSync(fd, b, 0, 1, c.offset + 100);
    closeSync(fd);
    const rd = new ShardReader(out);
    expect(() => rd.read(1)).not.toThrow();
    let err: unknown;
    try {
      rd.read(2);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).code).toBe('ERR_SHARD_CHECKSUM');
    expect((err as Error).message).toMatch(/shard .*shard-00000\.bin: clip 2 \(synthetic:4:train:4x32:2, offset \d+, label \d+\) fails its checksum/);
    expect(() => new ShardReader(out, { verify: false }).read(2)).not.toThrow();
    // 'once' trusts a clip after its first good read; 'always' catches later damage
    const once = new ShardReader(out);
    const always = new ShardReader(out, { verify: 'always' });
    once.read(3);
    always.read(3);
    const fd2 = openSync(join(out, 'shard-00000.bin'), 'r+');
    writeSync(fd2, Buffer.from([1, 2, 3]), 0, 3, idx.clips[3]!.offset);
    closeSync(fd2);
    expect(() => once.read(3)).not.toThrow();
    expect(() => always.read(3)).toThrow(/clip 3 .* fails its checksum/);
  });

  it('rejects a malformed index with the field named', () => {
    const out = tempDir('badidx');
    packSynthetic({ synthetic: syn, out, count: 2 });
    const j = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
    j.clips[1].bytes = 5;
    writeFileSync(join(out, 'index.json'), JSON.stringify(j));
    expect(() => new ShardReader(out)).toThrow(/index.json: clips\[1\] is malformed/);
    expect(() => new ShardReader(tempDir('none'))).toThrow(/no shard index/);
  });
});

describe('packing real videos (UCF101 layout) with bad files mixed in', () => {
  let root: string;
  beforeAll(() => {
    root = tempDir('ucfpack');
    const v = join(root, 'UCF-101');
    const l = join(root, 'ucfTrainTestlist');
    mkdirSync(l, { recursive: true });
    writeFileSync(join(l, 'classInd.txt'), '1 Archery\n2 Bowling\n');
    const good: string[] = [];
    for (let i = 0; i < 4; i++) good.push(makeVideo(join(v, i % 2 ? 'Bowling' : 'Archery', `v_${i}.mp4`), { frames: 40 + i * 10, width: 64, height: 48, blue: 30 * i }));
    const bad = makeBadFiles(join(v, 'Archery'), good[0]!);
    const rel = (p: string) => p.slice(v.length + 1);
    writeFileSync(
      join(l, 'trainlist01.txt'),
      [...good.map((g, i) => `${rel(g)} ${(i % 2) + 1}`), `${rel(bad.missing)} 1`, `${rel(bad.empty)} 1`, `${rel(bad.truncated)} 1`, `${rel(bad.garbage)} 1`, 'Archery/x.mp4 9'].join('\n'),
    );
  });

  it('packs the good videos, skips exactly the 4 bad files and 1 bad line, and resumes', async () => {
    const out = tempDir('ucfshards');
    const ann = readUcf101({ root });
    expect(ann.entries).toHaveLength(8);
    const r = await packVideos({ annotation: ann, out, frames: 4, rate: 2, size: 32, clipsPerVideo: 2, jobs: 2 });
    expect(r.packed).toBe(8);
    expect(r.skipped).toBe(5);
    expect(r.errors).toHaveLength(5);
    const byName = Object.fromEntries(r.errors.map((e) => [e.file.split('/').pop()!, e.reason.split(':')[0]]));
    expect(byName).toMatchObject({ 'missing.mp4': 'missing', 'empty.mp4': 'empty', 'truncated.mp4': 'truncated', 'garbage.mp4': 'undecodable' });
    expect(r.errors.some((e) => /trainlist01\.txt:9$/.test(e.file))).toBe(true);
    const rd = new ShardReader(out);
    expect(rd.length).toBe(8);
    // the clip's frames are the ones recorded, decoded exactly
    const c = rd.index.clips[0]!;
    const s = rd.read(0);
    expect(c.shape).toEqual([4, 32, 32, 3]);
    expect([0, 1, 2, 3].map((k) => frameIndexAt(s.clip, k, 32, 32))).toEqual(c.frames);
    rd.close();
    const again = await packVideos({ annotation: ann, out, frames: 4, rate: 2, size: 32, clipsPerVideo: 2, jobs: 2 });
    expect(again).toMatchObject({ packed: 0, alreadyPacked: 8, skipped: 5, clips: 8 });
  });

  it('tats pack --json reports {packed, skipped, errors, shards, clipsPerS}', () => {
    buildDist();
    const out = tempDir('clipack');
    const r = runCli(['pack', '--dataset', `ucf101:${root}`, '--out', out, '--frames', '4', '--size', '32', '--rate', '2', '--jobs', '2', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ packed: 4, skipped: 5, shards: 1 });
    expect(j.errors).toHaveLength(5);
    expect(j.errors[0]).toHaveProperty('file');
    expect(j.errors[0]).toHaveProperty('reason');
    expect(typeof j.clipsPerS).toBe('number');
    expect(r.stderr).toMatch(/skipped .*missing\.mp4: missing: no such file/);
    const syn = runCli(['pack', '--dataset', 'synthetic', '--out', tempDir('clisyn'), '--frames', '4', '--size', '32', '--count', '12', '--json']);
    expect(JSON.parse(syn.stdout)).toMatchObject({ packed: 12, skipped: 0, errors: [] });
    const bad = runCli(['pack', '--dataset', 'nope:/x', '--out', out, '--json']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--dataset: expected a known dataset kind/);
  });
});

afterAll(cleanTemp);
