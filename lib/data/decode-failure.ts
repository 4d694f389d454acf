/**
 * Why a video could not be used: the typed failure every probe and decode returns instead of
 * throwing, and how a failed ffmpeg run is told apart (a file cut short, or one ffmpeg cannot read).
 */
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';

/** Why a video could not be used. */
export type FailureKind = 'missing' | 'empty' | 'unreadable' | 'undecodable' | 'truncated' | 'corrupt' | 'timeout';

export interface DecodeFailure {
  ok: false;
  file: string;
  kind: FailureKind;
  reason: string;
}

export function fail(file: string, kind: FailureKind, reason: string): DecodeFailure {
  return { ok: false, file, kind, reason };
}

/** Checks the file itself: missing, unreadable, empty. */
export function statFailure(file: string): DecodeFailure | undefined {
  try {
    const st = statSync(file);
    if (!st.isFile()) return fail(file, 'unreadable', 'not a regular file');
    if (st.size === 0) return fail(file, 'empty', 'the file is empty (0 bytes)');
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail(file, 'missing', 'no such file');
    return fail(file, 'unreadable', `cannot read the file (${code ?? (err as Error).message})`);
  }
}

/** The last meaningful stderr line of ffmpeg, without the file name prefix. */
export function errorLine(stderr: string, file: string): string {
  const ls = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const last = ls[ls.length - 1] ?? 'ffmpeg failed without a message';
  return last.startsWith(file + ': ') ? last.slice(file.length + 2) : last;
}

/** The first meaningful stderr line of ffmpeg, without its `[h264 @ 0x...]` prefix: the first damage seen. */
export function firstErrorLine(stderr: string): string {
  const l = stderr.split('\n').map((x) => x.trim()).find((x) => x.length > 0) ?? '';
  return l.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/, '');
}

/** True when the file starts like a video container (mp4/mov, Matroska/WebM, AVI, Ogg, FLV, MPEG-TS). */
function containerMagic(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const b = Buffer.alloc(12);
    const n = readSync(fd, b, 0, 12, 0);
    if (n < 4) return false;
    const tag = b.toString('latin1', 4, 8);
    return (
      ['ftyp', 'moov', 'mdat', 'free', 'wide', 'skip'].includes(tag) ||
      b.readUInt32BE(0) === 0x1a45dfa3 ||
      b.toString('latin1', 0, 4) === 'RIFF' ||
      b.toString('latin1', 0, 4) === 'OggS' ||
      b.toString('latin1', 0, 3) === 'FLV' ||
      (b[0] === 0x47 && n >= 1)
    );
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * A failed ffmpeg/ffprobe run: 'truncated' when the file starts like a container but ffmpeg cannot
 * finish it (cut-off downloads: no moov atom, early end of file), 'undecodable' otherwise.
 */
export function classify(file: string, stderr: string): DecodeFailure {
  const line = errorLine(stderr, file);
  const truncated = containerMagic(file) && /moov atom not found|partial file|End of file|Truncat|invalid NAL|corrupt|Invalid data/i.test(stderr);
  return fail(file, truncated ? 'truncated' : 'undecodable', truncated ? `incomplete file: ${line}` : line);
}
