import type { CommandModule } from 'yargs';

import { NotImplementedError } from '../../lib/index.js';
import { handler } from '../exit.js';

interface FinetuneArgs {
  checkpoint: string;
  'linear-probe': boolean;
  dataset?: string;
  model?: string;
  frames?: number;
  size?: number;
  epochs?: number;
  steps?: number;
  'batch-size'?: number;
  lr?: number;
  device?: string;
  seed?: number;
  out?: string;
  config?: string;
  json: boolean;
}

export const finetuneCommand: CommandModule<object, FinetuneArgs> = {
  command: 'finetune',
  describe: 'Supervised fine-tuning (or --linear-probe) of a pretrained encoder from a checkpoint',
  builder: (y) =>
    y
      .option('checkpoint', { type: 'string', demandOption: true, group: 'Required:', describe: 'Pretraining checkpoint (.safetensors) or run directory' })
      .option('linear-probe', { type: 'boolean', default: false, describe: 'Train only a linear head on the frozen encoder' })
      .option('config', { type: 'string', describe: 'JSON or YAML config; flags override it' })
      .option('dataset', { type: 'string', describe: 'Labelled clips: synthetic, shards:DIR, list:FILE, ucf101:DIR, hmdb51:DIR, k400:DIR, ssv2:DIR' })
      .option('model', { type: 'string', describe: 'tiny, small, base, large (must match the checkpoint)' })
      .option('frames', { type: 'number', describe: 'Frames per clip' })
      .option('size', { type: 'number', describe: 'Clip side in pixels' })
      .option('epochs', { type: 'number', describe: 'Passes over the training set' })
      .option('steps', { type: 'number', describe: 'Training steps (instead of --epochs)' })
      .option('batch-size', { type: 'number', describe: 'Clips per step' })
      .option('lr', { type: 'number', describe: 'Peak learning rate' })
      .option('device', { type: 'string', describe: 'auto, cpu, cuda' })
      .option('seed', { type: 'number', describe: 'Seed' })
      .option('out', { type: 'string', describe: 'Run directory' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object' }),
  handler: handler<FinetuneArgs>(() => {
    throw new NotImplementedError('tats finetune');
  }),
};
