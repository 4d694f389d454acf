/**
 * The pretraining loop: a run directory, a native Session, a clip source and a data order.
 * `Trainer` gives events and async iteration over steps; `pretrain()` runs one to the end.
 *
 * Exact resume: the state of a run is the Session's state dict (weights, both optimizers, RNG,
 * step) plus the data position (clips consumed), stored in the checkpoint's metadata. The data
 * order is a pure function of (seed, position), so a resumed run sees the same clips, the same
 * masks and the same learning rates as one that never stopped.
 *
 * Data parallel (a launch environment with RANK/WORLD_SIZE or a Slurm job, see distributed.ts):
 * every rank runs a Trainer on `batchSize` clips of each global batch of `batchSize * worldSize`
 * (rank r reads positions [r * batchSize, (r + 1) * batchSize) of it), the Session averages
 * gradients and metrics over the ranks, and only rank 0 writes the run directory (config,
 * metrics, checkpoints, picture). Every rank reads the checkpoint on resume, so `out` must be on a
 * filesystem all nodes share.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import type { PretrainConfig, PretrainOptions } from '../config/index.js';
import { TrainError } from '../errors/index.js';
import type { DistEnv } from './distributed.js';
import { native } from '../native.js';
import { MetricsWriter } from './metrics.js';
import type { BadSample } from '../data/index.js';
import { BAD_FILES_SHOWN, appendBadSamples, firstBadSamples } from './bad-samples.js';
import { assertFiniteStep } from './divergence.js';
import { DataOrder } from './order.js';
import { writeRunPicture } from './picture.js';
import { checkpointName, pruneCheckpoints, type RunLock, type RunPaths } from './rundir.js';
import { rankJournalPath, RankJournalReader } from './rank-bad-samples.js';
import { openRun, type OpenedRun } from './open.js';
import { saveCheckpoint, type TrainSession } from './engine.js';
import type { ClipBatch, ClipSource } from './source.js';
import type { OpenOptions, PretrainResult, RunHooks, StepRecord, TrainerState, TrainProgress } from './types.js';

/** Events a Trainer emits. */
export interface TrainerEvents {
  /** After every step. */
  step: [StepRecord];
  /** After a step written to metrics.jsonl. */
  log: [StepRecord];
  /** After a checkpoint is written: its path and step. */
  checkpoint: [{ path: string; step: number }];
}

export class Trainer extends EventEmitter<TrainerEvents> {
  /** The resolved config (as written to config.json). */
  readonly config: PretrainConfig;
  /** Paths of the run directory. */
  readonly paths: RunPaths;
  /** The step the run (re)started from. */
  readonly startStep: number;

  /** The data-parallel place of this process, or null for a single process. */
  readonly dist: DistEnv | null;

  private readonly session: TrainSession;
  private readonly source: ClipSource;
  private readonly order: DataOrder;
  /** Rank 0 (or a single process) only: the others write nothing. */
  private readonly metrics: MetricsWriter | null;
  private lastCheckpoint: { path: string; step: number } | null;
  /** The run directory's lock (the process that writes it holds one). */
  private readonly lock: RunLock | null;
  /**
   * Things the user should know about how the run started: a stale lock taken over, leftovers of
   * an interrupted run removed. The CLI prints them.
   */
  readonly notices: string[];
  /** Samples that failed to load and were replaced in the legs of this run before this one. */
  private readonly badBefore: number;
  /** Samples replaced in the batches of this leg's steps (batches read ahead but not trained on are not counted). */
  private badThisLeg = 0;
  /**
   * bad_samples.jsonl (rank 0 or a single process): one line per replaced sample, with its step;
   * on a rank r > 0 its journal, which rank 0 copies into bad_samples.jsonl (rank-bad-samples.ts).
   */
  private readonly badLog: MetricsWriter;
  /** Rank 0 of several: reads the other ranks' journals. */
  private readonly journals: RankJournalReader | null;
  private lastLoss: number | null = null;
  /** The step of the last picture written to paths.picture. */
  private pictureStep = -1;
  private disposed = false;
  private running = false;
  private trainMs = 0;
  private trainedClips = 0;

  private constructor(args: OpenedRun) {
    super();
    this.lock = args.lock;
    this.notices = args.notices;
    this.badBefore = args.badBefore;
    this.dist = args.dist;
    this.config = args.config;
    this.paths = args.paths;
    this.session = args.session;
    this.source = args.source;
    this.startStep = args.startStep;
    this.lastCheckpoint = args.lastCheckpoint;
    this.order = new DataOrder(args.source.length, args.config.seed);
    this.metrics = this.writes ? new MetricsWriter(args.paths.metrics) : null;
    this.badLog = new MetricsWriter(this.writes ? args.paths.badSamples : rankJournalPath(args.paths, args.dist!.rank));
    this.journals = this.writes && args.config.worldSize > 1 ? new RankJournalReader(args.paths, args.config.worldSize, args.startStep) : null;
  }

  /** Whether this process writes the run directory: rank 0, or a single process. */
  get writes(): boolean {
    return !this.dist || this.dist.rank === 0;
  }

  /**
   * Validates the options, prepares the run directory and the Session, and on `resume` loads the
   * latest checkpoint. Throws ConfigError (before any work) for invalid options or an `out` that
   * already holds a run when `resume` is not set.
   */
  static async open(options: PretrainOptions = {}, opts: OpenOptions = {}): Promise<Trainer> {
    return new Trainer(await openRun(options, opts));
  }

  /** Steps completed so far. */
  get step(): number {
    return this.session.step;
  }

  /**
   * Samples that failed to load and were replaced by others in the batches of the steps run so far
   * (all legs of the run, this rank). Counted when a batch is trained on, so a checkpoint's count
   * is exact and a resumed run, which reads the batches after it again, counts each once.
   */
  get badSamples(): number {
    return this.badBefore + this.badThisLeg;
  }

  /** Clips per step (all ranks). */
  private get globalBatch(): number {
    return this.config.batchSize * this.config.worldSize;
  }

  private readBatch(step: number): Promise<ClipBatch> {
    // The global batch of step `step` (1-based) starts at position (step - 1) * global batch;
    // this rank reads its own batchSize clips of it, the ones a single process would put in rows
    // [rank * batchSize, (rank + 1) * batchSize) of its batch.
    const position = (step - 1) * this.globalBatch;
    const first = position + (this.dist?.rank ?? 0) * this.config.batchSize;
    return this.source.read(this.order.indices(first, this.config.batchSize), Math.floor(this.order.epochAt(position)));
  }

  /**
   * Runs steps until the configured last one (or `signal` aborts), yielding each step's record.
   * Metrics and periodic checkpoints are written as it goes. Breaking out of the loop stops
   * after the current step; call `checkpoint()` to keep that point.
   */
  async *steps(signal?: AbortSignal): AsyncGenerator<StepRecord, void, undefined> {
    this.assertUsable();
    if (this.running) throw new TrainError('ERR_BUSY', 'this Trainer is already running');
    this.running = true;
    const total = this.config.steps;
    let step = this.session.step;
    // Batches of the next `prefetch` steps are read while the current step trains.
    const ahead: Promise<ClipBatch>[] = [];
    let queued = step; // last step whose batch is being read
    let taken = step; // last step whose batch was handed to the session
    const fill = () => {
      while (queued < total && queued - taken < this.config.data.prefetch) {
        const p = this.readBatch(++queued);
        p.catch(() => undefined); // surfaced when awaited
        ahead.push(p);
      }
    };
    let windowStart = performance.now();
    let windowClips = 0;
    // Data parallel: a stop request travels with a step's metrics, so that every rank stops after
    // the same step (a rank leaving alone would leave the others waiting in a collective).
    let stopAgreed = false;
    const stopNow = () => (this.dist ? stopAgreed : Boolean(signal?.aborted));
    try {
      while (step < total && !stopNow()) {
        const t0 = performance.now();
        fill();
        const batch = await ahead.shift()!;
        taken++;
        fill();
        if (batch.bad.length > 0) {
          // Recorded before the step that trains on the batch: under data parallelism the step's
          // collective then orders these lines before rank 0 reads them (rank-bad-samples.ts).
          appendBadSamples(this.badLog, taken, batch.bad, this.config.worldSize > 1 ? this.dist?.rank ?? 0 : undefined);
          if (this.dist) await this.badLog.flush();
        }
        const m = await this.session.trainStep(batch.clips, batch.motion, this.dist ? { stop: Boolean(signal?.aborted) } : undefined);
        step = m.step;
        if ((m.stopRequested ?? 0) > 0) stopAgreed = true;
        this.badThisLeg += batch.bad.length;
        if (this.journals) {
          const others = this.journals.take(step);
          for (const l of others) this.badLog.append(l);
          this.badThisLeg += others.length;
        }
        const t1 = performance.now();
        this.trainMs += t1 - t0;
        this.trainedClips += this.globalBatch;
        windowClips += this.globalBatch;
        assertFiniteStep(m, step, this.lastCheckpoint?.path ?? null);
        this.lastLoss = m.loss;
        const logged = step % this.config.logEvery === 0 || step === total;
        const record: StepRecord = {
          step,
          totalSteps: total,
          epoch: this.order.epochAt(step * this.globalBatch),
          loss: m.loss,
          lr: m.lr,
          gradNorm: m.gradNorm,
          stepMs: t1 - t0,
          clipsPerS: (windowClips * 1000) / Math.max(1e-9, t1 - windowStart),
          entropy: m.entropy,
          kl: m.kl,
          clipFrac: m.clipFrac,
          valueLoss: m.valueLoss,
          reward: m.reward,
          beta: m.beta,
          ppoEpochs: m.ppoEpochs,
          samplerLoss: m.samplerLoss,
          maskedMovingShare: m.maskedMovingShare,
          movingShare: m.movingShare,
          ...(this.badSamples > 0 ? { badSamples: this.badSamples } : {}),
          logged,
        };
        if (logged) {
          this.metrics?.write(record);
          windowStart = t1;
          windowClips = 0;
        }
        this.emit('step', record);
        if (logged) this.emit('log', record);
        if (step % this.config.checkpointEvery === 0 || step === total) await this.checkpoint();
        yield record;
      }
    } finally {
      this.running = false;
      await Promise.allSettled(ahead);
      await this.metrics?.flush();
      await this.badLog.flush();
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<StepRecord, void, undefined> {
    yield* this.steps();
  }

  /**
   * Writes a checkpoint of the current step (atomically, via lib/checkpoint) unless one exists,
   * keeps the newest `keepCheckpoints`, and returns its path. Data parallel: rank 0 writes (every
   * rank holds the same state); the others return the path rank 0 writes.
   */
  async checkpoint(): Promise<string> {
    this.assertUsable();
    const step = this.session.step;
    if (this.lastCheckpoint?.step === step) return this.lastCheckpoint.path;
    const path = `${this.paths.checkpoints}/${checkpointName(step)}`;
    if (!this.writes) {
      this.lastCheckpoint = { path, step };
      return path;
    }
    const meta: TrainerState = { step, position: step * this.globalBatch, datasetLength: this.source.length, seed: this.config.seed, badSamples: this.badSamples };
    await saveCheckpoint(path, this.session, meta);
    this.lastCheckpoint = { path, step };
    pruneCheckpoints(this.paths, this.config.keepCheckpoints);
    // The run's picture follows its checkpoints, so that `tats dashboard` shows the current policy.
    if (this.config.picture) await this.picture();
    this.emit('checkpoint', { path, step });
    return path;
  }

  /**
   * Draws input frames, mask, reconstruction (and the sampler's policy) of the first clips of
   * the dataset to a PNG, and beside it (`.gif`) their animation, both off the event loop and
   * replaced atomically (a reader never sees half a file); returns the PNG's path.
   */
  async picture(path: string = this.paths.picture, clips = 2): Promise<string> {
    this.assertUsable();
    await writeRunPicture(this.session, this.source, this.config.model, path, clips);
    if (path === this.paths.picture) this.pictureStep = this.session.step;
    return path;
  }

  /**
   * Trains to the last step (or until `signal` aborts: then the step in flight finishes and a
   * checkpoint is written), writes the picture when configured, and reports.
   */
  async run(hooks: RunHooks = {}): Promise<PretrainResult> {
    const started = performance.now();
    const startStep = this.session.step;
    let ema: number | undefined;
    for await (const r of this.steps(hooks.signal)) {
      ema = ema === undefined ? r.stepMs : 0.9 * ema + 0.1 * r.stepMs;
      if (hooks.onProgress) {
        const p: TrainProgress = {
          step: r.step,
          totalSteps: r.totalSteps,
          startStep,
          loss: r.loss,
          lr: r.lr,
          clipsPerS: (this.globalBatch * 1000) / ema,
          elapsedS: (performance.now() - started) / 1000,
          etaS: ((r.totalSteps - r.step) * ema) / 1000,
          logged: r.logged,
          ...(r.entropy !== undefined ? { entropy: r.entropy } : {}),
          ...(r.kl !== undefined ? { kl: r.kl } : {}),
          ...(r.beta !== undefined ? { beta: r.beta } : {}),
          ...(r.maskedMovingShare !== undefined ? { maskedMovingShare: r.maskedMovingShare } : {}),
          ...(r.movingShare !== undefined ? { movingShare: r.movingShare } : {}),
        };
        hooks.onProgress(p);
      }
    }
    const aborted = this.session.step < this.config.steps;
    const checkpoint = this.session.step > 0 ? await this.checkpoint() : null;
    let picture: string | null = null;
    if (!aborted && this.config.picture && this.writes) picture = this.pictureStep === this.session.step ? this.paths.picture : await this.picture();
    return this.result(aborted, checkpoint, picture, startStep);
  }

  private result(aborted: boolean, checkpoint: string | null, picture: string | null, startStep: number): PretrainResult {
    return {
      out: this.paths.out,
      config: this.config,
      step: this.session.step,
      startStep,
      aborted,
      checkpoint,
      loss: this.lastLoss,
      clipsPerS: this.trainMs > 0 ? (this.trainedClips * 1000) / this.trainMs : 0,
      elapsedS: this.trainMs / 1000,
      metrics: this.paths.metrics,
      picture,
      badSamples: this.badSamples,
      badFiles: this.badFiles(),
      badSamplesLog: this.writes && existsSync(this.paths.badSamples) && this.badSamples > 0 ? this.paths.badSamples : null,
    };
  }

  /**
   * The first (up to BAD_FILES_SHOWN) distinct samples replaced: from bad_samples.jsonl (all legs of the run)
   * where this process writes it, else from this process's reads.
   */
  private badFiles(): BadSample[] {
    if (!this.writes || !existsSync(this.paths.badSamples)) return this.source.badFiles.slice(0, BAD_FILES_SHOWN);
    return firstBadSamples(this.paths.badSamples);
  }

  private assertUsable(): void {
    if (this.disposed) throw new TrainError('ERR_DISPOSED', 'this Trainer has been disposed');
  }

  /** Releases the Session and the data source. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.session.dispose();
    // The session held the process group; drop the process's reference too (one run per group).
    if (this.dist) native().destroyProcessGroup();
    await this.source.close();
    this.lock?.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

/**
 * Pretrains a video MAE: validates `options` (ConfigError before any work), trains in this
 * process without blocking the event loop, writes the run directory and returns a summary.
 *
 * @example
 * ```ts
 * import { pretrain } from 'tats';
 * const ac = new AbortController();
 * const r = await pretrain({ preset: 'cpu-demo', out: 'runs/demo', steps: 50 }, { signal: ac.signal });
 * console.log(r.step, r.loss, r.checkpoint);
 * ```
 */
export async function pretrain(options: PretrainOptions = {}, hooks: RunHooks & OpenOptions = {}): Promise<PretrainResult> {
  const trainer = await Trainer.open(options, hooks);
  try {
    return await trainer.run(hooks);
  } finally {
    await trainer.dispose();
  }
}
