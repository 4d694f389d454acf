/**
 * Worker thread of renderGifAsync (figure-async.ts): renders the reconstruction figure off the
 * event loop and posts its GIF back. The GIF's LZW coding is plain JavaScript (seconds for a
 * 16x224 clip pair), too long for the thread that serves a dashboard or a service.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { renderFigure, type FigureInput } from './figure.js';

const f = renderFigure(workerData as FigureInput);
parentPort!.postMessage(f.gif, [f.gif.buffer as ArrayBuffer]);
