/**
 * The options of `tats eval` (multi-view testing), resolved over `EVAL_DEFAULTS` and checked with
 * the predicates of lib/check.ts, so a bad value throws the same ConfigError as every other config.
 */
import { integer } from '../check.js';
import { parseDatasetSpec, type DatasetSpec } from '../data/spec.js';
import { ConfigError } from '../errors/index.js';
import { EVAL_DEFAULTS } from './defaults.js';

/** The fields of `tats eval` that need no model. */
export interface EvalChoices {
  /** Labelled test clips (a dataset spec). Defaults to `synthetic`. */
  dataset?: string;
  /** Views per video as clips and crops. Defaults: 1 x 1 on synthetic data and shards, 5 x 3 (SSv2 2 x 3) on videos. */
  clips?: number;
  /** Crops per clip: 1 or 3. */
  crops?: number;
  /** Most test videos scored (`--test-size`). Integer >= 1. Defaults to 256. */
  limit?: number;
  /** Views per forward pass. Integer >= 1. Defaults to 16. */
  batchSize?: number;
  /** Seed of the synthetic test split. Integer in [0, 2^31 - 1]. Defaults to 0. */
  seed?: number;
}

/** Every field of EvalChoices, defaults filled in, and the parsed dataset. */
export interface EvalConfig {
  dataset: string;
  spec: DatasetSpec;
  clips: number;
  crops: number;
  limit: number;
  batchSize: number;
  seed: number;
}

/** The default [clips, crops] of a test dataset (EVAL_DEFAULTS.views). */
export function defaultViews(spec: DatasetSpec): readonly [number, number] {
  const v = EVAL_DEFAULTS.views;
  return spec.kind === 'synthetic' || spec.kind === 'shards' ? v.single : spec.kind === 'ssv2' ? v.ssv2 : v.video;
}

/** Parses '5x3' into clips and crops. */
export function parseViews(v: string | undefined): { clips?: number; crops?: number } {
  if (v === undefined) return {};
  const m = /^(\d+)x(\d+)$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 64 || !['1', '3'].includes(m[2]!)) throw new ConfigError('views', v, 'CLIPSxCROPS with clips 1..64 and crops 1 or 3, e.g. 5x3');
  return { clips: Number(m[1]), crops: Number(m[2]) };
}

/** The eval options over EVAL_DEFAULTS, every field checked (before a checkpoint is opened). */
export function resolveEvalConfig(o: EvalChoices): EvalConfig {
  const limit = integer('limit', o.limit ?? EVAL_DEFAULTS.limit, 1);
  const batchSize = integer('batchSize', o.batchSize ?? EVAL_DEFAULTS.batchSize, 1);
  const seed = integer('seed', o.seed ?? EVAL_DEFAULTS.seed, 0, 2 ** 31 - 1);
  if (o.clips !== undefined) integer('clips', o.clips, 1, 64);
  if (o.crops !== undefined && o.crops !== 1 && o.crops !== 3) throw new ConfigError('crops', o.crops, '1 or 3');
  const dataset = o.dataset ?? EVAL_DEFAULTS.dataset;
  const spec = parseDatasetSpec(dataset, 'dataset');
  const [clips, crops] = defaultViews(spec);
  return { dataset, spec, clips: o.clips ?? clips, crops: o.crops ?? crops, limit, batchSize, seed };
}
