/**
 * The --dataset SPEC strings of the CLI (docs/cli.md): `synthetic`, `shards:DIR`, `list:FILE`,
 * `ucf101:DIR`, `hmdb51:DIR`, `k400:DIR`, `ssv2:DIR`, parsed into typed descriptors.
 */
import { resolve } from 'node:path';

import { ConfigError } from '../errors/index.js';
import { readHmdb51, readKinetics, readSsv2, readUcf101, readVideoList, type Annotation } from './annotations/index.js';
import { recipeFor } from './sampling.js';
import { readShardIndex } from './shards.js';
import type { SourceDescriptor } from './sources.js';
import { SyntheticMotionDataset, type SyntheticOptions, type SyntheticStyle } from './synthetic.js';

export type VideoDatasetKind = 'ucf101' | 'hmdb51' | 'k400' | 'ssv2';

export type DatasetSpec =
  | { kind: 'synthetic'; spec: string }
  | { kind: 'shards'; dir: string; spec: string }
  | { kind: 'list'; file: string; spec: string }
  | { kind: VideoDatasetKind; dir: string; spec: string };

export const DATASET_KINDS = ['synthetic', 'shards', 'list', 'ucf101', 'hmdb51', 'k400', 'ssv2'] as const;

const ALLOWED = '"synthetic", "shards:DIR", "list:FILE", "ucf101:DIR", "hmdb51:DIR", "k400:DIR" or "ssv2:DIR"';

/** Parses a dataset SPEC; paths become absolute. Throws ConfigError (field `field`) on a bad spec. */
export function parseDatasetSpec(spec: unknown, field = 'dataset'): DatasetSpec {
  if (typeof spec !== 'string' || spec.trim() === '') throw new ConfigError(field, spec, ALLOWED);
  const s = spec.trim();
  if (s === 'synthetic') return { kind: 'synthetic', spec: s };
  const colon = s.indexOf(':');
  if (colon < 0) throw new ConfigError(field, spec, ALLOWED);
  const kind = s.slice(0, colon);
  const path = s.slice(colon + 1).trim();
  if (kind === 'synthetic') throw new ConfigError(field, spec, '"synthetic" without a path (its size comes from --frames/--size)');
  if (!(DATASET_KINDS as readonly string[]).includes(kind)) throw new ConfigError(field, spec, `a known dataset kind: ${ALLOWED}`);
  if (path === '') throw new ConfigError(field, spec, `a path after "${kind}:"`);
  const abs = resolve(path);
  if (kind === 'shards') return { kind, dir: abs, spec: s };
  if (kind === 'list') return { kind, file: abs, spec: s };
  return { kind: kind as VideoDatasetKind, dir: abs, spec: s };
}

/**
 * Whether a dataset's labels depend on left/right, so that a horizontal flip would change the
 * class: the built-in synthetic set (its labels are motion directions) and SSv2 ("pushing
 * something from left to right"), also when packed into shards (the shard index names the set it
 * was packed from). VideoMAE never flips SSv2 and flips the others with p = 0.5 when fine-tuning.
 */
export function directionalLabels(spec: DatasetSpec): boolean {
  if (spec.kind === 'synthetic' || spec.kind === 'ssv2') return true;
  if (spec.kind === 'shards') {
    const from = readShardIndex(spec.dir).dataset;
    return from === 'synthetic' || from === 'ssv2';
  }
  return false;
}

export interface AnnotationChoice {
  /** Official split for UCF101/HMDB51 (1..3). Defaults to 1. */
  split?: 1 | 2 | 3;
  /** 'train' or 'test' ('val' for K400/SSv2 validation; UCF101/HMDB51 'test'). Defaults to 'train'. */
  subset?: 'train' | 'val' | 'test';
  /** Class count of a list: labels at or above it are reported and skipped (see readVideoList). */
  classes?: number;
}

/** Reads the annotation files of a video dataset spec (list, ucf101, hmdb51, k400, ssv2). */
export function readAnnotation(spec: DatasetSpec, choice: AnnotationChoice = {}): Annotation {
  const subset = choice.subset ?? 'train';
  const split = choice.split ?? 1;
  switch (spec.kind) {
    case 'list':
      return readVideoList({ file: spec.file, ...(choice.classes !== undefined ? { numClasses: choice.classes } : {}) });
    case 'ucf101':
      return readUcf101({ root: spec.dir, split, subset: subset === 'train' ? 'train' : 'test' });
    case 'hmdb51':
      return readHmdb51({ root: spec.dir, split, subset: subset === 'train' ? 'train' : 'test' });
    case 'k400':
      return readKinetics({ root: spec.dir, subset });
    case 'ssv2':
      return readSsv2({ root: spec.dir, subset: subset === 'train' ? 'train' : 'val' });
    default:
      throw new ConfigError('dataset', spec.spec, 'a video dataset (list, ucf101, hmdb51, k400 or ssv2) here');
  }
}

export interface SourceChoice extends AnnotationChoice {
  /** Frames per clip. */
  frames: number;
  /** Output side in pixels. */
  size: number;
  /** Seed for synthetic clips, sampling and crops. */
  seed: number;
  /** Pre-training or fine-tuning sampling recipe (VideoMAE's, per dataset). Defaults to 'pretrain'. */
  phase?: 'pretrain' | 'finetune';
  /** Motion-map geometry for synthetic data. Defaults to 2 and 16. */
  tubelet?: number;
  patch?: number;
  /** Synthetic set size and classes. */
  length?: number;
  numClasses?: number;
  /** How synthetic clips look (the config's `data.syntheticStyle`). Defaults to the default look. */
  syntheticStyle?: Partial<SyntheticStyle>;
  /**
   * Horizontal flips (p = 0.5 per clip) for shards and videos, replacing the recipe's (VideoMAE:
   * off when pretraining, on when fine-tuning except SSv2). The synthetic set has none: its labels
   * are directions. Defaults to the recipe's (shards: off).
   */
  flip?: boolean;
}

/**
 * The loader source for a dataset spec: synthetic clips, shards (resized to `size` by multi-scale
 * crops when packed at another size), or decoded videos of a list/official layout with VideoMAE's
 * sampling recipe. Also returns the class names and the annotation's skipped lines.
 */
export function datasetSource(spec: DatasetSpec, choice: SourceChoice): { source: SourceDescriptor; classNames: string[]; annotation?: Annotation } {
  if (spec.kind === 'synthetic') {
    if (choice.flip) throw new ConfigError('flip', true, 'off with dataset synthetic: its labels are motion directions, and a flipped clip would keep the wrong one');
    const options: SyntheticOptions = {
      seed: choice.seed,
      frames: choice.frames,
      size: choice.size,
      split: choice.subset === 'test' ? 'test' : choice.subset === 'val' ? 'val' : 'train',
      ...(choice.tubelet !== undefined ? { tubelet: choice.tubelet } : {}),
      ...(choice.patch !== undefined ? { patch: choice.patch } : {}),
      ...(choice.length !== undefined ? { length: choice.length } : {}),
      ...(choice.numClasses !== undefined ? { numClasses: choice.numClasses } : {}),
      ...(choice.syntheticStyle !== undefined ? { style: choice.syntheticStyle } : {}),
    };
    const ds = new SyntheticMotionDataset(options);
    return { source: { kind: 'synthetic', options }, classNames: [...ds.classNames] };
  }
  if (spec.kind === 'shards') {
    const index = readShardIndex(spec.dir);
    return { source: { kind: 'shards', dir: spec.dir, size: choice.size, seed: choice.seed, ...(choice.flip ? { flip: true } : {}) }, classNames: index.classNames };
  }
  const annotation = readAnnotation(spec, choice);
  const base = recipeFor(spec.kind, choice.phase ?? 'pretrain', choice.frames);
  const recipe = choice.flip !== undefined ? { ...base, flip: choice.flip } : base;
  return {
    source: { kind: 'videos', entries: annotation.entries, size: choice.size, recipe, seed: choice.seed },
    classNames: annotation.classNames,
    annotation,
  };
}
