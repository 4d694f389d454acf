// The VideoMAE model through the native Session: parameter names and shapes against VideoMAE's
// ViT-B state_dict, parameter counts per preset, and reconstruction output shapes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { isModelWeight } from '../lib/checkpoint/checkpoint.js';
import { Session } from '../lib/session.js';
import { tatsSamplerLinearMacs } from '../lib/train/flops.js';
import { randomBytes } from './helpers.js';
import { presets, sessionConfig, type Preset } from './session-config.js';

/** Parameters per pre-LN block of width d with mlpRatio 4: 12 d^2 weights + 12 d biases/norms. */
const blockParams = (d: number) => 12 * d * d + 12 * d;
const valuesPerToken = 3 * 2 * 16 * 16;

function expectedParams(p: Preset): number {
  const { encoderDim: e, encoderDepth, decoderDim: d, decoderDepth } = presets[p];
  const encoder = e * valuesPerToken + e + encoderDepth * blockParams(e) + 2 * e;
  const decoder = decoderDepth * blockParams(d) + 2 * d + d * valuesPerToken + valuesPerToken;
  return encoder + decoder + e * d + d; // + encoder_to_decoder + mask_token
}

async function modelShapes(session: Session): Promise<[string, number[]][]> {
  const state = await session.stateDict();
  return Object.entries(state)
    .filter(([name]) => isModelWeight(name))
    .map(([name, t]) => [name, t.shape]);
}

describe('VideoMAE model', () => {
  it('base preset has exactly VideoMAE ViT-B pretraining parameter names and shapes, in state_dict order', async () => {
    const fixture = readFileSync(join(import.meta.dirname, 'fixtures', 'videomae_pretrain_base_keys.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((l) => {
        const m = /^(\S+) \[(.*)\]$/.exec(l.trim());
        if (!m) throw new Error(`bad fixture line: ${l}`);
        return [m[1]!, m[2]!.split(',').map((x) => Number(x.trim()))] as [string, number[]];
      });
    expect(fixture.length).toBe(218);
    // Frames and size do not change any parameter (positions are a fixed table), so keep it small.
    const session = await Session.create(sessionConfig({ preset: 'base', frames: 4, size: 32, batchSize: 1 }));
    try {
      const shapes = await modelShapes(session);
      expect(shapes.map(([n]) => n)).toEqual(fixture.map(([n]) => n));
      expect(shapes).toEqual(fixture);
      const total = shapes.reduce((a, [, s]) => a + s.reduce((x, y) => x * y, 1), 0);
      expect(total).toBe(expectedParams('base'));
      expect(total).toBe(94_210_944);
    } finally {
      session.dispose();
    }
  });

  for (const preset of ['tiny', 'small', 'base', 'large'] as const) {
    it(`${preset}: parameter count and reconstruction shapes`, async () => {
      const batchSize = 2;
      const session = await Session.create(sessionConfig({ preset, frames: 4, size: 32, batchSize, strategy: 'tube', ratio: 0.75 }));
      try {
        // 4 frames x 32 px, tubelet 2, patch 16: 2 slots x 4 positions; tube 0.75 masks 3 per slot.
        expect(session.tokens).toBe(8);
        const shapes = await modelShapes(session);
        const total = shapes.reduce((a, [, s]) => a + s.reduce((x, y) => x * y, 1), 0);
        expect(total).toBe(expectedParams(preset));
        const { encoderDim, decoderDim } = presets[preset];
        expect(shapes.find(([n]) => n === 'encoder.patch_embed.proj.weight')?.[1]).toEqual([encoderDim, 3, 2, 16, 16]);
        expect(shapes.find(([n]) => n === 'mask_token')?.[1]).toEqual([1, 1, decoderDim]);
        expect(shapes.find(([n]) => n === 'decoder.head.weight')?.[1]).toEqual([valuesPerToken, decoderDim]);
        const r = await session.reconstruct(randomBytes(batchSize * 4 * 32 * 32 * 3, 7));
        expect(r.maskedPerClip).toBe(6);
        expect(r.tokens).toBe(8);
        expect(r.valuesPerToken).toBe(valuesPerToken);
        expect(r.pred.length).toBe(batchSize * 6 * valuesPerToken);
        expect(r.target.length).toBe(batchSize * 6 * valuesPerToken);
        expect(r.mask.length).toBe(batchSize * 8);
        expect(r.policy).toBeUndefined();
        expect(r.pred.every(Number.isFinite)).toBe(true);
      } finally {
        session.dispose();
      }
    });
  }

  it("the FLOP count's TATS sampler linear maps are the sampler's own weight matrices, one multiply-add each per token", async () => {
    // Every 2-D weight of the sampler is applied once per token (proj_kv through its two halves,
    // native/core/trajectory_attention.h); pos_embed [1, N, C] is an addition, not a map.
    const config = sessionConfig({ preset: 'tiny', frames: 4, size: 32, batchSize: 1, strategy: 'tats' });
    const session = await Session.create(config);
    try {
      const state = await session.stateDict();
      const matrices = Object.entries(state).filter(([name, t]) => name.startsWith('sampler.') && t.shape.length === 2);
      expect(matrices.map(([name]) => name)).toContain('sampler.mlp.0.weight');
      const weights = matrices.reduce((a, [, t]) => a + t.shape[0]! * t.shape[1]!, 0);
      expect(weights).toBe(tatsSamplerLinearMacs(config.model.encoderDim, config.sampler.dim));
    } finally {
      session.dispose();
    }
  });
});
