/**
 * The run directory (CLI.md): config.json, metrics.jsonl, checkpoints/, pictures. Creating one,
 * finding a run's latest checkpoint, and deciding whether a resume may change a field.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { PretrainConfig } from '../config/index.js';
import { ConfigError } from '../errors/index.js';

export interface RunPaths {
  out: string;
  config: string;
  metrics: string;
  checkpoints: string;
  picture: string;
}

export function runPaths(out: string): RunPaths {
  const dir = resolve(out);
  return {
    out: dir,
    config: join(dir, 'config.json'),
    metrics: join(dir, 'metrics.jsonl'),
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

/** Removes all but the newest `keep` complete checkpoints. */
export function pruneCheckpoints(paths: RunPaths, keep: number): void {
  const all = listCheckpoints(paths);
  for (const c of all.slice(0, Math.max(0, all.length - keep))) rmSync(c.path, { recursive: true, force: true });
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
