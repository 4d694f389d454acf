// ffmpeg decoding on real files made here: frame-exact selection, resizing, typed failures.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DecodePool, decodeFrames, findFfmpeg, outputGeometry, probe, setFfmpeg } from '../lib/data/decode.js';
import { testClipIndices, testPlan } from '../lib/data/sampling.js';
import { cutTestViews } from '../lib/data/transforms.js';
import { frameIndexAt, makeBadFiles, makeVideo, tempDir, cleanTemp } from './data-fixtures.js';

describe('decode', () => {
  let dir: string;
  let video: string;
  let tall: string;
  let webm: string;
  let bad: ReturnType<typeof makeBadFiles>;

  beforeAll(() => {
    dir = tempDir('decode');
    video = makeVideo(join(dir, 'v.mp4'), { frames: 60, width: 64, height: 48 });
    tall = makeVideo(join(dir, 'tall.mp4'), { frames: 20, width: 48, height: 80 });
    webm = makeVideo(join(dir, 'v.webm'), { frames: 30, width: 64, height: 48, codec: 'libvpx-vp9' });
    bad = makeBadFiles(join(dir, 'bad'), video);
  });

  it('finds ffmpeg and ffprobe', () => {
    const b = findFfmpeg();
    expect(b?.ffmpeg).toMatch(/ffmpeg$/);
    expect(b?.ffprobe).toMatch(/ffprobe$/);
  });

  it('probes frame count, rate and size (mp4 and webm)', async () => {
    const p = await probe(video);
    expect(p).toMatchObject({ ok: true, frames: 60, fps: 25, width: 64, height: 48, codec: 'h264' });
    const w = await probe(webm);
    expect(w).toMatchObject({ ok: true, frames: 30, width: 64, height: 48, codec: 'vp9' });
  });

  it('decodes exactly the frames asked for, in the order asked, with duplicates', async () => {
    for (const indices of [[0, 4, 8, 12], [13, 17, 21, 25, 25, 59], [59, 3, 30], [70]]) {
      const r = await decodeFrames(video, { indices });
      if (!r.ok) throw new Error(r.reason);
      expect(r.width).toBe(64);
      expect(r.height).toBe(48);
      expect(r.data.length).toBe(indices.length * 64 * 48 * 3);
      const got = indices.map((_, k) => frameIndexAt(r.data, k, 64, 48));
      expect(got).toEqual(indices.map((i) => Math.min(59, i)));
    }
    const w = await decodeFrames(webm, { indices: [1, 9, 29] });
    if (!w.ok) throw new Error(w.reason);
    expect([0, 1, 2].map((k) => frameIndexAt(w.data, k, 64, 48))).toEqual([1, 9, 29]);
  });

  it('resizes: exact size, short side, short side + square crop', async () => {
    expect(outputGeometry(64, 48, { shortSide: 24 })).toMatchObject({ width: 32, height: 24 });
    expect(outputGeometry(48, 80, { shortSide: 24, square: true })).toMatchObject({ width: 24, height: 24 });
    const a = await decodeFrames(video, { indices: [5], width: 32, height: 16 });
    expect(a.ok && [a.width, a.height, a.data.length]).toEqual([32, 16, 32 * 16 * 3]);
    const b = await decodeFrames(tall, { indices: [2, 7], shortSide: 24, square: true });
    if (!b.ok) throw new Error(b.reason);
    expect([b.width, b.height]).toEqual([24, 24]);
    expect([0, 1].map((k) => frameIndexAt(b.data, k, 24, 24))).toEqual([2, 7]);
  });

  it('turns missing, empty, truncated and garbage files into typed failures', async () => {
    const results = await Promise.all([bad.missing, bad.empty, bad.truncated, bad.garbage].map((f) => decodeFrames(f, { indices: [0, 1] })));
    expect(results.map((r) => r.ok)).toEqual([false, false, false, false]);
    const kinds = results.map((r) => (r.ok ? 'ok' : r.kind));
    expect(kinds).toEqual(['missing', 'empty', 'truncated', 'undecodable']);
    for (const r of results) {
      if (r.ok) continue;
      expect(r.file).toMatch(/bad\//);
      expect(r.reason.length).toBeGreaterThan(3);
    }
  });

  it('works without ffprobe (as with the static npm ffmpeg), parsing ffmpeg -i', async () => {
    const system = findFfmpeg()!;
    setFfmpeg({ ffmpeg: system.ffmpeg, source: 'env' });
    try {
      const p = await probe(video);
      expect(p).toMatchObject({ ok: true, frames: 60, fps: 25, width: 64, height: 48, codec: 'h264' });
      const r = await decodeFrames(video, { indices: [7, 50] });
      expect(r.ok && [frameIndexAt(r.data, 0, 64, 48), frameIndexAt(r.data, 1, 64, 48)]).toEqual([7, 50]);
      const g = await probe(bad.garbage);
      expect(g).toMatchObject({ ok: false, kind: 'undecodable' });
    } finally {
      setFfmpeg(undefined);
    }
  });

  it('multi-view test: one decode, 5 clips x 3 crops cut from it', async () => {
    const plan = testPlan(60, { dataset: 'ucf101', frames: 4, rate: 2 });
    expect(plan.views).toHaveLength(15);
    const r = await decodeFrames(video, { indices: plan.indices, shortSide: 16 });
    if (!r.ok) throw new Error(r.reason);
    expect([r.width, r.height]).toEqual([22, 16]);
    const views = cutTestViews(r.data, r.height, r.width, plan.views, 16);
    expect(views.length).toBe(15 * 4 * 16 * 16 * 3);
    const want = testClipIndices(60, 4, 2, 5);
    for (let v = 0; v < 15; v++) {
      const got = [0, 1, 2, 3].map((t) => frameIndexAt(views.subarray(v * 4 * 16 * 16 * 3), t, 16, 16));
      expect(got).toEqual(want[Math.floor(v / 3)]);
    }
  });

  it('kills a process that runs past its timeout and says so', async () => {
    const info = await probe(video);
    if (!info.ok) throw new Error(info.reason);
    const r = await decodeFrames(video, { indices: [0, 59], info, timeoutMs: 1 });
    expect(r).toMatchObject({ ok: false, kind: 'timeout', reason: 'decoding took longer than 1 ms' });
  });

  it('a pool bounds concurrency and keeps results per file', async () => {
    const pool = new DecodePool(2);
    const files = [video, bad.garbage, webm, bad.missing, video];
    const rs = await Promise.all(files.map((f) => pool.decode(f, { indices: [3, 4] })));
    expect(rs.map((r) => r.ok)).toEqual([true, false, true, false, true]);
    expect(rs.map((r) => r.file)).toEqual(files);
  });
});

afterAll(cleanTemp);
