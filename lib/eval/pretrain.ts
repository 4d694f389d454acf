/**
 * Pretraining for evaluation tools (tats compare, bench/pretrain-vs-scratch.mjs, the fine-tuning
 * tests): a fixed budget of steps per strategy, run by lib/train's Trainer, the trainer of
 * `tats pretrain`. Same step, same guards (ERR_NONFINITE_LOSS when the loss or the sampler's
 * telemetry turns non-finite), same run directory (config.json, metrics.jsonl, checkpoints/,
 * reconstruction.png when asked). This file only maps the tools' flat options onto a
 * PretrainOptions and gathers the per-step numbers the reports need (loss curve, throughput, peak
 * memory, masked-moving share).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConfigError } from '../errors/index.js';
import { native, type NativeSessionConfig } from '../native.js';
import { resolveConfig, toSessionConfig, STRATEGIES, type PretrainConfig, type PretrainOptions, type Strategy } from '../config/index.js';
import { Trainer } from '../train/trainer.js';
import type { StepRecord } from '../train/types.js';
import type { ModelPreset } from '../config/finetune.js';
import type { SyntheticStyle } from '../data/synthetic.js';

export { STRATEGIES, type Strategy };

/**
 * Clips in the synthetic pretraining set unless `syntheticClips` is given: the whole synthetic
 * train split (what pretrainRun drew from before it ran on the trainer), so that long sweeps
 * rarely repeat a clip. `tats pretrain`'s own default (`data.syntheticClips`) is 1024.
 */
export const PRETRAIN_RUN_SYNTHETIC_CLIPS = 10_000;

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
  /** Dataset spec (see docs/cli.md). Defaults to 'synthetic'. */
  dataset?: string;
  /** Clips of the synthetic set. Defaults to PRETRAIN_RUN_SYNTHETIC_CLIPS (10000). */
  syntheticClips?: number;
  /** How the synthetic clips look (`data.syntheticStyle`). Defaults to the default look. */
  syntheticStyle?: Partial<SyntheticStyle>;
  /** Steps between lines of metrics.jsonl. Defaults to the trainer's (10). */
  logEvery?: number;
  /** Steps between checkpoints (one is always written at the end). Defaults to the trainer's (1000). */
  checkpointEvery?: number;
  /** Write `<out>/reconstruction.png` at the end. Defaults to false. */
  picture?: boolean;
}

/** The trainer options (lib/config's PretrainOptions) for these settings, written to `out`. */
export function pretrainOptions(o: PretrainRunOptions, out: string): PretrainOptions {
  if (!STRATEGIES.includes(o.strategy)) throw new ConfigError('strategy', o.strategy, `one of ${STRATEGIES.join(', ')}`);
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
  return {
    model,
    masking: { strategy: o.strategy, ...(o.ratio !== undefined ? { ratio: o.ratio } : {}) },
    sampler,
    optim: o.lr !== undefined ? { lr: o.lr } : {},
    data: { syntheticClips: o.syntheticClips ?? PRETRAIN_RUN_SYNTHETIC_CLIPS, ...(o.syntheticStyle ? { syntheticStyle: o.syntheticStyle } : {}) },
    dataset: o.dataset ?? 'synthetic',
    steps: o.steps,
    out,
    picture: o.picture ?? false,
    ...(o.logEvery !== undefined ? { logEvery: o.logEvery } : {}),
    ...(o.checkpointEvery !== undefined ? { checkpointEvery: o.checkpointEvery } : {}),
    ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
    ...(o.device !== undefined ? { device: o.device } : {}),
    ...(o.precision !== undefined ? { precision: o.precision } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
  } as PretrainOptions;
}

/** The session config through lib/config's resolver (its defaults and checks), with these overrides. */
export function pretrainSessionConfig(o: PretrainRunOptions): NativeSessionConfig {
  return toSessionConfig(resolveConfig(pretrainOptions(o, 'runs/pretrain'), { cudaAvailable: () => native().info().cudaAvailable }));
}

export interface PretrainRunResult {
  /** The session config the run trained with. */
  config: NativeSessionConfig;
  /** The resolved run config (as in the run's config.json). */
  runConfig: PretrainConfig;
  /** MAE loss of every step this call ran (a resumed run: the steps after its checkpoint). */
  losses: number[];
  /** Mean loss of the last 10% of steps. */
  finalLoss: number;
  /** Clips per second over the steps after the first (which allocates and initialises lazily). */
  clipsPerS: number;
  /** CUDA: the caching allocator's peak; CPU: the process's peak resident set (includes everything else in it). */
  peakMemGiB: number;
  peakMemKind: 'cuda' | 'cpu-rss';
  /** Mean share of masked tokens that move over the last 10% of steps (data with a motion map). */
  maskedMovingShare?: number;
  /** The run directory (with `out`): config.json, metrics.jsonl, checkpoints/, reconstruction.png. */
  out?: string;
  /** The last checkpoint directory (with `out`). */
  checkpoint?: string;
  /** reconstruction.png (with `out` and `picture`). */
  picture?: string;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const tail = (v: number[]) => v.slice(-Math.max(1, Math.ceil(v.length / 10)));

/**
 * Pretrains with lib/train's Trainer for `steps` steps. With `out`, that is the run directory
 * (a directory that already holds a run is an error unless `resume`); without, the run goes to a
 * temporary directory that is removed afterwards. An aborted `signal` stops after the step in
 * flight, writes a checkpoint and rejects with the abort reason.
 */
export async function pretrainRun(
  o: PretrainRunOptions & { out?: string; resume?: boolean; signal?: AbortSignal; onStep?: (step: number, loss: number) => void },
): Promise<PretrainRunResult> {
  const temp = o.out === undefined ? mkdtempSync(join(tmpdir(), 'tats-pretrain-')) : undefined;
  try {
    // env: {}: an evaluation run is one process even under a launcher's RANK/WORLD_SIZE.
    const trainer = await Trainer.open(pretrainOptions(o, o.out ?? temp!), { env: {}, ...(o.resume ? { resume: true } : {}) });
    try {
      const cuda = trainer.config.device === 'cuda';
      if (cuda) native().cudaResetPeak();
      const losses: number[] = [];
      const moving: number[] = [];
      let timedMs = 0;
      let timedClips = 0;
      trainer.on('step', (r: StepRecord) => {
        // The first step of the call (allocations, lazy init) is not timed.
        if (losses.length > 0) {
          timedMs += r.stepMs;
          timedClips += trainer.config.batchSize * trainer.config.worldSize;
        }
        losses.push(r.loss);
        if (r.maskedMovingShare !== undefined && r.maskedMovingShare !== null) moving.push(r.maskedMovingShare);
        o.onStep?.(r.step, r.loss);
      });
      const res = await trainer.run(o.signal ? { signal: o.signal } : {});
      if (res.aborted) o.signal?.throwIfAborted();
      return {
        config: toSessionConfig(trainer.config),
        runConfig: trainer.config,
        losses,
        finalLoss: losses.length ? mean(tail(losses)) : NaN,
        clipsPerS: timedMs > 0 ? (timedClips * 1000) / timedMs : NaN,
        peakMemGiB: cuda ? native().cudaMemory().peakGiB : process.resourceUsage().maxRSS / 1024 / 1024,
        peakMemKind: cuda ? 'cuda' : 'cpu-rss',
        ...(moving.length ? { maskedMovingShare: mean(tail(moving)) } : {}),
        ...(o.out !== undefined ? { out: res.out } : {}),
        ...(o.out !== undefined && res.checkpoint ? { checkpoint: res.checkpoint } : {}),
        ...(o.out !== undefined && res.picture ? { picture: res.picture } : {}),
      };
    } finally {
      await trainer.dispose();
    }
  } finally {
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}
