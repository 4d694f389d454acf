// Resolved SessionConfig objects for tests, written out in full (the widths of lib/config's MODEL_PRESETS)
// (VideoMAE's modeling_pretrain.py sizes) and VideoMAE's recipe for the rest.
import type { NativeSessionConfig } from '../lib/native.js';

export const presets = {
  tiny: { encoderDim: 192, encoderDepth: 12, encoderHeads: 3, decoderDim: 96, decoderDepth: 4, decoderHeads: 3 },
  small: { encoderDim: 384, encoderDepth: 12, encoderHeads: 6, decoderDim: 192, decoderDepth: 4, decoderHeads: 3 },
  base: { encoderDim: 768, encoderDepth: 12, encoderHeads: 12, decoderDim: 384, decoderDepth: 4, decoderHeads: 6 },
  large: { encoderDim: 1024, encoderDepth: 24, encoderHeads: 16, decoderDim: 512, decoderDepth: 4, decoderHeads: 8 },
} as const;
export type Preset = keyof typeof presets;

export interface TestConfigOptions {
  preset?: Preset;
  frames?: number;
  size?: number;
  batchSize?: number;
  strategy?: NativeSessionConfig['masking']['strategy'];
  ratio?: number;
  seed?: number;
  lr?: number;
  warmupSteps?: number;
  totalSteps?: number;
  device?: 'cpu' | 'cuda';
  precision?: 'fp32' | 'bf16';
  clipGrad?: number;
  /** runtime.graph (default true, lib/config's default). */
  graph?: boolean;
  /** runtime.legacyAdamw (default false). */
  legacyAdamw?: boolean;
}

export function sessionConfig(o: TestConfigOptions = {}): NativeSessionConfig {
  const preset = o.preset ?? 'tiny';
  return {
    model: { preset, frames: o.frames ?? 8, size: o.size ?? 64, tubelet: 2, patch: 16, channels: 3, ...presets[preset], mlpRatio: 4 },
    masking: { strategy: o.strategy ?? 'tube', ratio: o.ratio ?? 0.9 },
    sampler: {
      dim: 384,
      heads: 6,
      temperature: 1,
      ppoEpochs: 4,
      clipEps: 0.2,
      valueCoef: 0.5,
      beta: 1,
      betaStart: 1,
      betaSteps: 0,
      reward: 'error',
      targetKl: 0.01,
      lr: 1e-4,
      warmupSteps: 0,
      clipGrad: 1,
      weightDecay: 0.05,
      detachInput: true,
      exactKl: false,
      adamaeWeight: 1e-4,
    },
    optim: {
      lr: o.lr ?? 1.5e-4,
      minLr: 1e-6,
      warmupSteps: o.warmupSteps ?? 0,
      totalSteps: o.totalSteps ?? 1000,
      weightDecay: 0.05,
      beta1: 0.9,
      beta2: 0.95,
      clipGrad: o.clipGrad ?? 0,
    },
    batchSize: o.batchSize ?? 2,
    device: o.device ?? 'cpu',
    seed: o.seed ?? 1,
    precision: o.precision ?? 'fp32',
    runtime: { graph: o.graph ?? true, staging: true, sdpa: 'auto', layerNormBf16: true, legacyAdamw: o.legacyAdamw ?? false, rolloutGraph: true, ppoGraph: true },
  };
}
