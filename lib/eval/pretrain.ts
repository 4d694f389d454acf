/**
 * A plain pretraining loop for evaluation tools (tats compare, the fine-tuning test, figures):
 * a Session on synthetic (or any loader) batches for a fixed number of steps, with loss,
 * throughput and peak memory. The full trainer (checkpoints, resume, events) is lib/train; this is
 * the smallest loop that gives every strategy the same budget.
 *
 * Until lib/config (branch trainer) is on main, the session config is built here from
 * CONTRACT.md's presets and VideoMAE's recipe; afterwards this should call lib/config's resolver.
 */
import { saveCheckpoint } from '../checkpoint/checkpoint.js';
import { DataLoader } from '../data/loader.js';
import { datasetSource, parseDatasetSpec } from '../data/spec.js';
import { ConfigError } from '../errors/index.js';
import { native, type NativeSessionConfig } from '../native.js';
import { Session } from '../session.js';
import { ENCODER_PRESETS, resolveDevice, type ModelPreset } from './config.js';

export const STRATEGIES = ['random', 'tube', 'frame', 'adamae', 'tats'] as const;
export type Strategy = (typeof STRATEGIES)[number];

const DECODER_PRESETS = {
  tiny: { decoderDim: 96, decoderDepth: 4, decoderHeads: 3 },
  small: { decoderDim: 192, decoderDepth: 4, decoderHeads: 3 },
  base: { decoderDim: 384, decoderDepth: 4, decoderHeads: 6 },
  large: { decoderDim: 512, decoderDepth: 4, decoderHeads: 8 },
} as const;

export interface PretrainRunOptions {
  strategy: Strategy;
  model?: ModelPreset;
  encoderDepth?: number;
  decoderDepth?: number;
  frames?: number;
  size?: number;
  ratio?: number;
  batchSize?: number;
  steps: number;
  lr?: number;
  samplerDim?: number;
  samplerHeads?: number;
  ppoEpochs?: number;
  device?: 'auto' | 'cpu' | 'cuda';
  precision?: 'fp32' | 'bf16';
  seed?: number;
}

export function pretrainSessionConfig(o: PretrainRunOptions): NativeSessionConfig {
  if (!STRATEGIES.includes(o.strategy)) throw new ConfigError('--strategies', o.strategy, STRATEGIES.join(', '));
  const preset = o.model ?? 'tiny';
  if (!(preset in ENCODER_PRESETS)) throw new ConfigError('--model', preset, 'tiny, small, base or large');
  const batchSize = o.batchSize ?? 8;
  const ratio = o.ratio ?? 0.9;
  if (!(ratio > 0 && ratio < 1)) throw new ConfigError('--mask-ratio', ratio, 'a number in (0, 1)');
  const steps = o.steps;
  if (!Number.isInteger(steps) || steps < 1) throw new ConfigError('--steps', steps, 'a positive integer');
  return {
    model: {
      preset,
      frames: o.frames ?? 16,
      size: o.size ?? 224,
      tubelet: 2,
      patch: 16,
      channels: 3,
      ...ENCODER_PRESETS[preset],
      ...DECODER_PRESETS[preset],
      ...(o.encoderDepth ? { encoderDepth: o.encoderDepth } : {}),
      ...(o.decoderDepth ? { decoderDepth: o.decoderDepth } : {}),
      mlpRatio: 4,
    },
    masking: { strategy: o.strategy, ratio },
    sampler: {
      dim: o.samplerDim ?? 384,
      heads: o.samplerHeads ?? 6,
      temperature: 1,
      ppoEpochs: o.ppoEpochs ?? 4,
      clipEps: 0.2,
      valueCoef: 0.5,
      entropyCoef: 0.01,
      lr: 1e-4,
      weightDecay: 0.05,
      detachInput: true,
      adamaeWeight: 1e-4,
    },
    optim: {
      lr: o.lr ?? (1.5e-4 * batchSize) / 256,
      minLr: 1e-6,
      warmupSteps: Math.floor(steps * 0.1),
      totalSteps: steps,
      weightDecay: 0.05,
      beta1: 0.9,
      beta2: 0.95,
      clipGrad: 0,
    },
    batchSize,
    device: resolveDevice(o.device),
    seed: o.seed ?? 0,
    precision: o.precision ?? 'bf16',
  };
}

export interface PretrainRunResult {
  config: NativeSessionConfig;
  losses: number[];
  /** Mean loss of the last 10% of steps. */
  finalLoss: number;
  clipsPerS: number;
  /** CUDA: the caching allocator's peak; CPU: the process's peak resident set (includes everything else in it). */
  peakMemGiB: number;
  peakMemKind: 'cuda' | 'cpu-rss';
  maskedMovingShare?: number;
  checkpoint?: string;
}

export async function pretrainRun(
  o: PretrainRunOptions & { dataset?: string; out?: string; signal?: AbortSignal; onStep?: (step: number, loss: number) => void },
): Promise<PretrainRunResult> {
  const config = pretrainSessionConfig(o);
  const spec = parseDatasetSpec(o.dataset ?? 'synthetic');
  const m = config.model;
  const { source } = datasetSource(spec, { frames: m.frames, size: m.size, seed: config.seed, phase: 'pretrain' });
  const cuda = config.device === 'cuda';
  if (cuda) native().cudaResetPeak();
  const session = await Session.create(config);
  const losses: number[] = [];
  const moving: number[] = [];
  const loader = new DataLoader({ source, batchSize: config.batchSize, steps: o.steps, workers: 0, seed: config.seed });
  let timed = 0, t0 = 0;
  try {
    for await (const batch of loader) {
      o.signal?.throwIfAborted();
      // The first step (allocations, lazy init) is not timed.
      if (losses.length === 1) t0 = performance.now();
      const r = await session.trainStep(batch.clips, batch.motion);
      if (losses.length >= 1) timed++;
      losses.push(r.loss);
      if (r.maskedMovingShare !== undefined) moving.push(r.maskedMovingShare);
      o.onStep?.(r.step, r.loss);
    }
    const secs = (performance.now() - t0) / 1000;
    const tail = losses.slice(-Math.max(1, Math.ceil(losses.length / 10)));
    const mtail = moving.slice(-Math.max(1, Math.ceil(moving.length / 10)));
    const checkpoint = o.out;
    if (checkpoint) await saveCheckpoint(checkpoint, session, { session: config, model: { ...m } });
    return {
      config,
      losses,
      finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
      clipsPerS: timed > 0 ? (timed * config.batchSize) / secs : NaN,
      peakMemGiB: cuda ? native().cudaMemory().peakGiB : process.resourceUsage().maxRSS / 1024 / 1024,
      peakMemKind: cuda ? 'cuda' : 'cpu-rss',
      ...(mtail.length ? { maskedMovingShare: mtail.reduce((a, b) => a + b, 0) / mtail.length } : {}),
      ...(checkpoint ? { checkpoint } : {}),
    };
  } finally {
    await loader.close();
    session.dispose();
  }
}
