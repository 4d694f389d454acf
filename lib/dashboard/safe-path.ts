/**
 * Paths from a request, resolved inside the runs folder or refused. A request names a file by
 * segments under the root; a segment may not be empty, '.', '..', hidden (leading '.'), or hold a
 * slash, a backslash or a NUL once decoded. The resolved path's real location (symlinks followed)
 * must still lie inside the root's real location, so a symlink out of the folder is refused too.
 */
import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';

/** Why a path was refused: 'bad' (malformed or escaping), 'missing' (nothing there). */
export type Refusal = 'bad' | 'missing';

/** Checks decoded segments; null when one of them is not a plain name. */
export function checkSegments(segments: string[]): string[] | null {
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || s.startsWith('.') || /[/\\\0]/.test(s)) return null;
  }
  return segments;
}

/** Splits the raw (percent-encoded) part of a URL path into decoded segments; null when malformed. */
export function decodeSegments(raw: string): string[] | null {
  if (raw === '') return [];
  const out: string[] = [];
  for (const part of raw.split('/')) {
    try {
      out.push(decodeURIComponent(part));
    } catch {
      return null;
    }
  }
  return checkSegments(out);
}

/** A run id ('.' for the root itself, else a relative path with '/') as segments; null when malformed. */
export function idSegments(id: string): string[] | null {
  if (id === '.') return [];
  return checkSegments(id.split('/'));
}

/**
 * The real path of `segments` under `realRoot` (itself a real path), when it exists and lies
 * inside the root; otherwise why not.
 */
export async function resolveInside(realRoot: string, segments: string[]): Promise<{ path: string } | { refused: Refusal }> {
  let real: string;
  try {
    real = await realpath(join(realRoot, ...segments));
  } catch {
    return { refused: 'missing' };
  }
  if (real !== realRoot && !real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) return { refused: 'bad' };
  return { path: real };
}

/** Like resolveInside, and the result must be a regular file. */
export async function resolveFile(realRoot: string, segments: string[]): Promise<{ path: string; size: number; mtimeMs: number } | { refused: Refusal }> {
  const r = await resolveInside(realRoot, segments);
  if ('refused' in r) return r;
  const st = await stat(r.path).catch(() => null);
  if (!st?.isFile()) return { refused: 'missing' };
  return { path: r.path, size: st.size, mtimeMs: st.mtimeMs };
}
