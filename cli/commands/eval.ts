import type { CommandModule } from 'yargs';

import type { DeviceChoice } from '../../lib/config/index.js';
import { confusionMarkdown, evaluate, parseViews, type EvalOptions } from '../../lib/eval/index.js';
import { handler } from '../exit.js';
import { nameFlag, optionsFromTable } from '../flags.js';
import { result } from '../output.js';

interface EvalArgs {
  checkpoint: string;
  dataset?: string;
  views?: string;
  'test-size'?: number;
  'batch-size'?: number;
  device?: string;
  seed?: number;
  out?: string;
  json: boolean;
}

/** Flag -> EvalOptions field (--views fills clips and crops). */
const FLAGS: Record<string, string> = {
  checkpoint: 'checkpoint',
  dataset: 'dataset',
  'test-size': 'limit',
  'batch-size': 'batchSize',
  device: 'device',
  seed: 'seed',
  out: 'out',
};

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: 'Top-1/top-5 accuracy of a fine-tuned model with multi-view testing',
  builder: (y) =>
    y
      .option('checkpoint', { type: 'string', demandOption: true, group: 'Required:', describe: 'Fine-tuned checkpoint (tats finetune --out DIR, or DIR/checkpoint)' })
      .option('dataset', { type: 'string', describe: 'Labelled clips: synthetic, list:FILE, ucf101:DIR, hmdb51:DIR, k400:DIR, ssv2:DIR' })
      .option('views', { type: 'string', describe: 'Test views as CLIPSxCROPS, e.g. 5x3 (K400, UCF101) or 2x3 (SSv2)' })
      .option('test-size', { type: 'number', describe: 'Most test videos scored (default 256)' })
      .option('batch-size', { type: 'number', describe: 'Views per forward pass' })
      .option('device', { type: 'string', describe: 'auto, cpu, cuda' })
      .option('seed', { type: 'number', describe: 'Seed of the synthetic test split' })
      .option('out', { type: 'string', describe: 'Writes eval.json and confusion.md here' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object: {top1, top5, videos, skipped, views, confusion}' }),
  handler: handler<EvalArgs>(async (args) => {
    let o: EvalOptions & { device?: DeviceChoice };
    try {
      o = { ...optionsFromTable<EvalOptions & { device?: DeviceChoice }>(args, FLAGS), ...parseViews(args.views) };
    } catch (err) {
      throw nameFlag(err, args, FLAGS);
    }
    const r = await evaluate(args.checkpoint, o).catch((err: unknown) => {
      throw nameFlag(err, args, FLAGS);
    });
    result(
      { json: args.json },
      { top1: r.top1, top5: r.top5, videos: r.videos, skipped: r.skipped, views: `${r.clips}x${r.crops}`, confusion: r.confusion },
      () => `top-1 ${(100 * r.top1).toFixed(1)}%, top-5 ${(100 * r.top5).toFixed(1)}% on ${r.videos} videos (${r.clips}x${r.crops} views, ${r.skipped} skipped)\n\n${confusionMarkdown(r.confusion)}`,
    );
  }),
};
