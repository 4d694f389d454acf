/**
 * Data-parallel launch environment: which rank this process is, and its process group.
 *
 * The ranks come from one of:
 * - torchrun-style variables: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (torchrun,
 *   `tats pretrain --nproc-per-node`, or any launcher that sets them);
 * - Slurm, when RANK is absent: SLURM_PROCID, SLURM_NTASKS (> 1), SLURM_LOCALID; MASTER_ADDR and
 *   MASTER_PORT must still be set (e.g. the first host of `scontrol show hostnames`).
 * Optional: TATS_DIST_BACKEND (`nccl` on cuda, `gloo` on cpu, the defaults) and
 * TATS_DIST_TIMEOUT_S (rendezvous and per-collective timeout in seconds, default 600).
 *
 * Every check names the variable, the value and what was expected (ConfigError: exit code 2).
 */
import { createServer } from 'node:net';

import { ConfigError } from '../errors/index.js';
import { native, type NativeProcessGroup } from '../native.js';

/** This process's place in a data-parallel run. */
export interface DistEnv {
  /** Global rank, 0..worldSize-1. Rank 0 writes the run directory. */
  rank: number;
  worldSize: number;
  /** Rank on this node: the CUDA device it trains on. */
  localRank: number;
  /** Ranks on this node (LOCAL_WORLD_SIZE or SLURM_NTASKS_PER_NODE), when known. */
  localWorldSize?: number;
  /** Host and port of rank 0's rendezvous store. */
  masterAddr: string;
  masterPort: number;
  /** Where the variables came from. */
  source: 'env' | 'slurm';
  /** TATS_DIST_BACKEND when set. */
  backend?: 'nccl' | 'gloo';
  /** Rendezvous and collective timeout, milliseconds. */
  timeoutMs: number;
}

/** The rendezvous and collective timeout when TATS_DIST_TIMEOUT_S is not set. */
export const DEFAULT_DIST_TIMEOUT_S = 600;

type Env = Record<string, string | undefined>;

function intVar(env: Env, name: string, min: number, max: number, what: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const v = raw.trim();
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new ConfigError(name, raw, `${what} (an integer in ${min}..${max})`);
  }
  return Number(v);
}

function required<T>(value: T | undefined, name: string, why: string): T {
  if (value === undefined) throw new ConfigError(name, undefined, why);
  return value;
}

/** Leading integer of SLURM_NTASKS_PER_NODE-style values such as `4` or `4(x2)`. */
function leadingInt(raw: string | undefined): number | undefined {
  const m = raw ? /^(\d+)/.exec(raw.trim()) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * Reads the launch environment. Returns null for a single process (no RANK, and no Slurm job with
 * more than one task). Throws ConfigError naming the variable for anything inconsistent.
 */
export function readDistEnv(env: Env = process.env): DistEnv | null {
  let rank: number;
  let worldSize: number;
  let localRank: number | undefined;
  let localWorldSize: number | undefined;
  let source: DistEnv['source'];
  if (env.RANK !== undefined && env.RANK !== '') {
    source = 'env';
    worldSize = required(intVar(env, 'WORLD_SIZE', 1, 65536, 'the number of ranks'), 'WORLD_SIZE', 'an integer >= 1 (the number of ranks) when RANK is set');
    rank = required(intVar(env, 'RANK', 0, 65535, 'this process\'s rank'), 'RANK', 'an integer');
    localRank = intVar(env, 'LOCAL_RANK', 0, 1023, 'this process\'s rank on its node (its GPU)');
    localWorldSize = intVar(env, 'LOCAL_WORLD_SIZE', 1, 1024, 'the number of ranks on this node');
  } else if (env.WORLD_SIZE !== undefined && env.WORLD_SIZE !== '') {
    throw new ConfigError('RANK', undefined, `an integer in [0, WORLD_SIZE) when WORLD_SIZE is set (WORLD_SIZE=${env.WORLD_SIZE})`);
  } else if (env.SLURM_PROCID !== undefined && (intVar(env, 'SLURM_NTASKS', 1, 65536, 'the number of Slurm tasks') ?? 1) > 1) {
    source = 'slurm';
    worldSize = intVar(env, 'SLURM_NTASKS', 1, 65536, 'the number of Slurm tasks')!;
    rank = required(intVar(env, 'SLURM_PROCID', 0, 65535, 'this task\'s rank'), 'SLURM_PROCID', 'an integer');
    localRank = intVar(env, 'SLURM_LOCALID', 0, 1023, 'this task\'s rank on its node (its GPU)');
    localWorldSize = leadingInt(env.SLURM_NTASKS_PER_NODE);
  } else {
    return null;
  }
  const rankVar = source === 'env' ? 'RANK' : 'SLURM_PROCID';
  const worldVar = source === 'env' ? 'WORLD_SIZE' : 'SLURM_NTASKS';
  if (rank >= worldSize) {
    throw new ConfigError(rankVar, rank, `an integer in [0, ${worldVar}) = [0, ${worldSize})`);
  }
  const localVar = source === 'env' ? 'LOCAL_RANK' : 'SLURM_LOCALID';
  if (localRank === undefined) {
    if (worldSize > 1) throw new ConfigError(localVar, undefined, `an integer >= 0 (this rank's GPU on its node) when ${worldVar} > 1`);
    localRank = 0;
  }
  let masterAddr = env.MASTER_ADDR?.trim() ?? '';
  let masterPort = intVar(env, 'MASTER_PORT', 1, 65535, 'the TCP port of rank 0\'s rendezvous store');
  if (worldSize > 1) {
    if (!masterAddr) throw new ConfigError('MASTER_ADDR', env.MASTER_ADDR, `the host name or address of rank 0 when ${worldVar} > 1 (${worldVar}=${worldSize})`);
    if (masterPort === undefined) throw new ConfigError('MASTER_PORT', undefined, `a TCP port (1..65535) on MASTER_ADDR for the rendezvous when ${worldVar} > 1`);
  }
  if (!masterAddr) masterAddr = '127.0.0.1';
  if (masterPort === undefined) masterPort = 0; // a single rank: any free port (chosen at init)
  const backendRaw = env.TATS_DIST_BACKEND?.trim();
  if (backendRaw && backendRaw !== 'nccl' && backendRaw !== 'gloo') {
    throw new ConfigError('TATS_DIST_BACKEND', backendRaw, '"nccl" (CUDA) or "gloo" (CPU)');
  }
  const timeoutS = intVar(env, 'TATS_DIST_TIMEOUT_S', 1, 86400, 'seconds to wait for the other ranks') ?? DEFAULT_DIST_TIMEOUT_S;
  return {
    rank,
    worldSize,
    localRank,
    ...(localWorldSize !== undefined ? { localWorldSize } : {}),
    masterAddr,
    masterPort,
    source,
    ...(backendRaw ? { backend: backendRaw as 'nccl' | 'gloo' } : {}),
    timeoutMs: timeoutS * 1000,
  };
}

/**
 * The backend for a device: TATS_DIST_BACKEND when set, else nccl on cuda and gloo on cpu; checked
 * against the device and against what this binary was built with.
 */
export function distBackend(dist: DistEnv, device: 'cpu' | 'cuda', available: readonly string[] = native().distributedBackends()): 'nccl' | 'gloo' {
  const backend = dist.backend ?? (device === 'cuda' ? 'nccl' : 'gloo');
  const field = dist.backend ? 'TATS_DIST_BACKEND' : 'device';
  const value = dist.backend ?? device;
  if (backend === 'nccl' && device !== 'cuda') throw new ConfigError(field, value, '"gloo" on the cpu device (nccl works on CUDA tensors only)');
  if (backend === 'gloo' && device === 'cuda') throw new ConfigError(field, value, '"nccl" on the cuda device (or --device cpu for gloo)');
  if (!available.includes(backend)) {
    const why =
      backend === 'nccl'
        ? 'a binary built with CUDA and NCCL (this one is CPU-only or found no nccl.h at build time; see `tats info`)'
        : 'a binary built with Gloo (on Debian: apt-get install libgloo-dev, then npm run build:native)';
    throw new ConfigError(field, value, `${why}; this binary offers ${available.length ? available.join(', ') : 'no data-parallel backend'}`);
  }
  return backend;
}

/** A TCP port that was free a moment ago on this host. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Joins (or reuses) this process's group for `dist` on `device`: resolves once every rank has
 * joined; rejects after the timeout with a message naming the rank and the store's address.
 */
export async function joinProcessGroup(dist: DistEnv, device: 'cpu' | 'cuda'): Promise<NativeProcessGroup> {
  const addon = native();
  const backend = distBackend(dist, device, addon.distributedBackends());
  const existing = addon.processGroup();
  if (existing) {
    if (existing.rank === dist.rank && existing.worldSize === dist.worldSize && existing.backend === backend) return existing;
    throw new ConfigError('RANK', dist.rank, `the rank of this process's existing group (rank ${existing.rank} of ${existing.worldSize}, ${existing.backend})`);
  }
  const masterPort = dist.masterPort || (await freePort(dist.masterAddr));
  return addon.initProcessGroup({
    rank: dist.rank,
    worldSize: dist.worldSize,
    masterAddr: dist.masterAddr,
    masterPort,
    backend,
    timeoutMs: dist.timeoutMs,
    device: device === 'cuda' ? `cuda:${dist.localRank}` : 'cpu',
  });
}
