import { readFileSync } from 'node:fs';
import { extname } from 'node:path';

import { parse as parseYaml } from 'yaml';

import { ConfigError } from '../errors/index.js';
import type { PretrainOptions } from './types.js';

/**
 * Reads a JSON (`.json`) or YAML (`.yaml`, `.yml`, anything else) config file into options: the
 * one loader of every command (`T` is the options type of the command: `PretrainOptions` for
 * pretrain and bench, `FinetuneOptions` for finetune, `CompareOptions` for compare).
 * A resolved `config.json` from a run directory is a valid config file.
 * @throws ConfigError when the file cannot be read or parsed, or is not an object.
 */
export function loadConfigFile<T extends object = PretrainOptions>(path: string): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new ConfigError('config', path, `a readable JSON or YAML file (${reason})`);
  }
  let value: unknown;
  try {
    value = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const first = ((err as Error).message.split('\n')[0] ?? '').trim();
    throw new ConfigError('config', path, `valid ${extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML'} (${first})`);
  }
  if (value === null || value === undefined) return {} as T;
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError('config', path, 'a file holding one object of config fields');
  return value as T;
}
