/**
 * The options of `tats pack`, resolved over `PACK_DEFAULTS` and checked with the predicates of
 * lib/check.ts, so a bad value throws the same ConfigError as every other config.
 */
import { boolean, integer, nonEmptyString, oneOf } from '../check.js';
import { parseDatasetSpec, type DatasetSpec } from '../data/spec.js';
import { checkSyntheticStyle, type SyntheticStyle } from '../data/synthetic.js';
import { ConfigError } from '../errors/index.js';
import { PACK_DEFAULTS } from './defaults.js';

const SUBSETS = ['train', 'val', 'test'] as const;

export interface PackChoices {
  /** The dataset to decode: synthetic, list:FILE, ucf101:DIR, hmdb51:DIR, k400:DIR or ssv2:DIR (not shards). */
  dataset: string;
  /** Shard directory (created; an existing one is resumed). */
  out: string;
  /** Frames per clip. Integer >= 1. Defaults to 16. */
  frames?: number;
  /** Clip side in pixels. Integer >= 8. Defaults to 224. */
  size?: number;
  /** Temporal stride (videos only). Integer >= 1. Defaults to 2 on SSv2, 4 on the others. */
  rate?: number;
  /** Evenly spaced clips per video. Integer >= 1. Defaults to 1. */
  clipsPerVideo?: number;
  /** Concurrent ffmpeg processes. Integer >= 1. Defaults to cores - 1 (lib/data/pack.ts). */
  jobs?: number;
  /** Official split of UCF101 and HMDB51: 1, 2 or 3. Defaults to 1. */
  split?: number;
  /** Which list to pack: train, val or test. Defaults to train. */
  subset?: string;
  /** Shard file size before rolling to the next, in MiB. Integer >= 1. Defaults to 256. */
  shardMb?: number;
  /** Clips to render (synthetic only). Integer >= 1. Defaults to 1000. */
  count?: number;
  /** Seed of the synthetic clips. Integer >= 0. Defaults to 0. */
  seed?: number;
  /** Pack videos shorter than a clip with frames repeated. Defaults to false (skipped and listed). */
  keepShort?: boolean;
  /** Class count of a list (labels at or above it are skipped and listed). Integer >= 1. */
  classes?: number;
  /**
   * The look of the synthetic clips (synthetic only): an object of data.syntheticStyle fields, or
   * its JSON text (the `--synthetic-style` flag), over the default look.
   */
  syntheticStyle?: unknown;
}

/** The settings of one pack: a synthetic render (`kind: 'synthetic'`) or a video decode (`kind: 'videos'`). */
export type PackConfig = {
  out: string;
  frames: number;
  size: number;
  maxShardBytes: number;
} & (
  | { kind: 'synthetic'; spec: DatasetSpec & { kind: 'synthetic' }; count: number; seed: number; syntheticStyle?: SyntheticStyle }
  | {
      kind: 'videos';
      spec: Exclude<DatasetSpec, { kind: 'synthetic' } | { kind: 'shards' }>;
      rate: number;
      clipsPerVideo: number;
      jobs?: number;
      split: 1 | 2 | 3;
      subset: (typeof SUBSETS)[number];
      keepShort: boolean;
      classes?: number;
    }
);

/** The pack options over PACK_DEFAULTS, every field checked (before anything is decoded). */
export function resolvePackConfig(o: PackChoices): PackConfig {
  const D = PACK_DEFAULTS;
  const spec = parseDatasetSpec(o.dataset, 'dataset');
  if (spec.kind === 'shards') throw new ConfigError('dataset', o.dataset, 'a dataset to decode, not shards');
  const base = {
    out: nonEmptyString('out', o.out),
    frames: integer('frames', o.frames ?? D.frames, 1),
    size: integer('size', o.size ?? D.size, 8),
    maxShardBytes: integer('shardMb', o.shardMb ?? D.shardMb, 1) * 1024 * 1024,
  };
  // Checked for every dataset (a synthetic pack does not read them), as the flags always were.
  const split = integer('split', o.split ?? D.split, 1, 3) as 1 | 2 | 3;
  const subset = oneOf('subset', o.subset ?? D.subset, SUBSETS);
  const keepShort = boolean('keepShort', o.keepShort ?? D.keepShort);
  if (spec.kind === 'synthetic') {
    const style = o.syntheticStyle === undefined ? undefined : checkSyntheticStyle('syntheticStyle', parseStyle(o.syntheticStyle));
    return { ...base, kind: 'synthetic', spec, count: integer('count', o.count ?? D.count, 1), seed: integer('seed', o.seed ?? D.seed, 0), ...(style ? { syntheticStyle: style } : {}) };
  }
  if (o.syntheticStyle !== undefined) throw new ConfigError('syntheticStyle', o.syntheticStyle, 'no value with a video dataset (synthetic only)');
  return {
    ...base,
    kind: 'videos',
    spec,
    rate: integer('rate', o.rate ?? (spec.kind === 'ssv2' ? D.rate.ssv2 : D.rate.video), 1),
    clipsPerVideo: integer('clipsPerVideo', o.clipsPerVideo ?? D.clipsPerVideo, 1),
    ...(o.jobs !== undefined ? { jobs: integer('jobs', o.jobs, 1) } : {}),
    split,
    subset,
    keepShort,
    ...(o.classes !== undefined ? { classes: integer('classes', o.classes, 1) } : {}),
  };
}

/** A style given as JSON text (the flag) is parsed first. */
function parseStyle(style: unknown): unknown {
  if (typeof style !== 'string') return style;
  try {
    return JSON.parse(style);
  } catch {
    throw new ConfigError('syntheticStyle', style, 'a JSON object of synthetic style fields (spriteScale, spriteTexture, background, polarity)');
  }
}
