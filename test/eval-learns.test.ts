// Does the classifier learn at all? The checks behind docs/finetune.md's diagnosis of why
// fine-tuning stays at chance on the synthetic motion set at CPU budgets:
//  - it memorises a handful of labelled synthetic clips (finetune with trainSize: the optimiser,
//    labels and loss are wired right);
//  - it learns the direction of motion when the motion is easy to see (a bright square sliding left
//    or right over a black background, the same mean position in both classes), so temporal order
//    reaches the model intact: a clip whose frames were shuffled or whose tubelets were mixed up
//    could not be classified by direction.
import { describe, expect, it } from 'vitest';

import { ConfigError } from '../lib/errors/index.js';
import { createClassifier, finetune, resolveFinetuneConfig } from '../lib/eval/index.js';

describe('the classifier learns', () => {
  it('memorises 16 labelled synthetic clips (trainSize: the first 16 of the train split)', { timeout: 120_000 }, async () => {
    const r = await finetune({
      dataset: 'synthetic',
      model: 'micro',
      frames: 4,
      size: 32,
      classes: 4,
      trainSize: 16,
      steps: 80,
      batchSize: 8,
      lr: 2e-3,
      mixup: 0,
      cutmix: 0,
      dropPath: 0,
      labelSmoothing: 0,
      device: 'cpu',
      seed: 2,
      testSize: 16,
    });
    expect(r.config.trainSize).toBe(16);
    // The last 10% of steps: every clip of the 16 right.
    expect(r.trainAcc).toBe(1);
    expect(r.finalLoss).toBeLessThan(0.3);
  });

  it('learns left vs right motion when the motion is plain to see', { timeout: 180_000 }, async () => {
    const T = 4, S = 32, B = 16, side = 10, v = 3;
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
    const batch = (n: number) => {
      const clips = new Uint8Array(n * T * S * S * 3);
      const labels = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const label = rnd() < 0.5 ? 0 : 1;
        labels[i] = label;
        const dx = label ? v : -v;
        // The path is centred on a midpoint drawn the same way for both classes.
        const mid = 8 + Math.floor(rnd() * 6), y0 = Math.floor(rnd() * (S - side));
        for (let t = 0; t < T; t++) {
          const x0 = Math.round(mid + dx * (t - (T - 1) / 2));
          for (let y = y0; y < y0 + side; y++)
            for (let x = Math.max(0, x0); x < Math.min(S, x0 + side); x++) clips.fill(255, (((i * T + t) * S + y) * S + x) * 3, (((i * T + t) * S + y) * S + x) * 3 + 3);
        }
      }
      return { clips, labels };
    };
    const { session } = await createClassifier({ model: 'micro', patch: 8, frames: T, size: S, classes: 2, steps: 150, batchSize: B, lr: 1e-3, mixup: 0, cutmix: 0, device: 'cpu', seed: 1 });
    try {
      for (let s = 0; s < 150; s++) {
        const b = batch(B);
        await session.trainStep(b.clips, b.labels);
      }
      const test = batch(128);
      const logits = await session.predict(test.clips);
      let right = 0;
      for (let i = 0; i < 128; i++) if ((logits[2 * i + 1]! > logits[2 * i]! ? 1 : 0) === test.labels[i]) right++;
      console.log(JSON.stringify({ test: 'plain-motion', acc: right / 128 }));
      expect(right / 128).toBeGreaterThan(0.9);
    } finally {
      session.dispose();
    }
  });

  it('--train-size: at least one batch, synthetic only, and it sets the epoch length', () => {
    expect(() => resolveFinetuneConfig({ trainSize: 4, batchSize: 8, device: 'cpu' })).toThrow(ConfigError);
    expect(() => resolveFinetuneConfig({ trainSize: 4, batchSize: 8, device: 'cpu' })).toThrow(/^trainSize: /);
    expect(() => resolveFinetuneConfig({ dataset: 'ucf101:/nowhere', trainSize: 64, device: 'cpu' })).toThrow(/^trainSize: .*synthetic/);
    const c = resolveFinetuneConfig({ trainSize: 64, batchSize: 8, epochs: 2, device: 'cpu' });
    expect(c.trainSize).toBe(64);
    expect(c.steps).toBe(16);
  });
});
