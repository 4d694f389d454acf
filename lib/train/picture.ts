/**
 * The run's picture: input frames, mask, reconstruction (and the sampler's policy) of the first
 * clips of the dataset as a PNG, and beside it (`.gif`) their animation. Both are drawn off the
 * event loop and replaced atomically, so a reader (`tats dashboard`) never sees half a file.
 */
import { rename, writeFile } from 'node:fs/promises';

import type { PretrainConfig } from '../config/index.js';
import { renderGifAsync } from '../viz/figure-async.js';
import { reconstructionPngAsync } from '../viz/reconstruction.js';
import type { TrainSession } from './engine.js';
import type { ClipSource } from './source.js';

/** Writes the picture of the first `clips` clips to `path` (and `<path without .png>.gif`). */
export async function writeRunPicture(session: TrainSession, source: ClipSource, model: PretrainConfig['model'], path: string, clips: number): Promise<void> {
  const shown = Math.max(1, Math.min(clips, source.length));
  const batch = await source.read(Array.from({ length: shown }, (_, i) => i), 0);
  const r = await session.reconstruct(batch.clips);
  const [png, gif] = await Promise.all([
    reconstructionPngAsync({ clips: batch.clips, mask: r.mask, pred: r.pred, policy: r.policy, batch: shown }, model),
    renderGifAsync({ clips: batch.clips, batch: shown, frames: model.frames, size: model.size, tubelet: model.tubelet, patch: model.patch, rec: { ...r, target: new Float32Array(0) } }),
  ]);
  const atomic = async (file: string, data: Buffer) => {
    await writeFile(`${file}.tmp`, data);
    await rename(`${file}.tmp`, file);
  };
  await atomic(path, png);
  if (gif) await atomic(path.replace(/\.png$/i, '') + '.gif', gif);
}
