/**
 * The run directory (docs/cli.md, "The run directory"): config.json, metrics.jsonl, checkpoints/, pictures. Creating one,
 * finding a run's latest checkpoint, and deciding whether a resume may change a field.
 */
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

import type { PretrainConfig } from '../config/index.js';
import { ConfigError, TrainError } from '../errors/index.js';

export interface RunPaths {
  out: string;
  config: string;
  metrics: string;
  /** bad_samples.jsonl: one line per sample that failed to load and was replaced (step, file, clip, reason). */
  badSamples: string;
  checkpoints: string;
  picture: string;
}

export function runPaths(out: string): RunPaths {
  const dir = resolve(out);
  return {
    out: dir,
    config: join(dir, 'config.json'),
    metrics: join(dir, 'metrics.jsonl'),
    badSamples: join(dir, 'bad_samples.jsonl'),
    checkpoints: join(dir, 'checkpoints'),
    picture: join(dir, 'reconstruction.png'),
  };
}

const CHECKPOINT = /^step-(\d{8,})$/;

/** The folder name of the checkpoint written after `step` (lib/checkpoint's layout inside). */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

/**
 * Complete checkpoints in a run, oldest first. lib/checkpoint writes meta.json last, so a folder
 * without one is a write that was interrupted: it is ignored (and overwritten if that step is
 * reached again).
 */
export function listCheckpoints(paths: RunPaths): { step: number; path: string }[] {
  if (!existsSync(paths.checkpoints)) return [];
  return readdirSync(paths.checkpoints)
    .map((f) => ({ m: CHECKPOINT.exec(f), f }))
    .filter((x): x is { m: RegExpExecArray; f: string } => x.m !== null && existsSync(join(paths.checkpoints, x.f, 'meta.json')))
    .map(({ m, f }) => ({ step: Number(m[1]), path: join(paths.checkpoints, f) }))
    .sort((a, b) => a.step - b.step);
}

/** Suffix of a checkpoint folder being deleted: renamed first (atomic), then removed. */
const PRUNING = '.pruning';

/**
 * Removes all but the newest `keep` complete checkpoints. Each goes in two steps: a rename to
 * `step-N.pruning` (atomic: the checkpoint is whole or no longer listed), then the removal; a kill
 * in between leaves a folder that cleanRunLeftovers() recognises and removes at the next start.
 */
export function pruneCheckpoints(paths: RunPaths, keep: number): void {
  const all = listCheckpoints(paths);
  for (const c of all.slice(0, Math.max(0, all.length - keep))) {
    const doomed = c.path + PRUNING;
    renameSync(c.path, doomed);
    rmSync(doomed, { recursive: true, force: true });
  }
}

/**
 * Removes what an interrupted run left behind (call it holding the run's lock, before writing):
 * checkpoint folders being pruned (`*.pruning`), checkpoint folders without meta.json (a write cut
 * short), and temporary files of atomic writes (`*.tmp`, `.*.tmp`) in the run folder and its
 * checkpoints. Returns the paths removed.
 */
export function cleanRunLeftovers(paths: RunPaths): string[] {
  const removed: string[] = [];
  const rm = (p: string) => {
    rmSync(p, { recursive: true, force: true });
    removed.push(p);
  };
  const isTmp = (f: string) => f.endsWith('.tmp') || /\.tmp-\d+$/.test(f);
  if (existsSync(paths.out)) for (const f of readdirSync(paths.out)) if (isTmp(f)) rm(join(paths.out, f));
  if (existsSync(paths.checkpoints)) {
    for (const f of readdirSync(paths.checkpoints)) {
      const p = join(paths.checkpoints, f);
      if (f.endsWith(PRUNING) || isTmp(f)) rm(p);
      else if (CHECKPOINT.test(f) && statSync(p).isDirectory()) {
        if (!existsSync(join(p, 'meta.json'))) rm(p);
        else for (const g of readdirSync(p)) if (isTmp(g)) rm(join(p, g));
      }
    }
  }
  return removed;
}

/** What a run's lock file holds. */
export interface RunLockInfo {
  pid: number;
  host: string;
  /** The process's start time (clock ticks since boot, /proc/<pid>/stat), to tell a reused pid apart. */
  start?: number;
  since: string;
  /** Set on a lock taken over because it was empty or not valid JSON: what it held. */
  damaged?: string;
}

const LOCK = '.lock';

/**
 * Creates `file` holding `text`, atomically and exclusively: the text goes to a temporary file
 * first, which is then hard-linked to `file` (link fails with EEXIST if `file` exists). A process
 * killed at any point leaves no lock or a whole one, never an empty one; its temporary `*.tmp` is
 * removed by cleanRunLeftovers() at the next start. Returns false when `file` exists.
 */
function createWhole(file: string, text: string): boolean {
  for (let attempt = 0; ; attempt++) {
    const tmp = `${file}.${process.pid}.${attempt}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, file);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      // A file system without hard links: exclusive create, then write (not atomic there).
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV') return createThenWrite(file, text);
      // The temporary file was removed by another run's leftover cleaning before the link: again.
      if (code !== 'ENOENT' || attempt >= 3) throw err;
    } finally {
      rmSync(tmp, { force: true });
    }
  }
}

function createThenWrite(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(rest[19]); // field 22, starttime
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function alive(lock: RunLockInfo): boolean {
  try {
    process.kill(lock.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const start = processStart(lock.pid);
  return lock.start === undefined || start === undefined || start === lock.start;
}

/** A held lock on a run directory; release() removes it. */
export interface RunLock {
  readonly path: string;
  /** The stale lock taken over, if there was one. */
  readonly tookOver: RunLockInfo | null;
  release(): void;
}

/**
 * Takes the lock on a run directory: `<out>/.lock`, created exclusively, holding pid, host and
 * process start time. A lock of a process on this host that is no longer running (or whose pid now
 * belongs to another process) is stale and taken over (`tookOver`). A live one, or one from another
 * host, throws TrainError ERR_RUN_LOCKED naming the pid. The lock is removed by release() and, as a
 * fallback, when this process exits.
 */
export function lockRun(paths: RunPaths): RunLock {
  mkdirSync(paths.out, { recursive: true });
  const file = join(paths.out, LOCK);
  const mine: RunLockInfo = { pid: process.pid, host: hostname(), ...(processStart(process.pid) !== undefined ? { start: processStart(process.pid)! } : {}), since: new Date().toISOString() };
  let tookOver: RunLockInfo | null = null;
  for (let attempt = 0; ; attempt++) {
    if (createWhole(file, JSON.stringify(mine) + '\n')) break;
    if (attempt >= 3) throw locked(file, 'another process (the lock was taken again each time it was freed)');
    const text = readSafe(file);
    if (text === undefined) continue; // released meanwhile
    const held = parseLock(text);
    if (held) {
      if (held.host !== mine.host) throw locked(file, `process ${held.pid} on host ${held.host} (since ${held.since}); if it is gone, delete ${file}`);
      if (alive(held)) throw locked(file, `process ${held.pid} (since ${held.since})`);
      tookOver = held;
    } else {
      // Empty or garbled: tats writes its lock whole, so no run of this version holds it (an
      // older one killed between create and write, or damage). A file system without hard links
      // writes it in two steps: a young one may still be being written.
      if (Date.now() - statSafe(file) < 2000) throw locked(file, 'another process (the lock file is being written)');
      const damaged = text.length === 0 ? 'it was empty' : `it held ${JSON.stringify(text.slice(0, 40))}, not a lock`;
      tookOver = { pid: 0, host: mine.host, since: '', damaged };
    }
    rmSync(file, { force: true });
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      const now = JSON.parse(readFileSync(file, 'utf8')) as RunLockInfo;
      if (now.pid === mine.pid && now.host === mine.host) unlinkSync(file);
    } catch {
      // already gone
    }
  };
  process.on('exit', release);
  return { path: file, tookOver, release };
}

/** Removes `dir` if it is empty (a run that failed before writing anything leaves no folder). */
export function removeIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // written to meanwhile, or already gone
  }
}

function readSafe(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The lock a file holds, or undefined when it is not one (empty, cut, garbled). */
function parseLock(text: string): RunLockInfo | undefined {
  try {
    const j = JSON.parse(text) as RunLockInfo;
    return j && typeof j === 'object' && Number.isInteger(j.pid) && j.pid > 0 && typeof j.host === 'string' ? j : undefined;
  } catch {
    return undefined;
  }
}

function statSafe(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function locked(file: string, who: string): TrainError {
  return new TrainError('ERR_RUN_LOCKED', `the run directory ${resolve(file, '..')} is in use by ${who}: two runs cannot share it (${file})`);
}

/** Whether `out` already holds a run (a config.json or a checkpoint). */
export function hasRun(paths: RunPaths): boolean {
  return existsSync(paths.config) || listCheckpoints(paths).length > 0;
}

/** Reads a run's resolved config.json. */
export function readRunConfig(paths: RunPaths): PretrainConfig {
  try {
    return JSON.parse(readFileSync(paths.config, 'utf8')) as PretrainConfig;
  } catch (err) {
    throw new ConfigError('out', paths.out, `a run directory whose config.json is readable JSON (${(err as Error).message})`);
  }
}

/** Creates the directories and writes config.json atomically. */
export function initRun(paths: RunPaths, config: PretrainConfig): void {
  mkdirSync(paths.checkpoints, { recursive: true });
  const tmp = `${paths.config}.tmp`;
  writeFileSync(tmp, JSON.stringify(config, null, 2) + '\n');
  renameSync(tmp, paths.config);
}

/** Fields a resumed run may change: none of them alters the schedule, the weights or the data order. */
export const RESUMABLE_CHANGES = [
  'logEvery', 'checkpointEvery', 'keepCheckpoints', 'picture', 'device', 'precision', 'steps', 'out', 'data.workers', 'data.prefetch',
  // How the step runs (speed paths; runs from before the section have none recorded).
  'runtime',
  // What to do with a damaged shard clip: a run stopped by one may go on skipping it.
  'data.onDamaged',
  // Telemetry only (which KL the metrics report); runs from before it have none recorded.
  'sampler.exactKl',
  // How the ranks are started may change (torchrun instead of --nproc-per-node); their number (worldSize) may not.
  'nprocPerNode',
] as const;

/** Throws a ConfigError naming the first field where `next` differs from the stored run in a way resume cannot honour. */
export function checkResumable(stored: PretrainConfig, next: PretrainConfig): void {
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (path && (RESUMABLE_CHANGES as readonly string[]).includes(path)) return;
    if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
        walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      }
      return;
    }
    if (a !== b) {
      throw new ConfigError(path, b, `${JSON.stringify(a)}, the value of the run being resumed (only ${RESUMABLE_CHANGES.join(', ')} may change on --resume)`);
    }
  };
  walk(stored, next, '');
  if (next.steps > stored.optim.totalSteps) {
    throw new ConfigError('steps', next.steps, `at most optim.totalSteps (${stored.optim.totalSteps}) of the run being resumed`);
  }
}
