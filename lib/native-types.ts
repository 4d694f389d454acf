/**
 * The addon's exports, typed once: what lib/native.ts's `native()` returns. The test and bench
 * entry points are typed apart, in lib/native-testing.ts.
 * @internal
 */
import type { NativeTesting } from './native-testing.js';

/** What the addon's info() reports. */
export interface NativeInfo {
  torch: string;
  torchSource: string;
  cudaCompiled: boolean;
  cudaAvailable: boolean;
  cudaArchitectures: string;
  napiVersion: number;
  cppAbi: number;
  threads: number;
  devices: { index: number; name: string; capability: string; memoryGiB: number; multiprocessors: number }[];
}

export interface PatchifyShape {
  batch: number;
  frames: number;
  height: number;
  width: number;
  tubelet?: number;
  patch?: number;
}

/** A timed square matmul loop: bf16 on CUDA, fp32 on CPU (the peak that MFU is reported against). */
export interface MatmulPeak {
  tflops: number;
  /** Milliseconds per matmul. */
  ms: number;
  size: number;
  iters: number;
  dtype: 'bf16' | 'fp32';
  device: 'cpu' | 'cuda';
}

/** The resolved session configuration the native Session reads; every field is required (resolved by lib/config; native/core/config.h trusts it). */
export interface NativeSessionConfig {
  model: {
    preset: string;
    frames: number;
    size: number;
    tubelet: number;
    patch: number;
    channels: number;
    encoderDim: number;
    encoderDepth: number;
    encoderHeads: number;
    decoderDim: number;
    decoderDepth: number;
    decoderHeads: number;
    mlpRatio: number;
  };
  masking: { strategy: 'random' | 'tube' | 'frame' | 'adamae' | 'tats'; ratio: number };
  sampler: {
    dim: number;
    heads: number;
    temperature: number;
    ppoEpochs: number;
    clipEps: number;
    valueCoef: number;
    beta: number;
    betaStart: number;
    betaSteps: number;
    reward: 'error' | 'negError' | 'progress';
    targetKl: number;
    lr: number;
    warmupSteps: number;
    clipGrad: number;
    weightDecay: number;
    detachInput: boolean;
    exactKl: boolean;
    adamaeWeight: number;
  };
  optim: {
    lr: number;
    minLr: number;
    warmupSteps: number;
    totalSteps: number;
    weightDecay: number;
    beta1: number;
    beta2: number;
    clipGrad: number;
  };
  batchSize: number;
  device: 'cpu' | 'cuda';
  seed: number;
  precision: 'fp32' | 'bf16';
  /** How the step runs (lib/config's RuntimeConfig, native/core/config.h's RuntimeConfig). */
  runtime: {
    graph: boolean;
    staging: boolean;
    sdpa: 'auto' | 'flash' | 'efficient' | 'cudnn' | 'math';
    layerNormBf16: boolean;
    legacyAdamw: boolean;
    rolloutGraph: boolean;
    ppoGraph: boolean;
  };
  /** The CUDA device index (LOCAL_RANK under data parallelism). Optional: 0 when absent. */
  deviceIndex?: number;
  /**
   * Train data-parallel over this process's group (initProcessGroup first): batchSize is this
   * rank's share of the global batch. Optional: false when absent.
   */
  dataParallel?: boolean;
}

/** The process's data-parallel group, as the addon reports it. */
export interface NativeProcessGroup {
  rank: number;
  worldSize: number;
  backend: 'gloo' | 'nccl';
}

/** What one training step reports. Sampler and motion fields appear when they apply. */
export interface NativeStepMetrics {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  stepMs: number;
  /** Learned samplers: mean per-token entropy of the mask distribution, nats per token. */
  entropy?: number;
  /** TATS: exact mean per-token KL(old || new) between the mask distributions, as the last PPO epoch's forward measured it (before its step), or after the whole update with `sampler.exactKl`. */
  kl?: number;
  clipFrac?: number;
  valueLoss?: number;
  reward?: number;
  /** TATS: the KL-to-uniform weight used this step (the curriculum's value). */
  beta?: number;
  /** TATS: PPO epochs taken this step (fewer than sampler.ppoEpochs when the KL passed targetKl). */
  ppoEpochs?: number;
  samplerLoss?: number;
  maskedMovingShare?: number;
  movingShare?: number;
  /** Data parallel: the share of ranks that asked to stop after this step (> 0: every rank stops). */
  stopRequested?: number;
}

/** The sampler and motion telemetry of a step, as the trainer passes it on (lib/train StepRecord). */
export type NativeSamplerTelemetry = Pick<
  NativeStepMetrics,
  'entropy' | 'kl' | 'clipFrac' | 'valueLoss' | 'reward' | 'beta' | 'ppoEpochs' | 'samplerLoss' | 'maskedMovingShare' | 'movingShare'
>;

export interface NativeEvalMetrics {
  loss: number;
  maskedMovingShare?: number;
  movingShare?: number;
}

export interface NativeReconstruction {
  pred: Float32Array;
  target: Float32Array;
  mask: Uint8Array;
  maskedPerClip: number;
  tokens: number;
  valuesPerToken: number;
  policy?: Float32Array;
}

export type NativeDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
export interface NativeTensor {
  dtype: NativeDtype;
  shape: number[];
  data: Uint8Array;
}
export type NativeStateDict = Record<string, NativeTensor>;

/** The addon's Session class (one call at a time; a second concurrent call rejects with ERR_BUSY). */
export interface NativeSession {
  trainStep(clips: Uint8Array, motion?: Uint8Array, options?: { stop: boolean }): Promise<NativeStepMetrics>;
  evalStep(clips: Uint8Array, motion?: Uint8Array): Promise<NativeEvalMetrics>;
  reconstruct(clips: Uint8Array, mask?: Uint8Array): Promise<NativeReconstruction>;
  stateDict(): Promise<NativeStateDict>;
  loadStateDict(state: NativeStateDict, options: { strict: boolean }): Promise<void>;
  dispose(): void;
  readonly step: number;
  readonly tokens: number;
  readonly disposed: boolean;
}

/** The resolved fine-tuning configuration the native ClassifierSession reads (lib/eval fills it). */
export interface NativeClassifierConfig {
  /** The session's model fields less the decoder (a classifier has none). */
  model: Omit<NativeSessionConfig['model'], 'decoderDim' | 'decoderDepth' | 'decoderHeads'>;
  classes: number;
  dropPath: number;
  linearProbe: boolean;
  layerDecay: number;
  labelSmoothing: number;
  mixup: number;
  cutmix: number;
  mixupProb: number;
  switchProb: number;
  optim: NativeSessionConfig['optim'];
  batchSize: number;
  device: 'cpu' | 'cuda';
  seed: number;
  precision: 'fp32' | 'bf16';
}

export interface NativeClassifierStep {
  step: number;
  loss: number;
  /** Top-1 accuracy of the step's logits against the (unmixed) labels. */
  acc: number;
  lr: number;
  gradNorm: number;
  stepMs: number;
}

export interface NativeClassifierSession {
  trainStep(clips: Uint8Array, labels: Int32Array): Promise<NativeClassifierStep>;
  /** logits [B, classes] */
  predict(clips: Uint8Array): Promise<Float32Array>;
  stateDict(): Promise<NativeStateDict>;
  loadStateDict(state: NativeStateDict, options: { strict: boolean }): Promise<{ missing: string[]; unexpected: string[] }>;
  dispose(): void;
  readonly step: number;
  readonly disposed: boolean;
}

/** Options of the Gumbel-top-k mask draw (the CPU reference; see native/kernels/gumbel_topk.h). */
export interface GumbelTopkOptions {
  batch: number;
  tokens: number;
  /** Tokens drawn (masked) per row, 0..tokens. */
  k: number;
  /** Temperature: keys are logits / tau + Gumbel noise. */
  tau: number;
  /** Noise stream and draw number (non-negative integers). */
  seed: number;
  offset: number;
  /** Noise key of row 0 (row b is keyed rowBase + b): a slice of a larger batch draws what the whole would. Defaults to 0. */
  rowBase?: number;
}

/** Every native export, typed once. */
export interface NativeAddon {
  /** The test and bench entry points, apart from the product's functions (lib/native-testing.ts). */
  testing: NativeTesting;
  info(): NativeInfo;
  patchify(clips: Uint8Array, shape: PatchifyShape): { patches: Float32Array; targets: Float32Array; tokens: number };
  gumbelTopk(logits: Float32Array, options: GumbelTopkOptions): { masked: Int32Array; visible: Int32Array };
  matmulPeak(options: { device: 'cpu' | 'cuda'; size: number; iters: number }): Promise<MatmulPeak>;
  /** CUDA caching-allocator bytes on device 0, in GiB; throws ERR_NO_CUDA without a device. */
  cudaMemory(): { allocatedGiB: number; peakGiB: number };
  cudaResetPeak(): void;
  Session: new (config: NativeSessionConfig) => NativeSession;
  /**
   * Joins this process's data-parallel group (one per process): rank 0 serves a c10d TCPStore at
   * masterAddr:masterPort, every rank connects; resolves once all worldSize ranks have joined
   * (rejects after timeoutMs). device: 'cpu' (gloo) or 'cuda:<index>' (nccl).
   */
  initProcessGroup(options: {
    rank: number;
    worldSize: number;
    masterAddr: string;
    masterPort: number;
    backend: 'gloo' | 'nccl';
    timeoutMs: number;
    device: string;
  }): Promise<NativeProcessGroup>;
  /** The process's group, or null. */
  processGroup(): NativeProcessGroup | null;
  /** Drops the process's group (sessions built on it keep it until disposed). */
  destroyProcessGroup(): void;
  /** The data-parallel backends this binary can create. */
  distributedBackends(): ('gloo' | 'nccl')[];
  ClassifierSession: new (config: NativeClassifierConfig) => NativeClassifierSession;
  /** The fixed masking strategies on their own (see native/core/masking.h for the counts). */
  drawMasks(options: {
    strategy: 'random' | 'tube' | 'frame';
    ratio: number;
    frames: number;
    size: number;
    tubelet: number;
    patch: number;
    batch: number;
    seed: number;
  }): { visible: Int32Array; masked: Int32Array; visibleCount: number; maskedCount: number; tokens: number };
}
