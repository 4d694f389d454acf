// Fine-tuning: the encoder moves from a pretraining checkpoint into VideoMAE's fine-tuning model
// exactly; a linear probe leaves it untouched; CPU runs are deterministic; the whole
// finetune() -> multi-view evaluate path runs; and (long budget, TATS_EVAL_LONG=1) fine-tuning
// from the pretrained encoder must beat the same classifier from scratch (same steps, seed, data).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readSafetensors } from '../lib/checkpoint/safetensors.js';
import { createClassifier, encoderWeights, finetune, pretrainRun, resolveCheckpoint, type FinetuneOptions } from '../lib/eval/index.js';
import type { NativeTensor } from '../lib/native.js';
import { readMetrics } from '../lib/train/metrics.js';

const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const LONG = process.env.TATS_EVAL_LONG === '1';
// CI budget: tiny width, 2 blocks, 8 frames of 32 px (16 tokens). The long run: see docs/finetune.md.
const FRAMES = 8, SIZE = env('TATS_FT_SIZE', 32), DEPTH = env('TATS_FT_DEPTH', 2), CLASSES = env('TATS_FT_CLASSES', LONG ? 2 : 4);
const PRE_STEPS = env('TATS_FT_PRE', LONG ? 1000 : 12), FT_STEPS = env('TATS_FT_STEPS', LONG ? 600 : 6), TEST = env('TATS_FT_TEST', LONG ? 256 : 16);

const dir = mkdtempSync(join(tmpdir(), 'tats-ft-'));
const ckpt = join(dir, 'pre');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const f32 = (t: NativeTensor) => new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
const same = (a: NativeTensor, b: NativeTensor) => Buffer.from(a.data).equals(Buffer.from(b.data));

const common = (): FinetuneOptions => ({
  dataset: 'synthetic',
  model: 'tiny',
  encoderDepth: DEPTH,
  frames: FRAMES,
  size: SIZE,
  classes: CLASSES,
  steps: FT_STEPS,
  batchSize: 8,
  lr: 2e-3,
  mixup: 0,
  cutmix: 0,
  device: (process.env.TATS_FT_DEVICE ?? 'cpu') as 'cpu' | 'cuda',
  seed: 5,
  testSize: TEST,
});

beforeAll(async () => {
  await pretrainRun({ strategy: 'tube', ratio: 0.75, model: 'tiny', encoderDepth: DEPTH, decoderDepth: 1, frames: FRAMES, size: SIZE, batchSize: 8, steps: PRE_STEPS, lr: 1e-3, device: (process.env.TATS_FT_DEVICE ?? 'cpu') as 'cpu' | 'cuda', seed: 3, out: ckpt });
}, 900_000);

describe('fine-tuning from a pretraining checkpoint', () => {
  it('loads encoder.* into patch_embed/blocks exactly; fc_norm and head are new', async () => {
    const { tensors } = await readSafetensors(resolveCheckpoint(ckpt).file);
    const { session, init } = await createClassifier({ ...common(), checkpoint: ckpt });
    const state = await session.stateDict();
    session.dispose();
    expect(init).toContain('model.safetensors');
    for (const name of Object.keys(state).filter((n) => n.startsWith('blocks.') || n.startsWith('patch_embed.')))
      expect(same(state[name]!, tensors[`encoder.${name}`]!), name).toBe(true);
    expect(state['head.weight']!.shape).toEqual([CLASSES, 192]);
    expect(Object.keys(state)).not.toContain('norm.weight');
    // head init: trunc normal 0.02 scaled by 0.001
    expect(Math.max(...f32(state['head.weight']!).map(Math.abs))).toBeLessThan(1e-3);
  });

  it('a patch-8 micro checkpoint: pretrainRun renders the motion map at its patch, finetune takes the patch from it', { timeout: 120_000 }, async () => {
    // Before pretrainRun passed tubelet/patch to the synthetic source, its motion map had the
    // 16-pixel grid (256 bytes a clip here, not 1024) and the first step threw.
    const out = join(dir, 'pre-p8');
    const r = await pretrainRun({ strategy: 'random', ratio: 0.75, model: 'micro', frames: 4, size: 32, patch: 8, batchSize: 2, steps: 2, device: 'cpu', seed: 1, out, logEvery: 1 });
    expect(r.config.model.patch).toBe(8);
    // The run directory of `tats pretrain`: config.json, metrics.jsonl (every step here), checkpoints/.
    expect(r.out).toBe(out);
    expect(readMetrics(join(out, 'metrics.jsonl')).map((l) => l.step)).toEqual([1, 2]);
    expect(r.losses).toHaveLength(2);
    const { tensors } = await readSafetensors(join(r.checkpoint!, 'model.safetensors'));
    const { session, config } = await createClassifier({ checkpoint: out, device: 'cpu', steps: 1, classes: 4 });
    const state = await session.stateDict();
    session.dispose();
    expect(config.classifier.model).toMatchObject({ preset: 'micro', patch: 8, frames: 4, size: 32, encoderDim: 96 });
    expect(state['patch_embed.proj.weight']!.shape).toEqual([96, 3, 2, 8, 8]);
    for (const name of Object.keys(state).filter((n) => n.startsWith('blocks.') || n.startsWith('patch_embed.')))
      expect(same(state[name]!, tensors[`encoder.${name}`]!), name).toBe(true);
  });

  it('maps VideoMAE pretraining and fine-tuning names', () => {
    const t = (n: number): NativeTensor => ({ dtype: 'F32', shape: [n], data: new Uint8Array(4 * n) });
    const pre = encoderWeights({ 'encoder.blocks.0.norm1.weight': t(2), 'encoder.norm.weight': t(2), 'decoder.head.weight': t(2), mask_token: t(2), 'encoder_to_decoder.weight': t(2) }, 'x');
    expect(Object.keys(pre)).toEqual(['blocks.0.norm1.weight']);
    const ft = encoderWeights({ 'blocks.0.norm1.weight': t(2), 'fc_norm.weight': t(2), 'head.weight': t(2) }, 'x');
    expect(Object.keys(ft)).toEqual(['blocks.0.norm1.weight']);
    expect(Object.keys(encoderWeights({ 'blocks.0.norm1.weight': t(2), 'head.weight': t(2) }, 'x', true))).toContain('head.weight');
    expect(() => encoderWeights({ 'decoder.blocks.0.norm1.weight': t(2) }, 'x')).toThrow(/no encoder weights/);
  });

  it('a linear probe trains fc_norm and head only', async () => {
    const { session } = await createClassifier({ ...common(), checkpoint: ckpt, linearProbe: true, lr: 0.05 });
    const before = await session.stateDict();
    const x = new Uint8Array(8 * FRAMES * SIZE * SIZE * 3).map((_, i) => (i * 31) % 251);
    for (let s = 0; s < 3; s++) await session.trainStep(x, Int32Array.from({ length: 8 }, (_, i) => i % CLASSES));
    const after = await session.stateDict();
    session.dispose();
    for (const name of Object.keys(before).filter((n) => n.startsWith('blocks.') || n.startsWith('patch_embed.'))) expect(same(before[name]!, after[name]!), name).toBe(true);
    expect(same(before['head.weight']!, after['head.weight']!)).toBe(false);
    expect(same(before['fc_norm.weight']!, after['fc_norm.weight']!)).toBe(false);
  });

  it('is deterministic on the CPU (same seed, same losses and logits), with mixup/cutmix and drop path on', async () => {
    const run = async () => {
      const { session } = await createClassifier({ ...common(), mixup: 0.8, cutmix: 1, dropPath: 0.2 });
      const x = new Uint8Array(8 * FRAMES * SIZE * SIZE * 3).map((_, i) => (i * 17) % 253);
      const losses: number[] = [];
      for (let s = 0; s < 3; s++) losses.push((await session.trainStep(x, Int32Array.from({ length: 8 }, (_, i) => i % CLASSES))).loss);
      const logits = await session.predict(x.subarray(0, 2 * FRAMES * SIZE * SIZE * 3));
      session.dispose();
      return { losses, logits: [...logits] };
    };
    const a = await run(), b = await run();
    expect(a).toEqual(b);
    expect(a.logits.length).toBe(2 * CLASSES);
  });

  it(
    LONG ? 'beats the same classifier trained from scratch (same steps, seed, data)' : 'runs finetune() and the multi-view test end to end (pretrained and scratch)',
    { timeout: 1_800_000 },
    async () => {
      const pre = await finetune({ ...common(), checkpoint: ckpt, out: join(dir, 'ft-pre'), ...(LONG ? {} : { testClips: 2, testCrops: 3 }) });
      const scratch = await finetune({ ...common(), out: join(dir, 'ft-scratch') });
      console.log(JSON.stringify({ test: 'finetune-vs-scratch', long: LONG, preSteps: PRE_STEPS, ftSteps: FT_STEPS, pretrained: { top1: pre.eval.top1, loss: pre.finalLoss, trainAcc: pre.trainAcc }, scratch: { top1: scratch.eval.top1, loss: scratch.finalLoss, trainAcc: scratch.trainAcc } }));
      expect(scratch.init).toBe('scratch');
      expect(pre.eval.videos).toBe(TEST);
      expect(pre.eval.confusion.matrix.flat().reduce((a, b) => a + b, 0)).toBe(TEST);
      if (LONG) expect(pre.eval.top1).toBeGreaterThan(scratch.eval.top1 + 0.05);
      else expect(pre.eval.viewsPerVideo).toBe(6);
    },
  );
});
