/**
 * Where a run's clips come from, addressed by dataset index so that the data order (order.ts)
 * is a pure function of the run's position. Sources are lib/data's (synthetic, shards, decoded
 * video lists); this file maps a config to one and reads batches from it without holding the
 * event loop for more than one clip at a time.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';

import type { PretrainConfig } from '../config/index.js';
import { datasetSource, openSource, parseDatasetSpec, type Source, type SourceDescriptor } from '../data/index.js';
import { ConfigError, DataError } from '../errors/index.js';

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
  /** Samples that failed to load and were replaced, so far. */
  readonly bad: number;
  /**
   * Reads the clips at `indices` (of `epoch`, which seeds augmentation) into one batch. Yields to
   * the event loop between clips, so a run in-process never holds the loop for longer than one
   * clip takes to render or copy.
   */
  read(indices: readonly number[], epoch: number): Promise<ClipBatch>;
  close(): Promise<void>;
}

/** Replacement tries for a clip that fails to load, before the run fails. */
const MAX_RETRIES = 16;

/** The lib/data descriptor for a config's dataset (VideoMAE's pretraining recipe, at `data.stride`). */
export function sourceDescriptor(config: PretrainConfig): SourceDescriptor {
  const m = config.model;
  const { source } = datasetSource(parseDatasetSpec(config.dataset, 'dataset'), {
    frames: m.frames,
    size: m.size,
    seed: config.seed,
    phase: 'pretrain',
    subset: 'train',
    tubelet: m.tubelet,
    patch: m.patch,
    length: config.data.syntheticClips,
  });
  if (source.kind === 'videos') {
    if (source.entries.length === 0) throw new ConfigError('dataset', config.dataset, 'a dataset with at least one readable video entry');
    return { ...source, recipe: { ...source.recipe, rate: config.data.stride } };
  }
  return source;
}

class IndexedSource implements ClipSource {
  readonly length: number;
  readonly hasMotion: boolean;
  bad = 0;

  constructor(
    private readonly src: Source,
    private readonly config: PretrainConfig,
  ) {
    this.length = src.length;
    const [t, h, w] = src.clipShape;
    if (t !== config.model.frames || h !== config.model.size || w !== config.model.size) {
      throw new ConfigError('dataset', config.dataset, `clips of ${config.model.frames}x${config.model.size}x${config.model.size} (the model's frames and size); this source gives ${t}x${h}x${w}`);
    }
    const tokens = (config.model.frames / config.model.tubelet) * (config.model.size / config.model.patch) ** 2;
    this.hasMotion = src.motionBytes === tokens;
  }

  async read(indices: readonly number[], epoch: number): Promise<ClipBatch> {
    const b = indices.length;
    const cb = this.src.clipBytes;
    const mb = this.src.motionBytes;
    const clips = new Uint8Array(b * cb);
    const motion = this.hasMotion ? new Uint8Array(b * mb) : undefined;
    const labels = new Int32Array(b);
    for (let k = 0; k < b; k++) {
      if (k > 0) await yieldToLoop();
      const clip = clips.subarray(k * cb, (k + 1) * cb);
      const m = motion?.subarray(k * mb, (k + 1) * mb);
      let idx = indices[k]!;
      let last = '';
      for (let attempt = 0; ; attempt++) {
        const r = await this.src.load(idx, epoch, clip, m);
        if (r.ok) {
          labels[k] = r.label;
          break;
        }
        this.bad++;
        last = `${r.file}: ${r.reason}`;
        if (attempt >= MAX_RETRIES) throw new DataError('ERR_DATA_TOO_MANY_BAD', `no good clip after ${MAX_RETRIES + 1} tries from index ${indices[k]}; last: ${last}`);
        // The same deterministic walk as lib/data's buildBatch, so a resumed run replaces alike.
        idx = (indices[k]! + (attempt + 1) * 7919) % this.length;
      }
    }
    return motion ? { clips, motion, labels } : { clips, labels };
  }

  async close(): Promise<void> {
    this.src.close();
  }
}

/** Opens the dataset named by `config.dataset`. */
export async function openClipSource(config: PretrainConfig): Promise<ClipSource> {
  return new IndexedSource(openSource(sourceDescriptor(config)), config);
}
