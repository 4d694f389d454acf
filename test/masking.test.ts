// Fixed masking strategies: exact counts, ascending lists without duplicates that partition the
// tokens, each strategy's structure, and the same masks reaching the model through the Session.
import { describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';
import { Session } from '../lib/session.js';
import { randomBytes } from './helpers.js';
import { sessionConfig } from './session-config.js';

type Strategy = 'random' | 'tube' | 'frame';

// 16 frames x 64 px: 8 slots x 16 positions = 128 tokens.
const grid = { frames: 16, size: 64, tubelet: 2, patch: 16 };
const slots = 8, perSlot = 16, tokens = 128;
const expectedMasked: Record<Strategy, (ratio: number) => number> = {
  random: (r) => Math.round(r * tokens),
  tube: (r) => slots * Math.trunc(r * perSlot), // VideoMAE: int(ratio * S) per slot
  frame: (r) => Math.round(r * slots) * perSlot,
};

function rows(flat: Int32Array, batch: number, count: number): number[][] {
  return Array.from({ length: batch }, (_, b) => Array.from(flat.subarray(b * count, (b + 1) * count)));
}

describe('masking strategies', () => {
  for (const strategy of ['random', 'tube', 'frame'] as const) {
    for (const ratio of [0.5, 0.75, 0.9]) {
      it(`${strategy} ${ratio}: exact counts, ascending, disjoint, covering every token`, () => {
        const batch = 4;
        const d = native().drawMasks({ strategy, ratio, ...grid, batch, seed: 3 });
        const nm = expectedMasked[strategy](ratio);
        expect(d.tokens).toBe(tokens);
        expect(d.maskedCount).toBe(nm);
        expect(d.visibleCount).toBe(tokens - nm);
        const masked = rows(d.masked, batch, nm), visible = rows(d.visible, batch, tokens - nm);
        for (let b = 0; b < batch; b++) {
          for (const list of [masked[b]!, visible[b]!])
            for (let i = 1; i < list.length; i++) expect(list[i]!).toBeGreaterThan(list[i - 1]!); // ascending => no duplicates
          const all = [...masked[b]!, ...visible[b]!].sort((x, y) => x - y);
          expect(all).toEqual(Array.from({ length: tokens }, (_, i) => i));
          const maskedSlots = masked[b]!.map((t) => Math.floor(t / perSlot));
          const maskedPos = masked[b]!.map((t) => t % perSlot);
          if (strategy === 'tube') {
            // The same spatial positions in every slot.
            const first = maskedPos.slice(0, nm / slots);
            for (let s = 0; s < slots; s++) expect(maskedPos.slice((s * nm) / slots, ((s + 1) * nm) / slots)).toEqual(first);
          }
          if (strategy === 'frame') {
            // Whole slots: each masked slot has all its positions masked.
            for (const s of new Set(maskedSlots)) expect(maskedSlots.filter((x) => x === s).length).toBe(perSlot);
          }
        }
        // Different clips draw different masks (4 clips agreeing by chance is ~impossible here).
        expect(new Set(masked.map((m) => m.join(','))).size).toBeGreaterThan(1);
      });
    }
  }

  it('counts keep at least one visible and one masked token', () => {
    const tiny = native().drawMasks({ strategy: 'frame', ratio: 0.99, ...grid, batch: 1, seed: 1 });
    expect(tiny.maskedCount).toBe((slots - 1) * perSlot);
    const tube = native().drawMasks({ strategy: 'tube', ratio: 0.01, ...grid, batch: 1, seed: 1 });
    expect(tube.maskedCount).toBe(slots);
  });

  it('is reproducible from the seed', () => {
    const a = native().drawMasks({ strategy: 'random', ratio: 0.9, ...grid, batch: 2, seed: 11 });
    const b = native().drawMasks({ strategy: 'random', ratio: 0.9, ...grid, batch: 2, seed: 11 });
    const c = native().drawMasks({ strategy: 'random', ratio: 0.9, ...grid, batch: 2, seed: 12 });
    expect(a.masked).toEqual(b.masked);
    expect(a.masked).not.toEqual(c.masked);
  });

  it('the session reconstructs the masked tokens in ascending order with the strategy counts', async () => {
    const batchSize = 2;
    for (const strategy of ['random', 'tube', 'frame'] as const) {
      const session = await Session.create(sessionConfig({ frames: 8, size: 64, batchSize, strategy, ratio: 0.75 }));
      try {
        const clips = randomBytes(batchSize * 8 * 64 * 64 * 3, 5);
        const r = await session.reconstruct(clips);
        const nm = { random: 48, tube: 48, frame: 48 }[strategy];
        expect(r.maskedPerClip).toBe(nm);
        const { targets } = native().patchify(clips, { batch: batchSize, frames: 8, height: 64, width: 64 });
        for (let b = 0; b < batchSize; b++) {
          const mask = r.mask.subarray(b * 64, (b + 1) * 64);
          const masked = [...mask.keys()].filter((i) => mask[i] === 1);
          expect(masked.length).toBe(nm);
          // Row k of the target is the k-th masked token in ascending order.
          masked.forEach((tok, k) => {
            const want = targets.subarray((b * 64 + tok) * 1536, (b * 64 + tok + 1) * 1536);
            const got = r.target.subarray((b * nm + k) * 1536, (b * nm + k + 1) * 1536);
            expect(got).toEqual(want);
          });
        }
      } finally {
        session.dispose();
      }
    }
  });

  it('an explicit mask is used as given', async () => {
    const session = await Session.create(sessionConfig({ frames: 8, size: 64, batchSize: 2 }));
    try {
      const mask = new Uint8Array(2 * 64);
      for (let i = 0; i < 64; i++) {
        mask[i] = i % 2; // clip 0: odd tokens
        mask[64 + i] = i < 32 ? 1 : 0; // clip 1: first half
      }
      const r = await session.reconstruct(randomBytes(2 * 8 * 64 * 64 * 3, 9), mask);
      expect(r.mask).toEqual(mask);
      expect(r.maskedPerClip).toBe(32);
      const uneven = mask.slice();
      uneven[0] = 1;
      await expect(session.reconstruct(randomBytes(2 * 8 * 64 * 64 * 3, 9), uneven)).rejects.toThrow(/same number of tokens/);
    } finally {
      session.dispose();
    }
  });
});
