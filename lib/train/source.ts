/**
 * Where a run's clips come from, addressed by dataset index so that the data order (order.ts)
 * is a pure function of the run's position. Sources are lib/data's (synthetic, shards, decoded
 * video lists); this file maps a config to one and reads batches from it without holding the
 * event loop for more than one clip at a time.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

import type { PretrainConfig } from '../config/index.js';
import { badSampleName, datasetSource, openSource, parseDatasetSpec, type BadSample, type Source, type SourceDescriptor } from '../data/index.js';
import { ConfigError, DataError } from '../errors/index.js';
import { packageRoot } from '../paths.js';

export interface ClipBatch {
  /** uint8 [B, T, H, W, 3]. */
  clips: Uint8Array;
  /** uint8 [B, N], 1 = the token moves; absent when the dataset has no motion map. */
  motion?: Uint8Array;
  /** int32 [B]. */
  labels: Int32Array;
  /** Samples of this batch that failed to load and were replaced by others, in the order they failed. */
  bad: BadSample[];
}

export interface ClipSource {
  /** Clips in one epoch. */
  readonly length: number;
  /** True when batches carry a motion map. */
  readonly hasMotion: boolean;
  /** Samples that failed to load and were replaced, so far (all reads, batches read ahead included). */
  readonly bad: number;
  /** Distinct failures (file, shard clip, reason), first ones first, at most 1000 kept. */
  readonly badFiles: ReadonlyArray<BadSample>;
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

/**
 * Share of a dataset's samples that may fail to load (distinct files or clips) before the run
 * stops with ERR_DATA_TOO_MANY_BAD: a few bad videos in a large list are replaced and counted,
 * a broken dataset is not trained on. At least one bad sample is always tolerated.
 */
export const MAX_BAD_FRACTION = 0.05;

/** Counts failed samples, distinct by file (by clip for shards), and stops past the limit (MAX_BAD_FRACTION). */
class BadTally {
  count = 0;
  readonly files: BadSample[] = [];
  private readonly seen = new Set<string>();
  private readonly limit: number;
  constructor(private readonly length: number) {
    this.limit = Math.max(1, Math.ceil(MAX_BAD_FRACTION * length));
  }
  add(b: BadSample): void {
    this.count++;
    const key = badSampleName(b);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (this.files.length < 1000) this.files.push(b);
    if (this.seen.size > this.limit) {
      const list = this.files.slice(0, 5).map((f) => `${badSampleName(f)}: ${f.reason}`).join('; ');
      throw new DataError(
        'ERR_DATA_TOO_MANY_BAD',
        `${this.seen.size} samples of ${this.length} failed to load (more than ${MAX_BAD_FRACTION * 100}% of the dataset, limit ${this.limit}): ${list}${this.seen.size > 5 ? '; ...' : ''}`,
      );
    }
  }
}

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
    syntheticStyle: config.data.syntheticStyle,
  });
  if (source.kind === 'videos') {
    if (source.entries.length === 0) throw new ConfigError('dataset', config.dataset, 'a dataset with at least one readable video entry');
    return { ...source, recipe: { ...source.recipe, rate: config.data.stride } };
  }
  if (source.kind === 'shards') return { ...source, onDamaged: config.data.onDamaged };
  return source;
}

class IndexedSource implements ClipSource {
  readonly length: number;
  readonly hasMotion: boolean;
  private readonly tally: BadTally;
  get bad(): number {
    return this.tally.count;
  }
  get badFiles(): ReadonlyArray<BadSample> {
    return this.tally.files;
  }

  constructor(
    private readonly src: Source,
    private readonly config: PretrainConfig,
  ) {
    this.length = src.length;
    this.tally = new BadTally(src.length);
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
    const bad: BadSample[] = [];
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
        const failed: BadSample = r.clip === undefined ? { file: r.file, reason: r.reason } : { file: r.file, clip: r.clip, reason: r.reason };
        last = `${badSampleName(failed)}: ${r.reason}`;
        bad.push(failed);
        this.tally.add(failed);
        if (attempt >= MAX_RETRIES) throw new DataError('ERR_DATA_TOO_MANY_BAD', `no good clip after ${MAX_RETRIES + 1} tries from index ${indices[k]}; last: ${last}`);
        // The same deterministic walk as lib/data's buildBatch, so a resumed run replaces alike.
        idx = (indices[k]! + (attempt + 1) * 7919) % this.length;
      }
    }
    return motion ? { clips, motion, labels, bad } : { clips, labels, bad };
  }

  async close(): Promise<void> {
    this.src.close();
  }
}

/** lib/data's loader worker script (the built copy when running from TypeScript sources). */
function workerScript(): URL {
  const here = new URL('../data/loader-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const dist = join(packageRoot, 'dist', 'lib', 'data', 'loader-worker.js');
  if (existsSync(dist)) return pathToFileURL(dist);
  throw new DataError('ERR_DATA_LAYOUT', `the loader worker script is not built (looked for ${fileURLToPath(here)} and ${dist}); run 'npm run build:ts' or set data.workers to 0`);
}

interface BuiltBatchMessage {
  type: 'batch' | 'error';
  id: number;
  batch?: { clips: Uint8Array; motion?: Uint8Array; labels: Int32Array; bad: BadSample[] };
  message?: string;
  /** The error's code (a DataError's, e.g. ERR_SHARD_CHECKSUM), when it had one. */
  code?: string;
}

/**
 * Reads batches on worker threads (lib/data's loader worker, which builds a batch from the
 * indices it is sent and transfers the buffers back). Batches are still addressed by index, so
 * the data order, and resume, are the same as on the main thread.
 */
class WorkerSource implements ClipSource {
  readonly length: number;
  readonly hasMotion: boolean;
  private readonly tally: BadTally;
  get bad(): number {
    return this.tally.count;
  }
  get badFiles(): ReadonlyArray<BadSample> {
    return this.tally.files;
  }
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (b: ClipBatch) => void; reject: (e: Error) => void }>();
  private next = 0;
  private closed = false;

  constructor(descriptor: SourceDescriptor, probe: IndexedSource, count: number) {
    this.length = probe.length;
    this.hasMotion = probe.hasMotion;
    this.tally = new BadTally(probe.length);
    const url = workerScript();
    for (let i = 0; i < count; i++) {
      const w = new Worker(url, { workerData: { source: descriptor } });
      w.on('message', (m: BuiltBatchMessage) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.type !== 'batch' || !m.batch) return p.reject(new DataError(m.code ?? 'ERR_DATA_LOADER', `loader worker: ${m.message ?? 'no batch'}`));
        try {
          for (const b of m.batch.bad) this.tally.add(b);
        } catch (err) {
          return p.reject(err as Error);
        }
        const { clips, motion, labels, bad } = m.batch;
        p.resolve(this.hasMotion && motion ? { clips, motion, labels, bad } : { clips, labels, bad });
      });
      w.on('error', (err) => {
        for (const [, p] of this.pending) p.reject(new DataError('ERR_DATA_LOADER', `loader worker failed: ${err.message}`));
        this.pending.clear();
      });
      // Referenced (not unref'd): a read in flight must keep the process alive; close() ends them.
      this.workers.push(w);
    }
  }

  read(indices: readonly number[], epoch: number): Promise<ClipBatch> {
    if (this.closed) return Promise.reject(new DataError('ERR_DATA_LOADER', 'the clip source is closed'));
    const id = this.next++;
    const worker = this.workers[id % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ type: 'batch', id, indices: [...indices], epoch });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Opens the dataset named by `config.dataset`, read on `config.data.workers` threads (0: this one). */
export async function openClipSource(config: PretrainConfig): Promise<ClipSource> {
  const descriptor = sourceDescriptor(config);
  const local = new IndexedSource(openSource(descriptor), config);
  if (config.data.workers === 0) return local;
  await local.close();
  return new WorkerSource(descriptor, local, config.data.workers);
}
