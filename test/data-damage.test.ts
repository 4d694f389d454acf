// Damaged data is never silent: videos corrupted mid-file, cut off, or shorter than a clip; list
// lines that contradict each other or imply a million classes; shard clips, index records and
// shard files that were edited or cut. Real files: ffmpeg makes the videos, bytes are flipped in
// real shards, and tats pack / tats pretrain run as processes.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readVideoList } from '../lib/data/annotations/list.js';
import { probe, decodeFrames } from '../lib/data/decode.js';
import { packSynthetic } from '../lib/data/pack.js';
import { ShardReader, readShardIndex } from '../lib/data/shards.js';
import { openSource } from '../lib/data/sources.js';
import { runCli } from './helpers.js';
import { buildDist, cleanTemp, makeVideo, tempDir } from './data-fixtures.js';

let dir: string;
let good: string;
let corrupt: string;
let cut: string;
const shortOnes: string[] = [];

beforeAll(() => {
  buildDist();
  dir = tempDir('damage');
  good = makeVideo(join(dir, 'good.mp4'), { frames: 60, width: 64, height: 48, codec: 'libx264' });
  // Bytes overwritten in the middle of the file (the container stays intact).
  const bytes = readFileSync(good);
  const c = Buffer.from(bytes);
  for (let i = 0; i < 2048; i++) c[Math.floor(c.length / 2) + i] = (i * 2654435761) >>> 24;
  corrupt = join(dir, 'corrupt.mp4');
  writeFileSync(corrupt, c);
  // A fast-start file (index first) cut at 60%: the header still lists every frame.
  const fast = makeVideo(join(dir, 'fast.mp4'), { frames: 60, width: 64, height: 48 });
  const faststart = join(dir, 'faststart.mp4');
  runFfmpeg(['-i', fast, '-c', 'copy', '-movflags', '+faststart', faststart]);
  cut = join(dir, 'cut.mp4');
  writeFileSync(cut, readFileSync(faststart).subarray(0, Math.floor(statSync(faststart).size * 0.6)));
  for (const n of [1, 2]) shortOnes.push(makeVideo(join(dir, `frames${n}.mp4`), { frames: n, width: 64, height: 48 }));
});

afterAll(() => cleanTemp());

function runFfmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-loglevel', 'error', '-y', ...args]);
  if (r.status !== 0) throw new Error(String(r.stderr));
}

describe('videos', () => {
  it('probe names mid-file corruption and a cut-off fast-start file', async () => {
    expect((await probe(good)).ok).toBe(true);
    const p = await probe(corrupt);
    expect(p.ok).toBe(false);
    expect(p).toMatchObject({ kind: 'corrupt' });
    const t = await probe(cut);
    expect(t).toMatchObject({ ok: false, kind: 'truncated' });
    expect((t as { reason: string }).reason).toMatch(/\d+ of the 60 frames its header lists/);
  });

  it('decodeFrames reports decode errors in the frames asked for', async () => {
    const info = await probe(good);
    if (!info.ok) throw new Error(info.reason);
    // The damaged file's header is intact: decode it with the good file's probe, as a reader that skipped the probe would.
    const r = await decodeFrames(corrupt, { indices: [...Array(60).keys()], info: { ...info, file: corrupt } });
    expect(r).toMatchObject({ ok: false, kind: 'corrupt' });
    expect((r as { reason: string }).reason).toMatch(/^(decode errors in frames 0\.\.59|decoded \d+ of 60 frames .*): /);
  });

  it('tats pack skips and names damaged and short videos (--json), or pads short ones with --keep-short', () => {
    const list = join(dir, 'list.txt');
    writeFileSync(list, [good, corrupt, cut, ...shortOnes].map((p, i) => `${p} ${i % 2}`).join('\n') + '\n');
    const out = join(dir, 'packed');
    const r = runCli(['pack', '--dataset', `list:${list}`, '--out', out, '--frames', '4', '--size', '32', '--rate', '2', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.packed).toBe(1);
    expect(rep.skipped).toBe(4);
    const reasons = Object.fromEntries(rep.errors.map((e: { file: string; reason: string }) => [e.file.split('/').pop(), e.reason]));
    expect(reasons['corrupt.mp4']).toMatch(/^corrupt: /);
    expect(reasons['cut.mp4']).toMatch(/^truncated: /);
    expect(reasons['frames1.mp4']).toMatch(/^short: 1 frame, a clip needs 4/);
    expect(reasons['frames2.mp4']).toMatch(/^short: 2 frames, a clip needs 4/);
    expect(r.stderr).toMatch(/skipped .*corrupt\.mp4: corrupt: /);

    const keep = runCli(['pack', '--dataset', `list:${list}`, '--out', join(dir, 'kept'), '--frames', '4', '--size', '32', '--rate', '2', '--keep-short', '--json']);
    const k = JSON.parse(keep.stdout);
    expect(k.packed).toBe(3);
    expect(k.padded.map((e: { file: string }) => e.file.split('/').pop()).sort()).toEqual(['frames1.mp4', 'frames2.mp4']);
    expect(keep.stderr).toMatch(/padded .*frames1\.mp4: short: 1 frame, a clip needs 4; frames repeated/);
  });
});

describe('tats pretrain on a list of videos', () => {
  it('counts undecodable samples it replaces (metrics.jsonl, summary) and stops past 5% of the dataset', () => {
    const config = join(dir, 'list-tiny.json');
    writeFileSync(config, JSON.stringify({ preset: 'cpu-demo', model: { encoderDepth: 1, decoderDepth: 1 }, masking: { strategy: 'random' }, batchSize: 2, logEvery: 1, device: 'cpu', steps: 4 }));
    const goods = [1, 2, 3].map((i) => makeVideo(join(dir, 'list', `g${i}.mp4`), { frames: 40, width: 64, height: 64, blue: 40 * i }));
    const bad = [1, 2].map((i) => {
      const p = join(dir, 'list', `bad${i}.mp4`);
      writeFileSync(p, readFileSync(corrupt));
      return p;
    });
    const one = join(dir, 'one-bad.txt');
    writeFileSync(one, [...goods, bad[0]].map((p) => `${p} 0`).join('\n'));
    const out = join(dir, 'run-list');
    const r = runCli(['pretrain', '--config', config, '--dataset', `list:${one}`, '--out', out, '--no-picture', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.bad_samples).toBeGreaterThan(0);
    expect(summary.bad_files[0].file).toBe(bad[0]);
    expect(summary.bad_files[0].reason).toMatch(/^corrupt: /);
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.at(-1).bad_samples).toBe(summary.bad_samples);

    const two = join(dir, 'two-bad.txt');
    writeFileSync(two, [...goods, ...bad].map((p) => `${p} 0`).join('\n'));
    const t = runCli(['pretrain', '--config', config, '--dataset', `list:${two}`, '--out', join(dir, 'run-list2'), '--no-picture', '--steps', '8']);
    expect(t.status, t.stderr).toBe(3);
    expect(t.stderr).toMatch(/ERR_DATA_TOO_MANY_BAD.*2 samples of 5 failed to load .*bad\d\.mp4: corrupt/);
  });
});

describe('list lines', () => {
  it('a path twice with different labels is an error naming both lines; the same label is skipped and listed', () => {
    const f = join(dir, 'dup.txt');
    writeFileSync(f, `a.mp4 0\nb.mp4 1\na.mp4 2\n`);
    expect(() => readVideoList({ file: f })).toThrow(/a\.mp4 is listed twice with different labels: line 1 \(label 0\) and line 3 \(label 2\)/);
    writeFileSync(f, `a.mp4 0\nb.mp4 1\na.mp4 0\n`);
    const ok = readVideoList({ file: f });
    expect(ok.entries).toHaveLength(2);
    expect(ok.issues[0]).toMatchObject({ line: 3, reason: expect.stringMatching(/listed again \(first on line 1/) });
    writeFileSync(join(dir, 'dup2.txt'), `${good} 0\n${good} 1\n`);
    const r2 = runCli(['pack', '--dataset', `list:${join(dir, 'dup2.txt')}`, '--out', join(dir, 'dup-out'), '--json']);
    expect(r2.status).toBe(3);
    expect(r2.stderr).toMatch(/ERR_DATA_DUPLICATE.*line 1 \(label 0\) and line 2 \(label 1\)/);
  });

  it('a stray label is refused with the line named, unless --classes says so', () => {
    const f = join(dir, 'stray.txt');
    writeFileSync(f, `${good} 0\n${corrupt} 1\n${cut} 1000000\n`);
    expect(() => readVideoList({ file: f })).toThrow(/line 3 has label 1000000, which would make 1000001 classes while the list uses 3 distinct labels/);
    const r = readVideoList({ file: f, numClasses: 2 });
    expect(r.classNames).toHaveLength(2);
    expect(r.issues[0]).toMatchObject({ line: 3 });
    // 1000 classes or fewer are taken as they come (a validation list may use few of them).
    writeFileSync(f, `${good} 0\n${corrupt} 999\n`);
    expect(readVideoList({ file: f }).classNames).toHaveLength(1000);
  });
});

describe('shards', () => {
  const syn = { seed: 3, frames: 4, size: 32, length: 12 };
  function packed(name: string): string {
    const out = tempDir(name);
    packSynthetic({ synthetic: syn, out, count: 12 });
    return out;
  }
  function editIndex(out: string, edit: (j: ReturnType<typeof readShardIndex>) => void): void {
    const j = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
    edit(j);
    writeFileSync(join(out, 'index.json'), JSON.stringify(j));
  }

  it('an edited label or offset fails the clip checksum, naming the shard file and the clip', () => {
    const a = packed('label');
    editIndex(a, (j) => {
      j.clips[5]!.label = (j.clips[5]!.label + 1) % j.classNames.length;
    });
    expect(() => new ShardReader(a).read(5)).toThrow(/shard .*shard-00000\.bin: clip 5 \(.*\) fails its checksum/);
    const b = packed('offset');
    // Point clip 5 at clip 6's bytes: whole, valid data, but not this clip's.
    editIndex(b, (j) => {
      j.clips[5]!.offset = j.clips[6]!.offset;
    });
    expect(() => new ShardReader(b).read(5)).toThrow(/clip 5 .* fails its checksum/);
    expect(() => new ShardReader(b).read(6)).not.toThrow();
  });

  it('a label outside the class names is refused when the index is read', () => {
    const a = packed('badlabel');
    editIndex(a, (j) => {
      j.clips[2]!.label = 1000000;
    });
    expect(() => new ShardReader(a)).toThrow(/clips\[2\] .* has label 1000000, outside the \d+ class names/);
  });

  it('the shard source stops on a damaged clip by default, and reports it as bad under onDamaged: skip', async () => {
    const out = packed('source');
    const idx = readShardIndex(out);
    const fd = openSync(join(out, 'shard-00000.bin'), 'r+');
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, idx.clips[7]!.offset + 10);
    byte[0] = byte[0]! ^ 1;
    writeSync(fd, byte, 0, 1, idx.clips[7]!.offset + 10);
    closeSync(fd);
    const clip = new Uint8Array(idx.clips[0]!.bytes);
    const stop = openSource({ kind: 'shards', dir: out });
    await expect(stop.load(6, 0, clip)).resolves.toMatchObject({ ok: true });
    await expect(stop.load(7, 0, clip)).rejects.toMatchObject({ code: 'ERR_SHARD_CHECKSUM', message: expect.stringMatching(/shard-00000\.bin: clip 7/) });
    const skip = openSource({ kind: 'shards', dir: out, onDamaged: 'skip' });
    await expect(skip.load(7, 0, clip)).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/fails its checksum/) });
  });

  it('tats pretrain on a flipped byte or a truncated shard stops with exit 3, naming the shard file and the clip', () => {
    const config = join(dir, 'tiny.json');
    writeFileSync(
      config,
      JSON.stringify({ preset: 'cpu-demo', model: { encoderDepth: 1, decoderDepth: 1 }, masking: { strategy: 'random' }, batchSize: 2, logEvery: 1, device: 'cpu', steps: 6 }),
    );
    const flipped = tempDir('pretrain-flip');
    packSynthetic({ synthetic: { seed: 1, frames: 8, size: 64, length: 8 }, out: flipped, count: 8 });
    const idx = readShardIndex(flipped);
    const fd = openSync(join(flipped, 'shard-00000.bin'), 'r+');
    for (const c of idx.clips) writeSync(fd, Buffer.from([c.offset & 255]), 0, 1, c.offset + 1234);
    closeSync(fd);
    const r = runCli(['pretrain', '--config', config, '--dataset', `shards:${flipped}`, '--out', join(dir, 'run-flip'), '--no-picture']);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/ERR_SHARD_CHECKSUM.*shard-00000\.bin: clip \d+ \(synthetic:.*\) fails its checksum/);

    const cutSet = tempDir('pretrain-cut');
    packSynthetic({ synthetic: { seed: 1, frames: 8, size: 64, length: 8 }, out: cutSet, count: 8 });
    truncateSync(join(cutSet, 'shard-00000.bin'), statSync(join(cutSet, 'shard-00000.bin')).size - 100);
    const t = runCli(['pretrain', '--config', config, '--dataset', `shards:${cutSet}`, '--out', join(dir, 'run-cut'), '--no-picture', '--steps', '8']);
    expect(t.status, t.stderr).toBe(3);
    expect(t.stderr).toMatch(/shard-00000\.bin is shorter than its index: clip 7/);
  });
});
