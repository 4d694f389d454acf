import type { CommandModule } from 'yargs';

import { PACK_DEFAULTS, resolvePackConfig, type PackChoices, type PackConfig } from '../../lib/config/index.js';
import { packSynthetic, packVideos } from '../../lib/data/pack.js';
import { readAnnotation } from '../../lib/data/spec.js';
import { handler } from '../exit.js';
import { nameFlag, optionsFromTable } from '../flags.js';
import { result, say } from '../output.js';

interface PackArgs {
  dataset: string;
  out: string;
  frames?: number;
  size?: number;
  rate?: number;
  'clips-per-video'?: number;
  jobs?: number;
  split?: number;
  subset?: string;
  'shard-mb'?: number;
  count?: number;
  seed?: number;
  'keep-short'?: boolean;
  classes?: number;
  'synthetic-style'?: string;
  json: boolean;
}

/** Flag -> PackChoices field (lib/config/pack.ts: defaults and checks). */
const FLAGS: Record<string, string> = {
  dataset: 'dataset',
  out: 'out',
  frames: 'frames',
  size: 'size',
  rate: 'rate',
  'clips-per-video': 'clipsPerVideo',
  jobs: 'jobs',
  split: 'split',
  subset: 'subset',
  'shard-mb': 'shardMb',
  count: 'count',
  seed: 'seed',
  'keep-short': 'keepShort',
  classes: 'classes',
  'synthetic-style': 'syntheticStyle',
};

const D = PACK_DEFAULTS;

export const packCommand: CommandModule<object, PackArgs> = {
  command: 'pack',
  describe: 'Decode a dataset once into uint8 clip shards (resumable; bad videos are skipped and listed)',
  builder: (y) =>
    y
      .option('dataset', { type: 'string', demandOption: true, describe: 'synthetic, list:FILE, ucf101:DIR, hmdb51:DIR, k400:DIR or ssv2:DIR' })
      .option('out', { type: 'string', demandOption: true, describe: 'Shard directory (created; an existing one is resumed)' })
      .option('frames', { type: 'number', describe: `Frames per clip (default ${D.frames})` })
      .option('size', { type: 'number', describe: `Clip side: short side scaled to it, then centre-cropped square (default ${D.size})` })
      .option('rate', { type: 'number', describe: `Temporal stride (default ${D.rate.ssv2} for ssv2, else ${D.rate.video})` })
      .option('clips-per-video', { type: 'number', describe: `Evenly spaced clips per video (default ${D.clipsPerVideo})` })
      .option('jobs', { type: 'number', describe: 'Concurrent ffmpeg processes (default: cores - 1)' })
      .option('split', { type: 'number', describe: `Official split (UCF101, HMDB51): 1, 2 or 3 (default ${D.split})` })
      .option('subset', { type: 'string', describe: `Which list to pack: train, val or test (default ${D.subset})` })
      .option('shard-mb', { type: 'number', describe: `Shard file size before rolling to the next (MiB, default ${D.shardMb})` })
      .option('count', { type: 'number', describe: `Clips to render (synthetic only, default ${D.count})` })
      .option('seed', { type: 'number', describe: `Seed (synthetic only, default ${D.seed})` })
      .option('synthetic-style', { type: 'string', describe: 'Look of the synthetic clips: a JSON object of data.syntheticStyle fields, e.g. \'{"background":"texture"}\' (synthetic only; docs/cli.md)' })
      .option('keep-short', { type: 'boolean', describe: 'Pack videos with fewer frames than --frames, repeating frames (listed as padded); by default they are skipped and listed' })
      .option('classes', { type: 'number', describe: 'Class count of a list (labels at or above it are skipped and listed; needed for a largest label over 1000 that most labels below leave unused)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object: {packed, skipped, errors: [{file, reason}], shards, clipsPerS, ...}' }),
  handler: handler<PackArgs>(async (args) => {
    let c: PackConfig;
    try {
      c = resolvePackConfig(optionsFromTable<PackChoices>(args, FLAGS));
    } catch (err) {
      throw nameFlag(err, args, FLAGS);
    }
    let report;
    if (c.kind === 'synthetic') {
      report = packSynthetic({
        synthetic: { seed: c.seed, frames: c.frames, size: c.size, length: c.count, ...(c.syntheticStyle ? { style: c.syntheticStyle } : {}) },
        out: c.out,
        maxShardBytes: c.maxShardBytes,
      });
    } else {
      const annotation = readAnnotation(c.spec, { split: c.split, subset: c.subset, ...(c.classes !== undefined ? { classes: c.classes } : {}) });
      say(args, `${c.spec.kind}: ${annotation.entries.length} videos, ${annotation.classNames.length} classes, ${annotation.issues.length} bad annotation lines`);
      let last = 0;
      report = await packVideos({
        annotation,
        out: c.out,
        frames: c.frames,
        size: c.size,
        rate: c.rate,
        clipsPerVideo: c.clipsPerVideo,
        ...(c.jobs !== undefined ? { jobs: c.jobs } : {}),
        maxShardBytes: c.maxShardBytes,
        keepShort: c.keepShort,
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
