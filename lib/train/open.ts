/**
 * Opening a pretraining run (Trainer.open): the options resolved and checked, the run directory
 * decided (new, or resumed from its latest checkpoint) and locked, the clip source, the process
 * group and the native session, each released again when a later part fails.
 */
import { existsSync, mkdirSync } from 'node:fs';

import { info } from '../info.js';
import { mergeOptions, resolveConfig, toSessionConfig, type PretrainConfig, type PretrainOptions } from '../config/index.js';
import { ConfigError, TrainError } from '../errors/index.js';
import { native } from '../native.js';
import { joinProcessGroup, readDistEnv, type DistEnv } from './distributed.js';
import { createSession, loadCheckpoint, type TrainSession } from './engine.js';
import { MetricsWriter } from './metrics.js';
import { rankJournalPath } from './rank-bad-samples.js';
import { checkResumable, cleanRunLeftovers, hasRun, initRun, listCheckpoints, lockRun, readRunConfig, removeIfEmpty, runPaths, type RunLock, type RunPaths } from './rundir.js';
import { openClipSource, type ClipSource } from './source.js';
import type { OpenOptions } from './types.js';

/** What a Trainer is made of once its run is open. */
export interface OpenedRun {
  config: PretrainConfig;
  paths: RunPaths;
  session: TrainSession;
  source: ClipSource;
  startStep: number;
  lastCheckpoint: { path: string; step: number } | null;
  dist: DistEnv | null;
  lock: RunLock | null;
  notices: string[];
  badBefore: number;
}

/** Options given at resume that the stored config replaces: steps/epochs follow the stored run unless given. */
function resumeOptions(stored: PretrainConfig, given: PretrainOptions): PretrainOptions {
  const base: Record<string, unknown> = { ...stored };
  delete base.worldSize; // resolved from the launch, not an option
  if (given.epochs !== undefined && given.epochs !== null) delete base.steps;
  else delete base.epochs;
  return mergeOptions(base as PretrainOptions, given);
}

/**
 * Validates the options, prepares the run directory and the Session, and on `resume` loads the
 * latest checkpoint. Throws ConfigError (before any work) for invalid options or an `out` that
 * already holds a run when `resume` is not set.
 */
export async function openRun(options: PretrainOptions = {}, opts: OpenOptions = {}): Promise<OpenedRun> {
  const cudaAvailable = opts.cudaAvailable ?? (() => info().cuda);
  const dist = readDistEnv(opts.env ?? process.env);
  const ranks = dist ? { worldSize: dist.worldSize, ...(dist.localWorldSize !== undefined ? { localWorldSize: dist.localWorldSize } : {}) } : {};
  // Validate everything first (a dataset's size is needed only to count epochs: 1 stands in).
  let config = resolveConfig(options, { cudaAvailable, datasetClips: 1, ...ranks });
  if (dist && options.nprocPerNode !== undefined && config.nprocPerNode > 1 && dist.localWorldSize !== config.nprocPerNode) {
    throw new ConfigError('nprocPerNode', config.nprocPerNode, '1 in a process that a launcher already started as a rank (RANK or a Slurm task is set): that launcher starts the ranks');
  }
  if (!dist && config.nprocPerNode > 1) {
    throw new ConfigError('nprocPerNode', config.nprocPerNode, '1 in a single process: `tats pretrain --nproc-per-node N` or launchPretrain() spawn the N ranks (or start them with torchrun/Slurm)');
  }
  const paths = runPaths(config.out);
  const notices: string[] = [];
  // Every rank decides new-run/resume before joining the group; rank 0 writes only after all
  // have joined, so no rank can see a run directory that rank 0 has just created.
  const resuming = Boolean(opts.resume) && hasRun(paths);
  let stored: PretrainConfig | undefined;
  if (resuming) {
    stored = readRunConfig(paths);
    stored = { ...stored, worldSize: stored.worldSize ?? 1 }; // runs from before data parallelism
    // Runs from before TATS revision 2 (sampler.entropyCoef): a fixed strategy never read the
    // sampler's settings, so they take today's; a TATS run's policy and checkpoints are of the
    // replaced formulation and cannot go on.
    const legacySampler = typeof stored.sampler === 'object' && stored.sampler !== null && 'entropyCoef' in stored.sampler;
    if (legacySampler) {
      if (stored.masking.strategy === 'tats') {
        throw new ConfigError('out', config.out, 'a run of the current TATS sampler: this one was written by the first TATS formulation (sampler.entropyCoef), which revision 2 replaced (docs/tats.md); start a new run');
      }
      const { sampler: _old, ...rest } = stored;
      stored = rest as PretrainConfig;
    }
    // Runs from before sampler.reward rewarded the masked error: they go on with it.
    if (!legacySampler && typeof stored.sampler === 'object' && stored.sampler !== null && !('reward' in stored.sampler)) {
      stored = { ...stored, sampler: { ...(stored.sampler as object), reward: 'error' } } as PretrainConfig;
    }
    config = resolveConfig(resumeOptions(stored, options), { cudaAvailable, datasetClips: 1, ...ranks });
    if (legacySampler) {
      stored = { ...stored, sampler: config.sampler };
      notices.push('this run was written before sampler.entropyCoef was replaced by sampler.beta; its unused sampler settings now take the defaults');
    }
    if (stored.epochs !== null && config.epochs === null) config = { ...config, epochs: stored.epochs };
    checkResumable(stored, config);
  } else if (hasRun(paths)) {
    throw new ConfigError('out', config.out, 'a new or empty run directory, or --resume to continue the run there');
  }
  const writes = !dist || dist.rank === 0;
  // One writer per run directory: a second process (a second --resume) fails here, before it
  // writes anything; then what an interrupted writer left is removed.
  const fresh = !existsSync(paths.out);
  const lock = writes ? lockRun(paths) : null;
  const unlock = () => {
    lock?.release();
    if (fresh && lock) removeIfEmpty(paths.out);
  };
  if (lock?.tookOver?.damaged) notices.push(`took over the lock file ${lock.path} as stale: ${lock.tookOver.damaged} (a run killed while writing it, or damage; no live run leaves it so)`);
  else if (lock?.tookOver) notices.push(`took over the stale lock of process ${lock.tookOver.pid || '(unknown)'}${lock.tookOver.since ? ` (since ${lock.tookOver.since})` : ''}, which is no longer running`);
  let source: ClipSource;
  try {
    if (writes) {
      const removed = cleanRunLeftovers(paths);
      if (removed.length > 0) notices.push(`removed ${removed.length} leftover(s) of an interrupted run: ${removed.join(', ')}`);
    }
    source = await openClipSource(config);
  } catch (err) {
    unlock();
    throw err;
  }
  let joined = false;
  try {
    if (config.epochs !== null && !resuming) {
      config = resolveConfig(options, { cudaAvailable, datasetClips: source.length, ...ranks });
    }
    if (dist) {
      await joinProcessGroup(dist, config.device);
      joined = true;
    }
    const session = await createSession({
      ...toSessionConfig(config),
      deviceIndex: dist && config.device === 'cuda' ? dist.localRank : 0,
      dataParallel: dist !== null,
    });
    if (!resuming && writes) initRun(paths, config);
    let startStep = 0;
    let lastCheckpoint: { path: string; step: number } | null = null;
    let badBefore = 0;
    try {
      if (resuming) {
        const latest = listCheckpoints(paths).at(-1);
        if (latest) {
          const meta = await loadCheckpoint(latest.path, session);
          const expected = meta.step * config.batchSize * config.worldSize;
          if (meta.step !== latest.step || meta.position !== expected || meta.datasetLength !== source.length || meta.seed !== config.seed) {
            throw new TrainError('ERR_CHECKPOINT', `checkpoint ${latest.path} does not belong to this run (step ${meta.step}, position ${meta.position}, dataset ${meta.datasetLength} clips, seed ${meta.seed})`);
          }
          if (session.step !== meta.step) {
            throw new TrainError('ERR_CHECKPOINT', `checkpoint ${latest.path} restored the session at step ${session.step}, expected ${meta.step}`);
          }
          startStep = meta.step;
          if (typeof meta.badSamples === 'number') badBefore = meta.badSamples;
          lastCheckpoint = { path: latest.path, step: meta.step };
        }
        if (writes) {
          // A killed run may have logged steps after its last checkpoint: they will be run again.
          new MetricsWriter(paths.metrics).truncateAfter(startStep);
          // So may its record of replaced samples: the same batches, read again, record them again.
          new MetricsWriter(paths.badSamples).truncateAfter(startStep);
          // Record the possibly changed fields (logEvery, device, ...) of this leg of the run.
          initRun(paths, config);
        }
      }
      // A rank r > 0 keeps its own record of replaced samples (rank-bad-samples.ts): cut the same way.
      if (!writes && dist) {
        mkdirSync(paths.out, { recursive: true }); // rank 0 may not have made it yet
        new MetricsWriter(rankJournalPath(paths, dist.rank)).truncateAfter(startStep);
      }
    } catch (err) {
      session.dispose();
      throw err;
    }
    return { config, paths, session, source, startStep, lastCheckpoint, dist, lock, notices, badBefore };
  } catch (err) {
    if (joined) native().destroyProcessGroup();
    await source.close();
    unlock();
    throw err;
  }

}
