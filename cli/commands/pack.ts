import type { CommandModule } from 'yargs';

import { ConfigError } from '../../lib/errors/index.js';
import { packSynthetic, packVideos } from '../../lib/data/pack.js';
import { parseDatasetSpec, readAnnotation } from '../../lib/data/spec.js';
import { integer } from '../../lib/check.js';
import { checkSyntheticStyle } from '../../lib/data/synthetic.js';
import type { SyntheticStyle } from '../../lib/data/synthetic.js';
import { handler } from '../exit.js';
import { nameFlag } from '../flags.js';
import { result, say } from '../output.js';

interface PackArgs {
  dataset: string;
  out: string;
  frames: number;
  size: number;
  rate?: number;
  'clips-per-video': number;
  jobs?: number;
  split: number;
  subset: string;
  'shard-mb': number;
  count: number;
  seed: number;
  'keep-short': boolean;
  classes?: number;
  'synthetic-style'?: string;
  json: boolean;
}

/** --synthetic-style: a JSON object of SyntheticStyle fields over the default look. */
function syntheticStyle(raw: string | undefined): SyntheticStyle | undefined {
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('--synthetic-style', raw, 'a JSON object of synthetic style fields (spriteScale, spriteTexture, background, polarity)');
  }
  return checkSyntheticStyle('--synthetic-style', parsed);
}

export const packCommand: CommandModule<object, PackArgs> = {
  command: 'pack',
  describe: 'Decode a dataset once into uint8 clip shards (resumable; bad videos are skipped and listed)',
  builder: (y) =>
    y
      .option('dataset', { type: 'string', demandOption: true, describe: 'synthetic, list:FILE, ucf101:DIR, hmdb51:DIR, k400:DIR or ssv2:DIR' })
      .option('out', { type: 'string', demandOption: true, describe: 'Shard directory (created; an existing one is resumed)' })
      .option('frames', { type: 'number', default: 16, describe: 'Frames per clip' })
      .option('size', { type: 'number', default: 224, describe: 'Clip side: short side scaled to it, then centre-cropped square' })
      .option('rate', { type: 'number', describe: 'Temporal stride (default 2 for ssv2, else 4)' })
      .option('clips-per-video', { type: 'number', default: 1, describe: 'Evenly spaced clips per video' })
      .option('jobs', { type: 'number', describe: 'Concurrent ffmpeg processes (default: cores - 1)' })
      .option('split', { type: 'number', default: 1, choices: [1, 2, 3], describe: 'Official split (UCF101, HMDB51)' })
      .option('subset', { type: 'string', default: 'train', choices: ['train', 'val', 'test'], describe: 'Which list to pack' })
      .option('shard-mb', { type: 'number', default: 256, describe: 'Shard file size before rolling to the next (MiB)' })
      .option('count', { type: 'number', default: 1000, describe: 'Clips to render (synthetic only)' })
      .option('seed', { type: 'number', default: 0, describe: 'Seed (synthetic only)' })
      .option('synthetic-style', { type: 'string', describe: 'Look of the synthetic clips: a JSON object of data.syntheticStyle fields, e.g. \'{"background":"texture"}\' (synthetic only; docs/cli.md)' })
      .option('keep-short', { type: 'boolean', default: false, describe: 'Pack videos with fewer frames than --frames, repeating frames (listed as padded); by default they are skipped and listed' })
      .option('classes', { type: 'number', describe: 'Class count of a list (labels at or above it are skipped and listed; needed for a largest label over 1000 that most labels below leave unused)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object: {packed, skipped, errors: [{file, reason}], shards, clipsPerS, ...}' }),
  handler: handler<PackArgs>(async (args) => {
    let spec;
    try {
      spec = parseDatasetSpec(args.dataset);
    } catch (err) {
      throw nameFlag(err, args, { dataset: 'dataset' });
    }
    const frames = integer('--frames', args.frames, 1);
    const size = integer('--size', args.size, 8);
    const maxShardBytes = integer('--shard-mb', args['shard-mb'], 1) * 1024 * 1024;
    if (spec.kind === 'shards') throw new ConfigError('--dataset', args.dataset, 'a dataset to decode, not shards');
    let report;
    if (spec.kind !== 'synthetic' && args['synthetic-style'] !== undefined) throw new ConfigError('--synthetic-style', args['synthetic-style'], 'no value with a video dataset (synthetic only)');
    if (spec.kind === 'synthetic') {
      const style = syntheticStyle(args['synthetic-style']);
      report = packSynthetic({
        synthetic: { seed: integer('--seed', args.seed, 0), frames, size, length: integer('--count', args.count, 1), ...(style ? { style } : {}) },
        out: args.out,
        maxShardBytes,
      });
    } else {
      const annotation = readAnnotation(spec, {
        split: args.split as 1 | 2 | 3,
        subset: args.subset as 'train' | 'val' | 'test',
        ...(args.classes !== undefined ? { classes: integer('--classes', args.classes, 1) } : {}),
      });
      say(args, `${spec.kind}: ${annotation.entries.length} videos, ${annotation.classNames.length} classes, ${annotation.issues.length} bad annotation lines`);
      let last = 0;
      report = await packVideos({
        annotation,
        out: args.out,
        frames,
        size,
        rate: args.rate !== undefined ? integer('--rate', args.rate, 1) : spec.kind === 'ssv2' ? 2 : 4,
        clipsPerVideo: integer('--clips-per-video', args['clips-per-video'], 1),
        ...(args.jobs !== undefined ? { jobs: integer('--jobs', args.jobs, 1) } : {}),
        maxShardBytes,
        keepShort: args['keep-short'],
        onProgress: (done, total) => {
          const now = Date.now();
          if (now - last > 2000 || done === total) {
            last = now;
            process.stderr.write(`pack: ${done}/${total} videos\n`);
          }
        },
      });
    }
    for (const e of report.errors.slice(0, 20)) process.stderr.write(`skipped ${e.file}: ${e.reason}\n`);
    if (report.errors.length > 20) process.stderr.write(`... and ${report.errors.length - 20} more (see --json)\n`);
    for (const e of report.padded.slice(0, 20)) process.stderr.write(`padded ${e.file}: ${e.reason}\n`);
    if (report.padded.length > 20) process.stderr.write(`... and ${report.padded.length - 20} more padded (see --json)\n`);
    result(args, report, () =>
      `packed ${report.packed} clips (${report.alreadyPacked} already there, ${report.skipped} skipped${report.padded.length ? `, ${report.padded.length} short video(s) padded` : ''}) into ${report.shards} shard(s) in ${report.out}: ` +
        `${report.clips} clips in the set, ${report.clipsPerS.toFixed(1)} clips/s`,
    );
  }),
};
