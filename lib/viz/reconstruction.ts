/**
 * A picture of what the MAE saw and made: for each clip, rows of input frames, the masked input
 * (masked tokens greyed out), the reconstruction (visible tokens as given, masked tokens from the
 * decoder) and, when the strategy has a policy, the sampler's per-token probabilities as a heat map.
 * A column on the left names each row (lib/viz/raster.ts's 5x7 label font).
 */
import { encodePng, encodePngAsync } from './png.js';
import { labelHeight, labelWidth, Raster } from './raster.js';

export interface ClipGeometry {
  frames: number;
  size: number;
  tubelet: number;
  patch: number;
}

export interface ReconstructionInput {
  /** uint8 [B, T, H, W, 3]. */
  clips: Uint8Array;
  /** uint8 [B, N], 1 = masked. */
  mask: Uint8Array;
  /** float [B, Nm, tubelet*patch*patch*3]: normalised-pixel predictions for masked tokens, ascending token order, values in (dt, dy, dx, c) order. */
  pred: Float32Array;
  /** float [B, N]: the sampler's per-token probabilities, when the strategy has one. */
  policy?: Float32Array;
  /** Clips in the batch. */
  batch: number;
}

const GAP = 2;
const CLIP_GAP = 8;
const BACKGROUND = 255;

/** The rows' names, top to bottom (the policy row only with a learned sampler). */
export const ROW_LABELS = ['INPUT', 'MASKED INPUT', 'RECONSTRUCTION', 'POLICY'] as const;
const LABEL_PAD = 6;
const LABEL_COLOUR = [0, 0, 0] as const;
/** Scale of the 5x7 label font: 1 (7 pixels high) for frames under 32 pixels, else 2 (14 pixels high). */
export function labelScale(size: number): number {
  return size >= 32 ? 2 : 1;
}
/** Width of the label column for frames of `size` pixels; the frames start at this x. */
export function labelColumnWidth(size: number): number {
  return Math.max(...ROW_LABELS.map((l) => labelWidth(l, labelScale(size)))) + 2 * LABEL_PAD;
}

/**
 * Undoes the per-token target normalisation with the input's own statistics: the target was
 * (x/255 - mu) / (sd_unbiased + 1e-6) per token and channel, so x = 255 * (pred * (sd + 1e-6) + mu).
 */
function denormalise(clip: Uint8Array, g: ClipGeometry, token: number, pred: Float32Array, predOffset: number, out: Uint8Array): void {
  const { size: S, tubelet: tt, patch: p } = g;
  const grid = S / p;
  const t0 = Math.floor(token / (grid * grid)) * tt;
  const gy = Math.floor(token / grid) % grid;
  const gx = token % grid;
  const n = tt * p * p;
  for (let c = 0; c < 3; c++) {
    let sum = 0;
    let sq = 0;
    for (let dt = 0; dt < tt; dt++)
      for (let dy = 0; dy < p; dy++)
        for (let dx = 0; dx < p; dx++) {
          const v = clip[(((t0 + dt) * S + gy * p + dy) * S + gx * p + dx) * 3 + c]! / 255;
          sum += v;
          sq += v * v;
        }
    const mu = sum / n;
    const sd = Math.sqrt(Math.max(0, (sq - n * mu * mu) / (n - 1)));
    let k = 0;
    for (let dt = 0; dt < tt; dt++)
      for (let dy = 0; dy < p; dy++)
        for (let dx = 0; dx < p; dx++, k++) {
          const v = pred[predOffset + k * 3 + c]! * (sd + 1e-6) + mu;
          out[(((t0 + dt) * S + gy * p + dy) * S + gx * p + dx) * 3 + c] = Math.max(0, Math.min(255, Math.round(v * 255)));
        }
  }
}

/** A blue -> yellow colour for a value in [0, 1]. */
function heat(v: number): [number, number, number] {
  const x = Math.max(0, Math.min(1, v));
  return [Math.round(255 * x), Math.round(80 + 150 * x), Math.round(220 * (1 - x))];
}

/** The picture's pixels: RGB [height, width, 3], with the frames starting at x = `left` (after the label column). */
export interface ReconstructionImage {
  rgb: Uint8Array;
  width: number;
  height: number;
  /** Width of the label column: frame t of a row starts at x = left + t * (size + 2). */
  left: number;
}

/** Composes the picture as RGB pixels; returns them with the width and height. */
export function reconstructionImage(input: ReconstructionInput, g: ClipGeometry): ReconstructionImage {
  const gen = composeClips(input, g);
  for (;;) {
    const r = gen.next();
    if (r.done) return r.value;
  }
}

/** The same picture, one clip per event-loop turn. */
export async function reconstructionImageAsync(input: ReconstructionInput, g: ClipGeometry): Promise<ReconstructionImage> {
  const gen = composeClips(input, g);
  for (;;) {
    const r = gen.next();
    if (r.done) return r.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Draws clip after clip, yielding after each. */
function* composeClips(input: ReconstructionInput, g: ClipGeometry): Generator<void, ReconstructionImage> {
  const { frames: T, size: S, tubelet: tt, patch: p } = g;
  const grid = S / p;
  const N = (T / tt) * grid * grid;
  const clipBytes = T * S * S * 3;
  const B = input.batch;
  const rows = input.policy ? 4 : 3;
  const left = labelColumnWidth(S);
  const scale = labelScale(S);
  const width = left + T * S + (T - 1) * GAP;
  const clipHeight = rows * S + (rows - 1) * GAP;
  const height = B * clipHeight + (B - 1) * CLIP_GAP;
  const raster = new Raster(width, height, [BACKGROUND, BACKGROUND, BACKGROUND]);
  const img = raster.data;
  const values = tt * p * p * 3;
  let predClip = 0;

  const blit = (frame: Uint8Array, row: number, b: number, t: number) => {
    const y0 = b * (clipHeight + CLIP_GAP) + row * (S + GAP);
    const x0 = left + t * (S + GAP);
    for (let y = 0; y < S; y++) img.set(frame.subarray(y * S * 3, (y + 1) * S * 3), ((y0 + y) * width + x0) * 3);
  };

  for (let b = 0; b < B; b++) {
    const clip = input.clips.subarray(b * clipBytes, (b + 1) * clipBytes);
    const mask = input.mask.subarray(b * N, (b + 1) * N);
    const masked = new Uint8Array(clip);
    const recon = new Uint8Array(clip);
    let k = 0;
    for (let i = 0; i < N; i++) {
      if (!mask[i]) continue;
      denormalise(clip, g, i, input.pred, (predClip + k) * values, recon);
      k++;
      const t0 = Math.floor(i / (grid * grid)) * tt;
      const gy = Math.floor(i / grid) % grid;
      const gx = i % grid;
      for (let dt = 0; dt < tt; dt++)
        for (let dy = 0; dy < p; dy++)
          for (let dx = 0; dx < p; dx++) {
            const o = (((t0 + dt) * S + gy * p + dy) * S + gx * p + dx) * 3;
            for (let c = 0; c < 3; c++) masked[o + c] = Math.round(masked[o + c]! * 0.15 + 128 * 0.85);
          }
    }
    predClip += k;
    let pol: Uint8Array | undefined;
    if (input.policy) {
      const probs = input.policy.subarray(b * N, (b + 1) * N);
      // Min-max per clip: an early, nearly uniform policy still shows its ranking.
      let max = -Infinity;
      let min = Infinity;
      for (let i = 0; i < N; i++) {
        max = Math.max(max, probs[i]!);
        min = Math.min(min, probs[i]!);
      }
      pol = new Uint8Array(clipBytes);
      for (let t = 0; t < T; t++)
        for (let y = 0; y < S; y++)
          for (let x = 0; x < S; x++) {
            const i = Math.floor(t / tt) * grid * grid + Math.floor(y / p) * grid + Math.floor(x / p);
            const [r, gg, bb] = heat(max > min ? (probs[i]! - min) / (max - min) : 0.5);
            const o = ((t * S + y) * S + x) * 3;
            pol[o] = r;
            pol[o + 1] = gg;
            pol[o + 2] = bb;
          }
    }
    // Row names, centred on each row's height (the frames are at least 16 pixels high).
    for (let row = 0; row < rows; row++) {
      const y = b * (clipHeight + CLIP_GAP) + row * (S + GAP) + Math.max(0, Math.floor((S - labelHeight(scale)) / 2));
      raster.label(ROW_LABELS[row]!, LABEL_PAD, y, LABEL_COLOUR, scale);
    }
    const frameBytes = S * S * 3;
    for (let t = 0; t < T; t++) {
      blit(clip.subarray(t * frameBytes, (t + 1) * frameBytes), 0, b, t);
      blit(masked.subarray(t * frameBytes, (t + 1) * frameBytes), 1, b, t);
      blit(recon.subarray(t * frameBytes, (t + 1) * frameBytes), 2, b, t);
      if (pol) blit(pol.subarray(t * frameBytes, (t + 1) * frameBytes), 3, b, t);
    }
    yield;
  }
  return { rgb: img, width, height, left };
}

/** The picture as a PNG file's bytes. */
export function reconstructionPng(input: ReconstructionInput, g: ClipGeometry): Buffer {
  const { rgb, width, height } = reconstructionImage(input, g);
  return encodePng(rgb, width, height);
}

/** reconstructionPng with the compression off the event loop. */
export async function reconstructionPngAsync(input: ReconstructionInput, g: ClipGeometry): Promise<Buffer> {
  const { rgb, width, height } = await reconstructionImageAsync(input, g);
  return encodePngAsync(rgb, width, height);
}
