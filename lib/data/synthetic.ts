/**
 * Built-in synthetic motion dataset: no files, every clip is rendered from (seed, split, index).
 *
 * What a clip is (the default look, SYNTHETIC_STYLES.objects; `style` changes it):
 * - A static background: one flat dark colour (channels 0..100). It never changes over time.
 * - One or a few solid sprites (square, disk or diamond) in bright colours (channels 150..255), a
 *   quarter to a third of the frame wide, that all move along one straight line at constant speed.
 *   Bright over dark is the Moving-MNIST convention: a leading edge always gets brighter, so the
 *   direction of motion is a first-order cue. (With colours from one range, as in the `textured`
 *   look, the sign of a frame difference depends on the edge's contrast too, and neither a small
 *   ViT from labels nor MAE pretraining at our budgets gets above chance: docs/finetune.md.)
 *   The **class is the motion**: the direction (and, for classes 8..15, a doubled speed).
 *   Appearance, sprite count, size and colours are drawn from the same distribution for every
 *   class. Each sprite's path is centred on a midpoint drawn uniformly from one range for every
 *   direction (the positions that keep a path of that speed inside the frame whatever its
 *   direction), so the midpoint distribution is the same in every class and opposite classes (left
 *   vs right) have identical bag-of-frames position marginals.
 * - The `textured` look: a textured background (stripes, checkerboard or smooth noise blobs in two
 *   random colours; no pixel grain, which per-tubelet target normalisation would turn into
 *   unpredictable targets) and small textured sprites.
 * - Clips are uint8 [T, H, W, 3] RGB, frames rendered at integer pixel positions (no blur).
 *
 * The motion map (uint8 [N], N = (T/tubelet) * (H/patch) * (W/patch), tokens in (t, h, w) order as
 * the patchify kernel): token (k, i, j) covers frames [k*tubelet, (k+1)*tubelet) and pixels
 * [i*patch, (i+1)*patch) x [j*patch, (j+1)*patch). It is 1 ("moving") iff some pixel of that patch
 * differs (any channel) between two consecutive frames t, t+1 that both lie in the tubelet
 * (a solid sprite changes only along its edges, so only the tokens its edges pass count).
 * For tubelet = 1 the pair is (t-1, t), and (0, 1) for frame 0. Because the background is static,
 * a pixel can only change where a sprite covers it in t or t+1 and that sprite's pixels there
 * change, so "moving" means exactly "an object overlaps the token in one of its frames and the
 * object's pixels change there" (a stripe sprite sliding along its stripes changes only at its
 * edges, and only those tokens count). Static tokens are bit-identical across their frames.
 *
 * Moving-token share: the number of sprites is chosen from the token grid so that about 20% of the
 * tokens move on average (documented range 10%..30% of tokens for the default sizes: 8x64, 16x112,
 * 16x224 at patch 16; 8x64 at patch 8), so a sampler that masks moving tokens is measurably
 * different from a random one.
 *
 * Randomness is counter-based (a hash of (key, counter)): any clip can be rendered on its own, in
 * any order, on any thread, and gives the same bytes.
 */
import { integer } from '../check.js';
import { ConfigError } from '../errors/index.js';
import { TONES, resolveStyle, type SyntheticStyle } from './synthetic-look.js';
import { motionMap } from './synthetic-motion.js';
import { Stream, hash2, makeSprite, renderFlat, renderTexture, type Sprite } from './synthetic-render.js';

export { SYNTHETIC_STYLES, checkSyntheticStyle, isDefaultStyle, refuseStyleEnv, type SyntheticStyle } from './synthetic-look.js';

/** The 16 motion classes; a dataset with numClasses = C uses the first C. Order keeps any prefix balanced. */
const CLASS_TABLE: ReadonlyArray<{ name: string; dx: number; dy: number; speed: number }> = (() => {
  const s = Math.SQRT1_2;
  const dirs: Array<[string, number, number]> = [
    ['right', 1, 0],
    ['left', -1, 0],
    ['down', 0, 1],
    ['up', 0, -1],
    ['down-right', s, s],
    ['up-left', -s, -s],
    ['down-left', -s, s],
    ['up-right', s, -s],
  ];
  return [
    ...dirs.map(([name, dx, dy]) => ({ name, dx, dy, speed: 1 })),
    ...dirs.map(([name, dx, dy]) => ({ name: `fast-${name}`, dx, dy, speed: 2 })),
  ];
})();

/** Names of all 16 motion classes, in label order. */
export const SYNTHETIC_CLASS_NAMES: readonly string[] = CLASS_TABLE.map((c) => c.name);

export type SyntheticSplit = 'train' | 'val' | 'test';

export interface SyntheticOptions {
  /** Dataset seed; same seed, split and index give the same clip. Non-negative integer. */
  seed: number;
  /** Frames per clip (T). Must be a multiple of `tubelet`. */
  frames: number;
  /** Frame side in pixels (H = W). Must be a multiple of `patch`, at least 16. */
  size: number;
  /** Frames per token for the motion map. Defaults to 2. */
  tubelet?: number;
  /** Token side in pixels for the motion map. Defaults to 16. */
  patch?: number;
  /** Number of motion classes, 2..16 (see SYNTHETIC_CLASS_NAMES). Defaults to 8 (the 8 directions). */
  numClasses?: number;
  /** Alias of numClasses (the contract's name). */
  classes?: number;
  /** Number of clips. Defaults to 10000 for train, 1000 for val and test. */
  length?: number;
  /** Which split; splits draw from independent streams. Defaults to 'train'. */
  split?: SyntheticSplit;
  /** Sprites per clip. Defaults to a count chosen from the token grid for ~20% moving tokens. */
  objects?: number;
  /** How clips look. */
  style?: Partial<SyntheticStyle>;
}

export interface SyntheticSample {
  /** uint8 [T, H, W, 3] */
  clip: Uint8Array;
  /** uint8 [N], 1 = the token moves */
  motion: Uint8Array;
  /** class id in [0, numClasses) */
  label: number;
}

export interface SyntheticBatch {
  /** uint8 [B, T, H, W, 3] */
  clips: Uint8Array;
  /** uint8 [B, N] */
  motion: Uint8Array;
  /** int32 [B] */
  labels: Int32Array;
}

// ---------------------------------------------------------------------------------------------
// Dataset

const SPLIT_TAG: Record<SyntheticSplit, number> = { train: 0x1111, val: 0x2222, test: 0x3333 };

/**
 * Deterministic synthetic motion clips with per-token motion maps. See the module comment for what
 * a clip, a class and the motion map are.
 */
export class SyntheticMotionDataset {
  readonly seed: number;
  readonly frames: number;
  readonly size: number;
  readonly tubelet: number;
  readonly patch: number;
  readonly numClasses: number;
  readonly length: number;
  readonly split: SyntheticSplit;
  /** Sprites per clip. */
  readonly objects: number;
  /** How the clips look: the default look, then options.style (the config's `data.syntheticStyle`). */
  readonly style: SyntheticStyle;
  /** Class names, index = label. */
  readonly classNames: readonly string[];
  /** Tokens per clip: (T/tubelet) * (H/patch) * (W/patch). */
  readonly tokens: number;
  /** Bytes per clip: T*H*W*3. */
  readonly clipBytes: number;
  /** Shape of one clip: [T, H, W, 3]. */
  readonly clipShape: readonly [number, number, number, number];

  private readonly key: number;
  private readonly grid: number;
  private readonly pairChanged: Uint8Array; // [(T-1), grid*grid]

  constructor(opts: SyntheticOptions) {
    if (opts === null || typeof opts !== 'object') throw new ConfigError('synthetic', opts, 'an options object');
    this.seed = integer('synthetic.seed', opts.seed, 0, Number.MAX_SAFE_INTEGER);
    this.frames = integer('synthetic.frames', opts.frames, 1, 1024);
    this.tubelet = integer('synthetic.tubelet', opts.tubelet ?? 2, 1, 64);
    this.patch = integer('synthetic.patch', opts.patch ?? 16, 1, 1024);
    this.size = integer('synthetic.size', opts.size, 16, 4096);
    if (this.frames % this.tubelet !== 0) {
      throw new ConfigError('synthetic.frames', this.frames, `a multiple of tubelet ${this.tubelet}`);
    }
    if (this.size % this.patch !== 0) {
      throw new ConfigError('synthetic.size', this.size, `a multiple of patch ${this.patch}`);
    }
    if (opts.numClasses !== undefined && opts.classes !== undefined && opts.numClasses !== opts.classes) {
      throw new ConfigError('synthetic.classes', opts.classes, `the same value as numClasses (${opts.numClasses})`);
    }
    this.numClasses = integer('synthetic.numClasses', opts.numClasses ?? opts.classes ?? 8, 2, CLASS_TABLE.length);
    const split = opts.split ?? 'train';
    if (!(split in SPLIT_TAG)) throw new ConfigError('synthetic.split', split, '"train", "val" or "test"');
    this.split = split;
    this.length = integer('synthetic.length', opts.length ?? (split === 'train' ? 10_000 : 1_000), 1, 2 ** 31 - 1);
    this.grid = this.size / this.patch;
    this.tokens = (this.frames / this.tubelet) * this.grid * this.grid;
    this.clipBytes = this.frames * this.size * this.size * 3;
    this.clipShape = [this.frames, this.size, this.size, 3];
    this.classNames = SYNTHETIC_CLASS_NAMES.slice(0, this.numClasses);
    this.style = resolveStyle(opts.style);
    this.objects = opts.objects === undefined ? this.defaultObjects() : integer('synthetic.objects', opts.objects, 0, 64);
    const lo = this.seed >>> 0;
    const hi = Math.floor(this.seed / 4294967296) >>> 0;
    this.key = hash2(hash2(lo, hi), SPLIT_TAG[split]);
    this.pairChanged = new Uint8Array(Math.max(0, this.frames - 1) * this.grid * this.grid);
  }

  /** Sprite count for ~20% moving tokens: expected cells one sprite touches per tubelet vs the grid. */
  private defaultObjects(): number {
    const side = 0.5 * (this.style.spriteScale[0] + this.style.spriteScale[1]) * this.size;
    const step = this.meanSpeed() * Math.max(0, this.tubelet - 1);
    // A solid sprite changes only where its edges pass: cells wholly inside it in both frames stay still.
    const touched = ((side + step) / this.patch + 1) ** 2;
    const inside = this.style.spriteTexture ? 0 : Math.max(0, (side - step) / this.patch - 1) ** 2;
    const perSprite = Math.max(1, touched - inside);
    const cells = this.grid * this.grid;
    return Math.max(1, Math.min(16, Math.round((0.2 * cells) / Math.min(perSprite, cells))));
  }

  private meanSpeed(): number {
    return Math.max(1, (0.75 * 0.3 * this.size) / Math.max(1, this.frames - 1));
  }

  /** The label of clip `index` (cheap: no rendering). Labels are exactly balanced in every block of numClasses indices. */
  label(index: number): number {
    this.checkIndex(index);
    const c = this.numClasses;
    const block = Math.floor(index / c);
    const pos = index - block * c;
    const r = new Stream(hash2(hash2(this.key, 0x5a5a5a5a), block));
    // Fisher-Yates prefix up to pos
    const perm = new Int32Array(c);
    for (let i = 0; i < c; i++) perm[i] = i;
    for (let i = 0; i <= pos; i++) {
      const j = i + r.int(c - i);
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }
    return perm[pos]!;
  }

  /** Renders clip `index` into fresh buffers. */
  get(index: number): SyntheticSample {
    const clip = new Uint8Array(this.clipBytes);
    const motion = new Uint8Array(this.tokens);
    const label = this.renderInto(index, clip, motion);
    return { clip, motion, label };
  }

  /** Renders the clips `indices` into one batch. */
  batch(indices: ArrayLike<number>): SyntheticBatch {
    const b = indices.length;
    const clips = new Uint8Array(b * this.clipBytes);
    const motion = new Uint8Array(b * this.tokens);
    const labels = new Int32Array(b);
    for (let i = 0; i < b; i++) {
      labels[i] = this.renderInto(
        indices[i]!,
        clips.subarray(i * this.clipBytes, (i + 1) * this.clipBytes),
        motion.subarray(i * this.tokens, (i + 1) * this.tokens),
      );
    }
    return { clips, motion, labels };
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`synthetic ${this.split} index ${index} is out of range [0, ${this.length})`);
    }
  }

  /**
   * Renders clip `index` into clip (uint8 [T,H,W,3]) and motion (uint8 [N]); returns the label.
   * Both buffers are fully overwritten.
   */
  renderInto(index: number, clip: Uint8Array, motion: Uint8Array): number {
    const label = this.label(index);
    if (clip.length !== this.clipBytes) throw new RangeError(`clip buffer has ${clip.length} bytes, expected ${this.clipBytes}`);
    if (motion.length !== this.tokens) throw new RangeError(`motion buffer has ${motion.length} bytes, expected ${this.tokens}`);
    const T = this.frames;
    const S = this.size;
    const frameBytes = S * S * 3;
    const r = new Stream(hash2(this.key, index + 1));
    const cls = CLASS_TABLE[label]!;

    // Background into frame 0, then copied to every frame.
    // No pixel grain: per-tubelet normalisation would turn it into unpredictable targets.
    const bgScale = S * r.range(0.04, 0.12);
    const bg = this.style.background;
    const [bgTone, spriteTone] = TONES[this.style.polarity];
    if (bg === 'texture') renderTexture(clip.subarray(0, frameBytes), S, S, r.child(0), bgScale, 0, bgTone);
    else renderFlat(clip.subarray(0, frameBytes), S, S, r.child(0), bg === 'grain' ? 48 : 0, bgTone);
    for (let t = 1; t < T; t++) clip.copyWithin(t * frameBytes, 0, frameBytes);

    // Clip speed in px/frame, shared by all sprites (the class is the motion).
    const speed = cls.speed * Math.max(1, (r.range(0.5, 1.0) * 0.3 * S) / Math.max(1, T - 1));
    const sprites: Sprite[] = [];
    for (let o = 0; o < this.objects; o++) {
      const sr = r.child(100 + o);
      const side = Math.max(3, Math.round(S * sr.range(this.style.spriteScale[0], this.style.spriteScale[1])));
      const { rgb, mask } = makeSprite(sr, side, this.style.spriteTexture, spriteTone);
      const xs = new Int32Array(T);
      const ys = new Int32Array(T);
      const room = S - side; // top-left positions 0..room keep the sprite inside
      const half = (T - 1) / 2;
      // A path longer than the room is slowed down to fit (rare: only for very long clips).
      const v = T > 1 ? Math.min(speed, room / (T - 1)) : 0;
      const vx = cls.dx * v;
      const vy = cls.dy * v;
      // The midpoint range uses the speed magnitude on both axes, whatever the direction, so the
      // midpoint (and the position averaged over the clip) has the same distribution in every class.
      const mx = sr.range(v * half, room - v * half);
      const my = sr.range(v * half, room - v * half);
      for (let t = 0; t < T; t++) {
        xs[t] = Math.min(room, Math.max(0, Math.round(mx + vx * (t - half))));
        ys[t] = Math.min(room, Math.max(0, Math.round(my + vy * (t - half))));
      }
      sprites.push({ side, rgb, mask, xs, ys });
    }

    // Draw sprites (index order = z order, later on top).
    for (let t = 0; t < T; t++) {
      const base = t * frameBytes;
      for (const sp of sprites) {
        const x0 = sp.xs[t]!;
        const y0 = sp.ys[t]!;
        const n = sp.side;
        for (let y = 0; y < n; y++) {
          let src = y * n;
          let dst = base + ((y0 + y) * S + x0) * 3;
          for (let x = 0; x < n; x++, src++, dst += 3) {
            if (sp.mask[src] === 1) {
              clip[dst] = sp.rgb[src * 3]!;
              clip[dst + 1] = sp.rgb[src * 3 + 1]!;
              clip[dst + 2] = sp.rgb[src * 3 + 2]!;
            }
          }
        }
      }
    }

    motionMap(clip, sprites, motion, this, this.pairChanged);
    return label;
  }

}

/** The contract's factory: `synthetic({seed, frames, size, classes?, ...})`. */
export function synthetic(opts: SyntheticOptions): SyntheticMotionDataset {
  return new SyntheticMotionDataset(opts);
}
