/**
 * Prefetching batch loader. Worker threads (or the main thread with workers: 0) build batches
 * {clips: uint8 [B,T,H,W,3], motion?: uint8 [B,N], labels: int32 [B]} from a source (synthetic,
 * shards, decoded videos); the buffers are transferred from the worker, not copied. Batches come
 * out in plan order (a seeded shuffle per epoch). Bad samples are replaced and counted; the loader
 * throws ERR_DATA_TOO_MANY_BAD only when the bad share of all load attempts exceeds `maxBadShare`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

import { ConfigError, DataError } from '../errors/index.js';
import { packageRoot } from '../paths.js';
import { badSampleName, buildBatch, openSource, type BadSample, type BuiltBatch, type Source, type SourceDescriptor } from './sources.js';
import { seededRand } from './transforms.js';

export interface LoaderOptions {
  source: SourceDescriptor;
  batchSize: number;
  /** Worker threads; 0 builds batches on the calling thread. Defaults to 1. */
  workers?: number;
  /** Batches in flight per worker. Defaults to 2. */
  prefetch?: number;
  /** Shuffle each epoch (seeded). Defaults to true. */
  shuffle?: boolean;
  /** Seed of the shuffle. Defaults to 0. */
  seed?: number;
  /** Passes over the data. Defaults to 1, or Infinity when `steps` is given (loop until `steps` or close()). */
  epochs?: number;
  /** Stop after this many batches. */
  steps?: number;
  /** Largest tolerated share of bad load attempts (0..1). Defaults to 0.05. */
  maxBadShare?: number;
  /** Attempts before the bad share is checked mid-run (it is always checked at the end). Defaults to 50. */
  minAttemptsForBadCheck?: number;
}

export interface LoaderBatch {
  clips: Uint8Array;
  motion?: Uint8Array;
  labels: Int32Array;
  epoch: number;
  step: number;
}

export interface LoaderStats {
  batches: number;
  attempts: number;
  bad: number;
  /** The first 100 failures. */
  errors: BadSample[];
}

function workerUrl(): URL {
  const here = new URL('./loader-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  // Running from TypeScript sources (tests): use the built copy.
  const dist = join(packageRoot, 'dist', 'lib', 'data', 'loader-worker.js');
  if (existsSync(dist)) return pathToFileURL(dist);
  throw new DataError('ERR_DATA_LAYOUT', `the loader worker script is not built (looked for ${fileURLToPath(here)} and ${dist}); run 'npm run build:ts' or use workers: 0`);
}

interface Job {
  epoch: number;
  step: number;
  indices: number[];
}

export class DataLoader implements AsyncIterable<LoaderBatch> {
  readonly batchSize: number;
  readonly length: number;
  readonly stats: LoaderStats = { batches: 0, attempts: 0, bad: 0, errors: [] };
  private readonly opts: Required<Omit<LoaderOptions, 'steps'>> & { steps: number };
  private readonly workers: Worker[] = [];
  private local: Source | undefined;
  private readonly pending = new Map<number, { resolve: (b: BuiltBatch) => void; reject: (e: Error) => void }>();
  private closed = false;

  constructor(opts: LoaderOptions) {
    const b = opts.batchSize;
    if (!Number.isInteger(b) || b < 1) throw new ConfigError('batchSize', b, 'an integer >= 1');
    const w = opts.workers ?? 1;
    if (!Number.isInteger(w) || w < 0) throw new ConfigError('workers', w, 'an integer >= 0');
    const share = opts.maxBadShare ?? 0.05;
    if (!(share >= 0 && share <= 1)) throw new ConfigError('maxBadShare', share, 'a number in [0, 1]');
    this.opts = {
      source: opts.source,
      batchSize: b,
      workers: w,
      prefetch: Math.max(1, opts.prefetch ?? 2),
      shuffle: opts.shuffle ?? true,
      seed: opts.seed ?? 0,
      epochs: opts.epochs ?? (opts.steps !== undefined ? Infinity : 1),
      steps: opts.steps ?? Infinity,
      maxBadShare: share,
      minAttemptsForBadCheck: opts.minAttemptsForBadCheck ?? 50,
    };
    this.batchSize = b;
    // The main thread opens the source too when there are no workers (and to learn the length).
    this.local = openSource(opts.source);
    this.length = this.local.length;
    if (this.length < b) throw new ConfigError('batchSize', b, `at most the dataset size ${this.length}`);
    if (w > 0) {
      this.local.close();
      this.local = undefined;
      const url = workerUrl();
      for (let i = 0; i < w; i++) {
        const worker = new Worker(url, { workerData: { source: opts.source } });
        worker.on('message', (m: { type: string; id: number; batch?: BuiltBatch; message?: string }) => {
          const p = this.pending.get(m.id);
          if (!p) return;
          this.pending.delete(m.id);
          if (this.pending.size === 0) for (const x of this.workers) x.unref();
          if (m.type === 'batch') p.resolve(m.batch!);
          else p.reject(new DataError('ERR_DATA_LOADER', `loader worker: ${m.message}`));
        });
        worker.on('error', (err) => {
          for (const [, p] of this.pending) p.reject(new DataError('ERR_DATA_LOADER', `loader worker failed: ${err.message}`));
          this.pending.clear();
        });
        worker.unref();
        this.workers.push(worker);
      }
    }
  }

  /** Batches per epoch (full batches only). */
  get batchesPerEpoch(): number {
    return Math.floor(this.length / this.batchSize);
  }

  private *plan(): Generator<Job> {
    let step = 0;
    for (let epoch = 0; epoch < this.opts.epochs; epoch++) {
      const order = Array.from({ length: this.length }, (_, i) => i);
      if (this.opts.shuffle) {
        const r = seededRand((this.opts.seed * 0x9e3779b1 + epoch * 0x85ebca6b) >>> 0);
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(r() * (i + 1));
          const t = order[i]!;
          order[i] = order[j]!;
          order[j] = t;
        }
      }
      for (let s = 0; s + this.batchSize <= order.length; s += this.batchSize) {
        if (step >= this.opts.steps) return;
        yield { epoch, step: step++, indices: order.slice(s, s + this.batchSize) };
      }
    }
  }

  private submit(job: Job): Promise<BuiltBatch> {
    if (this.local) return buildBatch(this.local, job.indices, job.epoch);
    const worker = this.workers[job.step % this.workers.length]!;
    // Keep the process alive while a batch is awaited; idle workers do not hold it open.
    for (const x of this.workers) x.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(job.step, { resolve, reject });
      worker.postMessage({ type: 'batch', id: job.step, indices: job.indices, epoch: job.epoch });
    });
  }

  private account(b: BuiltBatch): void {
    this.stats.batches++;
    this.stats.attempts += b.attempts;
    this.stats.bad += b.bad.length;
    for (const e of b.bad) if (this.stats.errors.length < 100) this.stats.errors.push(e);
    this.checkBad(false);
  }

  /** Throws when the bad share is over the limit (mid-run only after enough attempts; always at the end). */
  private checkBad(final: boolean): void {
    const { attempts, bad } = this.stats;
    if (bad > 0 && (final || attempts >= this.opts.minAttemptsForBadCheck) && bad / attempts > this.opts.maxBadShare) {
      const first = this.stats.errors.slice(0, 5).map((e) => `  ${badSampleName(e)}: ${e.reason}`).join('\n');
      throw new DataError(
        'ERR_DATA_TOO_MANY_BAD',
        `${bad} of ${attempts} samples were bad (${((100 * bad) / attempts).toFixed(1)}% > ${(100 * this.opts.maxBadShare).toFixed(1)}% allowed); first ones:\n${first}`,
      );
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LoaderBatch> {
    const plan = this.plan();
    const inflight: Array<{ job: Job; p: Promise<BuiltBatch> }> = [];
    const depth = Math.max(1, this.workers.length) * this.opts.prefetch;
    const fill = () => {
      while (!this.closed && inflight.length < depth) {
        const n = plan.next();
        if (n.done) break;
        const p = this.submit(n.value);
        p.catch(() => {}); // surfaced when awaited
        inflight.push({ job: n.value, p });
      }
    };
    try {
      fill();
      while (inflight.length > 0 && !this.closed) {
        const { job, p } = inflight.shift()!;
        const b = await p;
        this.account(b);
        fill();
        yield b.motion ? { clips: b.clips, motion: b.motion, labels: b.labels, epoch: job.epoch, step: job.step } : { clips: b.clips, labels: b.labels, epoch: job.epoch, step: job.step };
      }
      if (!this.closed) this.checkBad(true);
    } finally {
      if (this.local === undefined) await Promise.allSettled(inflight.map((x) => x.p));
    }
  }

  /**
   * Hands a consumed batch's clip buffer back for reuse (optional; it is transferred back to the
   * worker that built it, so `batch.clips` is detached afterwards). Saves allocating and
   * page-faulting a fresh buffer per batch.
   */
  recycle(batch: LoaderBatch): void {
    if (this.closed || this.workers.length === 0 || batch.clips.byteLength === 0) return;
    if (batch.clips.byteOffset !== 0 || batch.clips.byteLength !== batch.clips.buffer.byteLength) return;
    const worker = this.workers[batch.step % this.workers.length]!;
    worker.postMessage({ type: 'recycle', clips: batch.clips }, [batch.clips.buffer as ArrayBuffer]);
  }

  /** Stops the workers; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.local?.close();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
