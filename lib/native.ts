/**
 * The only module that loads the native addon. Everything else imports `native()` from here.
 * @internal
 */
import { createRequire } from 'node:module';

import { NativeLoadError, type LoadAttempt } from './errors/index.js';
import { chooseNative, explainLoadError, formatReport, runPreload, type LoadChoice, type LoadReport } from './loader/index.js';
import { packageRoot } from './paths.js';

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

export interface NativeParityReport {
  kernel: string;
  output: string;
  dtype: string;
  numel: number;
  maxAbsDiff: number;
  maxRelDiff: number;
  atol: number;
  rtol: number;
  mismatches: number;
  firstMismatches: string;
  ok: boolean;
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

/** trajectoryAttentionCheck(): the chunked trajectory attention against the naive reference (fp32). */
export interface NativeTrajectoryAttentionCheck {
  batch: number;
  tokens: number;
  frames: number;
  dim: number;
  heads: number;
  yMaxAbsDiff: number;
  varianceMaxAbsDiff: number;
  gradMaxAbsDiff: number;
  yMaxAbs: number;
}

/** ppoGradCheck(): autograd gradients of the PPO loss against central differences (fp64). */
export interface NativePpoGradCheck {
  logitsMaxAbsDiff: number;
  valuesMaxAbsDiff: number;
  /** fp32 training path (ppo_loss kernel op) against the fp64 autograd gradients. */
  kernelLogitsMaxAbsDiff: number;
  kernelValuesMaxAbsDiff: number;
  logitsMaxAbsGrad: number;
  valuesMaxAbsGrad: number;
  loss: number;
  clipFrac: number;
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
  /** TATS: exact mean per-token KL(old || new) between the mask distributions after the PPO update. */
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
    mlpRatio: number;
  };
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
  info(): NativeInfo;
  patchify(clips: Uint8Array, shape: PatchifyShape): { patches: Float32Array; targets: Float32Array; tokens: number };
  gumbelTopk(logits: Float32Array, options: GumbelTopkOptions): { masked: Int32Array; visible: Int32Array };
  kernelCheckNames(): string[];
  kernelCheck(name: string, seed: number): NativeParityReport[];
  kernelNames(): string[];
  kernelParity(name: string, seed: number): Promise<NativeParityReport[]>;
  matmulPeak(options: { device: 'cpu' | 'cuda'; size: number; iters: number }): Promise<MatmulPeak>;
  /** Test entry: trajectory attention vs its naive per-frame reference. */
  trajectoryAttentionCheck(seed: number, device?: 'cpu' | 'cuda'): Promise<NativeTrajectoryAttentionCheck>;
  /** Test entry: PPO loss gradients vs finite differences. */
  ppoGradCheck(seed: number): Promise<NativePpoGradCheck>;
  /** Test entry: a sampler ('tats' with PPO, or 'adamae') on a contextual bandit, without the MAE. */
  samplerBanditCheck(
    strategy: 'tats' | 'adamae',
    seed: number,
    steps: number,
    device?: 'cpu' | 'cuda',
  ): Promise<{
    movingShare: number;
    firstMaskedMovingShare: number;
    lastMaskedMovingShare: number;
    /** tats: mean masking probability on moving / static tokens over the last 10 steps. */
    qMoving: number;
    qStatic: number;
    entropy: number;
    clipFrac: number;
    kl: number;
    valueLoss: number;
    ppoEpochs: number;
  }>;
  /**
   * Test entry: `draws` budgeted Bernoulli masks from a random TATS policy (4 clips of 128 tokens
   * at `ratio`): the largest gap between a token's masking frequency and its probability q_i.
   */
  drawFrequencyCheck(
    seed: number,
    ratio: number,
    draws: number,
    device?: 'cpu' | 'cuda',
  ): Promise<{
    tokens: number;
    masked: number;
    draws: number;
    maxAbsDiff: number;
    maxStdError: number;
    qMin: number;
    qMax: number;
    budgetMaxAbsDiff: number;
    exactCount: boolean;
  }>;
  /** Bench entry: the TATS sampler alone (act + K-epoch PPO update) on random embeddings. */
  samplerBench(
    options: {
      batch: number;
      slots: number;
      perSlot: number;
      inputDim: number;
      dim: number;
      heads: number;
      epochs: number;
      steps: number;
      ratio: number;
      bf16?: boolean;
    },
    device?: 'cpu' | 'cuda',
  ): Promise<{ actMs: number; updateMs: number; peakMiB: number }>;
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

let loaded: { addon: NativeAddon; path: string; choice: LoadChoice; report: LoadReport } | undefined;

/**
 * Loads the addon once and returns it. lib/loader chooses the binary (TATS_NATIVE, a local build,
 * or the prebuilt variant that matches a libtorch found on this machine), test-loads it in a child
 * process, then this process preloads that libtorch and requires it. Throws NativeLoadError naming
 * every place looked, what was found, what is missing and the command that fixes it.
 */
export function native(): NativeAddon {
  if (loaded) return loaded.addon;
  const report = chooseNative(packageRoot);
  const attempts: LoadAttempt[] = report.binaries.filter((b) => !b.found).map((b) => ({ path: b.place, reason: b.detail }));
  if (process.env.TATS_DEBUG_LOADER) process.stderr.write(`tats loader:\n${formatReport(report)}\n`);
  const choice = report.choice;
  if (!choice) throw new NativeLoadError(attempts, '', formatReport(report));
  try {
    if (choice.helper) runPreload(choice.helper, choice.preload, choice.fallbacks);
    const addon = createRequire(import.meta.url)(choice.path) as NativeAddon;
    loaded = { addon, path: choice.path, choice, report };
    return addon;
  } catch (err) {
    // The child loaded it but this process cannot: another libtorch already loaded here, usually.
    const reason = explainLoadError(err instanceof Error ? err.message : String(err));
    attempts.push({ path: choice.path, reason });
    throw new NativeLoadError(attempts, `It loaded in a test process but not in this one: ${reason}. Set TATS_DEBUG_LOADER=1 for the loader's account.`, formatReport(report));
  }
}

/** The path of the loaded binary (loads it if needed). */
export function nativePath(): string {
  native();
  return loaded!.path;
}

/** How the loaded binary was chosen: variant, libtorch, preloaded libraries, why (loads it if needed). */
export function nativeLoad(): { choice: LoadChoice; report: LoadReport } {
  native();
  return { choice: loaded!.choice, report: loaded!.report };
}
