// The fine-tuning model's state names and shapes are VideoMAE's (ViT-B, 16 x 224, mean pooling,
// 174 classes): test/fixtures/videomae_finetune_base_keys.txt lists every one, in order.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ClassifierSession } from '../lib/eval/classifier.js';
import { packageRoot } from '../lib/paths.js';

describe('VideoMAE fine-tuning names', () => {
  it('ViT-B classifier state matches finetune_base_keys.txt (names, shapes, order)', { timeout: 120_000 }, async () => {
    const want = readFileSync(join(packageRoot, 'test', 'fixtures', 'videomae_finetune_base_keys.txt'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => {
        const [name, shape] = l.split(' [');
        return { name: name!, shape: shape!.replace(']', '').split(', ').map(Number) };
      });
    const session = await ClassifierSession.create({
      model: { preset: 'base', frames: 16, size: 224, tubelet: 2, patch: 16, channels: 3, encoderDim: 768, encoderDepth: 12, encoderHeads: 12, mlpRatio: 4 },
      classes: 174,
      dropPath: 0.1,
      linearProbe: false,
      layerDecay: 0.75,
      labelSmoothing: 0.1,
      mixup: 0.8,
      cutmix: 1,
      mixupProb: 1,
      switchProb: 0.5,
      optim: { lr: 5e-4, minLr: 1e-6, warmupSteps: 5, totalSteps: 50, weightDecay: 0.05, beta1: 0.9, beta2: 0.999, clipGrad: 0 },
      batchSize: 1,
      device: 'cpu',
      seed: 0,
      precision: 'fp32',
    });
    const state = await session.stateDict();
    session.dispose();
    const got = Object.entries(state)
      .filter(([n]) => !n.startsWith('state.'))
      .map(([name, t]) => ({ name, shape: t.shape }));
    expect(got).toEqual(want);
  });
});
