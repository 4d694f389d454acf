/**
 * The addon's test and bench entry points: `native().testing`, apart from the product's functions
 * (native/addon/testing/ in C++, namespace `tats::addon::testing`). The test suites and the GPU
 * benches call them; no lib/ or cli/ code does. Each runs the real core or kernel code against an
 * independent formulation, or times it.
 * @internal
 */

/** One output of a kernel compared with its reference (kernelCheck, kernelParity). */
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
  /** The same loss's gradients w.r.t. every parameter, module vs reference, max over all. */
  paramGradMaxAbsDiff: number;
  /** The reference's largest parameter gradient, for scale. */
  paramGradMaxAbs: number;
  /** The module's gradient of proj_kv.bias's key half (it cancels in the softmax over frames: 0). */
  keyBiasGradMaxAbs: number;
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

/** samplerBanditCheck(): a sampler on a contextual bandit, without the MAE. */
export interface NativeBanditCheck {
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
}

/** drawFrequencyCheck(): budgeted draws against the policy's probabilities. */
export interface NativeDrawFrequencyCheck {
  tokens: number;
  masked: number;
  draws: number;
  maxAbsDiff: number;
  maxStdError: number;
  qMin: number;
  qMax: number;
  budgetMaxAbsDiff: number;
  exactCount: boolean;
}

/** samplerBench() sizes: the TATS sampler alone on random embeddings. */
export interface NativeSamplerBenchOptions {
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
  /** The PPO update as a CUDA graph (runtime.ppoGraph); CUDA only. Default false. */
  graph?: boolean;
}

/** The addon's `testing` object, typed once. */
export interface NativeTesting {
  /** The kernels with a CPU check (kernelCheck). */
  kernelCheckNames(): string[];
  /** A kernel's CPU reference against composed libtorch ops (synchronous; small inputs). */
  kernelCheck(name: string, seed: number): NativeParityReport[];
  /** The kernels with a CUDA parity check (kernelParity). */
  kernelNames(): string[];
  /** A CUDA kernel against its CPU reference; rejects with ERR_TORCH without a CUDA device. */
  kernelParity(name: string, seed: number): Promise<NativeParityReport[]>;
  /** Trajectory attention vs its naive per-frame reference. */
  trajectoryAttentionCheck(seed: number, device?: 'cpu' | 'cuda'): Promise<NativeTrajectoryAttentionCheck>;
  /** PPO loss gradients vs finite differences. */
  ppoGradCheck(seed: number): Promise<NativePpoGradCheck>;
  /** A sampler ('tats' with PPO, or 'adamae') on a contextual bandit, without the MAE. */
  samplerBanditCheck(strategy: 'tats' | 'adamae', seed: number, steps: number, device?: 'cpu' | 'cuda'): Promise<NativeBanditCheck>;
  /**
   * `draws` budgeted Bernoulli masks from a random TATS policy (4 clips of 128 tokens at
   * `ratio`): the largest gap between a token's masking frequency and its probability q_i.
   */
  drawFrequencyCheck(seed: number, ratio: number, draws: number, device?: 'cpu' | 'cuda'): Promise<NativeDrawFrequencyCheck>;
  /** Bench: the TATS sampler alone (act + K-epoch PPO update) on random embeddings. */
  samplerBench(options: NativeSamplerBenchOptions, device?: 'cpu' | 'cuda'): Promise<{ actMs: number; updateMs: number; peakMiB: number }>;
}
