/**
 * Checkpoints: a folder with
 *   model.safetensors  the MAE's weights under VideoMAE's names, fp32 (loadable by VideoMAE code);
 *   state.safetensors  the rest of stateDict(): sampler.*, optim.*, sampler_optim.*, rng.*, state.*;
 *   meta.json          {format, version, step, savedAt, ...meta}, written last.
 * Each file is written atomically; meta.json appearing marks a complete checkpoint.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { CheckpointError } from '../errors/index.js';
import type { Session, StateDict } from '../session.js';
import { readSafetensors, writeFileAtomic, writeSafetensors } from './safetensors.js';

export const checkpointFormat = 'tats-checkpoint';
export const checkpointVersion = 1;

export interface CheckpointMeta {
  format: typeof checkpointFormat;
  version: number;
  step: number;
  savedAt: string;
  [key: string]: unknown;
}

const statePrefixes = ['sampler.', 'optim.', 'sampler_optim.', 'rng.', 'state.'];

/** True for the names that belong in model.safetensors. */
export function isModelWeight(name: string): boolean {
  return !statePrefixes.some((p) => name.startsWith(p));
}

export async function saveCheckpoint(dir: string, session: Session, meta: Record<string, unknown> = {}): Promise<CheckpointMeta> {
  await mkdir(dir, { recursive: true });
  const state = await session.stateDict();
  const model: StateDict = {}, rest: StateDict = {};
  for (const [name, t] of Object.entries(state)) {
    if (!isModelWeight(name)) rest[name] = t;
    else if (t.dtype !== 'F32') throw new CheckpointError(join(dir, 'model.safetensors'), `weight ${name} is ${t.dtype}, expected F32`);
    else model[name] = t;
  }
  const full: CheckpointMeta = {
    ...meta,
    format: checkpointFormat,
    version: checkpointVersion,
    step: session.step,
    savedAt: new Date().toISOString(),
  };
  await writeSafetensors(join(dir, 'model.safetensors'), model, { format: 'pt' });
  await writeSafetensors(join(dir, 'state.safetensors'), rest, { format: checkpointFormat });
  await writeFileAtomic(join(dir, 'meta.json'), [Buffer.from(JSON.stringify(full, null, 2) + '\n')]);
  return full;
}

export async function readCheckpointMeta(dir: string): Promise<CheckpointMeta> {
  const file = join(dir, 'meta.json');
  let meta: unknown;
  try {
    meta = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CheckpointError(file, `cannot read checkpoint metadata: ${(err as Error).message}`, { cause: err });
  }
  const m = meta as Partial<CheckpointMeta>;
  if (m?.format !== checkpointFormat) throw new CheckpointError(file, `format is ${JSON.stringify(m?.format)}, expected "${checkpointFormat}"`);
  if (m.version !== checkpointVersion) throw new CheckpointError(file, `version ${String(m.version)} is not supported (expected ${checkpointVersion})`);
  if (!Number.isSafeInteger(m.step)) throw new CheckpointError(file, 'step is missing or not an integer');
  return m as CheckpointMeta;
}

/** Restores a checkpoint into `session` exactly (weights, optimiser, sampler, generators, step). */
export async function loadCheckpoint(dir: string, session: Session, options: { strict?: boolean } = {}): Promise<CheckpointMeta> {
  const meta = await readCheckpointMeta(dir);
  const modelFile = join(dir, 'model.safetensors'), stateFile = join(dir, 'state.safetensors');
  const model = await readSafetensors(modelFile);
  const state = await readSafetensors(stateFile);
  for (const name of Object.keys(model.tensors))
    if (!isModelWeight(name)) throw new CheckpointError(modelFile, `holds ${name}, which belongs in state.safetensors`);
  for (const name of Object.keys(state.tensors))
    if (isModelWeight(name)) throw new CheckpointError(stateFile, `holds ${name}, which belongs in model.safetensors`);
  await session.loadStateDict({ ...model.tensors, ...state.tensors }, { strict: options.strict ?? true });
  if (session.step !== meta.step)
    throw new CheckpointError(join(dir, 'meta.json'), `step ${meta.step} disagrees with state.safetensors (${session.step})`);
  return meta;
}
