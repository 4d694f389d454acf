// The engine's VideoMAE against a plain-PyTorch VideoMAE (test/reference/videomae_ref.py, written
// from VideoMAE's modeling_pretrain.py): same weights (random, biases and norms included, loaded
// through model.safetensors under VideoMAE's names), same clips and mask -> same predictions and
// targets. Needs python3 with torch (the GPU machine has it); skipped with a reason elsewhere.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { saveCheckpoint } from '../../lib/checkpoint/checkpoint.js';
import { writeSafetensors } from '../../lib/checkpoint/safetensors.js';
import { Session } from '../../lib/session.js';
import { rng } from '../helpers.js';
import { sessionConfig } from '../session-config.js';
import { movingSquares } from '../synthetic-clips.js';

const probe = spawnSync('python3', ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
const reason = probe.status !== 0 ? 'python3 with torch and numpy is not available' : '';
if (reason) console.warn(`VideoMAE reference test skipped: ${reason}`);

const dir = mkdtempSync(join(tmpdir(), 'tats-ref-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(Boolean(reason))('engine VideoMAE vs PyTorch VideoMAE', () => {
  for (const strategy of ['tube', 'random'] as const) {
    it(`tiny preset, 8 x 64 px, ${strategy} 0.75: predictions and targets match`, async () => {
      const B = 2, T = 8, S = 64;
      const cfg = sessionConfig({ preset: 'tiny', frames: T, size: S, batchSize: B, strategy, ratio: 0.75 });
      const session = await Session.create(cfg);
      try {
        // Random weights everywhere (q/v biases, norms, mask token too) so that every layout matters.
        const state = await session.stateDict();
        const r = rng(11);
        const model: typeof state = {};
        for (const [name, t] of Object.entries(state)) {
          if (/^(optim|rng|state|sampler)\./.test(name)) continue;
          const values = new Float32Array(t.data.byteLength / 4);
          const isNormWeight = /norm\d?\.weight$/.test(name);
          for (let k = 0; k < values.length; k++) values[k] = (isNormWeight ? 1 : 0) + (r() - 0.5) * 0.2;
          model[name] = { ...t, data: new Uint8Array(values.buffer) };
        }
        await session.loadStateDict(model, { strict: false });
        const clips = movingSquares(B, T, S, 77);
        const rec = await session.reconstruct(clips);
        await saveCheckpoint(dir, session);
        const m = cfg.model;
        writeFileSync(join(dir, 'config.json'), JSON.stringify(m));
        const P = rec.valuesPerToken, Nm = rec.maskedPerClip, N = rec.tokens;
        await writeSafetensors(join(dir, 'inputs.safetensors'), {
          clips: { dtype: 'U8', shape: [B, T, S, S, 3], data: clips },
          mask: { dtype: 'U8', shape: [B, N], data: rec.mask },
          pred: { dtype: 'F32', shape: [B, Nm, P], data: new Uint8Array(rec.pred.buffer) },
          target: { dtype: 'F32', shape: [B, Nm, P], data: new Uint8Array(rec.target.buffer) },
        });
        const run = spawnSync('python3', [join(import.meta.dirname, '..', 'reference', 'videomae_ref.py'), dir], { encoding: 'utf8' });
        expect(run.status, run.stderr).toBe(0);
        const out = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, number | number[]>;
        console.log(JSON.stringify({ test: 'videomae-reference', strategy, ...out }));
        expect(out.predShape).toEqual([B, Nm, P]);
        // fp32 on both sides; different summation orders (matmul vs Conv3d, SDPA vs explicit softmax).
        expect(out.maxAbsDiffPred as number).toBeLessThan(1e-4 * Math.max(1, out.maxAbsPred as number));
        // Targets: compared where the tubelet channel has contrast; flat ones are rounding noise / 1e-6
        // in both (|value| < 1 either way).
        expect(out.maxAbsDiffTarget as number).toBeLessThan(1e-4);
        expect(out.maxAbsFlatTarget as number).toBeLessThan(1);
      } finally {
        session.dispose();
      }
    });
  }
});
