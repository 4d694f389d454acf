/**
 * Multi-view testing (VideoMAE's protocol): each test video is decoded once, its clips x crops
 * views are cut from that buffer, the model's softmax is averaged over the views, and top-1 /
 * top-5 are taken from the mean. Also a confusion matrix (JSON + markdown).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { parseDatasetSpec } from '../data/spec.js';
import type { SyntheticStyle } from '../data/synthetic.js';
import { integer } from '../check.js';
import { resolveDevice } from '../config/finetune.js';
import { ConfigError, TrainError } from '../errors/index.js';
import type { ClassifierSession } from './classifier.js';
import { loadClassifier } from './checkpoint.js';
import { argmax, averageViews, confusionMarkdown, inTopK, type ConfusionReport } from './metrics.js';
import { openTestSet } from './views.js';

export interface EvalOptions {
  dataset?: string;
  /** Views per video as clips and crops. Defaults: 1 x 1 on synthetic, 5 x 3 (SSv2 2 x 3) on videos. */
  clips?: number;
  crops?: number;
  /** Most test videos scored (`--test-size`). Integer >= 1. Defaults to 256. */
  limit?: number;
  /** Views per forward pass. Defaults to 16. */
  batchSize?: number;
  seed?: number;
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

/** Parses '5x3' into clips and crops. */
export function parseViews(v: string | undefined): { clips?: number; crops?: number } {
  if (v === undefined) return {};
  const m = /^(\d+)x(\d+)$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 64 || !['1', '3'].includes(m[2]!)) throw new ConfigError('views', v, 'CLIPSxCROPS with clips 1..64 and crops 1 or 3, e.g. 5x3');
  return { clips: Number(m[1]), crops: Number(m[2]) };
}

/** Checks the options that need no model (before a checkpoint is opened). */
function checkEvalOptions(o: EvalOptions): void {
  if (o.limit !== undefined) integer('limit', o.limit, 1);
  if (o.batchSize !== undefined) integer('batchSize', o.batchSize, 1);
  if (o.seed !== undefined) integer('seed', o.seed, 0, 2 ** 31 - 1);
  if (o.clips !== undefined) integer('clips', o.clips, 1, 64);
  if (o.crops !== undefined && o.crops !== 1 && o.crops !== 3) throw new ConfigError('crops', o.crops, '1 or 3');
  parseDatasetSpec(o.dataset ?? 'synthetic', 'dataset');
}

export async function evaluateSession(session: ClassifierSession, o: EvalOptions = {}): Promise<EvalReport> {
  checkEvalOptions(o);
  const dataset = o.dataset ?? 'synthetic';
  const spec = parseDatasetSpec(dataset);
  const synthetic = spec.kind === 'synthetic';
  const single = synthetic || spec.kind === 'shards';
  const clips = o.clips ?? (single ? 1 : spec.kind === 'ssv2' ? 2 : 5);
  const crops = o.crops ?? (single ? 1 : 3);
  if (crops !== 1 && crops !== 3) throw new ConfigError('views', `${clips}x${crops}`, 'crops 1 or 3');
  const m = session.config.model;
  const classes = session.config.classes;
  const set = openTestSet(spec, { frames: m.frames, size: m.size, clips, crops, limit: o.limit ?? 256, seed: o.seed ?? 0, ...(synthetic ? { classes, tubelet: m.tubelet, patch: m.patch, ...(o.syntheticStyle ? { style: o.syntheticStyle } : {}) } : {}) });
  const names = set.classNames.length === classes ? set.classNames : Array.from({ length: classes }, (_, i) => String(i));
  const matrix = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const clipBytes = m.frames * m.size * m.size * 3;
  const per = Math.max(1, o.batchSize ?? 16);
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
  checkEvalOptions(o);
  const device = resolveDevice(o.device);
  const { session, meta } = await loadClassifier(checkpoint, { device });
  try {
    const recorded = meta.syntheticStyle as Partial<SyntheticStyle> | undefined;
    return await evaluateSession(session, { ...o, ...(o.syntheticStyle ?? recorded ? { syntheticStyle: o.syntheticStyle ?? recorded } : {}) });
  } finally {
    session.dispose();
  }
}
