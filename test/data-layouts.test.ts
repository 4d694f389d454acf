// Every official layout end to end on real (tiny) videos made here: annotation -> decode -> shards.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { packVideos } from '../lib/data/pack.js';
import { ShardReader } from '../lib/data/shards.js';
import { parseDatasetSpec, readAnnotation } from '../lib/data/spec.js';
import { makeVideo, tempDir, cleanTemp } from './data-fixtures.js';

function write(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

/** Blue channel of clip i's first pixel: which source video it came from. */
function blueOf(rd: ShardReader, i: number): number {
  return rd.read(i).clip[2]!;
}

async function packAndRead(spec: string, choice: { subset?: 'train' | 'val' | 'test'; split?: 1 | 2 | 3 } = {}) {
  const ann = readAnnotation(parseDatasetSpec(spec), choice);
  const out = tempDir('layout-out');
  const report = await packVideos({ annotation: ann, out, frames: 4, rate: 2, size: 16, jobs: 2 });
  const rd = new ShardReader(out);
  const got = rd.index.clips.map((c, i) => ({ label: c.label, blue: blueOf(rd, i), name: c.source.split('/').pop() }));
  rd.close();
  got.sort((a, b) => a.name!.localeCompare(b.name!));
  return { ann, report, got };
}

describe('layouts on real videos', () => {
  let roots: Record<string, string>;
  beforeAll(() => {
    roots = {};
    // HMDB51: .avi (mpeg4) under hmdb51/<class>/
    const h = (roots.hmdb51 = tempDir('hmdb-real'));
    makeVideo(join(h, 'hmdb51', 'brush_hair', 'b1.avi'), { codec: 'mpeg4', blue: 40, frames: 20 });
    makeVideo(join(h, 'hmdb51', 'wave', 'w1.avi'), { codec: 'mpeg4', blue: 200, frames: 20 });
    write(join(h, 'testTrainMulti_7030_splits', 'brush_hair_test_split1.txt'), 'b1.avi 1 \n');
    write(join(h, 'testTrainMulti_7030_splits', 'wave_test_split1.txt'), 'w1.avi 1 \n');
    // Kinetics-400: mp4 under train/<label>/ named id_start_end
    const k = (roots.k400 = tempDir('k400-real'));
    write(join(k, 'train.csv'), 'label,youtube_id,time_start,time_end,split\n"air drumming",abc,4,14,train\nzumba,xyz,0,10,train\n');
    makeVideo(join(k, 'train', 'air drumming', 'abc_000004_000014.mp4'), { blue: 60, frames: 20 });
    makeVideo(join(k, 'train', 'zumba', 'xyz_000000_000010.mp4'), { blue: 180, frames: 20 });
    // SSv2: webm (vp9) named <id>.webm
    const s = (roots.ssv2 = tempDir('ssv2-real'));
    write(join(s, 'labels', 'something-something-v2-labels.json'), JSON.stringify({ 'Holding something': '0', 'Pushing something from left to right': '1' }));
    write(join(s, 'labels', 'something-something-v2-train.json'), JSON.stringify([{ id: '5', template: 'Pushing [something] from left to right' }, { id: '9', template: 'Holding [something]' }]));
    makeVideo(join(s, '20bn-something-something-v2', '5.webm'), { codec: 'libvpx-vp9', blue: 100, frames: 20 });
    makeVideo(join(s, '20bn-something-something-v2', '9.webm'), { codec: 'libvpx-vp9', blue: 220, frames: 20 });
    // VideoMAE list file with absolute paths
    const l = (roots.list = tempDir('list-real'));
    const a = makeVideo(join(l, 'v', 'a.mp4'), { blue: 20, frames: 20 });
    const b = makeVideo(join(l, 'v', 'b.mp4'), { blue: 240, frames: 20 });
    write(join(l, 'train.csv'), `${a} 3\n${b} 1\n`);
  });

  it('hmdb51:DIR', async () => {
    const { report, got } = await packAndRead(`hmdb51:${roots.hmdb51}`);
    expect(report).toMatchObject({ packed: 2, skipped: 0 });
    expect(got.map((g) => [g.name, g.label])).toEqual([['b1.avi', 0], ['w1.avi', 1]]);
    expect(Math.abs(got[0]!.blue - 40)).toBeLessThan(12);
  });

  it('k400:DIR', async () => {
    const { report, got, ann } = await packAndRead(`k400:${roots.k400}`);
    expect(ann.classNames).toEqual(['air drumming', 'zumba']);
    expect(report).toMatchObject({ packed: 2, skipped: 0 });
    expect(got.map((g) => [g.name, g.label])).toEqual([['abc_000004_000014.mp4', 0], ['xyz_000000_000010.mp4', 1]]);
    expect(Math.abs(got[1]!.blue - 180)).toBeLessThan(12);
  });

  it('ssv2:DIR (webm)', async () => {
    const { report, got } = await packAndRead(`ssv2:${roots.ssv2}`);
    expect(report).toMatchObject({ packed: 2, skipped: 0 });
    expect(got.map((g) => [g.name, g.label])).toEqual([['5.webm', 1], ['9.webm', 0]]);
    expect(Math.abs(got[1]!.blue - 220)).toBeLessThan(12);
  });

  it('list:FILE', async () => {
    const { report, got } = await packAndRead(`list:${join(roots.list, 'train.csv')}`);
    expect(report).toMatchObject({ packed: 2, skipped: 0 });
    expect(got.map((g) => [g.name, g.label])).toEqual([['a.mp4', 3], ['b.mp4', 1]]);
    expect(Math.abs(got[0]!.blue - 20)).toBeLessThan(12);
  });
});

afterAll(cleanTemp);
