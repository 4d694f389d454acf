/**
 * The fine-tuning configuration (`tats finetune`, and the downstream runs of `tats compare`):
 * options, their defaults (`FINETUNE_DEFAULTS` in defaults.ts: VideoMAE's run_class_finetuning.py
 * recipe) and their resolution into the plain config the native ClassifierSession reads. Checked
 * with the predicates of lib/check.ts, so a bad value throws the same ConfigError as the pretraining
 * config: the option's name, the value and what is allowed (the CLI adds the flag and exits 2).
 */
import { ConfigError } from '../errors/index.js';
import { native, type NativeClassifierConfig } from '../native.js';
import { directionalLabels, parseDatasetSpec } from '../data/spec.js';
import { refuseStyleEnv, type SyntheticStyle } from '../data/synthetic.js';
import { checkSyntheticStyle } from '../data/synthetic.js';
import { defaultViews } from './eval.js';
import { boolean, integer, number, oneOf } from '../check.js';
import { DERIVED, FINETUNE_DEFAULTS, MODEL_PRESETS } from './defaults.js';
import { DEVICE_CHOICES, MODEL_SIZES, PRECISION_CHOICES, type Device, type DeviceChoice, type ModelSize, type PrecisionChoice } from './types.js';

/** Encoder sizes per preset (dim / depth / heads): MODEL_PRESETS without the decoder. */
export const ENCODER_PRESETS = Object.fromEntries(
  Object.entries(MODEL_PRESETS).map(([k, v]) => [k, { encoderDim: v.encoderDim, encoderDepth: v.encoderDepth, encoderHeads: v.encoderHeads }]),
) as Record<ModelSize, { encoderDim: number; encoderDepth: number; encoderHeads: number }>;
export type ModelPreset = ModelSize;

export interface FinetuneOptions {
  /** Pretraining checkpoint (run dir, checkpoint dir or .safetensors file); omitted = from scratch. */
  checkpoint?: string;
  /** Freeze the encoder and train only fc_norm + head. Defaults to false. */
  linearProbe?: boolean;
  /** Dataset spec (see `PretrainConfig.dataset`). Defaults to 'synthetic'. */
  dataset?: string;
  /** Model preset. Defaults to the checkpoint's, else 'tiny'. */
  model?: ModelPreset;
  /** Encoder depth override (blocks), for small CPU runs. Integer 1..64. Defaults to the preset's (or the checkpoint's). */
  encoderDepth?: number;
  /** Frames per clip. Integer 2..512, a multiple of the tubelet (2). Defaults to the checkpoint's, else 16. */
  frames?: number;
  /** Clip side in pixels. Integer 16..4096, a multiple of `patch`. Defaults to the checkpoint's, else 224. */
  size?: number;
  /** Patch side in pixels (the tubelet is 2 x patch x patch). Integer 4..64. Defaults to the checkpoint's, else 16. */
  patch?: number;
  /** Labelled training clips (synthetic only: the first N of its train split, a low-label regime). Integer >= batchSize. Defaults to the whole split (10000). */
  trainSize?: number;
  /** Classes. Integer 2..100000. Defaults to the dataset's (synthetic: 8 directions). */
  classes?: number;
  /** Training steps. Integer >= 1. Defaults to 1000 (or from epochs). */
  steps?: number;
  /** Passes over the training set (used when steps is not given). Number > 0. */
  epochs?: number;
  /** Clips per step. Integer 1..65536. Defaults to 8. */
  batchSize?: number;
  /** Peak learning rate. Number in (0, 10]. Defaults to blr * batchSize / 256, blr = 1e-3 (VideoMAE), 1e-1 for a linear probe (ours). */
  lr?: number;
  /** Final learning rate. Number in [0, lr]. Defaults to 1e-6 (VideoMAE). */
  minLr?: number;
  /** Linear warmup steps. Integer in [0, steps]. Defaults to 5% of steps, rounded down (VideoMAE: 5 of 100 epochs). */
  warmupSteps?: number;
  /** AdamW weight decay. Number in [0, 10]. Defaults to 0.05. */
  weightDecay?: number;
  /** Layer-wise lr decay. Number in (0, 1]. Defaults to 0.75. */
  layerDecay?: number;
  /** Stochastic depth rate. Number in [0, 0.99]. Defaults to 0.1 (0 for a linear probe). */
  dropPath?: number;
  /** Label smoothing. Number in [0, 0.99]. Defaults to 0.1. */
  labelSmoothing?: number;
  /** Mixup alpha (0 = off). Number in [0, 100]. Defaults to 0.8 (0 for a linear probe). */
  mixup?: number;
  /** CutMix alpha (0 = off). Number in [0, 100]. Defaults to 1.0 (0 for a linear probe). */
  cutmix?: number;
  /** Probability of mixing a batch. Number in [0, 1]. Defaults to 1. */
  mixupProb?: number;
  /** Probability of CutMix instead of mixup when both are on. Number in [0, 1]. Defaults to 0.5. */
  switchProb?: number;
  /**
   * Mirror training clips left-right with p = 0.5. Defaults to off for the synthetic set and SSv2
   * (also packed into shards), whose labels depend on direction, and to on for the other datasets
   * (VideoMAE's fine-tuning). Turning it on for those two is an error. The value used is recorded
   * in the run's config.json (`flip`).
   */
  flip?: boolean;
  /** Max global gradient norm, 0 = none. Number >= 0. Defaults to 0 (VideoMAE: None). */
  clipGrad?: number;
  /** `auto` (default: cuda when usable), `cpu` or `cuda`. */
  device?: DeviceChoice;
  /** Seed. Integer 0..2^31-1. Defaults to 0. */
  seed?: number;
  /** `auto` (default: bf16 autocast on CUDA, fp32 on CPU), `fp32` or `bf16` (CUDA only), as `PretrainConfig.precision`. */
  precision?: PrecisionChoice;
  /** Dataset scored at the end. Defaults to `dataset` (its test split: synthetic's test split, the official test/val list of a video dataset). */
  testDataset?: string;
  /** Multi-view test at the end: clips x crops. Defaults to 1x1 on synthetic data and shards, 5x3 otherwise (2x3 SSv2). */
  testClips?: number;
  /** Crops per clip of the multi-view test: 1 or 3. */
  testCrops?: number;
  /** Clips scored at the end (synthetic: the test split's first N). Integer >= 1. Defaults to 256. */
  testSize?: number;
  /**
   * How the synthetic clips look (training and test): any SyntheticStyle fields (see
   * `PretrainConfig.data.syntheticStyle`), over the pretraining run's `data.syntheticStyle` (from
   * the checkpoint's config.json), over the default look. Recorded in config.json and in the
   * fine-tuned checkpoint, which `tats eval` reads.
   */
  syntheticStyle?: Partial<SyntheticStyle>;
  /** Run directory for config.json, metrics.jsonl, the fine-tuned checkpoint and the report. */
  out?: string;
}

export interface FinetuneConfig {
  checkpoint?: string;
  dataset: string;
  testDataset: string;
  classifier: NativeClassifierConfig;
  steps: number;
  /** Labelled training clips (synthetic only); undefined = the whole split. */
  trainSize?: number;
  /** Horizontal flips of the training clips (p = 0.5). */
  flip: boolean;
  testClips: number;
  testCrops: number;
  testSize: number;
  /** How the synthetic clips look: options over the checkpoint's run over the default. */
  syntheticStyle: SyntheticStyle;
  out?: string;
}

/** `auto` -> `cuda` when a CUDA device is usable (asked of the addon only then), else the choice. */
export function resolveDevice(device: unknown, field = 'device'): Device {
  const choice = oneOf(field, device ?? FINETUNE_DEFAULTS.device, DEVICE_CHOICES);
  return choice === 'auto' ? DERIVED.device(native().info().cudaAvailable) : choice;
}

/** Model shape read from a pretraining checkpoint's meta/config, when known. */
export interface CheckpointModel {
  preset?: ModelPreset;
  encoderDepth?: number;
  frames?: number;
  size?: number;
  patch?: number;
  /** The pretraining run's `data.syntheticStyle` (its config.json), when recorded. */
  syntheticStyle?: Partial<SyntheticStyle>;
}

/**
 * Whether fine-tuning on `dataset` flips clips: `flip` when given, else off where the labels
 * depend on direction (synthetic, SSv2, shards packed from them) and on elsewhere (VideoMAE).
 * `flip: true` on a dataset with directional labels throws ConfigError.
 */
export function resolveFlip(dataset: string, flip?: boolean): boolean {
  const spec = parseDatasetSpec(dataset, 'dataset');
  if (flip !== undefined) boolean('flip', flip);
  const directional = directionalLabels(spec);
  if (flip && directional) {
    throw new ConfigError('flip', flip, `off with dataset ${dataset}: its labels depend on direction (${spec.kind === 'synthetic' ? 'motion directions' : 'left/right in the SSv2 classes'}), and a flipped clip would keep the wrong one`);
  }
  return flip ?? !directional;
}

export function resolveFinetuneConfig(o: FinetuneOptions, fromCheckpoint: CheckpointModel = {}, datasetClasses?: number, trainLength: number = FINETUNE_DEFAULTS.syntheticTrainClips): FinetuneConfig {
  const D = FINETUNE_DEFAULTS;
  refuseStyleEnv();
  const dataset = o.dataset ?? D.dataset;
  parseDatasetSpec(dataset, 'dataset');
  const preset = oneOf('model', o.model ?? fromCheckpoint.preset ?? D.model, MODEL_SIZES);
  const frames = integer('frames', o.frames ?? fromCheckpoint.frames ?? D.frames, 2, 512);
  const size = integer('size', o.size ?? fromCheckpoint.size ?? D.size, 16, 4096);
  if (frames % D.tubelet) throw new ConfigError('frames', frames, `a multiple of the tubelet (${D.tubelet})`);
  const patch = integer('patch', o.patch ?? fromCheckpoint.patch ?? D.patch, 4, 64);
  if (size % patch) throw new ConfigError('size', size, `a multiple of patch (${patch})`);
  const depth = integer('encoderDepth', o.encoderDepth ?? fromCheckpoint.encoderDepth ?? ENCODER_PRESETS[preset].encoderDepth, 1, 64);
  const probe = boolean('linearProbe', o.linearProbe ?? false);
  const batchSize = integer('batchSize', o.batchSize ?? D.batchSize, 1, 65536);
  if (o.epochs !== undefined) number('epochs', o.epochs, 0, 1e6, { min: true });
  let trainSize: number | undefined;
  if (o.trainSize !== undefined) {
    trainSize = integer('trainSize', o.trainSize, batchSize);
    if (dataset !== 'synthetic') throw new ConfigError('trainSize', o.trainSize, `no value with dataset ${dataset} (synthetic only)`);
    trainLength = trainSize;
  }
  const steps = integer('steps', o.steps ?? (o.epochs !== undefined ? Math.max(1, Math.ceil((o.epochs * trainLength) / batchSize)) : D.steps), 1);
  const classes = integer('classes', o.classes ?? datasetClasses ?? 8, 2, 100000);
  const lr = number('lr', o.lr ?? DERIVED.lr(probe ? D.probeBaseLr : D.baseLr, batchSize), 0, 10, { min: true });
  const warmupSteps = integer('warmupSteps', o.warmupSteps ?? Math.floor(steps * D.warmupShare), 0, steps);
  const testSpec = o.testDataset ?? dataset;
  const [viewClips, viewCrops] = defaultViews(parseDatasetSpec(testSpec, 'testDataset'));
  const testClips = integer('testClips', o.testClips ?? viewClips, 1, 64);
  const testCrops = integer('testCrops', o.testCrops ?? viewCrops, 1, 3);
  if (testCrops === 2) throw new ConfigError('testCrops', 2, '1 or 3');
  const device = resolveDevice(o.device);
  const precisionChoice = oneOf('precision', o.precision ?? D.precision, PRECISION_CHOICES);
  const precision = precisionChoice === 'auto' ? DERIVED.precision(device) : precisionChoice;
  if (precision === 'bf16' && device === 'cpu') throw new ConfigError('precision', precision, 'fp32 or auto on the cpu device');
  return {
    checkpoint: o.checkpoint,
    dataset,
    testDataset: testSpec,
    steps,
    ...(trainSize !== undefined ? { trainSize } : {}),
    flip: resolveFlip(dataset, o.flip),
    testClips,
    testCrops,
    testSize: integer('testSize', o.testSize ?? D.testSize, 1),
    syntheticStyle: checkSyntheticStyle('syntheticStyle', o.syntheticStyle ?? {}, checkSyntheticStyle('checkpoint data.syntheticStyle', fromCheckpoint.syntheticStyle ?? {})),
    out: o.out,
    classifier: {
      model: { preset, frames, size, tubelet: D.tubelet, patch, channels: 3, ...ENCODER_PRESETS[preset], encoderDepth: depth, mlpRatio: 4 },
      classes,
      dropPath: number('dropPath', o.dropPath ?? (probe ? 0 : D.dropPath), 0, 0.99),
      linearProbe: probe,
      layerDecay: number('layerDecay', o.layerDecay ?? D.layerDecay, 0, 1, { min: true }),
      labelSmoothing: number('labelSmoothing', o.labelSmoothing ?? D.labelSmoothing, 0, 0.99),
      mixup: number('mixup', o.mixup ?? (probe ? 0 : D.mixup), 0, 100),
      cutmix: number('cutmix', o.cutmix ?? (probe ? 0 : D.cutmix), 0, 100),
      mixupProb: number('mixupProb', o.mixupProb ?? D.mixupProb, 0, 1),
      switchProb: number('switchProb', o.switchProb ?? D.switchProb, 0, 1),
      optim: {
        lr,
        minLr: number('minLr', o.minLr ?? D.minLr, 0, lr),
        warmupSteps,
        totalSteps: steps,
        weightDecay: number('weightDecay', o.weightDecay ?? D.weightDecay, 0, 10),
        beta1: D.beta1,
        beta2: D.beta2,
        clipGrad: number('clipGrad', o.clipGrad ?? D.clipGrad, 0, 1e9),
      },
      batchSize,
      device,
      seed: integer('seed', o.seed ?? D.seed, 0, 2 ** 31 - 1),
      precision,
    },
  };
}
