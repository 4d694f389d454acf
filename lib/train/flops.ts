/**
 * Analytic FLOPs of one training step, for `tats bench`'s model TFLOP/s and MFU. A multiply-add
 * counts 2 FLOPs; only matmuls and attention are counted (norms, softmax, GELU, the optimizer are
 * left out, as is usual for MFU). Backward is counted as twice the forward.
 *
 * MAE (VideoMAE): patch embedding on the tokens the step embeds: all N for the learned samplers
 * (TATS, AdaMAE: their policies read every token's embedding), only the Nv visible ones for the
 * fixed strategies (random, tube, frame: the session gathers the visible patches and embeds just
 * those; native/core/videomae.h, Encoder::input); the encoder on the Nv visible tokens,
 * encoder_to_decoder on Nv, the decoder on all N, the head on the Nm masked tokens. TATS with the
 * progress reward runs one more MAE forward (no backward) after the update, embedding only the
 * visible patches (native/core/train_step.cpp, errors_after_update). Per transformer block and
 * token, at width D, MLP ratio r, sequence L:
 *   qkv 3D^2 + proj D^2 + MLP 2rD^2 multiply-adds, plus attention QK^T and AV: 2LD.
 *
 * TATS sampler (native/core/tats_sampler.h), at width C over the T' = T/tubelet token frames and S tokens a frame:
 *   its linear maps on every one of the N tokens (tatsSamplerLinearMacs: one multiply-add per weight
 *   of each Linear, which the tests check against the sampler's own weights); stage 1: per query,
 *   one softmax per frame over S keys: QK and AV 2*N*T'*S*C = 2 N^2 C; stage 2's per-head logits
 *   and pooling over the raw trajectory tokens 2*N*h*T'*C. One forward without grad to sample,
 *   then K PPO epochs of forward + backward: (1 + 3K) forwards.
 * AdaMAE sampler: one self-attention block at width C on N tokens, trained jointly (3 forwards).
 */
import type { PretrainConfig } from '../config/index.js';
import { maskedTokens, tokensPerClip } from '../config/index.js';

export interface FlopCount {
  /** What the count was computed from. */
  inputs: {
    batch: number;
    tokens: number;
    visible: number;
    masked: number;
    /** Tokens whose patches are embedded: N for a sampler that reads every embedding, else Nv. */
    embedded: number;
    tokenFrames: number;
    tokensPerFrame: number;
    valuesPerToken: number;
    encoder: { dim: number; depth: number; mlpRatio: number };
    decoder: { dim: number; depth: number };
    sampler: { strategy: string; dim: number; ppoEpochs: number } | null;
    backwardFactor: number;
    /** Whether one more MAE forward is counted (TATS's progress reward: errors after the update). */
    extraForward: boolean;
  };
  /** FLOPs of one training step, whole batch, by part. */
  encoder: number;
  decoder: number;
  sampler: number;
  total: number;
}

/** The TATS sampler's MLP ratio (native/core/tats_sampler.h, TatsSamplerOptions::mlp_ratio). */
const TATS_SAMPLER_MLP_RATIO = 4;

/**
 * Multiply-adds per token of the TATS sampler's linear maps at width C over inputDim-wide inputs:
 * the input embedding, q, k, v and output projections, proj_q, stage 2 factored through proj_kv's
 * key and value halves (a_h = Wk_h^T q_h and y_h = Wv_h z_h: C^2 each, native/core/trajectory_attention.h),
 * the variance projection, the MLP and the actor and critic MLPs (2C -> C -> 1 each).
 */
export function tatsSamplerLinearMacs(inputDim: number, C: number): number {
  return (
    inputDim * C + // embed
    4 * C * C + // qkv, proj
    C * C + // proj_q
    2 * C * C + // stage 2 through proj_kv's halves
    C * C + // var_proj
    2 * TATS_SAMPLER_MLP_RATIO * C * C + // mlp
    2 * (2 * C * C + C) // actor, critic
  );
}

function blockMacs(tokens: number, dim: number, mlpRatio: number): number {
  return tokens * ((4 + 2 * mlpRatio) * dim * dim + 2 * tokens * dim);
}

/** FLOPs of one training step of `config` (see the module comment for the terms). */
export function trainStepFlops(config: PretrainConfig): FlopCount {
  const m = config.model;
  const N = tokensPerClip(m);
  const Nm = maskedTokens(m, config.masking);
  const Nv = N - Nm;
  const Tp = m.frames / m.tubelet;
  const S = N / Tp;
  const V = 3 * m.tubelet * m.patch * m.patch;
  const B = config.batchSize;
  const D = m.encoderDim;
  const Dd = m.decoderDim;
  const r = m.mlpRatio;

  const strategy = config.masking.strategy;
  const learned = strategy === 'tats' || strategy === 'adamae';
  const embedded = learned ? N : Nv;

  // Forward multiply-adds per clip.
  const encoderBlocks = m.encoderDepth * blockMacs(Nv, D, r);
  const encoder = embedded * V * D + encoderBlocks;
  const decoder = Nv * D * Dd + m.decoderDepth * blockMacs(N, Dd, r) + Nm * Dd * V;
  // TATS's progress reward: the errors after the update, one forward on the visible patches.
  const errorsAfter = strategy === 'tats' && config.sampler.reward === 'progress';

  let sampler = 0;
  const C = config.sampler.dim;
  if (strategy === 'tats') {
    const forward =
      N * tatsSamplerLinearMacs(D, C) +
      2 * N * N * C + // stage 1: per-frame attention, all frames
      2 * N * config.sampler.heads * Tp * C; // stage 2: logits a_h . yt_t and z_h = sum_t p yt_t
    sampler = forward * (1 + 3 * config.sampler.ppoEpochs);
  } else if (strategy === 'adamae') {
    sampler = (N * D * C + blockMacs(N, C, r) + N * C) * 3;
  }
  const flops = (macs: number) => 2 * macs * B;
  const enc = flops(encoder) * 3 + (errorsAfter ? flops(Nv * V * D + encoderBlocks) : 0);
  const dec = flops(decoder) * (errorsAfter ? 4 : 3);
  const smp = flops(sampler);
  return {
    inputs: {
      batch: B,
      tokens: N,
      visible: Nv,
      masked: Nm,
      embedded,
      tokenFrames: Tp,
      tokensPerFrame: S,
      valuesPerToken: V,
      encoder: { dim: D, depth: m.encoderDepth, mlpRatio: r },
      decoder: { dim: Dd, depth: m.decoderDepth },
      sampler: learned ? { strategy, dim: C, ppoEpochs: strategy === 'tats' ? config.sampler.ppoEpochs : 0 } : null,
      backwardFactor: 2,
      extraForward: errorsAfter,
    },
    encoder: enc,
    decoder: dec,
    sampler: smp,
    total: enc + dec + smp,
  };
}
