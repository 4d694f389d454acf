/**
 * The pretraining configuration: what a user may set (`PretrainOptions`, every field optional) and
 * what the trainer runs with (`PretrainConfig`, every field resolved). Defaults live in
 * `defaults.ts` and nowhere else; this file only documents them.
 */

import type { SyntheticStyle } from '../data/synthetic.js';

/** Masking strategies the engine implements. */
export const STRATEGIES = ['random', 'tube', 'frame', 'adamae', 'tats'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** ViT sizes with VideoMAE's encoder/decoder widths (see `MODEL_PRESETS`). */
export const MODEL_SIZES = ['micro', 'tiny', 'small', 'base', 'large'] as const;
export type ModelSize = (typeof MODEL_SIZES)[number];

export const DEVICE_CHOICES = ['auto', 'cpu', 'cuda'] as const;
export type DeviceChoice = (typeof DEVICE_CHOICES)[number];
export type Device = Exclude<DeviceChoice, 'auto'>;

export const PRECISION_CHOICES = ['auto', 'fp32', 'bf16'] as const;
export type PrecisionChoice = (typeof PRECISION_CHOICES)[number];
export type Precision = Exclude<PrecisionChoice, 'auto'>;

/** Scaled-dot-product-attention backends `runtime.sdpa` may force (`auto`: libtorch chooses). */
export const SDPA_CHOICES = ['auto', 'flash', 'efficient', 'cudnn', 'math'] as const;
/**
 * TATS's per-token reward on the masked tokens (`sampler.reward`, docs/tats.md): `error` the MAE's
 * reconstruction error e_i (the paper's adversarial reward), `negError` -e_i (mask what the MAE
 * already predicts), `progress` e_i - e_i' with e_i' after the MAE's update on the same masks (mask
 * what the step learns from; one more MAE forward per step).
 */
export const SAMPLER_REWARD_CHOICES = ['error', 'negError', 'progress'] as const;
export type SamplerReward = (typeof SAMPLER_REWARD_CHOICES)[number];
export type SdpaChoice = (typeof SDPA_CHOICES)[number];

/** The MAE: a VideoMAE ViT encoder on visible tokens and a narrower decoder on all tokens. */
export interface ModelConfig {
  /**
   * Size preset that fills the widths, depths and head counts below (any of them may still be set
   * on its own): `micro` 96/4/3 + 64/2/2 (ours, for CPU runs and CI), `tiny` 192/12/3 + 96/4/3, `small` 384/12/6 + 192/4/3, `base` 768/12/12 + 384/4/6,
   * `large` 1024/24/16 + 512/4/8 (encoder dim/depth/heads + decoder dim/depth/heads).
   * Defaults to `base`.
   */
  preset: ModelSize;
  /** Frames per clip. Integer, a multiple of `tubelet`, 2..256. Defaults to 16. */
  frames: number;
  /** Side of the square input in pixels. Integer, a multiple of `patch`, 16..1024. Defaults to 224. */
  size: number;
  /** Frames per token (tubelet depth). Integer 1..8, divides `frames`. Defaults to 2. */
  tubelet: number;
  /** Token side in pixels. Integer 4..64, divides `size`. Defaults to 16. */
  patch: number;
  /** Input channels. Only 3 (RGB) is supported. Defaults to 3. */
  channels: number;
  /** Encoder width. Integer >= 8, divisible by `encoderHeads`. Defaults to the `preset`'s. */
  encoderDim: number;
  /** Encoder transformer blocks. Integer 1..64. Defaults to the `preset`'s. */
  encoderDepth: number;
  /** Encoder attention heads. Integer >= 1. Defaults to the `preset`'s. */
  encoderHeads: number;
  /** Decoder width. Integer >= 8, divisible by `decoderHeads`. Defaults to the `preset`'s. */
  decoderDim: number;
  /** Decoder transformer blocks. Integer 1..64. Defaults to the `preset`'s (4). */
  decoderDepth: number;
  /** Decoder attention heads. Integer >= 1. Defaults to the `preset`'s. */
  decoderHeads: number;
  /** MLP hidden width as a multiple of the block width. Number in [1, 16]. Defaults to 4. */
  mlpRatio: number;
}

/** Which tokens the MAE must reconstruct. */
export interface MaskingConfig {
  /**
   * `random` (uniform per token), `tube` (VideoMAE: one spatial mask repeated over time),
   * `frame` (whole frames), `adamae` (AdaMAE's learned sampler, REINFORCE),
   * `tats` (trajectory-aware sampler trained with PPO). Defaults to `tats`.
   */
  strategy: Strategy;
  /**
   * Share of tokens masked, rho. Number in (0, 1); at least one token must stay visible and one
   * masked. `tube` masks int(rho * S) of the S positions of a frame slot in every slot, `frame`
   * round(rho * slots) whole slots, the others round(rho * N) tokens. The TATS paper uses >= 0.85 (0.9 on UCF101), AdaMAE 0.95, VideoMAE 0.9 (0.75 on
   * UCF101). Defaults to 0.9.
   */
  ratio: number;
}

/**
 * The learned token sampler (used by the `tats` and `adamae` strategies; ignored otherwise). TATS
 * masks with a budgeted per-token Bernoulli policy q (sum of q = masked tokens), trained with PPO
 * under a KL penalty towards uniform masking (docs/tats.md).
 */
export interface SamplerConfig {
  /**
   * Sampler width C. Integer >= 8, divisible by `heads`. Defaults to 384 or the encoder's width
   * (`model.encoderDim`), whichever is smaller (AdaMAE found 384 nearly as good as 768 at a quarter
   * of the cost; a sampler wider than the MAE costs more than the MAE).
   */
  dim: number;
  /** Sampler attention heads. Integer >= 1, divides `dim`. Defaults to 6, 4, 2 or 1: the first that divides `dim`. */
  heads: number;
  /** Temperature tau of the policy's per-token scores (higher: closer to uniform masking). Number > 0. Defaults to 1. */
  temperature: number;
  /** Most PPO epochs K per training step (fewer when the KL passes `targetKl`). Integer 1..64. Defaults to 4. */
  ppoEpochs: number;
  /** PPO ratio clip epsilon. Number in (0, 1). Defaults to 0.2. */
  clipEps: number;
  /** Value-loss weight c_v. Number >= 0. Defaults to 0.5. */
  valueCoef: number;
  /**
   * Weight beta of the penalty KL(q || rho) of the per-token mask probabilities q towards the
   * uniform budget rate rho = masked / N: large beta is random masking, 0 leaves the reward
   * alone (with the error reward that hides all motion; with negError the policy collapses). Number >= 0. Defaults to 1 (`DEFAULTS.sampler.beta`; see docs/tats.md).
   */
  beta: number;
  /** beta at step 0 of a curriculum towards `beta` over `betaSteps`. Number >= 0 (> 0 when `betaSteps` > 0). Defaults to `beta` (no curriculum). */
  betaStart: number;
  /**
   * Steps of the log-linear schedule of beta from `betaStart` to `beta` (constant after). Integer
   * >= 0; 0 means a constant `beta`. Defaults to 0.
   */
  betaSteps: number;
  /** TATS's reward, one of SAMPLER_REWARD_CHOICES. Defaults to `DEFAULTS.sampler.reward` (see docs/tats.md). */
  reward: SamplerReward;
  /**
   * PPO early stop: the epochs of a step stop once the exact mean per-token KL between the old and
   * the new mask distributions passes this, in nats per token. Number > 0. Defaults to 0.01.
   */
  targetKl: number;
  /** Peak learning rate of the sampler's own AdamW (not the MAE's `optim.lr`). Number > 0. Defaults to 1e-4. */
  lr: number;
  /** Linear warmup steps of the sampler's learning rate from 0 to `lr`. Integer >= 0. Defaults to `optim.warmupSteps`, at most 100. */
  warmupSteps: number;
  /** Sampler gradient-norm clip; 0 turns clipping off. Number >= 0. Defaults to 1. */
  clipGrad: number;
  /** Weight decay of the sampler's AdamW. Number >= 0. Defaults to 0.05. */
  weightDecay: number;
  /** Feed the sampler detached tubelet embeddings (no sampler gradient into the MAE). Defaults to true. */
  detachInput: boolean;
  /**
   * Telemetry `kl`: true runs one more sampler forward after the PPO epochs and reports the
   * update's exact KL(q_old || q_new); false reports the KL the last epoch's forward measured,
   * before that epoch's step (exact when the early stop fired; 0 when `ppoEpochs` is 1). Training
   * is the same either way; true costs one no-grad sampler forward a step. Defaults to false.
   */
  exactKl: boolean;
  /** Weight of AdaMAE's REINFORCE loss (strategy `adamae` only). Number >= 0. Defaults to 1e-4. */
  adamaeWeight: number;
}

/** The MAE's AdamW and its learning-rate schedule (linear warmup, then cosine to `minLr`). */
export interface OptimConfig {
  /** Learning rate per 256 clips of global batch: `lr = baseLr * batchSize * nprocPerNode / 256` unless `lr` is set. Number > 0. Defaults to 1.5e-4. */
  baseLr: number;
  /** Peak learning rate, reached at the end of warmup. Number > 0. Defaults to `baseLr * global batch / 256`. */
  lr: number;
  /** Learning rate at the end of the cosine. Number >= 0, <= `lr`. Defaults to 1e-5 or `lr / 100`, whichever is smaller. */
  minLr: number;
  /** Linear warmup steps from 0 to `lr`. Integer >= 0, < `totalSteps`. Defaults to 5% of `totalSteps` (VideoMAE: 40 of 800 epochs). */
  warmupSteps: number;
  /** Length of the schedule in steps (the cosine ends here). Integer >= 1, >= the run's steps. Defaults to the run's steps. */
  totalSteps: number;
  /** AdamW decoupled weight decay (none on biases, norms and tokens). Number >= 0. Defaults to 0.05. */
  weightDecay: number;
  /** AdamW beta1. Number in [0, 1). Defaults to 0.9. */
  beta1: number;
  /** AdamW beta2. Number in [0, 1). Defaults to 0.95. */
  beta2: number;
  /** Gradient-norm clip; 0 turns clipping off. Number >= 0. Defaults to 0 (VideoMAE does not clip). */
  clipGrad: number;
}

/** How clips are read. */
export interface DataConfig {
  /** Clips in one epoch of the built-in synthetic dataset. Integer >= 1. Defaults to 1024. */
  syntheticClips: number;
  /** Frame stride (sampling rate) when cutting clips from videos. Integer 1..32. Defaults to 4 (VideoMAE on K400/UCF101; 2 on SSv2). */
  stride: number;
  /**
   * The look of the built-in synthetic clips (not what the classes are): an object of any of
   * `spriteScale` (sprite side as a share of the frame side, [lo, hi] with 0 < lo <= hi < 1),
   * `spriteTexture` (true: two-colour textured sprites; false: solid), `background` (`texture`,
   * `flat` or `grain`) and `polarity` (`bright-on-dark` or `random`), over the default. Used by every
   * loader and worker of the run, and by `tats finetune` / `tats visualize` of its checkpoints.
   * Defaults to the `objects` look: `{ "spriteScale": [0.25, 0.35], "spriteTexture": false,
   * "background": "flat", "polarity": "bright-on-dark" }`; the `textured` look is
   * `{ "spriteScale": [0.14, 0.22], "spriteTexture": true, "background": "texture", "polarity": "random" }`.
   */
  syntheticStyle: SyntheticStyle;
  /** Batches prepared ahead of the step that uses them. Integer 1..64. Defaults to 2, or 2 per worker. */
  prefetch: number;
  /**
   * Threads that read and decode clips (0: the main thread, between steps, one clip per event-loop
   * turn). Results do not depend on it. Integer 0..64. Defaults to 0 on the CPU device (libtorch
   * wants the cores) and to min(8, cores - 2), at least 1, on CUDA.
   */
  workers: number;
  /**
   * A shard clip that is damaged (fails its crc32, or lies past the end of its shard file; an
   * edited index record fails the same way): `stop` ends the run with ERR_SHARD_CHECKSUM (exit 3
   * from the CLI), naming the shard file and the clip; `skip` replaces the clip by another (the
   * same deterministic walk as on resume), counts it (`bad_samples` in metrics.jsonl and the
   * checkpoint) and records it, one line per replaced clip with the step, shard file, clip index
   * and reason, in `<out>/bad_samples.jsonl`. More than 5% of the dataset damaged stops the run
   * either way (ERR_DATA_TOO_MANY_BAD). Only `shards:` datasets have checksums; videos of a list
   * that fail to decode are always replaced, counted and recorded. May change on `--resume`.
   * Defaults to `stop`.
   */
  onDamaged: OnDamaged;
}

/**
 * How the training step runs: paths that change its speed and the rounding of its results, not
 * the model, the data or the schedule (so a resumed run may change them, like `device`). They were
 * environment variables (TATS_GRAPH, TATS_STAGING, TATS_SDPA, TATS_LN_BF16, TATS_LEGACY_ADAMW)
 * before they were recorded here; setting one of those now is an error naming the field.
 */
export interface RuntimeConfig {
  /**
   * Capture the training step as one CUDA graph and replay it (native/core/session.h): fewer host
   * launches per step. Taken only where it can be: CUDA, a fixed masking strategy (random, tube,
   * frame), TATS (its masks drawn eagerly before the captured MAE step, its PPO update after it,
   * a graph of its own: `ppoGraph`) or AdaMAE (its sampler's forward, draw and joint loss captured
   * with the MAE step, the draw keyed by a device scalar set before each replay), the fused AdamW
   * (`legacyAdamw` false), a single process; elsewhere the eager step runs. Defaults to true.
   */
  graph: boolean;
  /**
   * CUDA: upload the clips through a reused pinned staging buffer (copied by several threads) into
   * a reused device buffer; false: a plain pageable copy each step. The graphed step always stages
   * (it reads a fixed buffer). No effect on the CPU. Defaults to true.
   */
  staging: boolean;
  /**
   * Scaled-dot-product-attention backend: `auto` lets libtorch choose per call; `flash`,
   * `efficient`, `cudnn` or `math` allow only that one (process-wide libtorch flags, set at each
   * training step; libtorch >= 2.5, else ignored). A backend that cannot run a call makes it fail.
   * Defaults to `auto`.
   */
  sdpa: SdpaChoice;
  /**
   * Under bf16 autocast on CUDA, run LayerNorm on bf16 input, weight and bias (statistics in fp32)
   * instead of autocast's fp32 LayerNorm: two cast passes fewer per norm; the affine uses
   * bf16-rounded weight and bias (native/core/vit.h). No effect in fp32 or on the CPU.
   * Defaults to true.
   */
  layerNormBf16: boolean;
  /**
   * The MAE's and the learned sampler's AdamW as libtorch's torch::optim::AdamW with per-parameter
   * gradient clipping, instead of the fused flat-buffer AdamW (native/core/optim.h, three launches
   * per step). Kept for before/after comparisons: the results differ in the last bits, on the CPU
   * too, and the CUDA graph needs the fused one. Defaults to false.
   */
  legacyAdamw: boolean;
  /**
   * TATS: the sampling forward keeps its autograd graph for the first PPO epoch, which then runs no
   * forward of its own (one sampler forward fewer per step); its activations stay alive through the
   * MAE's forward and backward, so the step's peak memory holds both. false: the first epoch runs
   * its own forward after the MAE step (the same values, ~4% more time, a lower peak: 8.72 -> 6.47
   * GiB at base 16x224 batch 32 on an H100). Applies to eager PPO updates only: a graphed one
   * (ppoGraph) runs its own first forward. No effect on other strategies. Defaults to true.
   */
  rolloutGraph: boolean;
  /**
   * TATS: the PPO update (its epochs and the KL forward) captured once as a CUDA graph and
   * replayed, where it can be (CUDA, the fused AdamW, one process, beta constant: during a beta
   * curriculum the update runs eagerly). The same computation as the eager update, launched in
   * one call instead of thousands; its graph keeps its own memory pool. No effect on other
   * strategies or on a CPU. Defaults to true.
   */
  ppoGraph: boolean;
}
/** What a run does with a damaged shard clip (`data.onDamaged`). */
export const ON_DAMAGED_CHOICES = ['stop', 'skip'] as const;
export type OnDamaged = (typeof ON_DAMAGED_CHOICES)[number];

/** The resolved pretraining configuration: every field set. Written to `<out>/config.json`. */
export interface PretrainConfig {
  /**
   * The recipe this config started from (`cpu-demo`, `tats-k400`, ...), or several joined by commas
   * (`tats-ucf101,cpu-demo`: applied in order, a later one winning field by field), or null.
   * Defaults to null.
   */
  preset: string | null;
  model: ModelConfig;
  masking: MaskingConfig;
  sampler: SamplerConfig;
  optim: OptimConfig;
  data: DataConfig;
  runtime: RuntimeConfig;
  /**
   * Where clips come from: `synthetic` (built-in), `shards:DIR`, `list:FILE` ("path label" lines),
   * `ucf101:DIR`, `hmdb51:DIR`, `k400:DIR`, `ssv2:DIR`. Defaults to `synthetic`.
   */
  dataset: string;
  /** Training steps to run (optimizer updates). Integer >= 1. Set this or `epochs`. Defaults to 1000 when neither is set. */
  steps: number;
  /** Passes over the dataset, when given instead of `steps` (then `steps = ceil(epochs * clips / global batch)`). Integer >= 1, or null. Defaults to null. */
  epochs: number | null;
  /**
   * Clips per step on each process (per rank, per GPU). The global batch of a step is
   * `batchSize * worldSize`; the learning rate scales with the global batch. Integer 1..4096. Defaults to 8.
   */
  batchSize: number;
  /**
   * Local data-parallel processes that `tats pretrain` spawns on this node (one per GPU, LOCAL_RANK
   * picks the device). Under torchrun or Slurm leave it at 1: the launcher starts the ranks.
   * Integer 1..64. Defaults to 1.
   */
  nprocPerNode: number;
  /**
   * Data-parallel ranks in all, resolved from the launch (not an option): WORLD_SIZE (or
   * SLURM_NTASKS) when the ranks come from torchrun or Slurm, else `nprocPerNode`. The global batch
   * is `batchSize * worldSize`.
   */
  worldSize: number;
  /** Where training runs: `auto` picks `cuda` when a CUDA device is usable, else `cpu`. Defaults to `auto`. */
  device: Device;
  /** Arithmetic: `auto` is bf16 autocast on CUDA and fp32 on CPU. Defaults to `auto`. */
  precision: Precision;
  /** Seed of weights, masks and data order: same seed and config give the same CPU results. Integer 0..2^31-1. Defaults to 0. */
  seed: number;
  /** Run directory: config.json, metrics.jsonl, checkpoints/, pictures. Defaults to `runs/pretrain`. */
  out: string;
  /** Steps between checkpoints (one is always written at the end). Integer >= 1. Defaults to 1000. */
  checkpointEvery: number;
  /** Steps between lines of metrics.jsonl. Integer >= 1. Defaults to 10. */
  logEvery: number;
  /** Checkpoints kept in `checkpoints/` (oldest removed first; the last is always kept). Integer >= 1. Defaults to 3. */
  keepCheckpoints: number;
  /** Write a picture of input, mask and reconstruction to `<out>/reconstruction.png` at the end. Defaults to true. */
  picture: boolean;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

/**
 * What a caller may pass: any subset of `PretrainConfig`, plus `auto` where a field resolves at
 * run time. Unknown fields are an error (a typo must not silently train with a default).
 */
export type PretrainOptions = DeepPartial<Omit<PretrainConfig, 'device' | 'precision' | 'epochs' | 'worldSize'>> & {
  /** `auto` (default), `cpu` or `cuda`. */
  device?: DeviceChoice;
  /** `auto` (default), `fp32` or `bf16`. */
  precision?: PrecisionChoice;
  /** Passes over the dataset; set this or `steps`. */
  epochs?: number | null;
};

/** The resolved config the native Session takes (lib/session.ts): every field set, no defaults in C++. */
export type { SessionConfig } from '../session.js';
