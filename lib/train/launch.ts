/**
 * `--nproc-per-node N`: runs a pretraining as N local ranks, each a child process of this one
 * (lib/train/launch-rank.ts) with the torchrun variables set (RANK, WORLD_SIZE, LOCAL_RANK,
 * LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT; LOCAL_RANK picks the CUDA device). Several nodes:
 * run the same command on each with NNODES, NODE_RANK, MASTER_ADDR and MASTER_PORT set
 * (rank = NODE_RANK * N + local rank).
 *
 * Rank 0 reports progress and the result through the IPC channel; an abort is forwarded to every
 * rank (they stop after the same step, and rank 0 writes the checkpoint). If a rank dies, the
 * others are stopped (SIGTERM, then SIGKILL) and the promise rejects naming the rank.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { ConfigError, TrainError } from '../errors/index.js';
import { info } from '../info.js';
import { packageRoot } from '../paths.js';
import { DEFAULTS, resolveConfig, type PretrainOptions } from '../config/index.js';
import { hasRun, readRunConfig, runPaths } from './rundir.js';
import { freePort, readDistEnv } from './distributed.js';
import type { PretrainResult, RunHooks, TrainProgress } from './types.js';

/** Options of launchPretrain() besides the run's own. */
export interface LaunchOptions extends RunHooks {
  /** Ranks to start on this node. Integer 1..64 (the run's `nprocPerNode` when not given). */
  nproc?: number;
  /** Continue the run in `out` (see OpenOptions.resume). */
  resume?: boolean;
  /** The environment the ranks inherit and NNODES/NODE_RANK/MASTER_* are read from. Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Overrides `info().cuda` for `device: auto`. */
  cudaAvailable?: boolean;
  /** Milliseconds a stopped rank gets between SIGTERM and SIGKILL. Defaults to 5000. */
  killGraceMs?: number;
}

/** Messages between the launcher and its ranks (IPC). */
export type LaunchMessage =
  | { type: 'start'; options: PretrainOptions; resume: boolean; cudaAvailable?: boolean }
  | { type: 'stop' }
  | { type: 'progress'; progress: TrainProgress }
  | { type: 'result'; result: PretrainResult }
  | { type: 'error'; name: string; code?: string; message: string; field?: string; value?: unknown; allowed?: string };

function rankScript(): string {
  const here = new URL('./launch-rank.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return fileURLToPath(here);
  // Running from TypeScript sources (tests): use the built copy.
  const dist = join(packageRoot, 'dist', 'lib', 'train', 'launch-rank.js');
  if (existsSync(dist)) return dist;
  throw new TrainError('ERR_LAUNCH', `the rank entry script is not built (looked for ${fileURLToPath(here)} and ${dist}); run 'npm run build:ts'`);
}

function intEnv(env: Record<string, string | undefined>, name: string, min: number, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) throw new ConfigError(name, raw, `an integer in ${min}..${max}`);
  return Number(raw);
}

/**
 * How many local ranks a `tats pretrain` with these options should start: 1 when this process is
 * already a rank (torchrun, Slurm); else `nprocPerNode` of the options, or of the run being
 * resumed in `out` when the options do not say.
 */
export function localRanks(options: PretrainOptions, opts: { resume?: boolean; env?: Record<string, string | undefined> } = {}): number {
  if (readDistEnv(opts.env ?? process.env)) return 1;
  if (options.nprocPerNode !== undefined && options.nprocPerNode !== null) return options.nprocPerNode;
  if (opts.resume) {
    const paths = runPaths(options.out ?? DEFAULTS.out);
    if (hasRun(paths)) return readRunConfig(paths).nprocPerNode ?? 1;
  }
  return 1;
}

/**
 * Trains `options` on `nproc` local ranks and resolves with rank 0's result. Throws ConfigError
 * (before starting any rank) for invalid options or environment, TrainError when a rank fails.
 */
export async function launchPretrain(options: PretrainOptions, launch: LaunchOptions = {}): Promise<PretrainResult> {
  const env = launch.env ?? process.env;
  const nproc = launch.nproc ?? options.nprocPerNode ?? 1;
  if (!Number.isInteger(nproc) || nproc < 1 || nproc > 64) throw new ConfigError('nprocPerNode', nproc, 'an integer in 1..64');
  if (readDistEnv(env)) {
    throw new ConfigError('nprocPerNode', nproc, '1 in a process that a launcher already started as a rank (RANK or a Slurm task is set): that launcher starts the ranks');
  }
  const nnodes = intEnv(env, 'NNODES', 1, 4096) ?? 1;
  const nodeRank = intEnv(env, 'NODE_RANK', 0, 4095) ?? 0;
  if (nodeRank >= nnodes) throw new ConfigError('NODE_RANK', nodeRank, `an integer in [0, NNODES) = [0, ${nnodes})`);
  const worldSize = nnodes * nproc;
  const cudaAvailable = launch.cudaAvailable ?? (() => info().cuda);
  // Validate the options as the ranks will (they check again, against the dataset).
  const config = resolveConfig({ ...options, nprocPerNode: nproc }, { cudaAvailable, datasetClips: 1, worldSize, localWorldSize: nproc });
  if (config.device === 'cuda') {
    const devices = info().devices.length;
    if (nproc > devices) throw new ConfigError('nprocPerNode', nproc, `at most ${devices}, the CUDA devices visible here (one rank per GPU)`);
  }
  let masterAddr = env.MASTER_ADDR?.trim() ?? '';
  let masterPort = intEnv(env, 'MASTER_PORT', 1, 65535);
  if (nnodes > 1) {
    if (!masterAddr) throw new ConfigError('MASTER_ADDR', env.MASTER_ADDR, `the address of node 0 when NNODES > 1 (NNODES=${nnodes})`);
    if (masterPort === undefined) throw new ConfigError('MASTER_PORT', undefined, 'a TCP port on MASTER_ADDR for the rendezvous when NNODES > 1');
  }
  if (!masterAddr) masterAddr = '127.0.0.1';
  if (masterPort === undefined) masterPort = await freePort(masterAddr);

  const script = rankScript();
  const start: LaunchMessage = {
    type: 'start',
    options: { ...options, nprocPerNode: nproc },
    resume: Boolean(launch.resume),
    ...(launch.cudaAvailable !== undefined ? { cudaAvailable: launch.cudaAvailable } : {}),
  };
  const children: ChildProcess[] = [];
  const errors = new Map<number, Extract<LaunchMessage, { type: 'error' }>>();
  let result: PretrainResult | undefined;
  let failure: { rank: number; how: string } | undefined;
  let remaining = nproc;

  return new Promise<PretrainResult>((resolve, reject) => {
    const grace = launch.killGraceMs ?? 5000;
    const stopAll = () => {
      for (const c of children) {
        if (c.exitCode === null && c.signalCode === null) {
          c.kill('SIGTERM');
          setTimeout(() => {
            if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
          }, grace).unref();
        }
      }
    };
    const onAbort = () => {
      for (const c of children) if (c.connected) c.send({ type: 'stop' } satisfies LaunchMessage);
    };
    launch.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = () => {
      launch.signal?.removeEventListener('abort', onAbort);
      if (failure) {
        const rank = failure.rank;
        const e = errors.get(rank);
        const others = nproc > 1 ? `; stopped the other ${nproc - 1} local rank(s)` : '';
        if (e?.name === 'ConfigError' && e.field !== undefined && e.allowed !== undefined) {
          reject(new ConfigError(e.field, e.value, e.allowed));
        } else {
          const globalRank = nodeRank * nproc + rank;
          reject(new TrainError('ERR_RANK_FAILED', `rank ${globalRank} (local rank ${rank}) ${failure.how}${e ? `: ${e.code ? `[${e.code}] ` : ''}${e.message}` : ''}${others}`));
        }
      } else if (result) {
        resolve(result);
      } else {
        reject(new TrainError('ERR_RANK_FAILED', 'rank 0 exited without a result'));
      }
    };
    for (let local = 0; local < nproc; local++) {
      const rank = nodeRank * nproc + local;
      const child = fork(script, [], {
        env: {
          ...env,
          RANK: String(rank),
          WORLD_SIZE: String(worldSize),
          LOCAL_RANK: String(local),
          LOCAL_WORLD_SIZE: String(nproc),
          MASTER_ADDR: masterAddr,
          MASTER_PORT: String(masterPort),
        },
        // stdout is the launcher's (--json): a rank's output goes to stderr.
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
        serialization: 'advanced',
      });
      child.stdout?.pipe(process.stderr, { end: false });
      children.push(child);
      child.on('message', (raw) => {
        const m = raw as LaunchMessage;
        if (m.type === 'progress' && local === 0) launch.onProgress?.(m.progress);
        else if (m.type === 'result' && local === 0) result = m.result;
        else if (m.type === 'error') errors.set(local, m);
      });
      child.on('error', (err) => {
        if (!failure) failure = { rank: local, how: `could not be started (${err.message})` };
        stopAll();
      });
      child.on('exit', (code, signal) => {
        if ((code !== 0 || signal) && !failure) {
          failure = { rank: local, how: signal ? `was killed by ${signal}` : `exited with code ${code}` };
          stopAll();
        }
      });
      // 'close' comes after the rank's last message (its error or result) has arrived.
      child.on('close', () => {
        if (--remaining === 0) settle();
      });
      child.send(start);
    }
  });
}
