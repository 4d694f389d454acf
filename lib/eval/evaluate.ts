/**
 * Multi-view testing (VideoMAE's protocol): each test video is decoded once, its clips x crops
 * views are cut from that buffer, the model's softmax is averaged over the views, and top-1 /
 * top-5 are taken from the mean. Also a confusion matrix (JSON + markdown).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { SyntheticStyle } from '../data/synthetic.js';
import { resolveEvalConfig, type EvalChoices } from '../config/eval.js';
import { resolveDevice } from '../config/finetune.js';
import { TrainError } from '../errors/index.js';
import type { ClassifierSession } from './classifier.js';
import { loadClassifier } from './checkpoint.js';
import { argmax, averageViews, confusionMarkdown, inTopK, type ConfusionReport } from './metrics.js';
import { openTestSet } from './views.js';

/** The options of `tats eval`: EvalChoices (lib/config/eval.ts: fields, defaults, checks) and these. */
export interface EvalOptions extends EvalChoices {
  /**
   * How the synthetic test clips look (see `PretrainConfig.data.syntheticStyle`). `tats eval`
   * defaults it to the style the fine-tuned checkpoint records (its meta.json), else the default look.
   */
  syntheticStyle?: Partial<SyntheticStyle>;
  signal?: AbortSignal;
  /** Writes eval.json and confusion.md here. */
  out?: string;
}

export interface EvalReport {
  top1: number;
  top5: number;
  videos: number;
  /** Videos that could not be decoded (skipped). */
  skipped: number;
  viewsPerVideo: number;
  clips: number;
  crops: number;
  confusion: ConfusionReport;
}

export async function evaluateSession(session: ClassifierSession, o: EvalOptions = {}): Promise<EvalReport> {
  const { dataset, spec, clips, crops, limit, batchSize: per, seed } = resolveEvalConfig(o);
  const synthetic = spec.kind === 'synthetic';
  const m = session.config.model;
  const classes = session.config.classes;
  const set = openTestSet(spec, { frames: m.frames, size: m.size, clips, crops, limit, seed, ...(synthetic ? { classes, tubelet: m.tubelet, patch: m.patch, ...(o.syntheticStyle ? { style: o.syntheticStyle } : {}) } : {}) });
  const names = set.classNames.length === classes ? set.classNames : Array.from({ length: classes }, (_, i) => String(i));
  const matrix = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const clipBytes = m.frames * m.size * m.size * 3;
  let top1 = 0, top5 = 0, videos = 0, skipped = 0, viewsPerVideo = 0;
  for (let i = 0; i < set.length; i++) {
    o.signal?.throwIfAborted();
    const v = await set.video(i);
    if (!v) {
      skipped++;
      continue;
    }
    viewsPerVideo = v.viewCount;
    const logits = new Float32Array(v.viewCount * classes);
    for (let s = 0; s < v.viewCount; s += per) {
      const n = Math.min(per, v.viewCount - s);
      logits.set(await session.predict(v.views.subarray(s * clipBytes, (s + n) * clipBytes)), s * classes);
    }
    // A NaN score compares false with everything, so it would rank first: refuse instead of scoring.
    const bad = logits.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new TrainError('ERR_NONFINITE_OUTPUT', `the model's score for test video ${i} is ${logits[bad]} (its weights hold NaN or Inf: the fine-tune diverged; try a lower --lr)`);
    const probs = averageViews(logits, v.viewCount, classes);
    if (v.label < classes) {
      matrix[v.label]![argmax(probs)]!++;
      if (inTopK(probs, v.label, 1)) top1++;
      if (inTopK(probs, v.label, Math.min(5, classes))) top5++;
    }
    videos++;
  }
  const report: EvalReport = {
    top1: videos ? top1 / videos : 0,
    top5: videos ? top5 / videos : 0,
    videos,
    skipped,
    viewsPerVideo,
    clips,
    crops,
    confusion: { classNames: names, matrix },
  };
  if (o.out) {
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, 'eval.json'), JSON.stringify(report, null, 2) + '\n');
    writeFileSync(
      join(o.out, 'confusion.md'),
      `# Confusion matrix (${dataset}, ${videos} videos, ${clips} x ${crops} views)\n\ntop-1 ${(100 * report.top1).toFixed(1)}%, top-5 ${(100 * report.top5).toFixed(1)}%\n\n` +
        confusionMarkdown(report.confusion),
    );
  }
  return report;
}

/** `tats eval`: scores a fine-tuned checkpoint (tats finetune's run directory or its checkpoint/). */
export async function evaluate(checkpoint: string, o: EvalOptions & { device?: 'auto' | 'cpu' | 'cuda' } = {}): Promise<EvalReport> {
  resolveEvalConfig(o);
  const device = resolveDevice(o.device);
  const { session, meta } = await loadClassifier(checkpoint, { device });
  try {
    const recorded = meta.syntheticStyle as Partial<SyntheticStyle> | undefined;
    return await evaluateSession(session, { ...o, ...(o.syntheticStyle ?? recorded ? { syntheticStyle: o.syntheticStyle ?? recorded } : {}) });
  } finally {
    session.dispose();
  }
}
