// VideoMAE temporal sampling and uint8 spatial transforms.
import { describe, expect, it } from 'vitest';

import { denseIndices, linspaceIndices, recipeFor, segmentIndices, ssv2TestIndices, testClipIndices } from '../lib/data/sampling.js';
import { cropResize, fixedOffsets, flipHorizontal, multiScaleCropBox, seededRand, threeCropBoxes } from '../lib/data/transforms.js';

describe('sampling', () => {
  it('dense 16x4: stride 4 inside the video, start in range; short videos repeat the last frame', () => {
    const r = seededRand(1);
    for (let k = 0; k < 50; k++) {
      const ix = denseIndices(300, 16, 4, r);
      expect(ix).toHaveLength(16);
      for (let i = 1; i < 16; i++) expect(ix[i]! - ix[i - 1]!).toBe(4);
      expect(ix[0]).toBeGreaterThanOrEqual(0);
      expect(ix[15]).toBeLessThan(300);
    }
    expect(denseIndices(20, 16, 2, r)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 19, 19, 19, 19, 19, 19]);
  });

  it('linspace fine-tuning sampling spans 64 frames ending at a random end', () => {
    const ix = linspaceIndices(200, 16, 4, seededRand(3));
    expect(ix[15]! - ix[0]!).toBeGreaterThanOrEqual(62);
    expect(ix[15]! - ix[0]!).toBeLessThanOrEqual(64);
    expect(linspaceIndices(30, 16, 4, seededRand(3))).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 29, 29, 29, 29, 29, 29, 29, 29]);
  });

  it('segment sampling takes one frame per segment (SSv2)', () => {
    const ix = segmentIndices(64, 16, seededRand(5));
    ix.forEach((v, i) => {
      expect(v).toBeGreaterThanOrEqual(i * 4);
      expect(v).toBeLessThan((i + 1) * 4);
    });
    expect(segmentIndices(64, 16, seededRand(5), true)).toEqual(Array.from({ length: 16 }, (_, i) => i * 4 + 1));
    const short = segmentIndices(10, 16, seededRand(5));
    expect(short).toEqual([...short].sort((a, b) => a - b));
  });

  it('test views: 5 evenly spaced clips; SSv2 2 interleaved clips', () => {
    const v = testClipIndices(400, 16, 4, 5);
    expect(v).toHaveLength(5);
    expect(v[0]![0]).toBe(0);
    expect(v[4]![15]).toBe(396);
    const s = ssv2TestIndices(64, 16, 2);
    expect(s).toHaveLength(2);
    expect(s[0]![0]).toBe(0);
    expect(s[1]![0]).toBe(2);
  });

  it('recipes follow VideoMAE: no flips for SSv2, stride 2 consecutive for SSv2 pretraining', () => {
    expect(recipeFor('ssv2', 'pretrain')).toEqual({ kind: 'dense', frames: 16, rate: 2, flip: false });
    expect(recipeFor('ssv2', 'finetune')).toMatchObject({ kind: 'segment', flip: false });
    expect(recipeFor('k400', 'pretrain')).toEqual({ kind: 'dense', frames: 16, rate: 4, flip: false });
    expect(recipeFor('ucf101', 'finetune')).toMatchObject({ kind: 'linspace', rate: 4, flip: true });
  });
});

describe('transforms', () => {
  it('13 fixed offsets on the quarter grid', () => {
    const o = fixedOffsets(320, 256, 224, 224);
    expect(o).toHaveLength(13);
    expect(o[1]).toEqual([96, 0]);
    expect(o[4]).toEqual([48, 16]);
  });

  it('multi-scale crop boxes use the 4 scales with at most one step of distortion, inside the frame', () => {
    const r = seededRand(9);
    const sides = new Set<number>();
    for (let k = 0; k < 400; k++) {
      const b = multiScaleCropBox(320, 256, 224, 224, r);
      sides.add(b.width);
      sides.add(b.height);
      expect(b.x + b.width).toBeLessThanOrEqual(320);
      expect(b.y + b.height).toBeLessThanOrEqual(256);
      const steps = [256, 224, 192, 168];
      expect(Math.abs(steps.indexOf(b.width) - steps.indexOf(b.height))).toBeLessThanOrEqual(1);
    }
    expect([...sides].sort((a, b) => a - b)).toEqual([168, 192, 224, 256]);
  });

  it('bilinear crop-resize: identity, constant images and a 2x downscale average', () => {
    const T = 2;
    const clip = new Uint8Array(T * 4 * 4 * 3);
    for (let i = 0; i < clip.length; i++) clip[i] = (i * 37) & 255;
    expect(cropResize(clip, T, 4, 4, { x: 0, y: 0, width: 4, height: 4 }, 4, 4)).toEqual(clip);
    const flat = new Uint8Array(T * 8 * 8 * 3).fill(77);
    expect(cropResize(flat, T, 8, 8, { x: 1, y: 2, width: 5, height: 6 }, 3, 7).every((v) => v === 77)).toBe(true);
    // 2x downscale with half-pixel centres averages 2x2 blocks
    const ramp = new Uint8Array(1 * 2 * 2 * 3);
    [0, 100, 50, 150].forEach((v, p) => ramp.fill(v, p * 3, p * 3 + 3));
    expect(cropResize(ramp, 1, 2, 2, { x: 0, y: 0, width: 2, height: 2 }, 1, 1)[0]).toBe(75);
    expect(() => cropResize(clip, T, 4, 4, { x: 2, y: 0, width: 4, height: 4 }, 2, 2)).toThrow(/outside the 4x4 frame/);
  });

  it('flips each row and three crops cover start, centre and end', () => {
    const c = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(flipHorizontal(c, 1, 1, 3))).toEqual([7, 8, 9, 4, 5, 6, 1, 2, 3]);
    expect(threeCropBoxes(320, 240).map((b) => b.x)).toEqual([0, 40, 80]);
    expect(threeCropBoxes(240, 320).map((b) => b.y)).toEqual([0, 40, 80]);
  });
});
