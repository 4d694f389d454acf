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
import { ConfigError } from '../errors/index.js';
import { ANY_TONE, Stream, hash2, makeSprite, renderFlat, renderTexture, type Sprite, type Tone } from './synthetic-render.js';

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

/** How clips look (not what the classes are). */
export interface SyntheticStyle {
  /** Sprite side as a fraction of the frame side, [lo, hi]. */
  spriteScale: [number, number];
  /** Two-colour procedural texture on sprites (true) or one solid colour (false). */
  spriteTexture: boolean;
  /** Static background: a two-colour procedural texture, one flat colour, or flat colour plus static grain. */
  background: 'texture' | 'flat' | 'grain';
  /** Colours of background and sprites from one range ('random'), or sprites bright over a dark background. */
  polarity: 'random' | 'bright-on-dark';
}

/**
 * Named looks. `objects` (the default): one or a few solid bright sprites over a flat dark
 * background, the Moving-MNIST convention; the direction of motion is then a first-order cue (the
 * sign of the frame difference at a leading edge is always "brighter"), a small ViT learns it from
 * labels, and MAE pretraining on unlabelled clips helps a low-label fine-tune (docs/finetune.md).
 * `textured` (the first look of this set): small two-colour textured sprites over a textured
 * background, colours from one range; which way a sprite moves then depends on the product of the
 * frame difference and the edge's contrast sign, and at CPU and short GPU budgets neither fine-tuning
 * nor MAE pretraining gets above chance on it (docs/finetune.md has the record).
 */
export const SYNTHETIC_STYLES: Readonly<Record<'objects' | 'textured', SyntheticStyle>> = {
  objects: { spriteScale: [0.25, 0.35], spriteTexture: false, background: 'flat', polarity: 'bright-on-dark' },
  textured: { spriteScale: [0.14, 0.22], spriteTexture: true, background: 'texture', polarity: 'random' },
};
/** The default look (`DEFAULTS.data.syntheticStyle` of lib/config/defaults.ts is the same; a test checks). */
const DEFAULT_STYLE = SYNTHETIC_STYLES.objects;
const STYLE_KEYS: ReadonlyArray<keyof SyntheticStyle> = ['spriteScale', 'spriteTexture', 'background', 'polarity'];


/** [background, sprite] channel ranges per polarity. */
const TONES: Record<SyntheticStyle['polarity'], [Tone, Tone]> = { random: [ANY_TONE, ANY_TONE], 'bright-on-dark': [[0, 100], [150, 255]] };

/**
 * Throws when TATS_SYNTHETIC_STYLE is set: it used to change the look of the clips unrecorded; the
 * look is now the config field `data.syntheticStyle`, written into the run's config.json.
 */
export function refuseStyleEnv(env: NodeJS.ProcessEnv = process.env): void {
  const raw = env.TATS_SYNTHETIC_STYLE;
  if (raw !== undefined && raw !== '') {
    throw new ConfigError(
      'TATS_SYNTHETIC_STYLE',
      raw,
      'unset: the look of the synthetic clips is the config field data.syntheticStyle now (e.g. "data": { "syntheticStyle": ' + raw + ' } in a --config file), recorded in the run\'s config.json; fine-tuning and eval read it from the checkpoint\'s run',
    );
  }
}

/**
 * The style: the default look, then the options' own fields, checked field by field (as
 * lib/config's checkSyntheticStyle does for `data.syntheticStyle`; lib/config depends on lib/data,
 * not the other way).
 */
function resolveStyle(style: Partial<SyntheticStyle> | undefined): SyntheticStyle {
  refuseStyleEnv();
  if (style !== undefined && (style === null || typeof style !== 'object' || Array.isArray(style))) throw new ConfigError('style', style, 'an object');
  for (const key of Object.keys(style ?? {})) if (!(STYLE_KEYS as readonly string[]).includes(key)) throw new ConfigError(`style.${key}`, (style as Record<string, unknown>)[key], `a known field; style has ${STYLE_KEYS.join(', ')}`);
  const s = { ...DEFAULT_STYLE, ...(style ?? {}) };
  const [lo, hi] = Array.isArray(s.spriteScale) ? s.spriteScale : [NaN, NaN];
  if (!(typeof lo === 'number' && typeof hi === 'number' && lo > 0 && lo <= hi && hi < 1)) throw new ConfigError('style.spriteScale', s.spriteScale, '[lo, hi] with 0 < lo <= hi < 1');
  if (typeof s.spriteTexture !== 'boolean') throw new ConfigError('style.spriteTexture', s.spriteTexture, 'true or false');
  if (!['texture', 'flat', 'grain'].includes(s.background)) throw new ConfigError('style.background', s.background, '"texture", "flat" or "grain"');
  if (!['random', 'bright-on-dark'].includes(s.polarity)) throw new ConfigError('style.polarity', s.polarity, '"random" or "bright-on-dark"');
  return { ...s, spriteScale: [lo, hi] };
}

/** Whether a style is the default look. */
export function isDefaultStyle(style: SyntheticStyle): boolean {
  return STYLE_KEYS.every((k) => JSON.stringify(style[k]) === JSON.stringify(DEFAULT_STYLE[k]));
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

/** lib/config/check.ts's `integer`, here because lib/config depends on lib/data (dataset specs). */
function checkInt(field: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new ConfigError(field, v, `an integer in [${lo}, ${hi}]`);
  }
  return v;
}

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
    this.seed = checkInt('synthetic.seed', opts.seed, 0, Number.MAX_SAFE_INTEGER);
    this.frames = checkInt('synthetic.frames', opts.frames, 1, 1024);
    this.tubelet = checkInt('synthetic.tubelet', opts.tubelet ?? 2, 1, 64);
    this.patch = checkInt('synthetic.patch', opts.patch ?? 16, 1, 1024);
    this.size = checkInt('synthetic.size', opts.size, 16, 4096);
    if (this.frames % this.tubelet !== 0) {
      throw new ConfigError('synthetic.frames', this.frames, `a multiple of tubelet ${this.tubelet}`);
    }
    if (this.size % this.patch !== 0) {
      throw new ConfigError('synthetic.size', this.size, `a multiple of patch ${this.patch}`);
    }
    if (opts.numClasses !== undefined && opts.classes !== undefined && opts.numClasses !== opts.classes) {
      throw new ConfigError('synthetic.classes', opts.classes, `the same value as numClasses (${opts.numClasses})`);
    }
    this.numClasses = checkInt('synthetic.numClasses', opts.numClasses ?? opts.classes ?? 8, 2, CLASS_TABLE.length);
    const split = opts.split ?? 'train';
    if (!(split in SPLIT_TAG)) throw new ConfigError('synthetic.split', split, '"train", "val" or "test"');
    this.split = split;
    this.length = checkInt('synthetic.length', opts.length ?? (split === 'train' ? 10_000 : 1_000), 1, 2 ** 31 - 1);
    this.grid = this.size / this.patch;
    this.tokens = (this.frames / this.tubelet) * this.grid * this.grid;
    this.clipBytes = this.frames * this.size * this.size * 3;
    this.clipShape = [this.frames, this.size, this.size, 3];
    this.classNames = SYNTHETIC_CLASS_NAMES.slice(0, this.numClasses);
    this.style = resolveStyle(opts.style);
    this.objects = opts.objects === undefined ? this.defaultObjects() : checkInt('synthetic.objects', opts.objects, 0, 64);
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

    this.motionMap(clip, sprites, motion);
    return label;
  }

  /** Frame differences inside the sprites' boxes -> changed cells per frame pair -> token map. */
  private motionMap(clip: Uint8Array, sprites: Sprite[], motion: Uint8Array): void {
    const T = this.frames;
    const S = this.size;
    const P = this.patch;
    const G = this.grid;
    const cells = G * G;
    const frameBytes = S * S * 3;
    const changed = this.pairChanged;
    changed.fill(0);
    for (let t = 0; t + 1 < T; t++) {
      const a = t * frameBytes;
      const b = a + frameBytes;
      const ch = t * cells;
      for (const sp of sprites) {
        const x0 = Math.min(sp.xs[t]!, sp.xs[t + 1]!);
        const x1 = Math.max(sp.xs[t]!, sp.xs[t + 1]!) + sp.side; // exclusive
        const y0 = Math.min(sp.ys[t]!, sp.ys[t + 1]!);
        const y1 = Math.max(sp.ys[t]!, sp.ys[t + 1]!) + sp.side;
        const gx0 = Math.floor(x0 / P);
        const gx1 = Math.floor((x1 - 1) / P);
        const gy0 = Math.floor(y0 / P);
        const gy1 = Math.floor((y1 - 1) / P);
        for (let gy = gy0; gy <= gy1; gy++) {
          for (let gx = gx0; gx <= gx1; gx++) {
            const c = ch + gy * G + gx;
            if (changed[c] === 1) continue;
            const ya = Math.max(y0, gy * P);
            const yb = Math.min(y1, (gy + 1) * P);
            const xa = Math.max(x0, gx * P) * 3;
            const xb = Math.min(x1, (gx + 1) * P) * 3;
            let diff = false;
            for (let y = ya; y < yb && !diff; y++) {
              const row = y * S * 3;
              for (let x = xa; x < xb; x++) {
                if (clip[a + row + x] !== clip[b + row + x]) {
                  diff = true;
                  break;
                }
              }
            }
            if (diff) changed[c] = 1;
          }
        }
      }
    }
    const tub = this.tubelet;
    const slots = T / tub;
    for (let k = 0; k < slots; k++) {
      const out = k * cells;
      for (let c = 0; c < cells; c++) motion[out + c] = 0;
      // pairs (t, t+1) inside the tubelet; for tubelet 1 the pair ending at the frame (or (0,1))
      let p0: number;
      let p1: number;
      if (tub >= 2) {
        p0 = k * tub;
        p1 = k * tub + tub - 2;
      } else {
        p0 = p1 = Math.max(0, k - 1);
      }
      for (let p = p0; p <= p1 && p < T - 1; p++) {
        const src = p * cells;
        for (let c = 0; c < cells; c++) if (changed[src + c] === 1) motion[out + c] = 1;
      }
    }
  }
}

/** The contract's factory: `synthetic({seed, frames, size, classes?, ...})`. */
export function synthetic(opts: SyntheticOptions): SyntheticMotionDataset {
  return new SyntheticMotionDataset(opts);
}
