/**
 * Options -> resolved config: preset, then the caller's options over it, then defaults and the
 * derived rules for what is left; every field checked before any work starts.
 */
import { availableParallelism } from 'node:os';

import { ConfigError } from '../errors/index.js';
import { boolean, integer, knownKeys, nonEmptyString, number, oneOf, plainObject } from '../check.js';
import { parseDatasetSpec } from '../data/spec.js';
import { checkSyntheticStyle, refuseStyleEnv } from '../data/synthetic.js';
import { refuseRetiredEnv } from '../retired-env.js';
import { DEFAULTS, DERIVED, MODEL_PRESETS } from './defaults.js';
import { PRESETS, PRESET_NAMES, type Preset } from './presets.js';
import {
  DEVICE_CHOICES,
  MODEL_SIZES,
  ON_DAMAGED_CHOICES,
  PRECISION_CHOICES,
  SAMPLER_REWARD_CHOICES,
  SDPA_CHOICES,
  STRATEGIES,
  type PretrainConfig,
  type PretrainOptions,
} from './types.js';
import type { SessionConfig } from '../session.js';

/** Facts about the machine and the data that some defaults depend on. */
export interface ResolveContext {
  /** Whether a CUDA device is usable (decides `device: auto`). Defaults to `info().cuda`, asked only when needed. */
  cudaAvailable?: boolean | (() => boolean);
  /** Clips in one epoch of a non-synthetic dataset (needed only with `epochs`). */
  datasetClips?: number;
  /** Data-parallel ranks in all (WORLD_SIZE of the launch). Defaults to `nprocPerNode`. */
  worldSize?: number;
  /** Ranks on this machine (LOCAL_WORLD_SIZE), which share its cores between their data threads. Defaults to `nprocPerNode`. */
  localWorldSize?: number;
}

const SECTION_KEYS = {
  model: ['preset', 'frames', 'size', 'tubelet', 'patch', 'channels', 'encoderDim', 'encoderDepth', 'encoderHeads', 'decoderDim', 'decoderDepth', 'decoderHeads', 'mlpRatio'],
  masking: ['strategy', 'ratio'],
  sampler: [
    'dim', 'heads', 'temperature', 'ppoEpochs', 'clipEps', 'valueCoef', 'beta', 'betaStart', 'betaSteps', 'reward', 'targetKl',
    'lr', 'warmupSteps', 'clipGrad', 'weightDecay', 'detachInput', 'exactKl', 'adamaeWeight',
  ],
  optim: ['baseLr', 'lr', 'minLr', 'warmupSteps', 'totalSteps', 'weightDecay', 'beta1', 'beta2', 'clipGrad'],
  data: ['syntheticClips', 'stride', 'syntheticStyle', 'prefetch', 'workers', 'onDamaged'],
  runtime: ['graph', 'staging', 'sdpa', 'layerNormBf16', 'legacyAdamw', 'rolloutGraph', 'ppoGraph'],
} as const;
const TOP_KEYS = [
  ...Object.keys(SECTION_KEYS),
  'preset', 'dataset', 'steps', 'epochs', 'batchSize', 'nprocPerNode', 'device', 'precision', 'seed', 'out',
  'checkpointEvery', 'logEvery', 'keepCheckpoints', 'picture',
  // A resolved config (config.json) is a valid config file: its worldSize is read and ignored
  // (the launch decides it, ResolveContext.worldSize).
  'worldSize',
] as const;

/** Fields that were removed, with what replaced them (a clearer error than "a known field"). */
const REMOVED: Record<string, Record<string, string>> = {
  sampler: {
    entropyCoef: 'no value: sampler.entropyCoef was replaced by sampler.beta (a KL penalty towards uniform masking, see docs/tats.md)',
  },
};

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of option layers, later layers winning; `undefined` never overrides. */
export function mergeOptions(...layers: (PretrainOptions | undefined)[]): PretrainOptions {
  const out: Obj = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      out[k] = isObj(v) && isObj(out[k]) ? mergeOptions(out[k] as PretrainOptions, v as PretrainOptions) : v;
    }
  }
  return out as PretrainOptions;
}

/** Checks that `options` has only known fields, each an object where a section is expected. */
function checkShape(options: unknown): Obj {
  const o = plainObject('config', options);
  knownKeys('', o, TOP_KEYS);
  for (const [section, keys] of Object.entries(SECTION_KEYS)) {
    if (o[section] === undefined) continue;
    const fields = plainObject(section, o[section]);
    for (const [key, allowed] of Object.entries(REMOVED[section] ?? {})) {
      if (key in fields) throw new ConfigError(`${section}.${key}`, fields[key], allowed);
    }
    knownKeys(section, fields, keys);
  }
  return o;
}

/**
 * Presets compose: `preset` is one name or several joined by commas (`tats-ucf101,cpu-demo`),
 * applied left to right, a later one winning field by field (and its steps replacing an earlier
 * one's epochs, or the other way). At most one dataset layout among them.
 */
function composePresets(names: string): Preset {
  const chosen = names.split(',').map((n) => PRESETS[oneOf('preset', n.trim(), PRESET_NAMES)]!);
  const layouts = [...new Set(chosen.flatMap((p) => (p.layout ? [p.layout] : [])))];
  if (layouts.length > 1) throw new ConfigError('preset', names, `presets of one dataset layout (these are for ${layouts.join(' and ')})`);
  return {
    describe: chosen.map((p) => p.describe).join('; then '),
    ...(layouts[0] ? { layout: layouts[0] } : {}),
    // A run length is steps or epochs: a later preset's one replaces an earlier preset's other.
    options: chosen.reduce<PretrainOptions>((acc, p) => {
      const { steps, epochs, ...rest } = mergeOptions(acc, p.options);
      const length = p.options.steps !== undefined ? { steps: p.options.steps } : p.options.epochs !== undefined ? { epochs: p.options.epochs } : { steps, epochs };
      return { ...rest, ...length };
    }, {}),
  };
}

/**
 * Resolves options (a preset name or names, a file's contents, flags: merged with `mergeOptions`) to the
 * full config. Throws ConfigError for the first invalid field.
 */
export function resolveConfig(options: PretrainOptions = {}, ctx: ResolveContext = {}): PretrainConfig {
  // The look of the synthetic clips was this variable before it became data.syntheticStyle, and
  // the runtime section's fields were variables too.
  refuseStyleEnv();
  refuseRetiredEnv();
  const given = checkShape(options);
  const presetName = given.preset === undefined || given.preset === null ? null : nonEmptyString('preset', given.preset);
  const preset = presetName === null ? undefined : composePresets(presetName);
  const o = checkShape(mergeOptions(preset?.options, given as PretrainOptions)) as Obj & PretrainOptions;
  const m = (o.model ?? {}) as Obj;
  const mk = (o.masking ?? {}) as Obj;
  const s = (o.sampler ?? {}) as Obj;
  const op = (o.optim ?? {}) as Obj;
  const d = (o.data ?? {}) as Obj;
  const rt = (o.runtime ?? {}) as Obj;
  const pick = <T>(v: unknown, dflt: T): unknown => (v === undefined ? dflt : v);

  // Model.
  const size = oneOf('model.preset', pick(m.preset, DEFAULTS.model.preset), MODEL_SIZES);
  const dims = MODEL_PRESETS[size];
  const model = {
    preset: size,
    frames: integer('model.frames', pick(m.frames, DEFAULTS.model.frames), 2, 256),
    size: integer('model.size', pick(m.size, DEFAULTS.model.size), 16, 1024),
    tubelet: integer('model.tubelet', pick(m.tubelet, DEFAULTS.model.tubelet), 1, 8),
    patch: integer('model.patch', pick(m.patch, DEFAULTS.model.patch), 4, 64),
    channels: integer('model.channels', pick(m.channels, DEFAULTS.model.channels), 3, 3),
    encoderDim: integer('model.encoderDim', pick(m.encoderDim, dims.encoderDim), 8, 16384),
    encoderDepth: integer('model.encoderDepth', pick(m.encoderDepth, dims.encoderDepth), 1, 64),
    encoderHeads: integer('model.encoderHeads', pick(m.encoderHeads, dims.encoderHeads), 1, 256),
    decoderDim: integer('model.decoderDim', pick(m.decoderDim, dims.decoderDim), 8, 16384),
    decoderDepth: integer('model.decoderDepth', pick(m.decoderDepth, dims.decoderDepth), 1, 64),
    decoderHeads: integer('model.decoderHeads', pick(m.decoderHeads, dims.decoderHeads), 1, 256),
    mlpRatio: number('model.mlpRatio', pick(m.mlpRatio, DEFAULTS.model.mlpRatio), 1, 16),
  };
  if (model.frames % model.tubelet !== 0) {
    throw new ConfigError('model.frames', model.frames, `a multiple of model.tubelet (${model.tubelet})`);
  }
  if (model.size % model.patch !== 0) throw new ConfigError('model.size', model.size, `a multiple of model.patch (${model.patch})`);
  if (model.encoderDim % model.encoderHeads !== 0) {
    throw new ConfigError('model.encoderDim', model.encoderDim, `a multiple of model.encoderHeads (${model.encoderHeads})`);
  }
  if (model.decoderDim % model.decoderHeads !== 0) {
    throw new ConfigError('model.decoderDim', model.decoderDim, `a multiple of model.decoderHeads (${model.decoderHeads})`);
  }
  const tokens = (model.frames / model.tubelet) * (model.size / model.patch) ** 2;

  // Masking.
  const masking = {
    strategy: oneOf('masking.strategy', pick(mk.strategy, DEFAULTS.masking.strategy), STRATEGIES),
    ratio: number('masking.ratio', pick(mk.ratio, DEFAULTS.masking.ratio), 0, 1, { min: true, max: true }),
  };
  const slots = model.frames / model.tubelet;
  const perSlot = tokens / slots;
  const masked = maskedTokens(model, masking);
  if (masked < 1 || masked > tokens - 1) {
    const unit = masking.strategy === 'tube' ? ` (${perSlot} positions per frame slot)` : masking.strategy === 'frame' ? ` (${slots} frame slots)` : '';
    throw new ConfigError('masking.ratio', masking.ratio, `a ratio that masks at least 1 and at most ${tokens - 1} of the ${tokens} tokens with strategy ${masking.strategy}${unit}`);
  }

  // Run length and batch.
  const batchSize = integer('batchSize', pick(o.batchSize, DEFAULTS.batchSize), 1, 4096);
  const nprocPerNode = integer('nprocPerNode', pick(o.nprocPerNode, DEFAULTS.nprocPerNode), 1, 64);
  const dataset = parseDatasetSpec(pick(o.dataset, DEFAULTS.dataset), 'dataset');
  if (preset?.layout && ![preset.layout, 'shards', 'list'].includes(dataset.kind)) {
    throw new ConfigError('dataset', pick(o.dataset, DEFAULTS.dataset), `a ${preset.layout}:DIR, shards:DIR or list:FILE spec for preset ${presetName}`);
  }
  const data = {
    syntheticClips: integer('data.syntheticClips', pick(d.syntheticClips, DEFAULTS.data.syntheticClips), 1, 2 ** 31 - 1),
    stride: integer('data.stride', pick(d.stride, DEFAULTS.data.stride), 1, 32),
    syntheticStyle: checkSyntheticStyle('data.syntheticStyle', pick(d.syntheticStyle, {})),
    prefetch: 0,
    workers: 0,
    onDamaged: oneOf('data.onDamaged', pick(d.onDamaged, DEFAULTS.data.onDamaged), ON_DAMAGED_CHOICES),
  };
  const worldSize = integer('worldSize', ctx.worldSize ?? nprocPerNode, 1, 65536);
  const localWorldSize = Math.max(1, Math.min(worldSize, ctx.localWorldSize ?? nprocPerNode));
  const globalBatch = batchSize * worldSize;
  // Length: the caller's steps or epochs (not both) beat the preset's; else the default steps.
  const has = (v: unknown) => v !== undefined && v !== null;
  if (has(given.steps) && has(given.epochs)) {
    throw new ConfigError('epochs', given.epochs, 'no value when steps is given (give steps or epochs, not both)');
  }
  const fromCaller = has(given.steps) || has(given.epochs);
  const stepsIn = fromCaller ? given.steps : preset?.options.steps;
  const epochsIn = fromCaller ? given.epochs : preset?.options.epochs;
  let epochs: number | null = null;
  let steps: number;
  if (has(epochsIn)) {
    epochs = integer('epochs', epochsIn, 1, 1e6);
    const clips = dataset.kind === 'synthetic' ? data.syntheticClips : ctx.datasetClips;
    if (clips === undefined) {
      throw new ConfigError('epochs', epochs, 'a run length in steps, or a known dataset size (ResolveContext.datasetClips) to count epochs in');
    }
    steps = Math.ceil((epochs * integer('datasetClips', clips, 1)) / globalBatch);
  } else {
    steps = integer('steps', has(stepsIn) ? stepsIn : DEFAULTS.steps, 1, 1e9);
  }

  // Optimizer and schedule.
  const baseLr = number('optim.baseLr', pick(op.baseLr, DEFAULTS.optim.baseLr), 0, 10, { min: true });
  const lr = number('optim.lr', pick(op.lr, DERIVED.lr(baseLr, globalBatch)), 0, 10, { min: true });
  const totalSteps = integer('optim.totalSteps', pick(op.totalSteps, steps), 1, 1e9);
  if (totalSteps < steps) throw new ConfigError('optim.totalSteps', totalSteps, `an integer >= steps (${steps})`);
  const optim = {
    baseLr,
    lr,
    minLr: number('optim.minLr', pick(op.minLr, DERIVED.minLr(lr)), 0, lr),
    warmupSteps: integer('optim.warmupSteps', pick(op.warmupSteps, DERIVED.warmupSteps(totalSteps)), 0, totalSteps - 1),
    totalSteps,
    weightDecay: number('optim.weightDecay', pick(op.weightDecay, DEFAULTS.optim.weightDecay), 0, 10),
    beta1: number('optim.beta1', pick(op.beta1, DEFAULTS.optim.beta1), 0, 1, { max: true }),
    beta2: number('optim.beta2', pick(op.beta2, DEFAULTS.optim.beta2), 0, 1, { max: true }),
    clipGrad: number('optim.clipGrad', pick(op.clipGrad, DEFAULTS.optim.clipGrad), 0),
  };

  // Sampler: its own optimiser (not the MAE's lr), width no more than the encoder's.
  const samplerDim = integer('sampler.dim', pick(s.dim, DERIVED.samplerDim(model.encoderDim)), 8, 16384);
  const beta = number('sampler.beta', pick(s.beta, DEFAULTS.sampler.beta), 0);
  const sampler = {
    dim: samplerDim,
    heads: integer('sampler.heads', pick(s.heads, DERIVED.samplerHeads(samplerDim)), 1, 256),
    temperature: number('sampler.temperature', pick(s.temperature, DEFAULTS.sampler.temperature), 0, 1e3, { min: true }),
    ppoEpochs: integer('sampler.ppoEpochs', pick(s.ppoEpochs, DEFAULTS.sampler.ppoEpochs), 1, 64),
    clipEps: number('sampler.clipEps', pick(s.clipEps, DEFAULTS.sampler.clipEps), 0, 1, { min: true, max: true }),
    valueCoef: number('sampler.valueCoef', pick(s.valueCoef, DEFAULTS.sampler.valueCoef), 0),
    beta,
    betaStart: number('sampler.betaStart', pick(s.betaStart, beta), 0),
    betaSteps: integer('sampler.betaSteps', pick(s.betaSteps, DEFAULTS.sampler.betaSteps), 0, 1e9),
    reward: oneOf('sampler.reward', pick(s.reward, DEFAULTS.sampler.reward), SAMPLER_REWARD_CHOICES),
    targetKl: number('sampler.targetKl', pick(s.targetKl, DEFAULTS.sampler.targetKl), 0, Infinity, { min: true }),
    lr: number('sampler.lr', pick(s.lr, DERIVED.samplerLr(masking.strategy, optim.lr, DEFAULTS.sampler.lr)), 0, 10, { min: true }),
    warmupSteps: integer('sampler.warmupSteps', pick(s.warmupSteps, DERIVED.samplerWarmupSteps(optim.warmupSteps)), 0, 1e9),
    clipGrad: number('sampler.clipGrad', pick(s.clipGrad, DEFAULTS.sampler.clipGrad), 0),
    weightDecay: number('sampler.weightDecay', pick(s.weightDecay, DEFAULTS.sampler.weightDecay), 0, 10),
    detachInput: boolean('sampler.detachInput', pick(s.detachInput, DEFAULTS.sampler.detachInput)),
    exactKl: boolean('sampler.exactKl', pick(s.exactKl, DEFAULTS.sampler.exactKl)),
    adamaeWeight: number('sampler.adamaeWeight', pick(s.adamaeWeight, DEFAULTS.sampler.adamaeWeight), 0),
  };
  if (sampler.dim % sampler.heads !== 0) throw new ConfigError('sampler.dim', sampler.dim, `a multiple of sampler.heads (${sampler.heads})`);
  if (sampler.betaSteps > 0 && !(sampler.betaStart > 0 && sampler.beta > 0)) {
    throw new ConfigError(
      'sampler.betaStart',
      sampler.betaStart,
      `a number > 0, with sampler.beta > 0 (now ${sampler.beta}), when sampler.betaSteps > 0 (the schedule from sampler.betaStart to sampler.beta is log-linear; sampler.betaSteps 0 keeps beta constant)`,
    );
  }

  // Where and how.
  const deviceChoice = oneOf('device', pick(o.device, DEFAULTS.device), DEVICE_CHOICES);
  const cuda = () => {
    const c = ctx.cudaAvailable;
    return typeof c === 'function' ? c() : c;
  };
  let device: 'cpu' | 'cuda';
  if (deviceChoice === 'auto') device = DERIVED.device(cuda() ?? false);
  else device = deviceChoice;
  if (device === 'cuda' && ctx.cudaAvailable !== undefined && !cuda()) {
    throw new ConfigError('device', 'cuda', 'auto or cpu: no CUDA device is usable here (see tats info)');
  }
  const precisionChoice = oneOf('precision', pick(o.precision, DEFAULTS.precision), PRECISION_CHOICES);
  const precision = precisionChoice === 'auto' ? DERIVED.precision(device) : precisionChoice;
  if (precision === 'bf16' && device === 'cpu') throw new ConfigError('precision', precision, 'fp32 or auto on the cpu device');

  const cores = Math.max(1, Math.floor(availableParallelism() / localWorldSize));
  data.workers = integer('data.workers', pick(d.workers, DERIVED.workers(device, cores)), 0, 64);
  data.prefetch = integer('data.prefetch', pick(d.prefetch, DERIVED.prefetch(data.workers)), 1, 64);

  const runtime = {
    graph: boolean('runtime.graph', pick(rt.graph, DEFAULTS.runtime.graph)),
    staging: boolean('runtime.staging', pick(rt.staging, DEFAULTS.runtime.staging)),
    sdpa: oneOf('runtime.sdpa', pick(rt.sdpa, DEFAULTS.runtime.sdpa), SDPA_CHOICES),
    layerNormBf16: boolean('runtime.layerNormBf16', pick(rt.layerNormBf16, DEFAULTS.runtime.layerNormBf16)),
    legacyAdamw: boolean('runtime.legacyAdamw', pick(rt.legacyAdamw, DEFAULTS.runtime.legacyAdamw)),
    rolloutGraph: boolean('runtime.rolloutGraph', pick(rt.rolloutGraph, DEFAULTS.runtime.rolloutGraph)),
    ppoGraph: boolean('runtime.ppoGraph', pick(rt.ppoGraph, DEFAULTS.runtime.ppoGraph)),
  };

  const out = nonEmptyString('out', pick(o.out, DEFAULTS.out));
  const checkpointEvery = integer('checkpointEvery', pick(o.checkpointEvery, DEFAULTS.checkpointEvery), 1);
  const logEvery = integer('logEvery', pick(o.logEvery, DEFAULTS.logEvery), 1);
  return {
    preset: presetName,
    model,
    masking,
    sampler,
    optim,
    data,
    runtime,
    dataset: pick(o.dataset, DEFAULTS.dataset) as string,
    steps,
    epochs,
    batchSize,
    nprocPerNode,
    worldSize,
    device,
    precision,
    seed: integer('seed', pick(o.seed, DEFAULTS.seed), 0, 2 ** 31 - 1),
    out,
    checkpointEvery,
    logEvery,
    keepCheckpoints: integer('keepCheckpoints', pick(o.keepCheckpoints, DEFAULTS.keepCheckpoints), 1),
    picture: boolean('picture', pick(o.picture, DEFAULTS.picture)),
  };
}

/** The part of a resolved config the native Session takes (`SessionConfig`, lib/session.ts). */
export function toSessionConfig(c: PretrainConfig): SessionConfig {
  const { baseLr: _baseLr, ...optim } = c.optim;
  return {
    model: { ...c.model },
    masking: { ...c.masking },
    sampler: { ...c.sampler },
    optim,
    batchSize: c.batchSize,
    device: c.device,
    seed: c.seed,
    precision: c.precision,
    runtime: { ...c.runtime },
  };
}

/** Tokens per clip of a model config. */
export function tokensPerClip(m: { frames: number; size: number; tubelet: number; patch: number }): number {
  return (m.frames / m.tubelet) * (m.size / m.patch) ** 2;
}

/**
 * Masked tokens per clip, counted as the engine counts them (native/core/masking.h): `tube` masks
 * int(ratio * S) of the S positions in every frame slot, `frame` round(ratio * slots) whole
 * slots, the others round(ratio * N) tokens.
 */
export function maskedTokens(
  m: { frames: number; size: number; tubelet: number; patch: number },
  masking: { strategy: string; ratio: number },
): number {
  const tokens = tokensPerClip(m);
  const slots = m.frames / m.tubelet;
  const perSlot = tokens / slots;
  if (masking.strategy === 'tube') return Math.floor(masking.ratio * perSlot) * slots;
  if (masking.strategy === 'frame') return Math.round(masking.ratio * slots) * perSlot;
  return Math.round(masking.ratio * tokens);
}
