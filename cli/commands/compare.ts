import type { CommandModule } from 'yargs';

import { NotImplementedError } from '../../lib/index.js';
import { handler } from '../exit.js';

interface CompareArgs {
  strategies?: string[];
  steps?: number;
  dataset?: string;
  model?: string;
  config?: string;
  out?: string;
  device?: string;
  seed?: number;
  json: boolean;
}

export const compareCommand: CommandModule<object, CompareArgs> = {
  command: 'compare',
  describe: 'Pretrain several masking strategies under one budget, then probe them; one report',
  builder: (y) =>
    y
      .option('strategies', { type: 'string', array: true, describe: 'Strategies to compare: random, tube, frame, adamae, tats' })
      .option('steps', { type: 'number', describe: 'Pretraining steps per strategy (the shared budget)' })
      .option('config', { type: 'string', describe: 'JSON or YAML config shared by every run; flags override it' })
      .option('dataset', { type: 'string', describe: 'synthetic, shards:DIR, list:FILE, ucf101:DIR, hmdb51:DIR, k400:DIR, ssv2:DIR' })
      .option('model', { type: 'string', describe: 'tiny, small, base, large' })
      .option('device', { type: 'string', describe: 'auto, cpu, cuda' })
      .option('seed', { type: 'number', describe: 'Seed shared by every run' })
      .option('out', { type: 'string', describe: 'Report directory (one run directory per strategy inside)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object' }),
  handler: handler<CompareArgs>(() => {
    throw new NotImplementedError('tats compare');
  }),
};
