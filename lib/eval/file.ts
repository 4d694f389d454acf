/** Reads a --config file (JSON or YAML) as a plain options object. */
import { readFileSync } from 'node:fs';

import { parse as parseYaml } from 'yaml';

import { ConfigError } from '../errors/index.js';

export function loadConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('--config', path, `a readable file (${(err as Error).message})`);
  }
  let v: unknown;
  try {
    v = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError('--config', path, `valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'} (${(err as Error).message})`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError('--config', path, 'a file holding one object');
  return v as Record<string, unknown>;
}
