/**
 * Spatial transforms on uint8 clips [T, H, W, 3]: VideoMAE's multi-scale crop (GroupMultiScaleCrop
 * with 13 fixed offsets), bilinear crop-and-resize, horizontal flip, centre and three-crop test views.
 * Geometry is the same for every frame of a clip.
 */
import type { Rand } from './sampling.js';

/** A crop box in source pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** mulberry32: a small seedable uniform source for transforms and sampling. */
export function seededRand(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** VideoMAE pre-training scales. */
export const MULTI_SCALE = [1, 0.875, 0.75, 0.66] as const;

/**
 * The 13 fixed offsets of GroupMultiScaleCrop (`fill_fix_offset` with more_fix_crop): 4 corners,
 * centre, 4 edge centres, 4 quarter points, on a grid of steps (W - cw) // 4, (H - ch) // 4.
 */
export function fixedOffsets(w: number, h: number, cw: number, ch: number): Array<[number, number]> {
  const ws = Math.floor((w - cw) / 4);
  const hs = Math.floor((h - ch) / 4);
  return [
    [0, 0], [4 * ws, 0], [0, 4 * hs], [4 * ws, 4 * hs], [2 * ws, 2 * hs],
    [0, 2 * hs], [4 * ws, 2 * hs], [2 * ws, 4 * hs], [2 * ws, 0],
    [ws, hs], [3 * ws, hs], [ws, 3 * hs], [3 * ws, 3 * hs],
  ];
}

/**
 * Samples a GroupMultiScaleCrop box on a w x h source for an outW x outH output: crop sides are
 * short side x scale (snapped to the output size within 3 px), width and height scales at most
 * `maxDistort` steps apart, offset one of the 13 fixed positions.
 */
export function multiScaleCropBox(
  w: number,
  h: number,
  outW: number,
  outH: number,
  rand: Rand,
  scales: readonly number[] = MULTI_SCALE,
  maxDistort = 1,
): Box {
  const base = Math.min(w, h);
  const sizes = scales.map((s) => Math.floor(base * s));
  const ch = sizes.map((x) => (Math.abs(x - outH) < 3 ? outH : x));
  const cw = sizes.map((x) => (Math.abs(x - outW) < 3 ? outW : x));
  const pairs: Array<[number, number]> = [];
  ch.forEach((hh, i) => cw.forEach((ww, j) => Math.abs(i - j) <= maxDistort && pairs.push([Math.min(w, ww), Math.min(h, hh)])));
  const [width, height] = pairs[Math.min(pairs.length - 1, Math.floor(rand() * pairs.length))]!;
  const offs = fixedOffsets(w, h, width, height);
  const [x, y] = offs[Math.min(offs.length - 1, Math.floor(rand() * offs.length))]!;
  return { x, y, width, height };
}

/** Centre box of side min(w, h) * fraction (1 = the largest centred square). */
export function centerBox(w: number, h: number, side = Math.min(w, h)): Box {
  return { x: Math.floor((w - side) / 2), y: Math.floor((h - side) / 2), width: side, height: side };
}

/** VideoMAE's 3 test crops: squares of the short side at the start, centre and end of the long side. */
export function threeCropBoxes(w: number, h: number): Box[] {
  const s = Math.min(w, h);
  if (w >= h) return [0, Math.floor((w - s) / 2), w - s].map((x) => ({ x, y: 0, width: s, height: s }));
  return [0, Math.floor((h - s) / 2), h - s].map((y) => ({ x: 0, y, width: s, height: s }));
}

/**
 * Bilinear crop-and-resize of every frame (half-pixel centres, like torch interpolate with
 * align_corners=False and PIL). clip: uint8 [T, H, W, 3]; returns uint8 [T, outH, outW, 3] (into `out`
 * if given).
 */
export function cropResize(
  clip: Uint8Array,
  frames: number,
  h: number,
  w: number,
  box: Box,
  outH: number,
  outW: number,
  out: Uint8Array = new Uint8Array(frames * outH * outW * 3),
): Uint8Array {
  if (box.x < 0 || box.y < 0 || box.x + box.width > w || box.y + box.height > h || box.width < 1 || box.height < 1) {
    throw new RangeError(`crop box ${JSON.stringify(box)} is outside the ${w}x${h} frame`);
  }
  if (clip.length < frames * h * w * 3) throw new RangeError(`clip has ${clip.length} bytes, expected ${frames * h * w * 3}`);
  const x0 = new Int32Array(outW);
  const x1 = new Int32Array(outW);
  const fx = new Float32Array(outW);
  const sxScale = box.width / outW;
  for (let o = 0; o < outW; o++) {
    let s = (o + 0.5) * sxScale - 0.5;
    if (s < 0) s = 0;
    const i = Math.min(Math.floor(s), box.width - 1);
    x0[o] = (box.x + i) * 3;
    x1[o] = (box.x + Math.min(i + 1, box.width - 1)) * 3;
    fx[o] = s - i;
  }
  const syScale = box.height / outH;
  const frameIn = h * w * 3;
  const frameOut = outH * outW * 3;
  const identity = box.width === outW && box.height === outH;
  for (let t = 0; t < frames; t++) {
    const bi = t * frameIn;
    const bo = t * frameOut;
    for (let oy = 0; oy < outH; oy++) {
      let s = (oy + 0.5) * syScale - 0.5;
      if (s < 0) s = 0;
      const i = Math.min(Math.floor(s), box.height - 1);
      const r0 = bi + (box.y + i) * w * 3;
      const r1 = bi + (box.y + Math.min(i + 1, box.height - 1)) * w * 3;
      const wy = s - i;
      let o = bo + oy * outW * 3;
      if (identity) {
        out.set(clip.subarray(r0 + box.x * 3, r0 + (box.x + outW) * 3), o);
        continue;
      }
      for (let ox = 0; ox < outW; ox++, o += 3) {
        const a = x0[ox]!;
        const b = x1[ox]!;
        const wx = fx[ox]!;
        for (let c = 0; c < 3; c++) {
          const top = clip[r0 + a + c]! + (clip[r0 + b + c]! - clip[r0 + a + c]!) * wx;
          const bot = clip[r1 + a + c]! + (clip[r1 + b + c]! - clip[r1 + a + c]!) * wx;
          out[o + c] = top + (bot - top) * wy + 0.5;
        }
      }
    }
  }
  return out;
}

/** Mirrors every frame left-right, in place. clip: uint8 [T, H, W, 3]. */
export function flipHorizontal(clip: Uint8Array, frames: number, h: number, w: number): Uint8Array {
  for (let r = 0; r < frames * h; r++) {
    let a = r * w * 3;
    let b = a + (w - 1) * 3;
    while (a < b) {
      for (let c = 0; c < 3; c++) {
        const t = clip[a + c]!;
        clip[a + c] = clip[b + c]!;
        clip[b + c] = t;
      }
      a += 3;
      b -= 3;
    }
  }
  return clip;
}

/**
 * Pre-training augmentation (VideoMAE DataAugmentationForVideoMAE without normalisation, which the
 * native patchify does): multi-scale crop, bilinear resize to size x size, flip with p = 0.5 only
 * when `flip` is true (VideoMAE pre-training never flips; SSv2 never).
 */
export function pretrainAugment(
  clip: Uint8Array,
  frames: number,
  h: number,
  w: number,
  size: number,
  rand: Rand,
  opts: { flip?: boolean; out?: Uint8Array } = {},
): Uint8Array {
  const box = multiScaleCropBox(w, h, size, size, rand);
  const out = cropResize(clip, frames, h, w, box, size, size, opts.out);
  if (opts.flip && rand() < 0.5) flipHorizontal(out, frames, size, size);
  return out;
}

/**
 * Cuts every test view from one decoded buffer (uint8 [F, H, W, 3] holding `plan.indices` in order,
 * decoded with the short side at `size`): each view's frames, cropped by threeCropBoxes (crop c of
 * 3; with 1 crop the centre) and resized to size x size. Returns uint8 [V, T, size, size, 3].
 */
export function cutTestViews(
  decoded: Uint8Array,
  h: number,
  w: number,
  views: ReadonlyArray<{ frames: number[]; crop: number }>,
  size: number,
  crops = 3,
): Uint8Array {
  const T = views[0]?.frames.length ?? 0;
  const frameBytes = h * w * 3;
  const outClip = T * size * size * 3;
  const out = new Uint8Array(views.length * outClip);
  const boxes = crops === 1 ? [centerBox(w, h)] : threeCropBoxes(w, h);
  const gathered = new Uint8Array(T * frameBytes);
  views.forEach((v, k) => {
    v.frames.forEach((f, t) => gathered.set(decoded.subarray(f * frameBytes, (f + 1) * frameBytes), t * frameBytes));
    const box = boxes[Math.min(v.crop, boxes.length - 1)]!;
    cropResize(gathered, T, h, w, box, size, size, out.subarray(k * outClip, (k + 1) * outClip));
  });
  return out;
}
