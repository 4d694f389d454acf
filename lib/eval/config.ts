/**
 * Fine-tuning options and their defaults (VideoMAE's run_class_finetuning.py recipe), validated
 * and resolved into the plain config the native ClassifierSession reads. Bad values throw
 * ConfigError naming the field, the value and what is allowed (the CLI exits 2).
 *
 * When lib/config (branch trainer) lands, the model presets come from there; until then the
 * encoder sizes below are CONTRACT.md's presets (VideoMAE's modeling_finetune.py sizes).
 */
import { ConfigError } from '../errors/index.js';
import { native, type NativeClassifierConfig } from '../native.js';
import { directionalLabels, parseDatasetSpec } from '../data/spec.js';
import { MODEL_PRESETS, type ModelSize } from '../config/index.js';

/** Encoder sizes per preset (dim / depth / heads): lib/config's MODEL_PRESETS. */
export const ENCODER_PRESETS = Object.fromEntries(
  Object.entries(MODEL_PRESETS).map(([k, v]) => [k, { encoderDim: v.encoderDim, encoderDepth: v.encoderDepth, encoderHeads: v.encoderHeads }]),
) as Record<ModelSize, { encoderDim: number; encoderDepth: number; encoderHeads: number }>;
export type ModelPreset = ModelSize;

export interface FinetuneOptions {
  /** Pretraining checkpoint (run dir, checkpoint dir or .safetensors file); omitted = from scratch. */
  checkpoint?: string;
  /** Freeze the encoder and train only fc_norm + head. Defaults to false. */
  linearProbe?: boolean;
  /** Dataset spec (see CLI.md). Defaults to 'synthetic'. */
  dataset?: string;
  /** Model preset. Defaults to the checkpoint's, else 'tiny'. */
  model?: ModelPreset;
  /** Encoder depth override (blocks), for small CPU runs. Defaults to the preset's (or the checkpoint's). */
  encoderDepth?: number;
  /** Frames per clip. Defaults to the checkpoint's, else 16. */
  frames?: number;
  /** Clip side in pixels. Defaults to the checkpoint's, else 224. */
  size?: number;
  /** Patch side in pixels (the tubelet is 2 x patch x patch). Defaults to the checkpoint's, else 16. */
  patch?: number;
  /** Labelled training clips (synthetic only: the first N of its train split, a low-label regime). Defaults to the whole split (10000). */
  trainSize?: number;
  /** Classes; defaults to the dataset's (synthetic: 8 directions). */
  classes?: number;
  /** Training steps. Defaults to 1000 (or from epochs). */
  steps?: number;
  /** Passes over the training set (used when steps is not given). */
  epochs?: number;
  /** Clips per step. Defaults to 8. */
  batchSize?: number;
  /** Peak learning rate. Defaults to blr * batchSize / 256, blr = 1e-3 (VideoMAE), 1e-1 for a linear probe (ours). */
  lr?: number;
  /** Final learning rate. Defaults to 1e-6 (VideoMAE). */
  minLr?: number;
  /** Linear warmup steps. Defaults to 5% of steps (VideoMAE: 5 of 100 epochs). */
  warmupSteps?: number;
  /** AdamW weight decay. Defaults to 0.05. */
  weightDecay?: number;
  /** Layer-wise lr decay. Defaults to 0.75. */
  layerDecay?: number;
  /** Stochastic depth rate. Defaults to 0.1 (0 for a linear probe). */
  dropPath?: number;
  /** Label smoothing. Defaults to 0.1. */
  labelSmoothing?: number;
  /** Mixup alpha (0 = off). Defaults to 0.8 (0 for a linear probe). */
  mixup?: number;
  /** CutMix alpha (0 = off). Defaults to 1.0 (0 for a linear probe). */
  cutmix?: number;
  /** Probability of mixing a batch. Defaults to 1. */
  mixupProb?: number;
  /** Probability of CutMix instead of mixup when both are on. Defaults to 0.5. */
  switchProb?: number;
  /**
   * Mirror training clips left-right with p = 0.5. Defaults to off for the synthetic set and SSv2
   * (also packed into shards), whose labels depend on direction, and to on for the other datasets
   * (VideoMAE's fine-tuning). Turning it on for those two is an error. The value used is recorded
   * in the run's config.json (`flip`).
   */
  flip?: boolean;
  /** Max global gradient norm, 0 = none. Defaults to 0 (VideoMAE: None). */
  clipGrad?: number;
  /** 'auto' (default), 'cpu' or 'cuda'. */
  device?: 'auto' | 'cpu' | 'cuda';
  /** Seed. Defaults to 0. */
  seed?: number;
  /** 'bf16' (default; autocast on CUDA, fp32 on CPU) or 'fp32'. */
  precision?: 'fp32' | 'bf16';
  /** Dataset scored at the end. Defaults to `dataset` (its test split: synthetic's test split, the official test/val list of a video dataset). */
  testDataset?: string;
  /** Multi-view test at the end: clips x crops. Defaults to 1x1 on synthetic data, 5x3 otherwise (2x3 SSv2). */
  testClips?: number;
  testCrops?: number;
  /** Clips scored at the end (synthetic: the test split's first N). Defaults to 256. */
  testSize?: number;
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
  out?: string;
}

function int(field: string, v: unknown, lo: number, hi = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    throw new ConfigError(field, v, `an integer in [${lo}, ${hi === Number.MAX_SAFE_INTEGER ? 'inf' : hi}]`);
  return v;
}

function num(field: string, v: unknown, lo: number, hi: number, openLo = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (openLo && v === lo))
    throw new ConfigError(field, v, `a number in ${openLo ? '(' : '['}${lo}, ${hi}]`);
  return v;
}

export function resolveDevice(device: unknown): 'cpu' | 'cuda' {
  if (device === undefined || device === 'auto') return native().info().cudaAvailable ? 'cuda' : 'cpu';
  if (device === 'cpu' || device === 'cuda') return device;
  throw new ConfigError('--device', device, 'auto, cpu or cuda');
}

/** Model shape read from a pretraining checkpoint's meta/config, when known. */
export interface CheckpointModel {
  preset?: ModelPreset;
  encoderDepth?: number;
  frames?: number;
  size?: number;
  patch?: number;
}

/**
 * Whether fine-tuning on `dataset` flips clips: `flip` when given, else off where the labels
 * depend on direction (synthetic, SSv2, shards packed from them) and on elsewhere (VideoMAE).
 * `flip: true` on a dataset with directional labels throws ConfigError.
 */
export function resolveFlip(dataset: string, flip?: boolean): boolean {
  const spec = parseDatasetSpec(dataset);
  if (flip !== undefined && typeof flip !== 'boolean') throw new ConfigError('--flip', flip, 'true or false');
  const directional = directionalLabels(spec);
  if (flip && directional) {
    throw new ConfigError('--flip', flip, `off with --dataset ${dataset}: its labels depend on direction (${spec.kind === 'synthetic' ? 'motion directions' : 'left/right in the SSv2 classes'}), and a flipped clip would keep the wrong one`);
  }
  return flip ?? !directional;
}

export function resolveFinetuneConfig(o: FinetuneOptions, fromCheckpoint: CheckpointModel = {}, datasetClasses?: number, trainLength = 10000): FinetuneConfig {
  const dataset = o.dataset ?? 'synthetic';
  parseDatasetSpec(dataset);
  const preset = o.model ?? fromCheckpoint.preset ?? 'tiny';
  if (!(preset in ENCODER_PRESETS)) throw new ConfigError('--model', preset, Object.keys(ENCODER_PRESETS).join(', '));
  const frames = int('--frames', o.frames ?? fromCheckpoint.frames ?? 16, 2, 512);
  const size = int('--size', o.size ?? fromCheckpoint.size ?? 224, 16, 4096);
  if (frames % 2) throw new ConfigError('--frames', frames, 'a multiple of the tubelet (2)');
  const patch = int('--patch', o.patch ?? fromCheckpoint.patch ?? 16, 4, 64);
  if (size % patch) throw new ConfigError('--size', size, `a multiple of the patch (${patch})`);
  const depth = int('--encoder-depth', o.encoderDepth ?? fromCheckpoint.encoderDepth ?? ENCODER_PRESETS[preset].encoderDepth, 1, 64);
  const probe = o.linearProbe ?? false;
  const batchSize = int('--batch-size', o.batchSize ?? 8, 1, 65536);
  if (o.epochs !== undefined) num('--epochs', o.epochs, 0, 1e6, true);
  let trainSize: number | undefined;
  if (o.trainSize !== undefined) {
    trainSize = int('--train-size', o.trainSize, batchSize);
    if (dataset !== 'synthetic') throw new ConfigError('--train-size', o.trainSize, `only with --dataset synthetic (got ${dataset})`);
    trainLength = trainSize;
  }
  const steps = int('--steps', o.steps ?? (o.epochs !== undefined ? Math.max(1, Math.ceil((o.epochs * trainLength) / batchSize)) : 1000), 1);
  const classes = int('--classes', o.classes ?? datasetClasses ?? 8, 2, 100000);
  const blr = probe ? 1e-1 : 1e-3;
  const lr = num('--lr', o.lr ?? (blr * batchSize) / 256, 0, 10, true);
  const warmupSteps = int('--warmup-steps', o.warmupSteps ?? Math.floor(steps * 0.05), 0, steps);
  const testSpec = o.testDataset ?? dataset;
  parseDatasetSpec(testSpec, '--test-dataset');
  const single = testSpec === 'synthetic' || testSpec.startsWith('shards:');
  const testClips = int('--test-clips', o.testClips ?? (single ? 1 : testSpec.startsWith('ssv2') ? 2 : 5), 1, 64);
  const testCrops = int('--test-crops', o.testCrops ?? (single ? 1 : 3), 1, 3);
  if (testCrops === 2) throw new ConfigError('--test-crops', 2, '1 or 3');
  const precision = o.precision ?? 'bf16';
  if (precision !== 'fp32' && precision !== 'bf16') throw new ConfigError('--precision', precision, 'fp32 or bf16');
  return {
    checkpoint: o.checkpoint,
    dataset,
    testDataset: testSpec,
    steps,
    ...(trainSize !== undefined ? { trainSize } : {}),
    flip: resolveFlip(dataset, o.flip),
    testClips,
    testCrops,
    testSize: int('--test-size', o.testSize ?? 256, 1),
    out: o.out,
    classifier: {
      model: { preset, frames, size, tubelet: 2, patch, channels: 3, ...ENCODER_PRESETS[preset], encoderDepth: depth, mlpRatio: 4 },
      classes,
      dropPath: num('--drop-path', o.dropPath ?? (probe ? 0 : 0.1), 0, 0.99),
      linearProbe: probe,
      layerDecay: num('--layer-decay', o.layerDecay ?? 0.75, 0, 1, true),
      labelSmoothing: num('--label-smoothing', o.labelSmoothing ?? 0.1, 0, 0.99),
      mixup: num('--mixup', o.mixup ?? (probe ? 0 : 0.8), 0, 100),
      cutmix: num('--cutmix', o.cutmix ?? (probe ? 0 : 1.0), 0, 100),
      mixupProb: num('--mixup-prob', o.mixupProb ?? 1, 0, 1),
      switchProb: num('--switch-prob', o.switchProb ?? 0.5, 0, 1),
      optim: {
        lr,
        minLr: num('--min-lr', o.minLr ?? 1e-6, 0, lr),
        warmupSteps,
        totalSteps: steps,
        weightDecay: num('--weight-decay', o.weightDecay ?? 0.05, 0, 10),
        beta1: 0.9,
        beta2: 0.999,
        clipGrad: num('--clip-grad', o.clipGrad ?? 0, 0, 1e9),
      },
      batchSize,
      device: resolveDevice(o.device),
      seed: int('--seed', o.seed ?? 0, 0, 2 ** 31 - 1),
      precision,
    },
  };
}
