// Fine-tuning from a pretrained encoder must beat the same classifier trained from scratch (same
// steps, seed, data) on the synthetic motion set. CPU, tiny preset, small clips. This can fail: if
// pretraining stops producing useful features (or the weights stop loading), the gap closes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { saveCheckpoint } from '../lib/checkpoint/checkpoint.js';
import { SyntheticMotionDataset } from '../lib/data/synthetic.js';
import { finetune, type FinetuneOptions } from '../lib/eval/index.js';
import { Session } from '../lib/session.js';
import { sessionConfig } from './session-config.js';

const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const FRAMES = env('TATS_FT_FRAMES', 8), SIZE = env('TATS_FT_SIZE', 32), CLASSES = env('TATS_FT_CLASSES', 4);
const DEPTH = env('TATS_FT_DEPTH', 12);
const PRE_STEPS = env('TATS_FT_PRE', 80), FT_STEPS = env('TATS_FT_STEPS', 40), BATCH = 8, TEST = env('TATS_FT_TEST', 96);

const dir = mkdtempSync(join(tmpdir(), 'tats-ft-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function pretrain(out: string): Promise<number> {
  const cfg = sessionConfig({ frames: FRAMES, size: SIZE, batchSize: BATCH, strategy: 'tube', ratio: env('TATS_FT_RATIO', 0.75), lr: env('TATS_FT_PRELR', 1.5e-3), warmupSteps: 5, totalSteps: PRE_STEPS, seed: 3 });
  cfg.model.encoderDepth = DEPTH;
  cfg.model.decoderDepth = env('TATS_FT_DDEPTH', 4);
  const session = await Session.create(cfg);
  const ds = new SyntheticMotionDataset({ seed: 11, frames: FRAMES, size: SIZE, numClasses: CLASSES, length: 4096 });
  let loss = 0;
  for (let s = 0; s < PRE_STEPS; s++) {
    const b = ds.batch(Array.from({ length: BATCH }, (_, i) => s * BATCH + i));
    loss = (await session.trainStep(b.clips, b.motion)).loss;
  }
  await saveCheckpoint(out, session, { model: { preset: 'tiny', frames: FRAMES, size: SIZE, encoderDepth: DEPTH } });
  session.dispose();
  return loss;
}

describe('fine-tuning', () => {
  it('a pretrained encoder beats training from scratch (same steps, seed, data)', { timeout: 300_000 }, async () => {
    const ckpt = join(dir, 'pre');
    const preLoss = await pretrain(ckpt);
    const common: FinetuneOptions = {
      dataset: 'synthetic',
      model: 'tiny',
      encoderDepth: DEPTH,
      frames: FRAMES,
      size: SIZE,
      classes: CLASSES,
      steps: FT_STEPS,
      batchSize: BATCH,
      lr: env('TATS_FT_LR', 1e-3),
      warmupSteps: 4,
      mixup: 0,
      cutmix: 0,
      dropPath: 0.1,
      device: 'cpu',
      seed: 5,
      testSize: TEST,
      linearProbe: process.env.TATS_FT_PROBE === '1',
    };
    const pre = await finetune({ ...common, checkpoint: ckpt, out: join(dir, 'ft-pre') });
    const scratch = await finetune({ ...common, out: join(dir, 'ft-scratch') });
    console.log(JSON.stringify({ preLoss, pretrained: { top1: pre.eval.top1, loss: pre.finalLoss, trainAcc: pre.trainAcc }, scratch: { top1: scratch.eval.top1, loss: scratch.finalLoss, trainAcc: scratch.trainAcc } }));
    expect(pre.init).toContain('model.safetensors');
    expect(scratch.init).toBe('scratch');
    expect(pre.eval.videos).toBe(TEST);
    expect(pre.eval.top1).toBeGreaterThan(scratch.eval.top1 + 0.05);
  });
});
