/**
 * The drawing of the synthetic dataset (synthetic.ts): counter-based randomness (every draw a pure
 * function of a key, so any clip renders alone, in any order, on any thread) and the textures,
 * flat backgrounds and sprites a clip is made of.
 */
/** Channel values a colour is drawn from, [lo, hi] inclusive. */
export type Tone = readonly [number, number];
export const ANY_TONE: Tone = [0, 255];

// ---------------------------------------------------------------------------------------------
// Counter-based randomness

/** murmur3 finaliser: a bijective 32-bit mix. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of two 32-bit words. */
export function hash2(a: number, b: number): number {
  return fmix((fmix(a ^ 0x9e3779b9) + Math.imul(b ^ 0x7f4a7c15, 0x27d4eb2f)) | 0);
}

/** Draws from hash(key, 0), hash(key, 1), ...: a stream that is a pure function of its key. */
export class Stream {
  private n = 0;
  constructor(readonly key: number) {}
  u32(): number {
    return hash2(this.key, this.n++);
  }
  uniform(): number {
    return this.u32() / 4294967296;
  }
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
  /** A fresh stream keyed from this one (so adding draws here does not shift the child's draws). */
  child(tag: number): Stream {
    return new Stream(hash2(this.key, 0x40000000 + tag));
  }
}

// ---------------------------------------------------------------------------------------------
// Textures

export type Rgb = [number, number, number];

/** Static grain of pixel i: uniform in [-grain, grain], a pure function of (key, i). */
function grainAt(key: number, i: number, grain: number): number {
  return grain > 0 ? ((fmix(key ^ Math.imul(i, 0x9e3779b1)) & 0xff) / 255 - 0.5) * 2 * grain : 0;
}

function randomColour(r: Stream, tone: Tone = ANY_TONE): Rgb {
  const n = tone[1] - tone[0] + 1;
  return [tone[0] + r.int(n), tone[0] + r.int(n), tone[0] + r.int(n)];
}

/** Two colours that differ visibly (at least 96 summed over channels, where the tone allows). */
function colourPair(r: Stream, tone: Tone): [Rgb, Rgb] {
  const a = randomColour(r, tone);
  let b = randomColour(r, tone);
  for (let i = 0; i < 8 && Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]) < 96; i++) {
    b = randomColour(r, tone);
  }
  return [a, b];
}

/**
 * Fills out[h*w*3] with a procedural texture: 0 stripes, 1 checker, 2 noise blobs, mixing two
 * colours; plus a static grain of +-grain. `scale` sets the feature size in pixels.
 */
export function renderTexture(out: Uint8Array, w: number, h: number, r: Stream, scale: number, grain: number, tone: Tone): void {
  const kind = r.int(3);
  const [c0, c1] = colourPair(r, tone);
  const d0 = c1[0] - c0[0];
  const d1 = c1[1] - c0[1];
  const d2 = c1[2] - c0[2];
  const grainKey = r.u32();
  // weight per pixel in [0,1], written into a scratch row
  const weight = new Float32Array(w);
  let noise: Float32Array | undefined;
  let cell = 1;
  let gw = 0;
  if (kind === 2) {
    cell = Math.max(2, scale);
    gw = Math.ceil(w / cell) + 2;
    const gh = Math.ceil(h / cell) + 2;
    noise = new Float32Array(gw * gh);
    for (let i = 0; i < noise.length; i++) noise[i] = r.uniform();
  }
  const angle = r.range(0, Math.PI);
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  const period = Math.max(2, scale * r.range(0.5, 1.5));
  const phase = r.uniform();
  const check = Math.max(2, Math.round(scale * r.range(0.5, 1.2)));
  const contrast = r.range(2, 4);
  for (let y = 0; y < h; y++) {
    if (kind === 0) {
      for (let x = 0; x < w; x++) {
        const v = (x * ca + y * sa) / period + phase;
        weight[x] = v - Math.floor(v) < 0.5 ? 0 : 1;
      }
    } else if (kind === 1) {
      const cy = Math.floor(y / check);
      for (let x = 0; x < w; x++) weight[x] = (Math.floor(x / check) + cy) & 1;
    } else {
      const n = noise!;
      const fy = y / cell;
      const iy = Math.floor(fy);
      const ty = fy - iy;
      const sy = ty * ty * (3 - 2 * ty);
      const row0 = iy * gw;
      const row1 = row0 + gw;
      for (let x = 0; x < w; x++) {
        const fx = x / cell;
        const ix = Math.floor(fx);
        const tx = fx - ix;
        const sx = tx * tx * (3 - 2 * tx);
        const a = n[row0 + ix]! + (n[row0 + ix + 1]! - n[row0 + ix]!) * sx;
        const b = n[row1 + ix]! + (n[row1 + ix + 1]! - n[row1 + ix]!) * sx;
        const v = (a + (b - a) * sy - 0.5) * contrast + 0.5;
        weight[x] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
    let o = y * w * 3;
    for (let x = 0; x < w; x++, o += 3) {
      const wt = weight[x]!;
      const g = grainAt(grainKey, y * w + x, grain);
      // Uint8Array stores wrap out-of-range values, so clamp by hand.
      const v0 = c0[0] + d0 * wt + g;
      const v1 = c0[1] + d1 * wt + g;
      const v2 = c0[2] + d2 * wt + g;
      out[o] = v0 < 0 ? 0 : v0 > 255 ? 255 : v0;
      out[o + 1] = v1 < 0 ? 0 : v1 > 255 ? 255 : v1;
      out[o + 2] = v2 < 0 ? 0 : v2 > 255 ? 255 : v2;
    }
  }
}

export interface Sprite {
  side: number;
  rgb: Uint8Array; // side*side*3
  mask: Uint8Array; // side*side, 1 = opaque
  // top-left position per frame, integer pixels
  xs: Int32Array;
  ys: Int32Array;
}

/** One random colour over the whole image, plus a static grain of +-grain. */
export function renderFlat(out: Uint8Array, w: number, h: number, r: Stream, grain: number, tone: Tone): void {
  const c = randomColour(r, tone);
  const key = r.u32();
  for (let i = 0, o = 0; i < w * h; i++, o += 3) {
    const g = grainAt(key, i, grain);
    for (let k = 0; k < 3; k++) {
      const v = c[k]! + g;
      out[o + k] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
}

export function makeSprite(r: Stream, side: number, textured: boolean, tone: Tone): { rgb: Uint8Array; mask: Uint8Array } {
  const rgb = new Uint8Array(side * side * 3);
  if (textured) renderTexture(rgb, side, side, r.child(1), Math.max(2, side / r.range(2, 5)), 0, tone);
  else renderFlat(rgb, side, side, r.child(1), 0, tone);
  const mask = new Uint8Array(side * side);
  const shape = r.int(3); // 0 square, 1 disk, 2 diamond
  const c = (side - 1) / 2;
  const rad = side / 2;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const dx = x - c;
      const dy = y - c;
      let inside = true;
      if (shape === 1) inside = dx * dx + dy * dy <= rad * rad;
      else if (shape === 2) inside = Math.abs(dx) + Math.abs(dy) <= rad;
      mask[y * side + x] = inside ? 1 : 0;
    }
  }
  return { rgb, mask };
}
