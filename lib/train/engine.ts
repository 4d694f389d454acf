/**
 * The trainer's view of the engine: lib/session.ts's Session and lib/checkpoint's folders, with
 * the trainer's own state (the data position) stored in the checkpoint's meta.json.
 */
import { loadCheckpoint as loadFolder, saveCheckpoint as saveFolder } from '../checkpoint/checkpoint.js';
import { CheckpointError } from '../errors/index.js';
import { native } from '../native.js';
import { Session, type SessionConfig } from '../session.js';
import type { TrainerState } from './types.js';

export type TrainSession = Session;

export async function createSession(config: SessionConfig): Promise<TrainSession> {
  return Session.create(config);
}

/** Writes the session and the trainer state as one checkpoint folder (each file atomic, meta.json last). */
export async function saveCheckpoint(dir: string, session: TrainSession, state: TrainerState): Promise<void> {
  await saveFolder(dir, session, { trainer: state });
}

/** Restores a checkpoint folder into the session (strict) and returns the trainer state saved with it. */
export async function loadCheckpoint(dir: string, session: TrainSession): Promise<TrainerState> {
  const meta = await loadFolder(dir, session, { strict: true });
  const t = meta.trainer as Partial<TrainerState> | undefined;
  if (!t || !Number.isSafeInteger(t.step) || !Number.isSafeInteger(t.position)) {
    throw new CheckpointError(`${dir}/meta.json`, 'has no trainer state (step, data position): not a checkpoint of tats pretrain');
  }
  return t as TrainerState;
}

/**
 * Peak GPU memory (GiB) allocated since the last reset, or null on CPU. `reset` starts a new
 * window (and returns null).
 */
export function peakMemory(session: TrainSession, opts: { reset: boolean }): number | null {
  if (session.config.device !== 'cuda') return null;
  const addon = native();
  if (opts.reset) {
    addon.cudaResetPeak();
    return null;
  }
  return addon.cudaMemory().peakGiB;
}
