import { ConfigError } from '../errors/index.js';

export const DATASET_KINDS = ['synthetic', 'shards', 'list', 'ucf101', 'hmdb51', 'k400', 'ssv2'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

/** A parsed `--dataset` spec: `synthetic`, or `<kind>:<path>`. */
export interface DatasetSpec {
  kind: DatasetKind;
  /** The folder or file; empty for `synthetic`. */
  path: string;
}

const ALLOWED = 'synthetic, shards:DIR, list:FILE, ucf101:DIR, hmdb51:DIR, k400:DIR or ssv2:DIR';

/** Parses and checks the form of a dataset spec (not whether the path exists). */
export function parseDatasetSpec(spec: unknown, field = 'dataset'): DatasetSpec {
  if (typeof spec !== 'string') throw new ConfigError(field, spec, ALLOWED);
  if (spec === 'synthetic') return { kind: 'synthetic', path: '' };
  const colon = spec.indexOf(':');
  const kind = spec.slice(0, colon);
  const path = spec.slice(colon + 1);
  if (colon <= 0 || kind === 'synthetic' || !(DATASET_KINDS as readonly string[]).includes(kind) || path.trim() === '') {
    throw new ConfigError(field, spec, ALLOWED);
  }
  return { kind: kind as DatasetKind, path };
}
