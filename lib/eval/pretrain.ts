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
import { resolveConfig, toSessionConfig, STRATEGIES, type PretrainOptions, type Strategy } from '../config/index.js';
import type { ModelPreset } from './config.js';

export { STRATEGIES, type Strategy };

export interface PretrainRunOptions {
  strategy: Strategy;
  model?: ModelPreset;
  encoderDepth?: number;
  decoderDepth?: number;
  frames?: number;
  size?: number;
  /** Patch side in pixels. Defaults to 16. */
  patch?: number;
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

/** The session config through lib/config's resolver (its defaults and checks), with these overrides. */
export function pretrainSessionConfig(o: PretrainRunOptions): NativeSessionConfig {
  if (!STRATEGIES.includes(o.strategy)) throw new ConfigError('--strategies', o.strategy, STRATEGIES.join(', '));
  const model: Record<string, unknown> = { preset: o.model ?? 'tiny' };
  if (o.frames !== undefined) model.frames = o.frames;
  if (o.size !== undefined) model.size = o.size;
  if (o.patch !== undefined) model.patch = o.patch;
  if (o.encoderDepth !== undefined) model.encoderDepth = o.encoderDepth;
  if (o.decoderDepth !== undefined) model.decoderDepth = o.decoderDepth;
  const sampler: Record<string, unknown> = {};
  if (o.samplerDim !== undefined) sampler.dim = o.samplerDim;
  if (o.samplerHeads !== undefined) sampler.heads = o.samplerHeads;
  if (o.ppoEpochs !== undefined) sampler.ppoEpochs = o.ppoEpochs;
  const options: PretrainOptions = {
    model,
    masking: { strategy: o.strategy, ...(o.ratio !== undefined ? { ratio: o.ratio } : {}) },
    sampler,
    optim: o.lr !== undefined ? { lr: o.lr } : {},
    steps: o.steps,
    ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
    ...(o.device !== undefined ? { device: o.device } : {}),
    ...(o.precision !== undefined ? { precision: o.precision } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
  } as PretrainOptions;
  return toSessionConfig(resolveConfig(options, { cudaAvailable: () => native().info().cudaAvailable }));
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
  const { source } = datasetSource(spec, { frames: m.frames, size: m.size, tubelet: m.tubelet, patch: m.patch, seed: config.seed, phase: 'pretrain' });
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
