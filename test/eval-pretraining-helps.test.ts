// Does pretraining help downstream? On the built-in synthetic motion clips, at a CPU budget that
// fits CI: MAE pretraining (random masking) on unlabelled clips, then fine-tuning on 32 labelled
// clips must beat the same classifier fine-tuned from a random encoder (same steps, seed, clips),
// on 256 test clips, for two fine-tuning seeds. The same settings and a longer GPU sweep are in
// docs/finetune.md (bench/pretrain-vs-scratch.mjs, bench/sweeps/).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { finetune, pretrainRun, type FinetuneOptions } from '../lib/eval/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tats-helps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// micro ViT, 4 frames of 32 px at patch 8: 2 x 4 x 4 = 32 tokens.
const geometry = { model: 'micro', frames: 4, size: 32, patch: 8, device: 'cpu' } as const;

describe('pretraining on unlabelled synthetic clips helps a low-label fine-tune (CPU, ~7 min)', () => {
  it('pretrained beats scratch by >= 8 points on each of two seeds, >= 12 on average', { timeout: 1_800_000 }, async () => {
    const ckpt = join(dir, 'pre');
    const pre = await pretrainRun({ ...geometry, strategy: 'random', ratio: 0.75, batchSize: 16, steps: 1000, lr: 1.5e-3, seed: 3, out: ckpt });
    // The MAE learned something: its loss fell well below where it started.
    const first = pre.losses.slice(0, 100).reduce((a, b) => a + b, 0) / 100;
    expect(pre.finalLoss).toBeLessThan(0.9 * first);
    const margins: number[] = [];
    for (const seed of [1, 2]) {
      const common: FinetuneOptions = { ...geometry, dataset: 'synthetic', classes: 4, trainSize: 32, steps: 300, batchSize: 16, lr: 1e-3, mixup: 0, cutmix: 0, testSize: 256, seed };
      const fromPre = await finetune({ ...common, checkpoint: ckpt });
      const fromScratch = await finetune(common);
      console.log(JSON.stringify({ test: 'pretraining-helps', seed, pretrainLoss: [first, pre.finalLoss], pretrained: fromPre.eval.top1, scratch: fromScratch.eval.top1, trainAcc: [fromPre.trainAcc, fromScratch.trainAcc] }));
      expect(fromPre.init).not.toBe('scratch');
      expect(fromScratch.init).toBe('scratch');
      expect(fromPre.eval.videos).toBe(256);
      // Both fit their 32 clips; what differs is how well that carries to unseen clips.
      expect(fromScratch.trainAcc).toBeGreaterThan(0.9);
      margins.push(fromPre.eval.top1 - fromScratch.eval.top1);
    }
    for (const m of margins) expect(m).toBeGreaterThanOrEqual(0.08);
    expect((margins[0]! + margins[1]!) / 2).toBeGreaterThanOrEqual(0.12);
  });
});
