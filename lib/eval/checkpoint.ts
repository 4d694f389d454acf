/**
 * The fine-tuned checkpoint: model.safetensors (VideoMAE fine-tuning names) and meta.json, written
 * by `tats finetune` and read by `tats eval`.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { readSafetensors, writeFileAtomic, writeSafetensors } from '../checkpoint/safetensors.js';
import { CheckpointError, ConfigError } from '../errors/index.js';
import { ClassifierSession } from './classifier.js';

export const classifierFormat = 'tats-classifier';

/** Writes the fine-tuned model: model.safetensors (VideoMAE fine-tuning names) + meta.json. */
export async function saveClassifier(dir: string, session: ClassifierSession, extra: Record<string, unknown> = {}): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const state = await session.stateDict();
  const { ['state.step']: _step, ...weights } = state;
  await writeSafetensors(join(dir, 'model.safetensors'), weights, { format: 'pt' });
  const meta = { format: classifierFormat, version: 1, step: session.step, savedAt: new Date().toISOString(), config: session.config, ...extra };
  await writeFileAtomic(join(dir, 'meta.json'), [Buffer.from(JSON.stringify(meta, null, 2) + '\n')]);
}

/** Opens a fine-tuned checkpoint written by saveClassifier (a directory, or its run directory). */
export async function loadClassifier(path: string, overrides: { device?: 'cpu' | 'cuda'; batchSize?: number } = {}): Promise<{ session: ClassifierSession; meta: Record<string, unknown> }> {
  if (!existsSync(path)) throw new ConfigError('checkpoint', path, 'an existing fine-tuned checkpoint (tats finetune --out DIR, DIR/checkpoint or its model.safetensors)');
  const dir = path.endsWith('.safetensors') ? join(path, '..') : readMeta(join(path, 'meta.json')) ? path : join(path, 'checkpoint');
  const metaFile = join(dir, 'meta.json');
  const meta = readMeta(metaFile);
  if (!meta || meta.format !== classifierFormat) throw new CheckpointError(metaFile, `is not a fine-tuned checkpoint (format ${JSON.stringify(meta?.format)}, expected "${classifierFormat}"); fine-tune one with tats finetune`);
  const config = { ...(meta.config as ClassifierSession['config']), ...overrides };
  const session = await ClassifierSession.create(config);
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
  await session.loadStateDict(tensors, { strict: true });
  return { session, meta };
}

function readMeta(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
