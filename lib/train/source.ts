/**
 * Where a run's clips come from, addressed by dataset index so that the data order (order.ts)
 * is a pure function of the run's position.
 */
import { parseDatasetSpec, type PretrainConfig } from '../config/index.js';
import { NotImplementedError } from '../errors/index.js';

export interface ClipBatch {
  /** uint8 [B, T, H, W, 3]. */
  clips: Uint8Array;
  /** uint8 [B, N], 1 = the token moves; absent when the dataset has no motion map. */
  motion?: Uint8Array;
  /** int32 [B]. */
  labels: Int32Array;
}

export interface ClipSource {
  /** Clips in one epoch. */
  readonly length: number;
  /** True when batches carry a motion map. */
  readonly hasMotion: boolean;
  /**
   * Reads the clips at `indices` into one batch. Yields to the event loop between clips, so a
   * run in-process never holds the loop for longer than one clip takes.
   */
  read(indices: readonly number[]): Promise<ClipBatch>;
  close(): Promise<void>;
}

/** Opens the dataset named by `config.dataset`. */
export async function openClipSource(config: PretrainConfig): Promise<ClipSource> {
  const spec = parseDatasetSpec(config.dataset);
  throw new NotImplementedError(`pretraining on --dataset ${spec.kind}${spec.path ? ':' : ''} (waiting for lib/data)`);
}
