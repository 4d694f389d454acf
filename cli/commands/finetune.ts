import type { CommandModule } from 'yargs';

import { finetune, parseViews, type FinetuneOptions } from '../../lib/eval/index.js';
import { handler } from '../exit.js';
import { nameFlag, optionsFromTable } from '../flags.js';
import { result, say } from '../output.js';

interface FinetuneArgs {
  checkpoint?: string;
  'linear-probe'?: boolean;
  dataset?: string;
  'test-dataset'?: string;
  model?: string;
  'encoder-depth'?: number;
  frames?: number;
  size?: number;
  patch?: number;
  classes?: number;
  'train-size'?: number;
  epochs?: number;
  steps?: number;
  'batch-size'?: number;
  lr?: number;
  'warmup-steps'?: number;
  'layer-decay'?: number;
  'drop-path'?: number;
  mixup?: number;
  cutmix?: number;
  'label-smoothing'?: number;
  flip?: boolean;
  views?: string;
  'test-size'?: number;
  device?: string;
  precision?: string;
  seed?: number;
  out?: string;
  config?: string;
  json: boolean;
}

/** Flag -> FinetuneOptions field (--views fills testClips and testCrops; --checkpoint scratch is none). */
const FLAGS: Record<string, string> = {
  checkpoint: 'checkpoint',
  'linear-probe': 'linearProbe',
  dataset: 'dataset',
  'test-dataset': 'testDataset',
  model: 'model',
  'encoder-depth': 'encoderDepth',
  frames: 'frames',
  size: 'size',
  patch: 'patch',
  'train-size': 'trainSize',
  classes: 'classes',
  steps: 'steps',
  epochs: 'epochs',
  'batch-size': 'batchSize',
  lr: 'lr',
  'warmup-steps': 'warmupSteps',
  'layer-decay': 'layerDecay',
  'drop-path': 'dropPath',
  mixup: 'mixup',
  cutmix: 'cutmix',
  'label-smoothing': 'labelSmoothing',
  flip: 'flip',
  'test-size': 'testSize',
  device: 'device',
  precision: 'precision',
  seed: 'seed',
  out: 'out',
};

export const finetuneCommand: CommandModule<object, FinetuneArgs> = {
  command: 'finetune',
  describe: 'Supervised fine-tuning (or --linear-probe) of a pretrained encoder from a checkpoint',
  builder: (y) =>
    y
      .option('checkpoint', { type: 'string', demandOption: true, group: 'Required:', describe: 'Pretraining checkpoint (.safetensors), checkpoint directory or run directory; "scratch" trains from random weights' })
      .option('linear-probe', { type: 'boolean', describe: 'Train only fc_norm + head on the frozen encoder' })
      .option('config', { type: 'string', describe: 'JSON or YAML config; flags override it' })
      .option('dataset', { type: 'string', describe: 'Labelled clips: synthetic, shards:DIR, list:FILE, ucf101:DIR, hmdb51:DIR, k400:DIR, ssv2:DIR' })
      .option('test-dataset', { type: 'string', describe: 'Dataset scored at the end (default: --dataset\'s test split; shards: one view per clip)' })
      .option('model', { type: 'string', describe: 'micro, tiny, small, base, large (must match the checkpoint)' })
      .option('encoder-depth', { type: 'number', describe: 'Blocks (override of the preset; must match the checkpoint)' })
      .option('frames', { type: 'number', describe: 'Frames per clip' })
      .option('size', { type: 'number', describe: 'Clip side in pixels' })
      .option('patch', { type: 'number', describe: 'Patch side in pixels (default: the checkpoint\'s, else 16)' })
      .option('train-size', { type: 'number', describe: 'Labelled training clips: the first N of the synthetic train split (a low-label regime; synthetic only)' })
      .option('classes', { type: 'number', describe: 'Classes (default: the dataset\'s)' })
      .option('epochs', { type: 'number', describe: 'Passes over the training set' })
      .option('steps', { type: 'number', describe: 'Training steps (instead of --epochs)' })
      .option('batch-size', { type: 'number', describe: 'Clips per step' })
      .option('lr', { type: 'number', describe: 'Peak learning rate (default 1e-3 x batch / 256; probe 0.1 x batch / 256)' })
      .option('warmup-steps', { type: 'number', describe: 'Linear warmup steps (default 5% of steps)' })
      .option('layer-decay', { type: 'number', describe: 'Layer-wise lr decay (default 0.75)' })
      .option('drop-path', { type: 'number', describe: 'Stochastic depth (default 0.1)' })
      .option('mixup', { type: 'number', describe: 'Mixup alpha, 0 = off (default 0.8)' })
      .option('cutmix', { type: 'number', describe: 'CutMix alpha, 0 = off (default 1.0)' })
      .option('label-smoothing', { type: 'number', describe: 'Label smoothing (default 0.1)' })
      .option('flip', {
        type: 'boolean',
        describe:
          'Mirror training clips left-right with p = 0.5 (--no-flip: never). Default: off for synthetic and SSv2 (their labels are directions; --flip is refused there), on for the other datasets (VideoMAE). Recorded in config.json',
      })
      .option('views', { type: 'string', describe: 'Test views CLIPSxCROPS (default 1x1 synthetic, 5x3 videos, 2x3 SSv2)' })
      .option('test-size', { type: 'number', describe: 'Test videos scored at the end (default 256)' })
      .option('device', { type: 'string', describe: 'auto, cpu, cuda' })
      .option('precision', { type: 'string', describe: 'bf16 (autocast on CUDA) or fp32' })
      .option('seed', { type: 'number', describe: 'Seed' })
      .option('out', { type: 'string', describe: 'Run directory (config.json, metrics.jsonl, checkpoint/, eval.json, confusion.md)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object' }),
  handler: handler<FinetuneArgs>(async (args) => {
    let o: FinetuneOptions;
    try {
      o = optionsFromTable<FinetuneOptions>(args, FLAGS);
      if (args.checkpoint === 'scratch') delete o.checkpoint;
      if (args.views !== undefined) {
        const v = parseViews(args.views);
        o.testClips = v.clips;
        o.testCrops = v.crops;
      }
    } catch (err) {
      throw nameFlag(err, args, FLAGS);
    }
    const opts = { json: args.json };
    let lastSaid = 0;
    // Ctrl-C stops between steps (the run exits 1 with the abort reason).
    const ac = new AbortController();
    const stop = () => ac.abort(new Error('interrupted (SIGINT)'));
    process.once('SIGINT', stop);
    const r = await finetune(o, {
      signal: ac.signal,
      onProgress: (p) => {
        const now = Date.now();
        if (now - lastSaid > 2000 || p.step === p.totalSteps) {
          lastSaid = now;
          say(opts, `step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} acc ${(100 * p.acc).toFixed(1)}% lr ${p.lr.toExponential(2)} ${p.clipsPerS.toFixed(1)} clips/s`);
        }
      },
    }).catch((err: unknown) => {
      throw nameFlag(err, args, FLAGS);
    });
    process.off('SIGINT', stop);
    result(
      opts,
      {
        init: r.init,
        linear_probe: r.config.classifier.linearProbe,
        flip: r.config.flip,
        steps: r.steps,
        final_loss: r.finalLoss,
        train_acc: r.trainAcc,
        clips_per_s: r.clipsPerS,
        top1: r.eval.top1,
        top5: r.eval.top5,
        videos: r.eval.videos,
        skipped: r.eval.skipped,
        views: `${r.eval.clips}x${r.eval.crops}`,
        confusion: r.eval.confusion,
        checkpoint: r.checkpoint ?? null,
        out: r.config.out ?? null,
      },
      () =>
        `fine-tuned ${r.config.classifier.linearProbe ? '(linear probe) ' : ''}from ${r.init} for ${r.steps} steps: ` +
        `top-1 ${(100 * r.eval.top1).toFixed(1)}%, top-5 ${(100 * r.eval.top5).toFixed(1)}% on ${r.eval.videos} videos (${r.eval.clips}x${r.eval.crops} views)` +
        (r.checkpoint ? `\ncheckpoint: ${r.checkpoint}` : ''),
    );
  }),
};
