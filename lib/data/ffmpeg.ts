/**
 * Where the ffmpeg binaries are: $TATS_FFMPEG (and $TATS_FFPROBE) if set, else `ffmpeg`/`ffprobe`
 * on PATH, else the static build inside the optional npm package @ffmpeg-installer/linux-x64 (no
 * ffprobe there: probing then parses `ffmpeg -i`).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';

import { DataError } from '../errors/index.js';

export interface FfmpegBinaries {
  ffmpeg: string;
  /** Absent for the npm static build: probing then parses `ffmpeg -i`. */
  ffprobe?: string;
  source: 'env' | 'system' | 'npm';
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (executable(p)) return p;
  }
  return undefined;
}

let cached: FfmpegBinaries | null | undefined;

/** Finds ffmpeg (see the module comment); undefined when there is none. Cached. */
export function findFfmpeg(): FfmpegBinaries | undefined {
  if (cached !== undefined) return cached ?? undefined;
  let found: FfmpegBinaries | undefined;
  const env = process.env.TATS_FFMPEG;
  if (env && executable(env)) {
    const probe = process.env.TATS_FFPROBE;
    found = { ffmpeg: env, source: 'env', ...(probe && executable(probe) ? { ffprobe: probe } : {}) };
  }
  if (!found) {
    const ffmpeg = onPath('ffmpeg');
    if (ffmpeg) {
      const ffprobe = onPath('ffprobe');
      found = { ffmpeg, source: 'system', ...(ffprobe ? { ffprobe } : {}) };
    }
  }
  if (!found) {
    try {
      const req = createRequire(import.meta.url);
      const pkg = req.resolve(`@ffmpeg-installer/${process.platform}-${process.arch}/package.json`);
      const bin = join(dirname(pkg), process.platform === 'win32' ? 'ffmpeg.exe' : 'ffmpeg');
      if (executable(bin)) found = { ffmpeg: bin, source: 'npm' };
    } catch {
      // optional dependency not installed
    }
  }
  cached = found ?? null;
  return found;
}

/**
 * Overrides the binaries findFfmpeg() returns (undefined: search again). For a `--ffmpeg` flag or
 * to run without ffprobe.
 */
export function setFfmpeg(b: FfmpegBinaries | undefined): void {
  cached = b;
}

/** findFfmpeg() or a DataError saying how to get one. */
export function requireFfmpeg(): FfmpegBinaries {
  const b = findFfmpeg();
  if (!b) {
    throw new DataError(
      'ERR_FFMPEG_MISSING',
      'no ffmpeg found: set TATS_FFMPEG to an ffmpeg binary, install ffmpeg (apt-get install ffmpeg), or install the optional dependency @ffmpeg-installer/linux-x64',
    );
  }
  return b;
}
