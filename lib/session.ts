/**
 * A training session on the native engine: the VideoMAE model, its AdamW optimiser, the mask
 * sampler and the generators, built from one resolved config. Clips go in as uint8
 * `[B, T, H, W, 3]` buffers (zero-copy); small metric objects come back.
 */
import { refuseRetiredEnv } from './retired-env.js';
import { ConfigError, rethrowNative } from './errors/index.js';
import { NativeBacked } from './native-backed.js';
import {
  native,
  type NativeEvalMetrics,
  type NativeReconstruction,
  type NativeSession,
  type NativeSessionConfig,
  type NativeStateDict,
  type NativeStepMetrics,
} from './native.js';

/** The resolved configuration (every field filled in; lib/config builds it). */
export type SessionConfig = NativeSessionConfig;
/** One training step's report: step, loss, lr, gradNorm, stepMs, plus sampler/motion telemetry when present. */
export type StepMetrics = NativeStepMetrics;
export type EvalMetrics = NativeEvalMetrics;
/** pred/target `[B, Nm, valuesPerToken]` for the masked tokens in ascending order; mask `[B, N]`, 1 = masked. */
export type Reconstruction = NativeReconstruction;
/** name -> {dtype, shape, data}: model weights (VideoMAE names), sampler.*, optim.*, sampler_optim.*, rng.*, state.*. */
export type StateDict = NativeStateDict;

/**
 * `strict` from loadStateDict's options, checked before the native call: null or a non-object
 * names the argument instead of failing on a property read.
 * @internal
 */
export function loadOptions(where: string, options: unknown): boolean {
  if (options === undefined) return true;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigError(`${where}.loadStateDict options`, options, 'an object { strict?: boolean } or undefined');
  }
  const strict = (options as { strict?: unknown }).strict;
  if (strict === undefined) return true;
  if (typeof strict !== 'boolean') throw new ConfigError(`${where}.loadStateDict options.strict`, strict, 'a boolean');
  return strict;
}

export class Session extends NativeBacked<NativeSession> {
  readonly config: SessionConfig;

  private constructor(handle: NativeSession, config: SessionConfig) {
    super(handle, 'Session');
    this.config = config;
  }

  /**
   * Builds the model (seeded by `config.seed`) on `config.device`. Throws ConfigError when a
   * retired environment switch (TATS_GRAPH, ...) is set: its setting is `config.runtime` now.
   */
  static async create(config: SessionConfig): Promise<Session> {
    refuseRetiredEnv();
    const caller = new Error();
    try {
      return new Session(new (native().Session)(config), config);
    } catch (err) {
      rethrowNative(err, caller);
    }
  }

  /** Steps taken so far (restored by loadStateDict). */
  get step(): number {
    return this.handle().step;
  }

  /** Tokens per clip, N = (frames / tubelet) * (size / patch)^2. */
  get tokens(): number {
    return this.handle().tokens;
  }

  /**
   * One optimisation step on a batch. clips: uint8 `[batchSize, frames, size, size, 3]`; motion:
   * optional uint8 `[batchSize, tokens]` (1 = the token moves) for the moving-share telemetry.
   * One call at a time: a concurrent call rejects with ERR_BUSY.
   *
   * Data parallel (`config.dataParallel`): clips are this rank's `batchSize` clips of the global
   * batch; the returned metrics are means over the ranks. `options.stop` asks every rank to stop:
   * `stopRequested > 0` comes back on all of them after this step.
   */
  async trainStep(clips: Uint8Array, motion?: Uint8Array, options?: { stop: boolean }): Promise<StepMetrics> {
    return this.call((s) => (options ? s.trainStep(clips, motion, options) : s.trainStep(clips, motion)));
  }

  /**
   * The loss on clips without an update (any whole number of clips); masks come from the
   * evaluation generator, so evaluating never changes the training draws.
   */
  async evalStep(clips: Uint8Array, motion?: Uint8Array): Promise<EvalMetrics> {
    return this.call((s) => s.evalStep(clips, motion));
  }

  /**
   * Predictions and targets for the masked tokens of any whole number of clips B; `mask`
   * (uint8 `[B, N]`, 1 = masked, the same count in every clip) overrides the sampler.
   */
  async reconstruct(clips: Uint8Array, mask?: Uint8Array): Promise<Reconstruction> {
    return this.call((s) => s.reconstruct(clips, mask));
  }

  /** Everything needed to resume (copies, safe to keep). */
  async stateDict(): Promise<StateDict> {
    return this.call((s) => s.stateDict());
  }

  /** Restores a stateDict(). strict (default): every model weight present and every name known. */
  async loadStateDict(state: StateDict, options: { strict?: boolean } = {}): Promise<void> {
    return this.call((s) => s.loadStateDict(state, { strict: loadOptions('Session', options) }));
  }
}
