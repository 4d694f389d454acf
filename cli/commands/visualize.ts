import type { CommandModule } from 'yargs';

import { visualize, type VisualizeOptions } from '../../lib/viz/index.js';
import { handler } from '../exit.js';
import { nameFlag, optionsFromTable } from '../flags.js';
import { result } from '../output.js';

interface VisualizeArgs {
  checkpoint: string;
  dataset?: string;
  clips?: number;
  out?: string;
  device?: string;
  seed?: number;
  title?: string;
  json: boolean;
}

/** Flag -> VisualizeOptions field. */
const FLAGS: Record<string, string> = {
  checkpoint: 'checkpoint',
  dataset: 'dataset',
  clips: 'clips',
  out: 'out',
  device: 'device',
  seed: 'seed',
  title: 'title',
};

export const visualizeCommand: CommandModule<object, VisualizeArgs> = {
  command: 'visualize',
  describe: 'Pictures of input, sampler policy, mask and reconstruction from a checkpoint (PNG + animated GIF)',
  builder: (y) =>
    y
      .option('checkpoint', { type: 'string', demandOption: true, group: 'Required:', describe: 'Pretraining checkpoint (directory or its .safetensors) or run directory' })
      .option('dataset', { type: 'string', describe: 'Clips to show: synthetic, shards:DIR, list:FILE, ...' })
      .option('clips', { type: 'number', describe: 'How many clips to draw (default 2)' })
      .option('out', { type: 'string', describe: 'PNG file to write (the GIF goes beside it)' })
      .option('device', { type: 'string', describe: 'auto, cpu, cuda' })
      .option('seed', { type: 'number', describe: 'Seed of the synthetic clips' })
      .option('title', { type: 'string', describe: 'Title drawn on the PNG' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object: {png, gif, clips, strategy, hasPolicy, ...}' }),
  handler: handler<VisualizeArgs>(async (args) => {
    const r = await visualize(optionsFromTable<VisualizeOptions>(args, FLAGS)).catch((err: unknown) => {
      throw nameFlag(err, args, FLAGS);
    });
    result({ json: args.json }, r, () => `wrote ${r.png} and ${r.gif} (${r.clips} clips, ${r.strategy}${r.hasPolicy ? ', with the sampler policy' : ''})`);
  }),
};
