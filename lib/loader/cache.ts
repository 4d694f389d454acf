/**
 * The loader's small on-disk cache: what `python3` said about its torch, and each child-process
 * verdict on a binary. Under TATS_CACHE_DIR, else $XDG_CACHE_HOME/tats, else ~/.cache/tats.
 * Best effort: an unwritable cache only costs the work again.
 * @internal
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TATS_CACHE_DIR) return env.TATS_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'tats');
  const home = env.HOME || homedir();
  return home ? join(home, '.cache', 'tats') : join(tmpdir(), 'tats-cache');
}

export function cacheKey(value: unknown): string {
  return createHash('sha1').update(JSON.stringify(value)).digest('hex').slice(0, 20);
}

export function readCache<T>(name: string, env?: NodeJS.ProcessEnv): T | undefined {
  try {
    return JSON.parse(readFileSync(join(cacheDir(env), name), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function writeCache(name: string, value: unknown, env?: NodeJS.ProcessEnv): void {
  try {
    const dir = cacheDir(env);
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `.${name}.${process.pid}.tmp`);
    writeFileSync(tmp, JSON.stringify(value, null, 1));
    renameSync(tmp, join(dir, name));
  } catch {
    // best effort
  }
}

/** Identity of a file for cache keys: size, mtime and inode (null when missing). */
export function fileStamp(path: string): [number, number, number] | null {
  try {
    const s = statSync(path);
    return [s.size, Math.round(s.mtimeMs), s.ino];
  } catch {
    return null;
  }
}
