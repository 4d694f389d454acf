import type { PretrainConfig } from '../config/index.js';
import type { BadSample } from '../data/index.js';
import type { NativeSamplerTelemetry } from '../native-types.js';

/**
 * One training step as the trainer reports it (camelCase; metrics.jsonl uses snake_case). The
 * sampler's telemetry (entropy, kl, clipFrac, ...; learned strategies) and the motion shares (with
 * a motion map) are the native step's, documented in lib/native-types.ts.
 */
export interface StepRecord extends NativeSamplerTelemetry {
  /** Step just completed (1-based: the number of optimizer updates so far). */
  step: number;
  /** The run's last step. */
  totalSteps: number;
  /** Epoch reached (fractional): clips consumed / clips per epoch. */
  epoch: number;
  /** MAE loss (MSE over masked tokens, normalised pixels). */
  loss: number;
  /** Learning rate used for this step. */
  lr: number;
  gradNorm?: number;
  /** Wall time of the step as measured in JS, milliseconds (including waiting for data). */
  stepMs: number;
  /** Clips per second over the steps since the previous logged step. */
  clipsPerS: number;
  /**
   * Samples that failed to load (undecodable videos, damaged shard clips under a skip policy) and
   * were replaced by others, so far in the run; left out while there are none.
   */
  badSamples?: number;
  /** True when this step was written to metrics.jsonl. */
  logged: boolean;
}

/** Progress for a bar or a status page. */
export interface TrainProgress {
  step: number;
  totalSteps: number;
  /** Step the run (re)started from. */
  startStep: number;
  loss: number;
  lr: number;
  /** Smoothed clips per second. */
  clipsPerS: number;
  /** Seconds since this process started training. */
  elapsedS: number;
  /** Estimated seconds to the last step. */
  etaS: number;
  /** True on steps written to metrics.jsonl. */
  logged: boolean;
  /** Learned samplers: this step's mask entropy (nats per token), KL (TATS) and beta (TATS). */
  entropy?: number;
  kl?: number;
  beta?: number;
  /** With a motion map: share of masked tokens that move, and of all tokens. */
  maskedMovingShare?: number;
  movingShare?: number;
}

/** What a finished (or stopped) run reports. */
export interface PretrainResult {
  /** The run directory (absolute). */
  out: string;
  config: PretrainConfig;
  /** Last completed step. */
  step: number;
  /** The step the run started from (0, or the checkpoint's step when resumed). */
  startStep: number;
  /** True when an AbortSignal stopped the run before its last step. */
  aborted: boolean;
  /** Path of the last checkpoint written (or loaded), or null. */
  checkpoint: string | null;
  /** Loss of the last step, or null if no step ran. */
  loss: number | null;
  /** Mean clips per second over this process's steps. */
  clipsPerS: number;
  /** Seconds this process spent training. */
  elapsedS: number;
  metrics: string;
  /** Path of reconstruction.png, or null when not written. */
  picture: string | null;
  /** Samples that failed to load and were replaced by others (all legs of the run). */
  badSamples: number;
  /** The first (up to 20) distinct failures of the run (all legs): file (a video, or a shard file and the clip's index) and reason. */
  badFiles: BadSample[];
  /** `<out>/bad_samples.jsonl`, which lists every replaced sample with its step, or null when there was none. */
  badSamplesLog: string | null;
}

/** Hooks for `pretrain()` and `Trainer.run()`. */
export interface RunHooks {
  /**
   * Stops the run: the step in flight finishes, a checkpoint is written, and the promise resolves
   * with `aborted: true`. A run stopped this way continues exactly with `resume: true`.
   */
  signal?: AbortSignal;
  /** Called after every step. */
  onProgress?: (p: TrainProgress) => void;
}

/** Options for opening a run. */
export interface OpenOptions {
  /**
   * Continue the run in `out`: its config.json is the base config (options given now may only
   * change logEvery, checkpointEvery, keepCheckpoints, picture, device, precision and steps up to
   * `optim.totalSteps`), and training restarts from its latest checkpoint with the same schedule
   * and data order. A directory without a run starts a new one. Defaults to false.
   */
  resume?: boolean;
  /** Overrides `info().cuda` for `device: auto` (tests, services that know better). */
  cudaAvailable?: boolean;
  /**
   * The launch environment read for data parallelism (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
   * MASTER_PORT, or Slurm's SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID; see lib/train/distributed.ts).
   * Defaults to `process.env`.
   */
  env?: Record<string, string | undefined>;
}

/** The trainer's own state, saved in a checkpoint's meta.json beside the session's tensors. */
export interface TrainerState {
  step: number;
  /** Clips consumed: the data position. */
  position: number;
  /** Clips per epoch of the dataset the position counts in. */
  datasetLength: number;
  seed: number;
  /** Samples that failed to load and were replaced up to this step (all legs of the run). */
  badSamples?: number;
}
