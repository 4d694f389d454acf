/**
 * The animated reconstruction (lib/viz/figure.ts's GIF: input, policy, mask and reconstruction
 * side by side, one frame per clip frame), rendered on a worker thread so that the trainer can
 * refresh it at every checkpoint without blocking the event loop.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

import { packageRoot } from '../paths.js';
import type { FigureInput } from './figure.js';

/** The worker script, or null when it is not built (running from the TypeScript sources without dist/). */
function workerUrl(): URL | null {
  const here = new URL('./figure-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const dist = join(packageRoot, 'dist', 'lib', 'viz', 'figure-worker.js');
  return existsSync(dist) ? pathToFileURL(dist) : null;
}

/**
 * The figure's GIF, encoded on a worker thread; null when the worker script is not built. The
 * input buffers are copied to the worker (the caller keeps them).
 */
export async function renderGifAsync(f: FigureInput): Promise<Buffer | null> {
  const url = workerUrl();
  if (!url) return null;
  const worker = new Worker(url, { workerData: f });
  try {
    const gif = await new Promise<Uint8Array>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the figure worker exited with code ${code} before answering`)));
    });
    return Buffer.from(gif.buffer, gif.byteOffset, gif.byteLength);
  } finally {
    await worker.terminate();
  }
}
