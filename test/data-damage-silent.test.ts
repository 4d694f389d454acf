// Two kinds of mp4 damage that ffprobe and ffmpeg pass (exit 0, every frame decoded), named: an
// mp4 cut inside its trailing `moov` box (every frame is in the file), and bytes overwritten inside
// an H.264 slice that the decoder conceals. The ffmpeg builds of earlier CI runs logged that slice's
// damage at info level only (nothing at -loglevel error); Debian 12's 5.1.9-0+deb12u1 also logs
// "error while decoding MB" at error level. Either way ffmpeg exits 0 with all frames, and tats
// must report the clip corrupt.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeFrames, probe } from '../lib/data/decode.js';
import { buildDist, cleanTemp, tempDir } from './data-fixtures.js';
import { runCli } from './helpers.js';

let dir: string;
let good: string;

function ffmpeg(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-y', ...args], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

/** Overwrites 64 bytes at `at` with the damage zoo's pattern. */
function overwrite64(from: string, to: string, at: number): string {
  const b = Buffer.from(readFileSync(from));
  for (let i = 0; i < 64; i++) b[at + i] = (i * 2654435761) >>> 24;
  writeFileSync(to, b);
  return to;
}

beforeAll(() => {
  buildDist();
  dir = tempDir('silent');
  good = join(dir, 'good.mp4');
  // As in the damage zoo: H.264 with its index (moov) at the end.
  const r = ffmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25', '-frames:v', '100', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', good]);
  if (r.status !== 0) throw new Error(r.stderr);
});

afterAll(() => cleanTemp());

describe('an mp4 cut by its last 1%', () => {
  it('probes as truncated, naming the box it ends in; tats pack skips and names it', async () => {
    // The zoo's file: 60 frames of 64x48; its last 1% is the tail of the moov box (metadata).
    const small = join(dir, 'small.mp4');
    const made = ffmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=64x48:r=25', '-frames:v', '60', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', small]);
    expect(made.status, made.stderr).toBe(0);
    const cut = join(dir, 'cut-99.mp4');
    writeFileSync(cut, readFileSync(small).subarray(0, Math.floor(statSync(small).size * 0.99)));
    // The precondition: ffprobe counts every frame and reports nothing.
    const p = spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', cut], { encoding: 'utf8' });
    expect(p.stderr.trim()).toBe('');
    expect(p.stdout.trim()).toBe('60');
    expect(await probe(small)).toMatchObject({ ok: true, frames: 60 });
    expect(await probe(cut)).toMatchObject({ ok: false, kind: 'truncated', reason: expect.stringMatching(/^the file ends inside its 'moov' box: \d+ of its \d+ bytes/) });
    const list = join(dir, 'list.txt');
    writeFileSync(list, `${small} 0\n${cut} 1\n`);
    const r = runCli(['pack', '--dataset', `list:${list}`, '--out', join(dir, 'pack'), '--frames', '16', '--size', '32', '--rate', '2', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.packed).toBe(1);
    expect(j.errors).toEqual([{ file: cut, reason: expect.stringMatching(/^truncated: the file ends inside its 'moov' box/) }]);
  });
});

describe('64 bytes overwritten inside an H.264 slice', () => {
  it('a slice the decoder conceals (ffmpeg exits 0) is reported as corrupt', async () => {
    // 5% into the file: inside a P slice of this encode (the zoo's 40-offset scan found it).
    const bad = overwrite64(good, join(dir, 'concealed.mp4'), Math.floor(statSync(good).size * 0.05));
    // The precondition: a full decode exits 0; at -loglevel error it says nothing (earlier builds)
    // or only the macroblock error it then conceals (5.1.9-0+deb12u1), never a failure.
    const quiet = ffmpeg(['-loglevel', 'error', '-i', bad, '-f', 'null', '-']);
    expect(quiet.status).toBe(0);
    expect(quiet.stderr.trim()).toMatch(/^$|^\[h264 @ 0x[0-9a-f]+\] error while decoding MB \d+ \d+, bytestream -?\d+$/);
    const info = await probe(bad);
    expect(info.ok).toBe(true);
    const all = Array.from({ length: 100 }, (_, k) => k);
    expect(await decodeFrames(good, { indices: all, width: 32, height: 32 })).toMatchObject({ ok: true });
    expect(await decodeFrames(bad, { indices: all, width: 32, height: 32 })).toMatchObject({ ok: false, kind: 'corrupt', reason: expect.stringMatching(/concealing \d+ DC|error while decoding MB/) });
    const list = join(dir, 'list-concealed.txt');
    writeFileSync(list, `${bad} 0\n`);
    const r = runCli(['pack', '--dataset', `list:${list}`, '--out', join(dir, 'pack-concealed'), '--frames', '16', '--size', '32', '--rate', '2', '--clips-per-video', '1', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).errors).toEqual([{ file: bad, reason: expect.stringMatching(/^corrupt: decode errors in frames .*(concealing|error while decoding MB)/) }]);
  });
});
