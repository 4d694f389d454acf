// Pictures: the GIF encoder round-trips through an independent LZW decoder, the PNG inflates to
// the pixels, and the reconstruction figure de-normalises a perfect prediction back to the input
// (each predicted tubelet uses the ground-truth tubelet's mean/std, as VideoMAE's visualisation).
import { inflateSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { SyntheticMotionDataset } from '../lib/data/synthetic.js';
import { Session } from '../lib/session.js';
import { barChart } from '../lib/viz/chart.js';
import { reconstructionRows, renderFigure } from '../lib/viz/figure.js';
import { encodeGif } from '../lib/viz/gif.js';
import { encodePng } from '../lib/viz/png.js';
import { sessionConfig } from './session-config.js';

/** Decodes the first image's indices of a GIF written by encodeGif (global palette, one sub-block stream). */
function decodeFirstGifFrame(gif: Buffer, w: number, h: number): Uint8Array {
  let p = 13 + 256 * 3;
  while (gif[p] === 0x21) {
    p += 2;
    while (gif[p]! > 0) p += gif[p]! + 1;
    p++;
  }
  expect(gif[p]).toBe(0x2c);
  p += 10;
  const minCode = gif[p++]!;
  const bytes: number[] = [];
  while (gif[p]! > 0) {
    const n = gif[p++]!;
    for (let i = 0; i < n; i++) bytes.push(gif[p++]!);
  }
  const clear = 1 << minCode, eoi = clear + 1;
  let size = minCode + 1, bit = 0;
  const read = () => {
    let v = 0;
    for (let i = 0; i < size; i++, bit++) v |= ((bytes[bit >> 3]! >> (bit & 7)) & 1) << i;
    return v;
  };
  let dict: number[][] = [];
  const reset = () => {
    dict = Array.from({ length: eoi + 1 }, (_, i) => [i]);
    size = minCode + 1;
  };
  reset();
  const out: number[] = [];
  let prev: number[] | undefined;
  for (;;) {
    const code = read();
    if (code === clear) {
      reset();
      prev = undefined;
      continue;
    }
    if (code === eoi) break;
    const entry = code < dict.length ? dict[code]! : [...prev!, prev![0]!];
    out.push(...entry);
    if (prev) dict.push([...prev, entry[0]!]);
    prev = entry;
    if (dict.length === 1 << size && size < 12) size++;
  }
  expect(out.length).toBe(w * h);
  return Uint8Array.from(out);
}

describe('pictures', () => {
  it('GIF89a frames decode to the quantised pixels', () => {
    const w = 37, h = 23;
    const rgb = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) rgb.set([((i * 37) % 6) * 51, ((i * 11) % 7) * 42.5, ((i * 5) % 6) * 51], i * 3);
    const gif = encodeGif([rgb, rgb.slice().reverse()], w, h);
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect(gif.at(-1)).toBe(0x3b);
    const idx = decodeFirstGifFrame(gif, w, h);
    const palette = gif.subarray(13, 13 + 768);
    for (let i = 0; i < w * h; i++)
      for (let c = 0; c < 3; c++) expect(Math.abs(palette[idx[i]! * 3 + c]! - rgb[i * 3 + c]!)).toBeLessThanOrEqual(1);
  });

  it('GIF LZW survives a dictionary reset (large noisy frame)', () => {
    const w = 200, h = 150;
    let s = 1;
    const rgb = new Uint8Array(w * h * 3).map(() => ((s = (s * 1103515245 + 12345) >>> 0) >>> 24) & 0xff);
    const gif = encodeGif([rgb], w, h);
    const idx = decodeFirstGifFrame(gif, w, h);
    expect(idx.length).toBe(w * h);
  });

  it('PNG inflates to the pixels', () => {
    const rgb = new Uint8Array(5 * 4 * 3).map((_, i) => i * 3);
    const png = encodePng(rgb, 5, 4);
    const idat = png.indexOf('IDAT');
    const len = png.readUInt32BE(idat - 4);
    const raw = inflateSync(png.subarray(idat + 4, idat + 4 + len));
    expect(raw[0]).toBe(0);
    expect([...raw.subarray(1, 16)]).toEqual([...rgb.subarray(0, 15)]);
  });

  it('a perfect prediction de-normalises back to the input', async () => {
    const cfg = sessionConfig({ frames: 4, size: 32, batchSize: 2, strategy: 'random', ratio: 0.75 });
    const session = await Session.create(cfg);
    const ds = new SyntheticMotionDataset({ seed: 2, frames: 4, size: 32, length: 8 });
    const { clips } = ds.batch([0, 1]);
    const rec = await session.reconstruct(clips);
    session.dispose();
    const input = { clips, batch: 2, frames: 4, size: 32, tubelet: 2, patch: 16 };
    const perfect = reconstructionRows({ ...input, rec: { ...rec, pred: rec.target } });
    for (let b = 0; b < 2; b++) {
      let maxDiff = 0;
      perfect[b]!.recon.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - perfect[b]!.input[i]!))));
      expect(maxDiff).toBeLessThanOrEqual(1);
    }
    // the real (untrained) prediction differs on masked tubelets, and the mask row dims them
    const real = renderFigure({ ...input, rec, labels: ['a', 'b'], title: 'test' });
    expect(real.png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(real.gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect(real.rows[0]!.mask).not.toEqual(real.rows[0]!.input);
  });

  it('bar chart renders one panel per metric', () => {
    const c = barChart(['random', 'tube'], [{ title: 'LOSS', values: [0.5, NaN] }, { title: 'TOP-1', values: [10, 20] }]);
    expect(c.width).toBeGreaterThan(400);
    expect(c.png.subarray(1, 4).toString('latin1')).toBe('PNG');
  });
});
