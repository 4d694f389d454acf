import type { CommandModule } from 'yargs';

import { NotImplementedError } from '../../lib/index.js';
import { handler } from '../exit.js';

interface EvalArgs {
  checkpoint: string;
  dataset?: string;
  views?: string;
  'batch-size'?: number;
  device?: string;
  json: boolean;
}

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: 'Top-1/top-5 accuracy of a fine-tuned model with multi-view testing',
  builder: (y) =>
    y
      .option('checkpoint', { type: 'string', demandOption: true, group: 'Required:', describe: 'Fine-tuned checkpoint (.safetensors) or run directory' })
      .option('dataset', { type: 'string', describe: 'Labelled clips: synthetic, shards:DIR, list:FILE, ucf101:DIR, hmdb51:DIR, k400:DIR, ssv2:DIR' })
      .option('views', { type: 'string', describe: 'Test views as CLIPSxCROPS, e.g. 5x3 (K400, UCF101) or 2x3 (SSv2)' })
      .option('batch-size', { type: 'number', describe: 'Clips per forward pass' })
      .option('device', { type: 'string', describe: 'auto, cpu, cuda' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object' }),
  handler: handler<EvalArgs>(() => {
    throw new NotImplementedError('tats eval');
  }),
};
