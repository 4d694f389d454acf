/**
 * Every default of the pretraining configuration, in one place. Fields whose default depends on
 * other fields (model widths, lr, minLr, warmup, totalSteps, sampler width, heads and warmup,
 * device, precision) are derived in `resolve.ts` by the rules named in `DERIVED`.
 */
import type { SyntheticStyle } from '../data/synthetic.js';
import type { ModelSize } from './types.js';

/**
 * Encoder/decoder shapes per size, from VideoMAE's modeling_pretrain.py (tiny and micro are our choice;
 * micro is for CPU runs and CI: about 9x fewer FLOPs per token than tiny at its depth).
 */
export const MODEL_PRESETS: Record<
  ModelSize,
  { encoderDim: number; encoderDepth: number; encoderHeads: number; decoderDim: number; decoderDepth: number; decoderHeads: number }
> = {
  micro: { encoderDim: 96, encoderDepth: 4, encoderHeads: 3, decoderDim: 64, decoderDepth: 2, decoderHeads: 2 },
  tiny: { encoderDim: 192, encoderDepth: 12, encoderHeads: 3, decoderDim: 96, decoderDepth: 4, decoderHeads: 3 },
  small: { encoderDim: 384, encoderDepth: 12, encoderHeads: 6, decoderDim: 192, decoderDepth: 4, decoderHeads: 3 },
  base: { encoderDim: 768, encoderDepth: 12, encoderHeads: 12, decoderDim: 384, decoderDepth: 4, decoderHeads: 6 },
  large: { encoderDim: 1024, encoderDepth: 24, encoderHeads: 16, decoderDim: 512, decoderDepth: 4, decoderHeads: 8 },
};

/** The defaults of every field that has a fixed one. */
export const DEFAULTS = {
  preset: null,
  model: { preset: 'base', frames: 16, size: 224, tubelet: 2, patch: 16, channels: 3, mlpRatio: 4 },
  masking: { strategy: 'tats', ratio: 0.9 },
  sampler: {
    temperature: 1,
    ppoEpochs: 4,
    clipEps: 0.2,
    valueCoef: 0.5,
    /**
     * Weight of the KL(q || rho) penalty towards uniform masking; betaStart defaults to it (no
     * curriculum). 1 with the negError reward: 0.1 let the policy collapse (entropy 0.02-0.04 nats
     * per token, under a quarter of uniform masking's 0.325; docs/tats.md).
     */
    beta: 1.0,
    betaSteps: 0,
    /**
     * The masked tokens' reward (SAMPLER_REWARD_CHOICES). negError: the only one of the three that
     * beat random, tube and AdaMAE downstream in the 3-seed sweep of docs/tats.md; error (the
     * paper's) and progress mask the moving tokens first and scored below random.
     */
    reward: 'negError' as const,
    targetKl: 0.01,
    /** TATS's own AdamW lr: it does not follow the MAE's peak lr (AdaMAE's does: DERIVED.samplerLr). */
    lr: 1e-4,
    clipGrad: 1.0,
    weightDecay: 0.05,
    detachInput: true,
    /**
     * The update's exact KL is telemetry only, and costs a fifth sampler forward a step at the default
     * 4 epochs (~4% of a base 16x224 step); the last epoch's KL is what Spinning Up's PPO reports.
     */
    exactKl: false,
    adamaeWeight: 1e-4,
  },
  optim: { baseLr: 1.5e-4, weightDecay: 0.05, beta1: 0.9, beta2: 0.95, clipGrad: 0 },
  data: {
    syntheticClips: 1024,
    stride: 4,
    /**
     * The look of the built-in synthetic clips: SYNTHETIC_STYLES.objects (lib/data/synthetic.ts),
     * solid bright sprites a quarter to a third of the frame wide over a flat dark background.
     */
    syntheticStyle: { spriteScale: [0.25, 0.35], spriteTexture: false, background: 'flat', polarity: 'bright-on-dark' },
    /** A damaged shard clip stops the run (ERR_SHARD_CHECKSUM, exit 3); `skip` replaces, counts and records it. */
    onDamaged: 'stop',
  },
  /** RuntimeConfig (types.ts): today's fast paths on, the unfused AdamW off. */
  runtime: { graph: true, staging: true, sdpa: 'auto', layerNormBf16: true, legacyAdamw: false, rolloutGraph: true, ppoGraph: true },
  dataset: 'synthetic',
  steps: 1000,
  epochs: null,
  batchSize: 8,
  nprocPerNode: 1,
  device: 'auto',
  precision: 'auto',
  seed: 0,
  out: 'runs/pretrain',
  checkpointEvery: 1000,
  logEvery: 10,
  keepCheckpoints: 3,
  picture: true,
} as const;

/** The rules for derived defaults (used by resolve.ts; documented on the fields). */
export const DERIVED = {
  /** VideoMAE's linear scaling rule. */
  lr: (baseLr: number, globalBatch: number) => (baseLr * globalBatch) / 256,
  /** VideoMAE's min_lr, capped so that small batches still decay. */
  minLr: (lr: number) => Math.min(1e-5, lr / 100),
  /** VideoMAE warms up for 40 of 800 epochs. */
  warmupSteps: (totalSteps: number) => Math.round(totalSteps * 0.05),
  /**
   * Sampler width: 384 (AdaMAE found 384 nearly as good as 768 at a quarter of the cost), but no
   * wider than the MAE encoder (a 384-wide sampler on a 96-wide MAE costs 10x the MAE).
   */
  samplerDim: (encoderDim: number) => Math.min(384, encoderDim),
  /** Sampler heads: 6, 4, 2 or 1, the first that divides the width. */
  samplerHeads: (dim: number) => [6, 4, 2, 1].find((h) => dim % h === 0)!,
  /**
   * Sampler lr: TATS trains its own policy by PPO at sampler.lr's default; AdaMAE's sampler is
   * trained with the MAE (its REINFORCE term joins the MAE's loss), at the MAE's lr as published.
   */
  samplerLr: (strategy: string, optimLr: number, tatsLr: number) => (strategy === 'adamae' ? optimLr : tatsLr),
  /** Sampler warmup: the MAE's warmup, at most 100 steps. */
  samplerWarmupSteps: (optimWarmupSteps: number) => Math.min(100, optimWarmupSteps),
  /** `auto` device: CUDA when usable. */
  device: (cudaAvailable: boolean) => (cudaAvailable ? 'cuda' : 'cpu') as 'cuda' | 'cpu',
  /** Data threads: none on the CPU device (libtorch uses every core), most of the cores on CUDA. */
  workers: (device: 'cpu' | 'cuda', cores: number) => (device === 'cuda' ? Math.max(1, Math.min(8, cores - 2)) : 0),
  /** Batches in flight: two per reader. */
  prefetch: (workers: number) => 2 * Math.max(1, workers),
  /** `auto` precision: bf16 autocast on CUDA, fp32 on CPU. */
  precision: (device: 'cpu' | 'cuda') => (device === 'cuda' ? 'bf16' : 'fp32') as 'bf16' | 'fp32',
};

/**
 * The defaults of fine-tuning (`tats finetune`, the downstream half of `tats compare`): VideoMAE's
 * run_class_finetuning.py recipe. Model shape fields fall back to the checkpoint's first, then to
 * these. Fields whose default depends on others are derived in `finetune.ts` (documented there).
 */
export const FINETUNE_DEFAULTS = {
  dataset: 'synthetic',
  model: 'tiny',
  frames: 16,
  size: 224,
  tubelet: 2,
  patch: 16,
  steps: 1000,
  batchSize: 8,
  /** Base lr per 256 clips: VideoMAE's 1e-3; a linear probe 1e-1 (ours). */
  baseLr: 1e-3,
  probeBaseLr: 1e-1,
  minLr: 1e-6,
  /** Share of steps spent warming up (VideoMAE: 5 of 100 epochs). */
  warmupShare: 0.05,
  weightDecay: 0.05,
  beta1: 0.9,
  beta2: 0.999,
  layerDecay: 0.75,
  dropPath: 0.1,
  labelSmoothing: 0.1,
  mixup: 0.8,
  cutmix: 1.0,
  mixupProb: 1,
  switchProb: 0.5,
  clipGrad: 0,
  device: 'auto',
  precision: 'auto',
  seed: 0,
  testSize: 256,
  /** Clips in the synthetic training split. */
  syntheticTrainClips: 10000,
} as const;

/**
 * The defaults of `tats compare`: the shared budget of its pretraining runs and of the downstream
 * probe (or fine-tune) of each. Shape fields not listed go to the trainer's DEFAULTS.
 */
export const COMPARE_DEFAULTS = {
  strategies: ['random', 'tube', 'adamae', 'tats'],
  steps: 200,
  batchSize: 8,
  model: 'tiny',
  frames: 16,
  size: 224,
  patch: 16,
  ratio: 0.9,
  dataset: 'synthetic',
  seed: 0,
  downstream: 'probe',
  downstreamSteps: 100,
} as const;

/**
 * The defaults of `tats eval` (and of the test at the end of `tats finetune`, which shares the
 * views): multi-view testing as VideoMAE does it.
 */
export const EVAL_DEFAULTS = {
  dataset: 'synthetic',
  /** Most test videos scored (`--test-size`). */
  limit: 256,
  /** Views per forward pass. */
  batchSize: 16,
  /** Seed of the synthetic test split. */
  seed: 0,
  /**
   * Views per video as [clips, crops], by dataset kind: one view of synthetic clips and shards
   * (already cut to size), VideoMAE's 5 x 3 on videos and 2 x 3 on SSv2.
   */
  views: { single: [1, 1], ssv2: [2, 3], video: [5, 3] },
} as const;

/** The defaults of `tats pack` (decoding a dataset once into clip shards). */
export const PACK_DEFAULTS = {
  /** Frames per clip. */
  frames: 16,
  /** Clip side: short side scaled to it, then centre-cropped square. */
  size: 224,
  /** Temporal stride by dataset kind: VideoMAE's 2 on SSv2, 4 on the others. */
  rate: { ssv2: 2, video: 4 },
  /** Evenly spaced clips per video. */
  clipsPerVideo: 1,
  /** Official split (UCF101, HMDB51). */
  split: 1,
  /** Which list to pack. */
  subset: 'train',
  /** Shard file size before rolling to the next, in MiB. */
  shardMb: 256,
  /** Clips to render (synthetic only). */
  count: 1000,
  /** Seed of the synthetic clips. */
  seed: 0,
  /** Videos shorter than a clip are skipped and listed (true: packed with frames repeated). */
  keepShort: false,
} as const;

/** The defaults of `tats dashboard` (and of `tats pretrain --dashboard`). */
export const DASHBOARD_DEFAULTS = {
  /** Folder whose runs are shown. */
  runs: 'runs',
  port: 8421,
  /** This machine only. */
  host: '127.0.0.1',
  /** How often the files of the runs a page shows are checked, in ms. */
  pollMs: 1000,
} as const;

/** The default look of the synthetic clips (`DEFAULTS.data.syntheticStyle`), a fresh copy. */
export function defaultSyntheticStyle(): SyntheticStyle {
  const d = DEFAULTS.data.syntheticStyle;
  return { ...d, spriteScale: [d.spriteScale[0], d.spriteScale[1]] } as SyntheticStyle;
}
