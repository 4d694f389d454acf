/**
 * Finding and mapping encoder weights for fine-tuning. A `--checkpoint` may be:
 *   a run directory (config.json + checkpoints/step-NNNNNNNN/): its newest complete checkpoint;
 *   a checkpoint directory (meta.json + model.safetensors);
 *   a .safetensors file: our model.safetensors, a converted VideoMAE pretraining checkpoint
 *   (encoder.* names), or a converted VideoMAE fine-tuning checkpoint (patch_embed.*, blocks.*,
 *   fc_norm.*, head.*).
 * Pretraining names map to the classifier's by dropping `encoder.`; the encoder's final `norm`,
 * the decoder, `encoder_to_decoder` and `mask_token` are not used (VideoMAE's fine-tuning model
 * has fc_norm after mean pooling instead of the final norm).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { readSafetensors, type Tensors } from '../checkpoint/safetensors.js';
import { CheckpointError, ConfigError } from '../errors/index.js';
import { MODEL_SIZES } from '../config/index.js';
import type { CheckpointModel, ModelPreset } from '../config/finetune.js';

export interface ResolvedCheckpoint {
  /** The model.safetensors (or the given file). */
  file: string;
  /** Model shape (and the run's synthetic style) recorded next to it (config.json of the run, or meta.json), when found. */
  model: CheckpointModel;
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function modelOf(json: Record<string, unknown> | undefined): CheckpointModel {
  const m = (json?.model ?? (json?.config as Record<string, unknown> | undefined)?.model) as Record<string, unknown> | undefined;
  if (!m || typeof m !== 'object') return {};
  const out: CheckpointModel = {};
  if (typeof m.preset === 'string' && (MODEL_SIZES as readonly string[]).includes(m.preset)) out.preset = m.preset as ModelPreset;
  if (typeof m.frames === 'number') out.frames = m.frames;
  if (typeof m.size === 'number') out.size = m.size;
  if (typeof m.patch === 'number') out.patch = m.patch;
  if (typeof m.encoderDepth === 'number') out.encoderDepth = m.encoderDepth;
  return out;
}

/** The pretraining run's `data.syntheticStyle` from its config.json, when recorded. */
function styleOf(json: Record<string, unknown> | undefined): CheckpointModel {
  const style = (json?.data as Record<string, unknown> | undefined)?.syntheticStyle;
  return style !== undefined ? { syntheticStyle: style as CheckpointModel['syntheticStyle'] } : {};
}

/** A model.safetensors' model shape: the run's config.json (with its synthetic style), then meta.json. */
function recorded(runConfig: string, meta: string): CheckpointModel {
  const run = readJson(runConfig);
  return { ...modelOf(run), ...styleOf(run), ...modelOf(readJson(meta)) };
}

/** Resolves `--checkpoint` to a weights file and the model shape recorded beside it. */
export function resolveCheckpoint(path: string): ResolvedCheckpoint {
  if (!existsSync(path)) throw new ConfigError('checkpoint', path, 'an existing run directory, checkpoint directory or .safetensors file');
  if (statSync(path).isFile()) {
    if (!path.endsWith('.safetensors')) throw new ConfigError('checkpoint', path, 'a .safetensors file or a directory');
    const dir = join(path, '..');
    return { file: path, model: recorded(join(dir, '..', '..', 'config.json'), join(dir, 'meta.json')) };
  }
  if (existsSync(join(path, 'model.safetensors'))) {
    return {
      file: join(path, 'model.safetensors'),
      model: recorded(join(path, '..', '..', 'config.json'), join(path, 'meta.json')),
    };
  }
  const ckpts = join(path, 'checkpoints');
  if (existsSync(ckpts)) {
    const steps = readdirSync(ckpts)
      .filter((f) => /^step-\d+$/.test(f) && existsSync(join(ckpts, f, 'meta.json')))
      .sort();
    const last = steps.at(-1);
    if (last) return { file: join(ckpts, last, 'model.safetensors'), model: recorded(join(path, 'config.json'), join(ckpts, last, 'meta.json')) };
  }
  throw new ConfigError('checkpoint', path, 'a directory holding model.safetensors, or a run directory with a complete checkpoint');
}

/** The tensor names a pretraining state uses that fine-tuning does not. */
function unused(name: string): boolean {
  return name.startsWith('decoder.') || name === 'mask_token' || name.startsWith('encoder_to_decoder.') || name.startsWith('encoder.norm.') || name.startsWith('norm.');
}

/**
 * Maps weights to the classifier's names: `encoder.X` -> `X`, drops what fine-tuning does not use,
 * and drops `head.*` when `keepHead` is false (a new task). Throws when no encoder weight is found.
 */
export function encoderWeights(tensors: Tensors, file: string, keepHead = false): Tensors {
  const out: Tensors = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (unused(name)) continue;
    const mapped = name.startsWith('encoder.') ? name.slice('encoder.'.length) : name;
    if (!keepHead && (mapped.startsWith('head.') || mapped.startsWith('fc_norm.'))) continue;
    if (mapped.startsWith('state.')) continue;
    out[mapped] = t;
  }
  if (!Object.keys(out).some((n) => n.startsWith('blocks.')))
    throw new CheckpointError(file, 'holds no encoder weights (expected encoder.blocks.* or blocks.* names)');
  return out;
}

export async function readEncoderWeights(path: string, keepHead = false): Promise<{ weights: Tensors; resolved: ResolvedCheckpoint }> {
  const resolved = resolveCheckpoint(path);
  const { tensors } = await readSafetensors(resolved.file);
  return { weights: encoderWeights(tensors, resolved.file, keepHead), resolved };
}
