/**
 * `tats visualize`: loads a pretraining checkpoint, reconstructs a few clips and writes the
 * figure (renderFigure) as PNG and animated GIF.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { loadCheckpoint } from '../checkpoint/checkpoint.js';
import { DataLoader } from '../data/loader.js';
import { datasetSource, parseDatasetSpec } from '../data/spec.js';
import { SyntheticMotionDataset, type SyntheticStyle } from '../data/synthetic.js';
import { CheckpointError, ConfigError } from '../errors/index.js';
import { integer } from '../check.js';
import { DEFAULTS } from '../config/defaults.js';
import { resolveDevice } from '../config/finetune.js';
import type { NativeSessionConfig } from '../native.js';
import { Session } from '../session.js';
import { renderFigure } from './figure.js';

export interface VisualizeOptions {
  checkpoint: string;
  dataset?: string;
  /** Clips to draw. Defaults to 2. */
  clips?: number;
  /** PNG path; the GIF goes beside it (.gif). Defaults to <checkpoint>/reconstruction.png. */
  out?: string;
  device?: 'auto' | 'cpu' | 'cuda';
  seed?: number;
  /** Title drawn on the PNG. */
  title?: string;
}

export interface VisualizeResult {
  png: string;
  gif: string;
  clips: number;
  strategy: string;
  hasPolicy: boolean;
  maskedPerClip: number;
  tokens: number;
  width: number;
  height: number;
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Picks the session fields out of a resolved pretraining config (config.json) or meta.session. */
function sessionFrom(json: Record<string, unknown> | undefined): NativeSessionConfig | undefined {
  const c = (json?.session ?? json) as Record<string, unknown> | undefined;
  if (!c || typeof c.model !== 'object' || typeof c.masking !== 'object' || typeof c.sampler !== 'object' || typeof c.optim !== 'object') return undefined;
  const { baseLr: _b, ...optim } = c.optim as Record<string, unknown>;
  // A checkpoint from before the KL-to-uniform sampler (docs/tats.md) has entropyCoef and lacks
  // the fields that replaced it: reconstructing does not train, so the defaults do.
  const { entropyCoef: _e, ...stored } = c.sampler as Record<string, unknown>;
  const d = DEFAULTS.sampler;
  const sampler = { beta: d.beta, betaStart: d.beta, betaSteps: d.betaSteps, reward: d.reward, targetKl: d.targetKl, exactKl: d.exactKl, warmupSteps: 0, clipGrad: d.clipGrad, ...stored };
  return {
    model: c.model,
    masking: c.masking,
    sampler,
    optim,
    batchSize: c.batchSize,
    device: c.device,
    seed: c.seed,
    precision: c.precision,
    // Runs from before the runtime section (its fields were environment variables) take the defaults.
    runtime: { ...DEFAULTS.runtime, ...(typeof c.runtime === 'object' ? c.runtime : {}) },
  } as NativeSessionConfig;
}

/**
 * The checkpoint directory, the session config that built it and the run's synthetic style
 * (`data.syntheticStyle` of its config.json; undefined where none is recorded: the default look).
 */
export function pretrainCheckpoint(path: string): { dir: string; config: NativeSessionConfig; syntheticStyle?: Partial<SyntheticStyle> } {
  let dir = path;
  if (path.endsWith('.safetensors')) dir = dirname(path);
  let run: string | undefined;
  if (!existsSync(join(dir, 'meta.json')) && existsSync(join(dir, 'checkpoints'))) {
    run = dir;
    const last = readdirSync(join(dir, 'checkpoints'))
      .filter((f: string) => /^step-\d+$/.test(f) && existsSync(join(dir, 'checkpoints', f, 'meta.json')))
      .sort()
      .at(-1);
    if (!last) throw new ConfigError('checkpoint', path, 'a run directory with a complete checkpoint');
    dir = join(dir, 'checkpoints', last);
  }
  if (!existsSync(join(dir, 'meta.json'))) throw new ConfigError('checkpoint', path, 'a pretraining checkpoint directory (meta.json, model.safetensors, state.safetensors) or its run directory');
  const config = sessionFrom(readJson(join(dir, 'meta.json'))) ?? sessionFrom(readJson(join(run ?? join(dir, '..', '..'), 'config.json')));
  if (!config) throw new CheckpointError(join(dir, 'meta.json'), 'records no session config (meta.json "session" or the run\'s config.json)');
  const style = (readJson(join(run ?? join(dir, '..', '..'), 'config.json'))?.data as Record<string, unknown> | undefined)?.syntheticStyle;
  return { dir, config, ...(style !== undefined ? { syntheticStyle: style as Partial<SyntheticStyle> } : {}) };
}


export async function visualize(o: VisualizeOptions): Promise<VisualizeResult> {
  const n = integer('clips', o.clips ?? 2, 1, 16);
  if (o.out !== undefined && !/\.png$/i.test(o.out)) throw new ConfigError('out', o.out, 'a path ending in .png');
  const { dir, config, syntheticStyle } = pretrainCheckpoint(o.checkpoint);
  const device = resolveDevice(o.device);
  const session = await Session.create({ ...config, device });
  try {
    await loadCheckpoint(dir, session);
    const m = config.model;
    const spec = parseDatasetSpec(o.dataset ?? 'synthetic', 'dataset');
    let clips: Uint8Array, labels: string[];
    if (spec.kind === 'synthetic') {
      const ds = new SyntheticMotionDataset({ seed: o.seed ?? 0, frames: m.frames, size: m.size, split: 'val', length: 64, ...(syntheticStyle ? { style: syntheticStyle } : {}) });
      const b = ds.batch(Array.from({ length: n }, (_, i) => i));
      clips = b.clips;
      labels = [...b.labels].map((l) => ds.classNames[l]!);
    } else {
      const { source, classNames } = datasetSource(spec, { frames: m.frames, size: m.size, seed: o.seed ?? 0, phase: 'finetune', subset: 'val' });
      const loader = new DataLoader({ source, batchSize: n, steps: 1, workers: 0, shuffle: false });
      let got: { clips: Uint8Array; labels: Int32Array } | undefined;
      for await (const b of loader) got = b;
      await loader.close();
      if (!got) throw new ConfigError('dataset', o.dataset, `a dataset with at least ${n} readable clips (clips)`);
      clips = got.clips;
      labels = [...got.labels].map((l) => classNames[l] ?? String(l));
    }
    const rec = await session.reconstruct(clips);
    const fig = renderFigure({
      clips,
      batch: n,
      frames: m.frames,
      size: m.size,
      tubelet: m.tubelet,
      patch: m.patch,
      rec,
      labels,
      title: o.title ?? `${config.masking.strategy} mask ${config.masking.ratio} step ${session.step}`,
    });
    const png = o.out ?? join(dir, 'reconstruction.png');
    const gif = png.replace(/\.png$/i, '') + '.gif';
    mkdirSync(dirname(png), { recursive: true });
    writeFileSync(png, fig.png);
    writeFileSync(gif, fig.gif);
    return {
      png,
      gif,
      clips: n,
      strategy: config.masking.strategy,
      hasPolicy: rec.policy !== undefined,
      maskedPerClip: rec.maskedPerClip,
      tokens: rec.tokens,
      width: fig.width,
      height: fig.height,
    };
  } finally {
    session.dispose();
  }
}
