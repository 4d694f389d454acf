import type { CommandModule } from 'yargs';

import { NotImplementedError } from '../../lib/index.js';
import { handler } from '../exit.js';

interface VisualizeArgs {
  checkpoint: string;
  dataset?: string;
  clips?: number;
  out?: string;
  device?: string;
  json: boolean;
}

export const visualizeCommand: CommandModule<object, VisualizeArgs> = {
  command: 'visualize',
  describe: 'Pictures of input, sampler policy, mask and reconstruction from a checkpoint',
  builder: (y) =>
    y
      .option('checkpoint', { type: 'string', demandOption: true, group: 'Required:', describe: 'Pretraining checkpoint (.safetensors) or run directory' })
      .option('dataset', { type: 'string', describe: 'Clips to show: synthetic, shards:DIR, list:FILE, ...' })
      .option('clips', { type: 'number', describe: 'How many clips to draw' })
      .option('out', { type: 'string', describe: 'PNG file to write' })
      .option('device', { type: 'string', describe: 'auto, cpu, cuda' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object' }),
  handler: handler<VisualizeArgs>(() => {
    throw new NotImplementedError('tats visualize');
  }),
};
