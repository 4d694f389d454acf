/**
 * The trainer's view of the engine: the Session of lib/session.ts and the checkpoint files of
 * lib/checkpoint (CONTRACT.md). Until those land this file declares the contract's shapes.
 */
import type { SessionConfig } from '../config/index.js';
import { NotImplementedError } from '../errors/index.js';
import type { TrainerState } from './trainer.js';

export interface StepMetrics {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  stepMs: number;
  entropy?: number;
  clipFrac?: number;
  approxKl?: number;
  valueLoss?: number;
  reward?: number;
  samplerLoss?: number;
  maskedMovingShare?: number;
  movingShare?: number;
}

export interface TrainSession {
  readonly step: number;
  trainStep(clips: Uint8Array, motion?: Uint8Array): Promise<StepMetrics>;
  reconstruct(
    clips: Uint8Array,
    mask?: Uint8Array,
  ): Promise<{ pred: Float32Array; target: Float32Array; mask: Uint8Array; maskedPerClip: number; tokens: number; valuesPerToken: number; policy?: Float32Array }>;
  dispose(): void;
}

export async function createSession(_config: SessionConfig): Promise<TrainSession> {
  throw new NotImplementedError('training (the native Session, lib/session.ts)');
}

export async function saveCheckpoint(_path: string, _session: TrainSession, _state: TrainerState): Promise<void> {
  throw new NotImplementedError('checkpoints (lib/checkpoint)');
}

export async function loadCheckpoint(_path: string, _session: TrainSession): Promise<TrainerState> {
  throw new NotImplementedError('checkpoints (lib/checkpoint)');
}

/** Peak GPU memory (GiB) allocated since the last reset, or null on CPU / without the native counter. */
export function peakMemory(_session: TrainSession, _opts: { reset: boolean }): number | null {
  return null;
}
