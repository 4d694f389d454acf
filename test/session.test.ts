// The native Session end to end on the CPU: reproducibility from the seed, exact resume from a
// checkpoint, evaluation that leaves training untouched, the schedule, telemetry, and lifecycle.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadCheckpoint, readCheckpointMeta, saveCheckpoint } from '../lib/checkpoint/checkpoint.js';
import { readSafetensors } from '../lib/checkpoint/safetensors.js';
import { DisposedError, NativeError } from '../lib/errors/index.js';
import { native } from '../lib/native.js';
import { Session, type SessionConfig } from '../lib/session.js';
import { movingSquares } from './synthetic-clips.js';
import { sessionConfig } from './session-config.js';

const B = 2, T = 8, S = 64, N = 64;
const batch = (i: number) => movingSquares(B, T, S, 500 + i);
const tmp = mkdtempSync(join(tmpdir(), 'tats-session-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function config(over: Parameters<typeof sessionConfig>[0] = {}): SessionConfig {
  return sessionConfig({ batchSize: B, frames: T, size: S, lr: 1e-3, warmupSteps: 2, totalSteps: 10, clipGrad: 1, ...over });
}

async function losses(session: Session, from: number, to: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push((await session.trainStep(batch(i))).loss);
  return out;
}

describe('Session', () => {
  it('two runs with one seed give identical losses; another seed differs', async () => {
    const runs: number[][] = [];
    for (const seed of [7, 7, 8]) {
      const s = await Session.create(config({ seed }));
      runs.push(await losses(s, 0, 4));
      s.dispose();
    }
    expect(runs[0]).toEqual(runs[1]);
    expect(runs[0]).not.toEqual(runs[2]);
    for (const l of runs[0]!) expect(Number.isFinite(l)).toBe(true);
  });

  it('save -> load -> continue gives the losses of an uninterrupted run', async () => {
    const straight = await Session.create(config({ seed: 3 }));
    const want = await losses(straight, 0, 6);
    straight.dispose();

    const first = await Session.create(config({ seed: 3 }));
    const head = await losses(first, 0, 3);
    const dir = join(tmp, 'ckpt');
    const meta = await saveCheckpoint(dir, first, { note: 'test' });
    first.dispose();
    expect(meta.step).toBe(3);
    expect(readdirSync(dir).sort()).toEqual(['meta.json', 'model.safetensors', 'state.safetensors']);
    expect((await readCheckpointMeta(dir)).note).toBe('test');
    const model = await readSafetensors(join(dir, 'model.safetensors'));
    expect(Object.keys(model.tensors)[0]).toBe('mask_token');
    expect(Object.values(model.tensors).every((t) => t.dtype === 'F32')).toBe(true);
    const state = await readSafetensors(join(dir, 'state.safetensors'));
    expect(state.tensors['state.step']?.dtype).toBe('I64');
    expect(state.tensors['rng.cpu']?.dtype).toBe('U8');
    expect(state.tensors['optim.encoder.blocks.0.attn.qkv.weight.exp_avg']?.shape).toEqual([576, 192]);

    // A different seed: everything that matters must come from the checkpoint.
    const resumed = await Session.create(config({ seed: 99 }));
    await loadCheckpoint(dir, resumed);
    expect(resumed.step).toBe(3);
    const tail = await losses(resumed, 3, 6);
    resumed.dispose();
    expect([...head, ...tail]).toEqual(want);
  });

  it('evalStep and reconstruct do not change training', async () => {
    const a = await Session.create(config({ seed: 5 }));
    const want = await losses(a, 0, 3);
    a.dispose();
    const b = await Session.create(config({ seed: 5 }));
    const got = [(await b.trainStep(batch(0))).loss];
    const e1 = await b.evalStep(batch(0));
    const e2 = await b.evalStep(batch(0));
    expect(Number.isFinite(e1.loss)).toBe(true);
    expect(e1.loss).not.toBe(e2.loss); // fresh masks from the evaluation generator
    await b.reconstruct(batch(1));
    got.push(...(await losses(b, 1, 3)));
    b.dispose();
    expect(got).toEqual(want);
  });

  it('evaluates and reconstructs any number of clips; trains on exactly batchSize', async () => {
    const s = await Session.create(config());
    const one = movingSquares(1, T, S, 3);
    const r = await s.reconstruct(one);
    expect(r.mask.length).toBe(N);
    expect(r.pred.length).toBe(r.maskedPerClip * r.valuesPerToken);
    expect(Number.isFinite((await s.evalStep(movingSquares(3, T, S, 4))).loss)).toBe(true);
    await expect(s.trainStep(one)).rejects.toThrow(/bytes, expected/);
    await expect(s.reconstruct(one, new Uint8Array(2 * N))).rejects.toThrow(TypeError);
    s.dispose();
  });

  it('reports the warmup + cosine learning rate, the step and finite gradient norms', async () => {
    const cfg = config({ lr: 1e-3, warmupSteps: 2, totalSteps: 4 });
    const s = await Session.create(cfg);
    const lrs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const m = await s.trainStep(batch(i));
      expect(m.step).toBe(i + 1);
      expect(m.gradNorm).toBeGreaterThan(0);
      expect(m.stepMs).toBeGreaterThan(0);
      lrs.push(m.lr);
    }
    expect(s.step).toBe(5);
    s.dispose();
    const { minLr } = cfg.optim;
    // step 0, 1: warmup 1/2, 2/2; steps 2..4: cosine over 2 steps, then flat at minLr.
    const want = [5e-4, 1e-3, 1e-3, minLr + (1e-3 - minLr) * 0.5, minLr];
    lrs.forEach((lr, i) => expect(lr).toBeCloseTo(want[i]!, 12));
  });

  it('reports the share of masked tokens that move when given a motion map', async () => {
    const s = await Session.create(config());
    const motion = new Uint8Array(B * N);
    for (let b = 0; b < B; b++) for (let t = 0; t < N; t++) motion[b * N + t] = t % 16 < 4 ? 1 : 0; // 4 of 16 positions move
    const m = await s.trainStep(batch(0), motion);
    expect(m.movingShare).toBe(0.25);
    expect(m.maskedMovingShare).toBeGreaterThanOrEqual(0);
    expect(m.maskedMovingShare).toBeLessThanOrEqual(1);
    const all = await s.trainStep(batch(1), new Uint8Array(B * N).fill(1));
    expect(all.maskedMovingShare).toBe(1);
    const e = await s.evalStep(batch(0), motion);
    expect(e.movingShare).toBe(0.25);
    expect((await s.trainStep(batch(2))).maskedMovingShare).toBeUndefined();
    s.dispose();
  });

  it('rejects a second concurrent call with ERR_BUSY, and every call after dispose with ERR_DISPOSED', async () => {
    const s = await Session.create(config());
    const first = s.trainStep(batch(0));
    await expect(s.trainStep(batch(1))).rejects.toMatchObject({ code: 'ERR_BUSY' });
    await expect(s.stateDict()).rejects.toBeInstanceOf(NativeError);
    expect((await first).step).toBe(1);
    expect((await s.trainStep(batch(1))).step).toBe(2); // free again once settled
    s.dispose();
    expect(s.disposed).toBe(true);
    await expect(s.trainStep(batch(0))).rejects.toBeInstanceOf(DisposedError);
    expect(() => s.step).toThrow(DisposedError);
    s.dispose(); // idempotent

    const raw = new (native().Session)(config());
    raw.dispose();
    expect(() => raw.trainStep(batch(0))).toThrow(expect.objectContaining({ code: 'ERR_DISPOSED' }));
    expect(() => raw.step).toThrow(expect.objectContaining({ code: 'ERR_DISPOSED' }));
  });

  it('dispose during a running step frees the session after that step settles', async () => {
    const s = await Session.create(config());
    const pending = s.trainStep(batch(0));
    s.dispose();
    expect((await pending).step).toBe(1);
  });

  it('loadStateDict: strict needs every weight and known names; non-strict loads model weights alone', async () => {
    const a = await Session.create(config({ seed: 1 }));
    await a.trainStep(batch(0));
    const state = await a.stateDict();
    a.dispose();
    const model = Object.fromEntries(Object.entries(state).filter(([k]) => !/^(optim|rng|state|sampler)\./.test(k)));
    const b = await Session.create(config({ seed: 2 }));
    const { mask_token: _dropped, ...missing } = model;
    await expect(b.loadStateDict(missing)).rejects.toThrow(/mask_token' is missing/);
    await expect(b.loadStateDict({ ...state, 'encoder.extra': state.mask_token! })).rejects.toThrow(/unknown name/);
    const wrong = { ...state, mask_token: { dtype: 'F32' as const, shape: [1, 96], data: new Uint8Array(96 * 4) } };
    await expect(b.loadStateDict(wrong)).rejects.toThrow(/shape/);
    await b.loadStateDict(model, { strict: false });
    expect(b.step).toBe(0);
    const back = await b.stateDict();
    expect(back['encoder.blocks.3.mlp.fc1.weight']!.data).toEqual(state['encoder.blocks.3.mlp.fc1.weight']!.data);
    b.dispose();
  });
});
