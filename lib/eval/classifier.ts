/**
 * The fine-tuning model on the native engine: VideoMAE's VisionTransformer classifier (mean
 * pooling, fc_norm, head) with its recipe (AdamW, layer-wise lr decay, drop path, label
 * smoothing, mixup/cutmix, warmup + cosine). Built from a resolved NativeClassifierConfig
 * (resolveFinetuneConfig fills it).
 */
import { rethrowNative } from '../errors/index.js';
import { NativeBacked } from '../native-backed.js';
import { loadOptions } from '../session.js';
import { native, type NativeClassifierConfig, type NativeClassifierSession, type NativeClassifierStep, type NativeStateDict } from '../native.js';

export type ClassifierConfig = NativeClassifierConfig;
export type ClassifierStep = NativeClassifierStep;

export class ClassifierSession extends NativeBacked<NativeClassifierSession> {
  readonly config: ClassifierConfig;

  private constructor(handle: NativeClassifierSession, config: ClassifierConfig) {
    super(handle, 'ClassifierSession');
    this.config = config;
  }

  /** Builds the classifier (seeded by config.seed) on config.device. */
  static async create(config: ClassifierConfig): Promise<ClassifierSession> {
    const caller = new Error();
    try {
      return new ClassifierSession(new (native().ClassifierSession)(config), config);
    } catch (err) {
      rethrowNative(err, caller);
    }
  }

  get step(): number {
    return this.handle().step;
  }

  /** One optimisation step: clips uint8 [batchSize, T, H, W, 3], labels int32 [batchSize]. */
  async trainStep(clips: Uint8Array, labels: Int32Array): Promise<ClassifierStep> {
    return this.call((s) => s.trainStep(clips, labels));
  }

  /** Logits [B, classes] for any whole number of clips (eval mode). */
  async predict(clips: Uint8Array): Promise<Float32Array> {
    return this.call((s) => s.predict(clips));
  }

  /** Model weights under VideoMAE's fine-tuning names, plus state.step. */
  async stateDict(): Promise<NativeStateDict> {
    return this.call((s) => s.stateDict());
  }

  /** strict (default): every weight present and every name known; otherwise reports what did not match. */
  async loadStateDict(state: NativeStateDict, options: { strict?: boolean } = {}): Promise<{ missing: string[]; unexpected: string[] }> {
    return this.call((s) => s.loadStateDict(state, { strict: loadOptions('ClassifierSession', options) }));
  }
}
