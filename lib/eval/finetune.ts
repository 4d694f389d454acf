/**
 * Supervised fine-tuning (or a linear probe) of a pretrained encoder, then a multi-view test.
 * `finetune()` resolves the options, builds the native ClassifierSession, loads the encoder
 * weights (pretraining `encoder.*` or converted VideoMAE names), trains on the dataset's training
 * split, saves the fine-tuned weights and scores the test split (evaluate.ts).
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

import { DataLoader } from '../data/loader.js';
import { readShardIndex } from '../data/shards.js';
import { datasetSource, parseDatasetSpec } from '../data/spec.js';
import { CheckpointError, TrainError } from '../errors/index.js';
import { saveClassifier } from './checkpoint.js';
import { ClassifierSession, type ClassifierStep } from './classifier.js';
import { resolveFinetuneConfig, type FinetuneConfig, type FinetuneOptions } from '../config/finetune.js';
import { evaluateSession, type EvalReport } from './evaluate.js';
import { readEncoderWeights, resolveCheckpoint } from './weights.js';

export interface FinetuneProgress extends ClassifierStep {
  totalSteps: number;
  clipsPerS: number;
}

export interface RunControl {
  signal?: AbortSignal;
  onProgress?: (p: FinetuneProgress) => void;
  /** Log every N steps to metrics.jsonl (with out). Defaults to 1. */
  logEvery?: number;
}

export interface FinetuneResult {
  config: FinetuneConfig;
  /** Where the encoder came from ('scratch' without a checkpoint). */
  init: string;
  steps: number;
  finalLoss: number;
  /** Mean training accuracy of the last 10% of steps (mixed batches count against the unmixed labels). */
  trainAcc: number;
  clipsPerS: number;
  eval: EvalReport;
  /** The fine-tuned checkpoint directory, with out. */
  checkpoint?: string;
}

/** Builds the classifier for `options`, with the encoder from options.checkpoint when given. */
export async function createClassifier(options: FinetuneOptions): Promise<{ session: ClassifierSession; config: FinetuneConfig; init: string }> {
  const fromCkpt = options.checkpoint ? resolveCheckpoint(options.checkpoint) : undefined;
  const spec = parseDatasetSpec(options.dataset ?? 'synthetic');
  let classes = options.classes;
  let trainLength = 10000; // the synthetic train split's default length
  if (spec.kind !== 'synthetic') {
    const probe = resolveFinetuneConfig({ ...options, steps: 1 }, fromCkpt?.model, 2);
    const ds = datasetSource(spec, { frames: probe.classifier.model.frames, size: probe.classifier.model.size, seed: 0, phase: 'finetune' });
    classes ??= ds.classNames.length;
    trainLength = ds.annotation?.entries.length ?? (spec.kind === 'shards' ? readShardIndex(spec.dir).clips.length : trainLength);
  }
  const config = resolveFinetuneConfig(options, fromCkpt?.model, classes, trainLength);
  const session = await ClassifierSession.create(config.classifier);
  let init = 'scratch';
  if (options.checkpoint) {
    try {
      const { weights, resolved } = await readEncoderWeights(options.checkpoint);
      const report = await session.loadStateDict(weights, { strict: false });
      const missing = report.missing.filter((n) => !n.startsWith('head.') && !n.startsWith('fc_norm.'));
      if (missing.length) throw new CheckpointError(resolved.file, `lacks encoder weights for this model (${missing.length} missing, e.g. ${missing[0]}); do --model/--frames/--size match the checkpoint?`);
      if (report.unexpected.length) throw new CheckpointError(resolved.file, `holds names this model does not have (e.g. ${report.unexpected[0]})`);
      init = resolved.file;
    } catch (err) {
      session.dispose();
      throw err;
    }
  }
  return { session, config, init };
}

export async function finetune(options: FinetuneOptions, control: RunControl = {}): Promise<FinetuneResult> {
  const { session, config, init } = await createClassifier(options);
  try {
    const m = config.classifier.model;
    const spec = parseDatasetSpec(config.dataset);
    const { source } = datasetSource(spec, {
      frames: m.frames,
      size: m.size,
      // The token grid sets the synthetic sprite count: the same clips as pretraining at this geometry.
      tubelet: m.tubelet,
      patch: m.patch,
      seed: config.classifier.seed,
      phase: 'finetune',
      subset: 'train',
      flip: config.flip,
      ...(spec.kind === 'synthetic' ? { numClasses: config.classifier.classes } : {}),
      ...(config.trainSize !== undefined ? { length: config.trainSize } : {}),
      syntheticStyle: config.syntheticStyle,
    });
    if (config.out) {
      mkdirSync(config.out, { recursive: true });
      writeFileSync(join(config.out, 'config.json'), JSON.stringify({ ...config, init }, null, 2) + '\n');
      writeFileSync(join(config.out, 'metrics.jsonl'), '');
    }
    // On CUDA the clips are made in worker threads (rendering or decoding 32 clips on the main thread
    // takes longer than the step); on the CPU the cores belong to libtorch.
    const workers = config.classifier.device === 'cuda' ? Math.max(1, Math.min(12, availableParallelism() - 2)) : 0;
    const loader = new DataLoader({ source, batchSize: config.classifier.batchSize, steps: config.steps, workers, seed: config.classifier.seed });
    const t0 = performance.now();
    let last: ClassifierStep | undefined;
    const accs: number[] = [];
    try {
      for await (const batch of loader) {
        control.signal?.throwIfAborted();
        last = await session.trainStep(batch.clips, batch.labels);
        if (!Number.isFinite(last.loss)) throw new TrainError('ERR_NONFINITE_LOSS', `the fine-tuning loss is ${last.loss} at step ${last.step} (try a lower --lr)`);
        accs.push(last.acc);
        const clipsPerS = (last.step * config.classifier.batchSize) / ((performance.now() - t0) / 1000);
        control.onProgress?.({ ...last, totalSteps: config.steps, clipsPerS });
        if (config.out && last.step % (control.logEvery ?? 1) === 0)
          appendFileSync(join(config.out, 'metrics.jsonl'), JSON.stringify({ step: last.step, loss: last.loss, acc: last.acc, lr: last.lr, grad_norm: last.gradNorm, clips_per_s: clipsPerS }) + '\n');
        if (last.step >= config.steps) break;
      }
    } finally {
      await loader.close();
    }
    const clipsPerS = ((last?.step ?? 0) * config.classifier.batchSize) / ((performance.now() - t0) / 1000);
    const tail = accs.slice(-Math.max(1, Math.ceil(accs.length / 10)));
    const checkpoint = config.out ? join(config.out, 'checkpoint') : undefined;
    if (checkpoint) await saveClassifier(checkpoint, session, { init, dataset: config.dataset, syntheticStyle: config.syntheticStyle });
    const evalReport = await evaluateSession(session, {
      dataset: config.testDataset,
      clips: config.testClips,
      crops: config.testCrops,
      limit: config.testSize,
      seed: config.classifier.seed,
      syntheticStyle: config.syntheticStyle,
      ...(control.signal ? { signal: control.signal } : {}),
      ...(config.out ? { out: config.out } : {}),
    });
    return {
      config,
      init,
      steps: last?.step ?? 0,
      finalLoss: last?.loss ?? NaN,
      trainAcc: tail.reduce((a, b) => a + b, 0) / tail.length,
      clipsPerS,
      eval: evalReport,
      ...(checkpoint ? { checkpoint } : {}),
    };
  } finally {
    session.dispose();
  }
}
