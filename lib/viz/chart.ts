/**
 * Small bar and line charts drawn on a Raster: one panel per metric, one bar per series
 * (strategy). Drawn by hand for the reasons in raster.ts (no fonts or native libraries needed,
 * the same pixels everywhere); the dashboard draws the interactive charts with uPlot.
 */
import { encodePng } from './png.js';
import { Raster, textWidth, type RGB } from './raster.js';

export interface BarPanel {
  title: string;
  /** One value per series; NaN draws no bar. */
  values: number[];
  /** Digits after the point in the value labels. Defaults to 2. */
  digits?: number;
}

const COLOURS: RGB[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
];

/** Panels side by side; series names under the bars. Returns a PNG. */
export function barChart(series: string[], panels: BarPanel[]): { png: Buffer; width: number; height: number } {
  const pw = Math.max(200, series.length * 56 + 40), ph = 260, pad = 10;
  const width = panels.length * (pw + pad) + pad, height = ph + 2 * pad;
  const img = new Raster(width, height);
  panels.forEach((p, k) => {
    const x0 = pad + k * (pw + pad), y0 = pad;
    img.rect(x0, y0, pw, ph, [246, 246, 246]);
    img.text(p.title, x0 + Math.max(2, (pw - textWidth(p.title)) / 2), y0 + 6, [0, 0, 0]);
    const top = y0 + 40, base = y0 + ph - 34, h = base - top;
    const finite = p.values.filter((v) => Number.isFinite(v));
    const max = Math.max(1e-12, ...finite.map((v) => Math.abs(v)));
    img.line(x0 + 16, base, x0 + pw - 8, base, [0, 0, 0]);
    const bw = Math.floor((pw - 40) / series.length);
    p.values.forEach((v, i) => {
      const bx = x0 + 24 + i * bw;
      if (Number.isFinite(v)) {
        const bh = Math.round((Math.abs(v) / max) * h);
        img.rect(bx, base - bh, bw - 10, bh, COLOURS[i % COLOURS.length]!);
        const label = v.toFixed(p.digits ?? 2);
        img.text(label, bx + (bw - 10 - textWidth(label, 1)) / 2, base - bh - 9, [0, 0, 0], 1);
      } else img.text('N/A', bx, base - 12, [120, 120, 120], 1);
      const name = series[i]!.slice(0, Math.floor(bw / 8));
      img.text(name, bx + (bw - 10 - textWidth(name, 1)) / 2, base + 8, COLOURS[i % COLOURS.length]!, 1);
    });
  });
  return { png: encodePng(img.data, width, height), width, height };
}

/** Loss curves, one line per series, on one panel. */
export function lineChart(title: string, series: string[], curves: number[][]): { png: Buffer; width: number; height: number } {
  const width = 520, height = 300, l = 40, r = 10, t = 30, b = 40;
  const img = new Raster(width, height);
  img.text(title, l, 8, [0, 0, 0]);
  const all = curves.flat().filter((v) => Number.isFinite(v));
  const lo = Math.min(...all), hi = Math.max(...all);
  const maxLen = Math.max(...curves.map((c) => c.length));
  img.line(l, height - b, width - r, height - b, [0, 0, 0]);
  img.line(l, t, l, height - b, [0, 0, 0]);
  img.text(hi.toFixed(2), 2, t - 3, [0, 0, 0], 1);
  img.text(lo.toFixed(2), 2, height - b - 6, [0, 0, 0], 1);
  curves.forEach((c, i) => {
    const col = COLOURS[i % COLOURS.length]!;
    const px = (k: number) => l + ((width - l - r) * k) / Math.max(1, maxLen - 1);
    const py = (v: number) => height - b - ((height - t - b) * (v - lo)) / Math.max(1e-12, hi - lo);
    for (let k = 1; k < c.length; k++) img.line(px(k - 1), py(c[k - 1]!), px(k), py(c[k]!), col, 2);
    img.text(series[i]!, l + 10 + i * 90, height - 22, col, 1);
  });
  return { png: encodePng(img.data, width, height), width, height };
}
