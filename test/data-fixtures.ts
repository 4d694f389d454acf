// Real video fixtures for the data tests, made with the system ffmpeg (no mocks).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { packageRoot } from '../lib/paths.js';

const made: string[] = [];

/** A fresh temporary folder; removed by cleanTemp(). */
export function tempDir(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `tats-${tag}-`));
  made.push(d);
  return d;
}

/** Removes every folder tempDir() made in this process (call from afterAll). */
export function cleanTemp(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/**
 * An H.264 (or given codec) video whose frame n is a flat colour with red = green = 4n mod 256, so
 * decoded frames can be told apart; blue = `blue` tells videos apart.
 */
export function makeVideo(path: string, opts: { frames?: number; width?: number; height?: number; fps?: number; blue?: number; codec?: string } = {}): string {
  const frames = opts.frames ?? 40;
  const w = opts.width ?? 64;
  const h = opts.height ?? 48;
  const fps = opts.fps ?? 25;
  const codec = opts.codec ?? 'libx264';
  mkdirSync(dirname(path), { recursive: true });
  const codecArgs =
    codec === 'libx264' ? ['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv444p', '-g', '8'] : codec === 'libvpx-vp9' ? ['-c:v', 'libvpx-vp9', '-lossless', '1', '-g', '8', '-deadline', 'realtime', '-cpu-used', '8'] : ['-c:v', codec, '-q:v', '2', '-g', '8'];
  execFileSync('ffmpeg', [
    '-loglevel', 'error', '-y', '-f', 'lavfi',
    '-i', `color=c=black:s=${w}x${h}:r=${fps}:d=${frames / fps},format=rgb24,geq=r='mod(N*4\\,256)':g='mod(N*4\\,256)':b='${opts.blue ?? 128}'`,
    '-frames:v', String(frames), ...codecArgs, path,
  ]);
  return path;
}

/** Red channel of frame k's centre pixel in a decoded uint8 [F,H,W,3] buffer, divided by 4: the frame index. */
export function frameIndexAt(data: Uint8Array, k: number, w: number, h: number): number {
  const o = (k * h * w + Math.floor(h / 2) * w + Math.floor(w / 2)) * 3;
  return Math.round(data[o]! / 4);
}

/** The four kinds of bad file: missing (not created), empty, truncated (first 40% of a real video), garbage bytes. */
export function makeBadFiles(dir: string, good: string): { missing: string; empty: string; truncated: string; garbage: string } {
  mkdirSync(dir, { recursive: true });
  const empty = join(dir, 'empty.mp4');
  writeFileSync(empty, new Uint8Array(0));
  const truncated = join(dir, 'truncated.mp4');
  const bytes = readFileSync(good);
  writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.4)));
  const garbage = join(dir, 'garbage.mp4');
  const g = new Uint8Array(4096);
  for (let i = 0; i < g.length; i++) g[i] = (i * 2654435761) >>> 24;
  writeFileSync(garbage, g);
  return { missing: join(dir, 'missing.mp4'), empty, truncated, garbage };
}

let built = false;
/** Compiles dist/ (the CLI and the loader worker run from it). */
export function buildDist(): void {
  if (built) return;
  const r = spawnSync(process.execPath, [join(packageRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(packageRoot, 'tsconfig.json')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc failed:\n${r.stdout}\n${r.stderr}`);
  built = true;
}

export function fileSize(p: string): number {
  return existsSync(p) ? statSync(p).size : -1;
}
