/**
 * Flags shared by the training commands (docs/cli.md "Common flags") and their mapping to config
 * options. Flags carry no defaults of their own: unset flags leave the field to the preset, the
 * config file or lib/config's DEFAULTS, which the help text quotes.
 */
import type { Argv } from 'yargs';
import { parse as parseYaml } from 'yaml';

import {
  ConfigError,
  DEFAULTS,
  DEVICE_CHOICES,
  MODEL_SIZES,
  PRECISION_CHOICES,
  PRESET_NAMES,
  STRATEGIES,
  loadConfigFile,
  mergeOptions,
  type PretrainOptions,
} from '../lib/index.js';

/** Parsed values of the common training flags (undefined when not given). */
export interface TrainFlags {
  config?: string;
  preset?: string;
  dataset?: string;
  strategy?: string;
  model?: string;
  frames?: number;
  size?: number;
  patch?: number;
  'encoder-depth'?: number;
  'decoder-depth'?: number;
  'mask-ratio'?: number;
  steps?: number;
  epochs?: number;
  'batch-size'?: number;
  device?: string;
  precision?: string;
  seed?: number;
  out?: string;
  lr?: number;
  'checkpoint-every'?: number;
  'log-every'?: number;
  'nproc-per-node'?: number;
  /** tats pretrain only. */
  'on-damaged'?: string;
  set?: string[];
  json: boolean;
}

/** Flag -> config field, for building options and for naming the flag in error messages. */
export const FLAG_FIELDS: Record<string, string> = {
  preset: 'preset',
  dataset: 'dataset',
  strategy: 'masking.strategy',
  model: 'model.preset',
  frames: 'model.frames',
  size: 'model.size',
  patch: 'model.patch',
  'encoder-depth': 'model.encoderDepth',
  'decoder-depth': 'model.decoderDepth',
  'mask-ratio': 'masking.ratio',
  steps: 'steps',
  epochs: 'epochs',
  'batch-size': 'batchSize',
  device: 'device',
  precision: 'precision',
  seed: 'seed',
  out: 'out',
  lr: 'optim.lr',
  'checkpoint-every': 'checkpointEvery',
  'log-every': 'logEvery',
  'nproc-per-node': 'nprocPerNode',
  'on-damaged': 'data.onDamaged',
};

const list = (xs: readonly string[]) => xs.join(', ');

/** Adds --json and the common training flags, grouped as docs/cli.md lists them. */
export function trainFlags<T>(y: Argv<T>, opts: { out?: boolean } = {}): Argv<T & TrainFlags> {
  const g = 'Config:';
  const m = 'Model and masking:';
  const r = 'Run:';
  let a = y
    .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object on stdout (human output goes to stderr)' })
    .option('config', { type: 'string', group: g, describe: 'JSON or YAML config file; flags override it' })
    .option('preset', { type: 'string', group: g, describe: `Recipe to start from, or several joined by commas (applied in order, a later one winning): ${list(PRESET_NAMES)}` })
    .option('set', {
      type: 'string',
      array: true,
      group: g,
      describe: 'Any config field as path=value, e.g. --set optim.minLr=1e-6 --set sampler.dim=192 (repeatable)',
    })
    .option('dataset', { type: 'string', group: r, describe: `synthetic, shards:DIR, list:FILE, ucf101:DIR, hmdb51:DIR, k400:DIR, ssv2:DIR. Default ${DEFAULTS.dataset}` })
    .option('strategy', { type: 'string', group: m, describe: `Masking strategy: ${list(STRATEGIES)}. Default ${DEFAULTS.masking.strategy}` })
    .option('model', { type: 'string', group: m, describe: `ViT size: ${list(MODEL_SIZES)}. Default ${DEFAULTS.model.preset}` })
    .option('frames', { type: 'number', group: m, describe: `Frames per clip. Default ${DEFAULTS.model.frames}` })
    .option('size', { type: 'number', group: m, describe: `Clip side in pixels. Default ${DEFAULTS.model.size}` })
    .option('patch', { type: 'number', group: m, describe: `Token side in pixels (the tubelet is ${DEFAULTS.model.tubelet} x patch x patch). Default ${DEFAULTS.model.patch}` })
    .option('encoder-depth', { type: 'number', group: m, describe: 'Encoder blocks (override of the --model preset)' })
    .option('decoder-depth', { type: 'number', group: m, describe: 'Decoder blocks (override of the --model preset)' })
    .option('mask-ratio', { type: 'number', group: m, describe: `Share of tokens masked, in (0, 1). Default ${DEFAULTS.masking.ratio}` })
    .option('steps', { type: 'number', group: r, describe: `Training steps. Default ${DEFAULTS.steps}` })
    .option('epochs', { type: 'number', group: r, describe: 'Passes over the dataset (instead of --steps)' })
    .option('batch-size', { type: 'number', group: r, describe: `Clips per step per rank (GPU); the global batch is batch size x ranks. Default ${DEFAULTS.batchSize}` })
    .option('lr', { type: 'number', group: r, describe: `Peak learning rate. Default ${DEFAULTS.optim.baseLr} * global batch / 256` })
    .option('device', { type: 'string', group: r, describe: `${list(DEVICE_CHOICES)}: auto picks cuda when usable. Default ${DEFAULTS.device}` })
    .option('precision', { type: 'string', group: r, describe: `${list(PRECISION_CHOICES)}: auto is bf16 on cuda, fp32 on cpu. Default ${DEFAULTS.precision}` })
    .option('seed', { type: 'number', group: r, describe: `Seed of weights, masks and data order. Default ${DEFAULTS.seed}` })
    .option('nproc-per-node', { type: 'number', group: r, describe: `Data-parallel ranks to start on this node, one per GPU (torchrun/Slurm: leave at 1; see docs/distributed.md). Default ${DEFAULTS.nprocPerNode}` });
  if (opts.out !== false) {
    a = a
      .option('out', { type: 'string', group: r, describe: `Run directory. Default ${DEFAULTS.out}` })
      .option('checkpoint-every', { type: 'number', group: r, describe: `Steps between checkpoints. Default ${DEFAULTS.checkpointEvery}` })
      .option('log-every', { type: 'number', group: r, describe: `Steps between metrics lines. Default ${DEFAULTS.logEvery}` });
  }
  return a as Argv<T & TrainFlags>;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let obj = target;
  for (const p of parts.slice(0, -1)) {
    if (typeof obj[p] !== 'object' || obj[p] === null) obj[p] = {};
    obj = obj[p] as Record<string, unknown>;
  }
  obj[parts[parts.length - 1]!] = value;
}

/** --set values: YAML scalars (numbers, true/false, null, strings). */
function parseSet(item: string): [string, unknown] {
  const eq = item.indexOf('=');
  if (eq <= 0 || !/^[A-Za-z][\w]*(\.[A-Za-z][\w]*)*$/.test(item.slice(0, eq))) {
    throw new ConfigError('--set', item, 'path=value with a dotted field path, e.g. optim.minLr=1e-6');
  }
  const raw = item.slice(eq + 1);
  let value: unknown;
  try {
    value = raw === '' ? '' : parseYaml(raw);
  } catch {
    value = raw;
  }
  return [item.slice(0, eq), value];
}

/**
 * Options from the flags: the config file, then --set, then the named flags over it.
 * The result goes to resolveConfig (via lib), which validates every field.
 */
export function optionsFromFlags(args: TrainFlags): PretrainOptions {
  const fromFile = args.config ? loadConfigFile(args.config) : undefined;
  const fromSet: Record<string, unknown> = {};
  for (const item of args.set ?? []) {
    const [path, value] = parseSet(item);
    setPath(fromSet, path, value);
  }
  const fromFlags: Record<string, unknown> = {};
  for (const [flag, field] of Object.entries(FLAG_FIELDS)) {
    const v = (args as unknown as Record<string, unknown>)[flag];
    if (v !== undefined) setPath(fromFlags, field, v);
  }
  return mergeOptions(fromFile, fromSet as PretrainOptions, fromFlags as PretrainOptions);
}

/**
 * Options of a command whose options are one flat object (finetune, compare): the config file's,
 * then each flag of `table` (flag -> option name) that was given. Values are not checked here:
 * lib/config's resolvers do that and name the option, and `nameFlag` adds the flag.
 */
export function optionsFromTable<T extends object>(args: object, table: Record<string, string>): T {
  const a = args as Record<string, unknown>;
  const out: Record<string, unknown> = typeof a.config === 'string' ? { ...loadConfigFile<Record<string, unknown>>(a.config) } : {};
  for (const [flag, field] of Object.entries(table)) if (a[flag] !== undefined) out[field] = a[flag];
  return out as T;
}

const kebab = (field: string) => field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * Re-labels a ConfigError about a field that was set by a flag so that the message names the flag
 * too (`--mask-ratio (masking.ratio): expected ...`). Fields set in a config file keep their name.
 * `table` maps flags to fields: FLAG_FIELDS for the commands of `trainFlags`, the command's own for
 * the others.
 */
export function nameFlag(err: unknown, args?: object, table: Record<string, string> = FLAG_FIELDS): unknown {
  if (!(err instanceof ConfigError)) return err;
  const given = (flag: string) => !args || (args as Record<string, unknown>)[flag] !== undefined;
  const flag =
    err.field === 'config'
      ? 'config'
      : // A missing value (undefined) is named by the flag that would set it.
        (Object.entries(table).find(([f, field]) => field === err.field && (given(f) || err.value === undefined))?.[0] ??
        // A field of the same name as a given flag (views, clips): the flag set it.
        (args && (args as Record<string, unknown>)[kebab(err.field)] !== undefined ? kebab(err.field) : undefined));
  if (!flag) return err;
  const e = new ConfigError(`--${flag}${flag === err.field ? '' : ` (${err.field})`}`, err.value, err.allowed);
  e.stack = err.stack;
  return e;
}
