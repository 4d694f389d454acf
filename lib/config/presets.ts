/**
 * Named recipes: partial configs applied under the file and the flags (`--preset NAME`).
 * Dataset recipes follow VideoMAE/AdaMAE's published scripts and the TATS paper's UCF101 script;
 * values the papers do not state are marked "ours".
 */
import type { PretrainOptions, Strategy } from './types.js';

export interface Preset {
  /** One line for `--help` and errors. */
  describe: string;
  /** Dataset layout the recipe is for: the `dataset` spec must be of this kind (or `shards:`/`list:`). */
  layout?: DatasetLayout;
  options: PretrainOptions;
}

export const DATASET_LAYOUTS = ['k400', 'ssv2', 'ucf101', 'hmdb51'] as const;
export type DatasetLayout = (typeof DATASET_LAYOUTS)[number];

/** Per-dataset settings shared by the three strategies: clip sampling, batch, epochs, lr. */
const LAYOUT: Record<DatasetLayout, { stride: number; batchSize: number; baseLr: number }> = {
  // VideoMAE: 16x4 sampling, 32 clips per GPU, base lr 1.5e-4.
  k400: { stride: 4, batchSize: 32, baseLr: 1.5e-4 },
  // VideoMAE: SSv2 pretraining takes consecutive frames at stride 2.
  ssv2: { stride: 2, batchSize: 32, baseLr: 1.5e-4 },
  // VideoMAE: 24 clips per GPU, base lr 3e-4.
  ucf101: { stride: 4, batchSize: 24, baseLr: 3e-4 },
  // Not scripted by VideoMAE; stride 2 as its paper's appendix (unverified), the rest as UCF101 (ours).
  hmdb51: { stride: 2, batchSize: 24, baseLr: 3e-4 },
};

/** Mask ratio and epochs per strategy family and dataset. */
const RECIPE: Record<'videomae' | 'adamae' | 'tats', { strategy: Strategy; ratio: (l: DatasetLayout) => number; epochs: (l: DatasetLayout) => number; source: string }> = {
  videomae: {
    strategy: 'tube',
    ratio: (l) => (l === 'ucf101' || l === 'hmdb51' ? 0.75 : 0.9),
    epochs: (l) => ({ k400: 800, ssv2: 800, ucf101: 3200, hmdb51: 4800 })[l],
    source: 'VideoMAE tube masking',
  },
  adamae: {
    strategy: 'adamae',
    ratio: () => 0.95,
    epochs: () => 800,
    source: 'AdaMAE learned masking (REINFORCE)',
  },
  tats: {
    strategy: 'tats',
    ratio: () => 0.9,
    // The TATS UCF101 script runs 200 epochs; the other budgets are not public (ours: AdaMAE's 800).
    epochs: (l) => (l === 'ucf101' || l === 'hmdb51' ? 200 : 800),
    source: 'TATS trajectory-aware sampler (PPO)',
  },
};

function datasetPreset(family: keyof typeof RECIPE, layout: DatasetLayout): Preset {
  const r = RECIPE[family];
  const l = LAYOUT[layout];
  return {
    describe: `${r.source} on ${layout}: ViT-B 16x224, mask ${r.ratio(layout)}, ${r.epochs(layout)} epochs, ${l.batchSize} clips per GPU`,
    layout,
    options: {
      model: { preset: 'base', frames: 16, size: 224 },
      masking: { strategy: r.strategy, ratio: r.ratio(layout) },
      optim: { baseLr: l.baseLr },
      data: { stride: l.stride },
      batchSize: l.batchSize,
      epochs: r.epochs(layout),
      checkpointEvery: 5000,
      logEvery: 50,
    },
  };
}

export const PRESETS: Record<string, Preset> = {
  'cpu-demo': {
    describe: 'a few minutes on a CPU: tiny ViT, 8 frames of 64 px, synthetic data, TATS sampler (width 96)',
    options: {
      model: { preset: 'tiny', frames: 8, size: 64 },
      masking: { strategy: 'tats', ratio: 0.9 },
      // A narrow sampler: at width 384 its K = 4 PPO epochs would cost ~8x the MAE step here.
      sampler: { dim: 96, heads: 4 },
      // The linear-scaling rule gives 4.7e-6 at batch 8: far too small to see learning in a demo.
      optim: { lr: 1e-3 },
      data: { syntheticClips: 512 },
      dataset: 'synthetic',
      batchSize: 8,
      steps: 200,
      checkpointEvery: 50,
      logEvery: 5,
    },
  },
  ...Object.fromEntries(
    (['videomae', 'adamae', 'tats'] as const).flatMap((family) =>
      DATASET_LAYOUTS.map((layout) => [`${family}-${layout}`, datasetPreset(family, layout)] as const),
    ),
  ),
};

export const PRESET_NAMES: string[] = Object.keys(PRESETS);
