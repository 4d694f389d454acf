// Multi-view testing on real decoded videos (list:FILE): each video is decoded once and its
// clips x crops views are cut from that buffer; evaluate() averages the views' softmax per video,
// counts undecodable videos as skipped, and writes eval.json + confusion.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { parseDatasetSpec } from '../lib/data/spec.js';
import { ClassifierSession } from '../lib/eval/classifier.js';
import { evaluateSession } from '../lib/eval/evaluate.js';
import { averageViews, inTopK } from '../lib/eval/metrics.js';
import { openTestSet } from '../lib/eval/views.js';
import { cleanTemp, frameIndexAt, makeVideo, tempDir } from './data-fixtures.js';

afterAll(cleanTemp);

describe('multi-view testing', () => {
  const dir = tempDir('views');
  makeVideo(join(dir, 'a.mp4'), { frames: 40, width: 64, height: 48 });
  makeVideo(join(dir, 'b.mp4'), { frames: 24, width: 48, height: 64, blue: 30 });
  writeFileSync(join(dir, 'list.txt'), 'a.mp4 0\nb.mp4 1\nmissing.mp4 2\n');
  const spec = parseDatasetSpec(`list:${join(dir, 'list.txt')}`);

  it('decodes once and cuts clips x crops views with evenly spaced clips', async () => {
    const set = openTestSet(spec, { frames: 4, size: 32, clips: 2, crops: 3, limit: 10, seed: 0 });
    expect(set.length).toBe(3);
    const v = (await set.video(0))!;
    expect(v.viewCount).toBe(6);
    expect(v.views.length).toBe(6 * 4 * 32 * 32 * 3);
    // clip-major: views 0..2 are clip 0 (3 crops), 3..5 clip 1; the frame index is in the red channel
    const clipBytes = 4 * 32 * 32 * 3;
    const firstFrame = (view: number) => frameIndexAt(v.views.subarray(view * clipBytes), 0, 32, 32);
    expect(firstFrame(0)).toBe(firstFrame(2));
    expect(firstFrame(3)).toBeGreaterThan(firstFrame(0));
    expect(await set.video(2)).toBeUndefined(); // missing file: skipped, not fatal
  });

  it('averages the views\' softmax per video and reports top-1/top-5 and a confusion matrix', async () => {
    const session = await ClassifierSession.create({
      model: { preset: 'tiny', frames: 4, size: 32, tubelet: 2, patch: 16, channels: 3, encoderDim: 24, encoderDepth: 1, encoderHeads: 3, mlpRatio: 4 },
      classes: 3,
      dropPath: 0,
      linearProbe: false,
      layerDecay: 0.75,
      labelSmoothing: 0.1,
      mixup: 0,
      cutmix: 0,
      mixupProb: 1,
      switchProb: 0.5,
      optim: { lr: 1e-3, minLr: 1e-6, warmupSteps: 0, totalSteps: 1, weightDecay: 0.05, beta1: 0.9, beta2: 0.999, clipGrad: 0 },
      batchSize: 2,
      device: 'cpu',
      seed: 1,
      precision: 'fp32',
    });
    const out = join(dir, 'eval');
    const r = await evaluateSession(session, { dataset: `list:${join(dir, 'list.txt')}`, clips: 2, crops: 3, batchSize: 4, out });
    // the same numbers by hand from predict()
    const set = openTestSet(spec, { frames: 4, size: 32, clips: 2, crops: 3, limit: 256, seed: 0 });
    let top1 = 0;
    for (let i = 0; i < 2; i++) {
      const v = (await set.video(i))!;
      const probs = averageViews(await session.predict(v.views), 6, 3);
      if (inTopK(probs, v.label, 1)) top1++;
    }
    session.dispose();
    expect(r.videos).toBe(2);
    expect(r.skipped).toBe(1);
    expect(r.viewsPerVideo).toBe(6);
    expect(r.top1).toBe(top1 / 2);
    expect(r.top5).toBe(1); // 3 classes: always in the top 5
    expect(r.confusion.matrix.flat().reduce((a, b) => a + b, 0)).toBe(2);
    expect(existsSync(join(out, 'eval.json'))).toBe(true);
    expect(readFileSync(join(out, 'confusion.md'), 'utf8')).toMatch(/\| true \\ predicted \|/);
  });
});
