/**
 * The reconstruction figure: for each clip, four labelled rows over its frames — the input, the sampler's
 * probability map (when the strategy has a learned sampler; else a flat map), the mask (masked
 * tubelets dimmed) and the reconstruction (visible tubelets from the input, masked ones from the
 * prediction). VideoMAE's targets are per-tubelet normalised pixels, and a masked tubelet's own
 * mean/std are not known to the model: like VideoMAE's visualisation, each predicted tubelet is
 * de-normalised with the ground-truth tubelet's mean and (unbiased) std, so the picture shows the
 * predicted pattern at the true brightness and contrast.
 */
import type { Reconstruction } from '../session.js';
import { encodeGif } from './gif.js';
import { encodePng } from './png.js';
import { heat, labelHeight, labelWidth, Raster, type RGB } from './raster.js';

export interface FigureInput {
  /** uint8 [B, T, S, S, 3] */
  clips: Uint8Array;
  batch: number;
  frames: number;
  size: number;
  tubelet: number;
  patch: number;
  rec: Reconstruction;
  /** One line per clip, e.g. its class. */
  labels?: string[];
  title?: string;
}

export interface Figure {
  png: Buffer;
  gif: Buffer;
  width: number;
  height: number;
  /** Per clip [T, S, S, 3] RGB images of each row, for tests. */
  rows: { input: Uint8Array; policy: Uint8Array; mask: Uint8Array; recon: Uint8Array }[];
}

const EPS = 1e-6;

/** Per-clip images (each [T, S, S, 3]) of the four rows. */
export function reconstructionRows(f: FigureInput): Figure['rows'] {
  const { frames: T, size: S, tubelet: tt, patch: p, rec } = f;
  const side = S / p, perSlot = side * side, N = (T / tt) * perSlot, V = tt * p * p * 3;
  if (rec.tokens !== N || rec.valuesPerToken !== V) throw new RangeError(`reconstruction has ${rec.tokens} tokens of ${rec.valuesPerToken} values, expected ${N} of ${V}`);
  const clipBytes = T * S * S * 3;
  const out: Figure['rows'] = [];
  for (let b = 0; b < f.batch; b++) {
    const clip = f.clips.subarray(b * clipBytes, (b + 1) * clipBytes);
    const input = clip.slice();
    const policy = new Uint8Array(clipBytes), mask = new Uint8Array(clipBytes), recon = clip.slice();
    const pol = rec.policy?.subarray(b * N, (b + 1) * N);
    let pmax = 0;
    if (pol) for (const v of pol) pmax = Math.max(pmax, v);
    let m = 0; // index among this clip's masked tokens (ascending token order)
    for (let n = 0; n < N; n++) {
      const slot = Math.floor(n / perSlot), hy = Math.floor((n % perSlot) / side), wx = n % side;
      const masked = rec.mask[b * N + n] === 1;
      const colour: RGB = pol ? heat(pmax > 0 ? pol[n]! / pmax : 0) : [96, 96, 96];
      // ground-truth tubelet statistics per channel, in [0, 1]
      const mean = [0, 0, 0], sq = [0, 0, 0], cnt = tt * p * p;
      for (let dt = 0; dt < tt; dt++)
        for (let dy = 0; dy < p; dy++)
          for (let dx = 0; dx < p; dx++) {
            const o = (((slot * tt + dt) * S + hy * p + dy) * S + wx * p + dx) * 3;
            for (let c = 0; c < 3; c++) {
              const v = clip[o + c]! / 255;
              mean[c]! += v;
              sq[c]! += v * v;
            }
          }
      const std = [0, 1, 2].map((c) => Math.sqrt(Math.max(0, (sq[c]! - (mean[c]! * mean[c]!) / cnt) / (cnt - 1))));
      for (let c = 0; c < 3; c++) mean[c]! /= cnt;
      for (let dt = 0; dt < tt; dt++)
        for (let dy = 0; dy < p; dy++)
          for (let dx = 0; dx < p; dx++) {
            const o = (((slot * tt + dt) * S + hy * p + dy) * S + wx * p + dx) * 3;
            for (let c = 0; c < 3; c++) {
              policy[o + c] = colour[c]!;
              mask[o + c] = masked ? Math.round(clip[o + c]! * 0.15 + 40) : clip[o + c]!;
              if (masked) {
                // prediction layout per token: (dt, dy, dx, c), as the normalised-pixel targets
                const v = rec.pred[(b * rec.maskedPerClip + m) * V + ((dt * p + dy) * p + dx) * 3 + c]!;
                recon[o + c] = Math.max(0, Math.min(255, Math.round((v * (std[c]! + EPS) + mean[c]!) * 255)));
              }
            }
          }
      if (masked) m++;
    }
    out.push({ input, policy, mask, recon });
  }
  return out;
}

/** Row names of the PNG, top to bottom (the words of the trainer's reconstruction.png). */
const ROW_NAMES = ['INPUT', 'POLICY', 'MASKED INPUT', 'RECONSTRUCTION'] as const;
/** Column names of the GIF, short enough to sit over one frame at twice the label font's size. */
const GIF_NAMES = ['INPUT', 'POLICY', 'MASKED', 'RECON'] as const;

export function renderFigure(f: FigureInput): Figure {
  const rows = reconstructionRows(f);
  const { frames: T, size: S } = f;
  const scale = Math.max(1, Math.floor(96 / S));
  const cell = S * scale, gap = 4, labelW = Math.max(...ROW_NAMES.map((n) => labelWidth(n, 2))) + 12, titleH = f.title ? 22 : 0, clipLabelH = 18;
  const width = labelW + T * (cell + gap) + gap;
  const blockH = clipLabelH + 4 * (cell + gap);
  const height = titleH + f.batch * blockH + gap;
  const img = new Raster(width, height);
  if (f.title) img.label(f.title, gap, 4, [0, 0, 0], 2);
  const fb = S * S * 3;
  rows.forEach((r, b) => {
    const y0 = titleH + b * blockH;
    if (f.labels?.[b]) img.label(f.labels[b]!, labelW, y0 + 2, [40, 40, 160], 2);
    [r.input, r.policy, r.mask, r.recon].forEach((row, k) => {
      const y = y0 + clipLabelH + k * (cell + gap);
      img.label(ROW_NAMES[k]!, 6, y + Math.floor((cell - labelHeight(2)) / 2), [0, 0, 0], 2);
      for (let t = 0; t < T; t++) img.blit(row.subarray(t * fb, (t + 1) * fb), S, S, labelW + t * (cell + gap), y, scale);
    });
  });
  // GIF: frame t shows the four rows side by side for every clip.
  // Column names in the 5x7 font, at twice its size where they fit over a frame (cells are >= 96 pixels).
  const gifScale = GIF_NAMES.every((n) => labelWidth(n, 2) <= cell) ? 2 : 1;
  const head = labelHeight(gifScale) + 6;
  const gw = 4 * (cell + gap) + gap, gh = f.batch * (cell + gap) + gap + head;
  const gifFrames: Uint8Array[] = [];
  for (let t = 0; t < T; t++) {
    const g = new Raster(gw, gh);
    GIF_NAMES.forEach((n, k) => g.label(n, gap + k * (cell + gap), 3, [0, 0, 0], gifScale));
    rows.forEach((r, b) =>
      [r.input, r.policy, r.mask, r.recon].forEach((row, k) => g.blit(row.subarray(t * fb, (t + 1) * fb), S, S, gap + k * (cell + gap), head + b * (cell + gap), scale)),
    );
    gifFrames.push(g.data);
  }
  return { png: encodePng(img.data, width, height), gif: encodeGif(gifFrames, gw, gh, 250), width, height, rows };
}
