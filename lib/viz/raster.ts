/**
 * A tiny RGB raster: fill, rectangles, lines, blits with nearest-neighbour scaling, a 3x5 font for
 * numbers and short titles, and a 5x7 font for labels that must read at a glance (M, N, W and K
 * are only distinct with 5 columns).
 *
 * Why it is hand-written: the pictures are written by the trainer and by `tats compare` on
 * machines without a display or system fonts, often the GPU machine offline, and the tests
 * check their pixels. Real text through a library means SVG through sharp (libvips + librsvg):
 * its prebuilt binary installs offline, but text rendering needs fontconfig and installed fonts,
 * so the same figure would differ from machine to machine, or show boxes where a font is missing.
 * A pixel font has no such dependency. Interactive charts with real text are the dashboard's
 * (uPlot in the browser, assets/dashboard/).
 */

export type RGB = readonly [number, number, number];

export class Raster {
  readonly data: Uint8Array;
  constructor(readonly width: number, readonly height: number, bg: RGB = [255, 255, 255]) {
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.data.set(bg, i * 3);
  }

  set(x: number, y: number, c: RGB): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.data.set(c, (Math.floor(y) * this.width + Math.floor(x)) * 3);
  }

  rect(x: number, y: number, w: number, h: number, c: RGB): void {
    for (let j = Math.max(0, Math.floor(y)); j < Math.min(this.height, Math.floor(y + h)); j++)
      for (let i = Math.max(0, Math.floor(x)); i < Math.min(this.width, Math.floor(x + w)); i++) this.data.set(c, (j * this.width + i) * 3);
  }

  line(x0: number, y0: number, x1: number, y1: number, c: RGB, thick = 1): void {
    const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let k = 0; k <= n; k++) this.rect(x0 + ((x1 - x0) * k) / n - (thick >> 1), y0 + ((y1 - y0) * k) / n - (thick >> 1), thick, thick, c);
  }

  /** Copies an RGB image [h, w, 3] at (x, y), scaled by an integer factor. */
  blit(img: Uint8Array, w: number, h: number, x: number, y: number, scale = 1): void {
    for (let j = 0; j < h * scale; j++)
      for (let i = 0; i < w * scale; i++) {
        const s = (Math.floor(j / scale) * w + Math.floor(i / scale)) * 3;
        this.set(x + i, y + j, [img[s]!, img[s + 1]!, img[s + 2]!]);
      }
  }

  /** Text in a 5x7 pixel font (upper-case letters, digits, a few signs), scaled; see labelWidth. */
  label(s: string, x: number, y: number, c: RGB, scale = 1): void {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const g = FONT_5X7[ch] ?? FONT_5X7['?']!;
      for (let r = 0; r < 7; r++) for (let b = 0; b < 5; b++) if (g[r]![b] === '#') this.rect(cx + b * scale, y + r * scale, scale, scale, c);
      cx += 6 * scale;
    }
  }

  /** Text in a 3x5 pixel font (upper-case letters, digits, a few signs), scaled. */
  text(s: string, x: number, y: number, c: RGB, scale = 2): void {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const g = FONT[ch] ?? FONT['?']!;
      for (let r = 0; r < 5; r++) for (let b = 0; b < 3; b++) if ((g >> ((4 - r) * 3 + (2 - b))) & 1) this.rect(cx + b * scale, y + r * scale, scale, scale, c);
      cx += 4 * scale;
    }
  }
}

export function textWidth(s: string, scale = 2): number {
  return s.length * 4 * scale;
}

/** Width in pixels of `s` drawn by `Raster.label` at `scale` (6 pixels a character at scale 1). */
export function labelWidth(s: string, scale = 1): number {
  return s.length * 6 * scale;
}

/** Height in pixels of a line drawn by `Raster.label` at `scale`. */
export function labelHeight(scale = 1): number {
  return 7 * scale;
}

// Each glyph: 5 rows of 3 bits, top row first.
const G = (...rows: string[]): number => rows.reduce((a, r) => a * 8 + parseInt(r.replace(/#/g, '1').replace(/\./g, '0'), 2), 0);
const FONT: Record<string, number> = {
  ' ': 0,
  '0': G('###', '#.#', '#.#', '#.#', '###'), '1': G('.#.', '##.', '.#.', '.#.', '###'), '2': G('###', '..#', '###', '#..', '###'),
  '3': G('###', '..#', '.##', '..#', '###'), '4': G('#.#', '#.#', '###', '..#', '..#'), '5': G('###', '#..', '###', '..#', '###'),
  '6': G('###', '#..', '###', '#.#', '###'), '7': G('###', '..#', '.#.', '.#.', '.#.'), '8': G('###', '#.#', '###', '#.#', '###'),
  '9': G('###', '#.#', '###', '..#', '###'), A: G('.#.', '#.#', '###', '#.#', '#.#'), B: G('##.', '#.#', '##.', '#.#', '##.'),
  C: G('.##', '#..', '#..', '#..', '.##'), D: G('##.', '#.#', '#.#', '#.#', '##.'), E: G('###', '#..', '##.', '#..', '###'),
  F: G('###', '#..', '##.', '#..', '#..'), G: G('.##', '#..', '#.#', '#.#', '.##'), H: G('#.#', '#.#', '###', '#.#', '#.#'),
  I: G('###', '.#.', '.#.', '.#.', '###'), J: G('..#', '..#', '..#', '#.#', '.#.'), K: G('#.#', '#.#', '##.', '#.#', '#.#'),
  L: G('#..', '#..', '#..', '#..', '###'), M: G('#.#', '###', '###', '#.#', '#.#'), N: G('##.', '#.#', '#.#', '#.#', '#.#'),
  O: G('.#.', '#.#', '#.#', '#.#', '.#.'), P: G('##.', '#.#', '##.', '#..', '#..'), Q: G('.#.', '#.#', '#.#', '##.', '.##'),
  R: G('##.', '#.#', '##.', '#.#', '#.#'), S: G('.##', '#..', '.#.', '..#', '##.'), T: G('###', '.#.', '.#.', '.#.', '.#.'),
  U: G('#.#', '#.#', '#.#', '#.#', '###'), V: G('#.#', '#.#', '#.#', '#.#', '.#.'), W: G('#.#', '#.#', '###', '###', '#.#'),
  X: G('#.#', '#.#', '.#.', '#.#', '#.#'), Y: G('#.#', '#.#', '.#.', '.#.', '.#.'), Z: G('###', '..#', '.#.', '#..', '###'),
  '.': G('...', '...', '...', '...', '.#.'), '-': G('...', '...', '###', '...', '...'), '%': G('#..', '..#', '.#.', '#..', '..#'),
  '/': G('..#', '..#', '.#.', '#..', '#..'), ':': G('...', '.#.', '...', '.#.', '...'), '?': G('###', '..#', '.#.', '...', '.#.'),
  '(': G('.#.', '#..', '#..', '#..', '.#.'), ')': G('.#.', '..#', '..#', '..#', '.#.'), '=': G('...', '###', '...', '###', '...'),
  '+': G('...', '.#.', '###', '.#.', '...'), _: G('...', '...', '...', '...', '###'), x: 0,
};
FONT['X'] = G('#.#', '#.#', '.#.', '#.#', '#.#');

/** black -> red -> yellow -> white, t in [0, 1]. */
export function heat(t: number): RGB {
  const v = Math.max(0, Math.min(1, t)) * 3;
  if (v < 1) return [Math.round(255 * v), 0, 0];
  if (v < 2) return [255, Math.round(255 * (v - 1)), 0];
  return [255, 255, Math.round(255 * (v - 2))];
}

// 5x7 glyphs (the classic LCD character set), 7 rows of 5 columns, '#' = ink.
const FONT_5X7: Record<string, readonly string[]> = {
  ' ': ['.....', '.....', '.....', '.....', '.....', '.....', '.....'],
  A: ['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  B: ['####.', '#...#', '#...#', '####.', '#...#', '#...#', '####.'],
  C: ['.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.'],
  D: ['###..', '#..#.', '#...#', '#...#', '#...#', '#..#.', '###..'],
  E: ['#####', '#....', '#....', '####.', '#....', '#....', '#####'],
  F: ['#####', '#....', '#....', '####.', '#....', '#....', '#....'],
  G: ['.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.####'],
  H: ['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  I: ['.###.', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  J: ['..###', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..'],
  K: ['#...#', '#..#.', '#.#..', '##...', '#.#..', '#..#.', '#...#'],
  L: ['#....', '#....', '#....', '#....', '#....', '#....', '#####'],
  M: ['#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#'],
  N: ['#...#', '#...#', '##..#', '#.#.#', '#..##', '#...#', '#...#'],
  O: ['.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  P: ['####.', '#...#', '#...#', '####.', '#....', '#....', '#....'],
  Q: ['.###.', '#...#', '#...#', '#...#', '#.#.#', '#..#.', '.##.#'],
  R: ['####.', '#...#', '#...#', '####.', '#.#..', '#..#.', '#...#'],
  S: ['.####', '#....', '#....', '.###.', '....#', '....#', '####.'],
  T: ['#####', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..'],
  U: ['#...#', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  V: ['#...#', '#...#', '#...#', '#...#', '#...#', '.#.#.', '..#..'],
  W: ['#...#', '#...#', '#...#', '#.#.#', '#.#.#', '#.#.#', '.#.#.'],
  X: ['#...#', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '#...#'],
  Y: ['#...#', '#...#', '.#.#.', '..#..', '..#..', '..#..', '..#..'],
  Z: ['#####', '....#', '...#.', '..#..', '.#...', '#....', '#####'],
  '0': ['.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.'],
  '1': ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  '2': ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'],
  '3': ['#####', '...#.', '..#..', '...#.', '....#', '#...#', '.###.'],
  '4': ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'],
  '5': ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.'],
  '6': ['..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.'],
  '7': ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'],
  '8': ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'],
  '9': ['.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..'],
  '.': ['.....', '.....', '.....', '.....', '.....', '.##..', '.##..'],
  ',': ['.....', '.....', '.....', '.....', '.##..', '..#..', '.#...'],
  '-': ['.....', '.....', '.....', '#####', '.....', '.....', '.....'],
  ':': ['.....', '.##..', '.##..', '.....', '.##..', '.##..', '.....'],
  '/': ['.....', '....#', '...#.', '..#..', '.#...', '#....', '.....'],
  '%': ['##...', '##..#', '...#.', '..#..', '.#...', '#..##', '...##'],
  '(': ['...#.', '..#..', '.#...', '.#...', '.#...', '..#..', '...#.'],
  ')': ['.#...', '..#..', '...#.', '...#.', '...#.', '..#..', '.#...'],
  '=': ['.....', '.....', '#####', '.....', '#####', '.....', '.....'],
  '+': ['.....', '..#..', '..#..', '#####', '..#..', '..#..', '.....'],
  _: ['.....', '.....', '.....', '.....', '.....', '.....', '#####'],
  '?': ['.###.', '#...#', '....#', '...#.', '..#..', '.....', '..#..'],
};
