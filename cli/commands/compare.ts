import type { CommandModule } from 'yargs';

import { compare, type CompareOptions } from '../../lib/eval/index.js';
import { handler } from '../exit.js';
import { nameFlag, optionsFromTable } from '../flags.js';
import { result, say } from '../output.js';

interface CompareArgs {
  strategies?: string[];
  steps?: number;
  dataset?: string;
  model?: string;
  'encoder-depth'?: number;
  'decoder-depth'?: number;
  frames?: number;
  size?: number;
  patch?: number;
  classes?: number;
  'train-size'?: number;
  scratch?: boolean;
  flip?: boolean;
  'log-every'?: number;
  'batch-size'?: number;
  'mask-ratio'?: number;
  lr?: number;
  'sampler-dim'?: number;
  'sampler-heads'?: number;
  'ppo-epochs'?: number;
  downstream?: string;
  'downstream-steps'?: number;
  'downstream-lr'?: number;
  'test-size'?: number;
  config?: string;
  out?: string;
  device?: string;
  seed?: number;
  json: boolean;
}

/** Flag -> CompareOptions field. */
const FLAGS: Record<string, string> = {
  strategies: 'strategies',
  steps: 'steps',
  dataset: 'dataset',
  model: 'model',
  'encoder-depth': 'encoderDepth',
  'decoder-depth': 'decoderDepth',
  frames: 'frames',
  size: 'size',
  patch: 'patch',
  classes: 'classes',
  'train-size': 'trainSize',
  scratch: 'scratch',
  flip: 'flip',
  'log-every': 'logEvery',
  'batch-size': 'batchSize',
  'mask-ratio': 'ratio',
  lr: 'lr',
  'sampler-dim': 'samplerDim',
  'sampler-heads': 'samplerHeads',
  'ppo-epochs': 'ppoEpochs',
  downstream: 'downstream',
  'downstream-steps': 'downstreamSteps',
  'downstream-lr': 'downstreamLr',
  'test-size': 'testSize',
  device: 'device',
  seed: 'seed',
  out: 'out',
};

export const compareCommand: CommandModule<object, CompareArgs> = {
  command: 'compare',
  describe: 'Pretrain several masking strategies under one budget (each with the trainer of `tats pretrain`, a run directory per strategy in <out>/<strategy>/pretrain), then probe them; one report',
  builder: (y) =>
    y
      .option('strategies', { type: 'string', array: true, describe: 'Strategies to compare: random, tube, frame, adamae, tats (default random tube adamae tats)' })
      .option('steps', { type: 'number', describe: 'Pretraining steps per strategy (the shared budget; default 200)' })
      .option('config', { type: 'string', describe: 'JSON or YAML config shared by every run; flags override it' })
      .option('dataset', { type: 'string', describe: 'synthetic, shards:DIR, list:FILE, ucf101:DIR, hmdb51:DIR, k400:DIR, ssv2:DIR' })
      .option('model', { type: 'string', describe: 'micro, tiny, small, base, large' })
      .option('encoder-depth', { type: 'number', describe: 'Encoder blocks (override of the preset)' })
      .option('decoder-depth', { type: 'number', describe: 'Decoder blocks (override of the preset)' })
      .option('frames', { type: 'number', describe: 'Frames per clip (default 16)' })
      .option('size', { type: 'number', describe: 'Clip side (default 224)' })
      .option('patch', { type: 'number', describe: 'Patch side in pixels (default 16)' })
      .option('classes', { type: 'number', describe: 'Classes for the downstream task (default: the dataset\'s; synthetic 8)' })
      .option('train-size', { type: 'number', describe: 'Labelled clips for the downstream task (synthetic: the first N of the train split; default all)' })
      .option('scratch', { type: 'boolean', describe: 'Add a row with the same downstream training on a randomly initialised encoder (default true; --no-scratch to skip)' })
      .option('flip', {
        type: 'boolean',
        describe: 'Mirror downstream training clips left-right (--no-flip: never). Default: off for synthetic and SSv2 (labels are directions; --flip is refused there), on otherwise (VideoMAE)',
      })
      .option('log-every', { type: 'number', describe: 'Pretraining steps between lines of each strategy\'s metrics.jsonl (default 10)' })
      .option('batch-size', { type: 'number', describe: 'Clips per step (default 8)' })
      .option('mask-ratio', { type: 'number', describe: 'Share of tokens masked (default 0.9)' })
      .option('lr', { type: 'number', describe: 'Pretraining peak lr (default 1.5e-4 x batch / 256)' })
      .option('sampler-dim', { type: 'number', describe: "Learned sampler width (default 384 or the encoder's width, whichever is smaller)" })
      .option('sampler-heads', { type: 'number', describe: 'Learned sampler heads (default 6, 4, 2 or 1: the first that divides the width)' })
      .option('ppo-epochs', { type: 'number', describe: 'PPO epochs per step (default 4)' })
      .option('downstream', { type: 'string', describe: 'probe (linear probe, default) or finetune' })
      .option('downstream-steps', { type: 'number', describe: 'Probe / fine-tune steps (default 100)' })
      .option('downstream-lr', { type: 'number', describe: 'Probe / fine-tune lr' })
      .option('test-size', { type: 'number', describe: 'Test clips scored per strategy (default 256)' })
      .option('device', { type: 'string', describe: 'auto, cpu, cuda' })
      .option('seed', { type: 'number', describe: 'Seed shared by every run' })
      .option('out', { type: 'string', describe: 'Report directory (one run directory per strategy inside)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object' }),
  handler: handler<CompareArgs>(async (args) => {
    let o: CompareOptions;
    try {
      o = optionsFromTable<CompareOptions>(args, FLAGS);
    } catch (err) {
      throw nameFlag(err, args, FLAGS);
    }
    const opts = { json: args.json };
    o.onNote = (line) => say(opts, line);
    const ac = new AbortController();
    const stop = () => ac.abort(new Error('interrupted (SIGINT)'));
    process.once('SIGINT', stop);
    o.signal = ac.signal;
    const r = await compare(o)
      .catch((err: unknown) => {
        throw nameFlag(err, args, FLAGS);
      })
      .finally(() => process.off('SIGINT', stop));
    result(opts, { report: r.report, plot: r.plot, loss_plot: r.lossPlot, budget: r.budget, rows: r.rows.map(({ losses: _l, ...row }) => row), scratch: r.scratch ?? null }, () => `wrote ${r.report}, ${r.plot} and ${r.lossPlot}`);
  }),
};
