// Loader worker thread: opens one source and builds the batches it is asked for, transferring the
// batch buffers back (no copies). Messages: in {type:'batch', id, indices, epoch},
// {type:'recycle', clips}; out {type:'batch', id, batch} or {type:'error', id, message}.
import { parentPort, workerData } from 'node:worker_threads';

import { buildBatch, openSource, type SourceDescriptor } from './sources.js';

const port = parentPort;
if (!port) throw new Error('loader-worker.js must run in a worker thread');
const src = openSource((workerData as { source: SourceDescriptor }).source);

// Clip buffers handed back by DataLoader.recycle(), reused instead of allocating (and page-faulting)
// a fresh one per batch.
const free: Uint8Array[] = [];

port.on('message', (msg: { type: string; id: number; indices: number[]; epoch: number; clips?: Uint8Array }) => {
  if (msg.type === 'close') {
    src.close();
    port.close();
    return;
  }
  if (msg.type === 'recycle') {
    if (msg.clips && free.length < 8) free.push(msg.clips);
    return;
  }
  buildBatch(src, msg.indices, msg.epoch, 16, free.pop()).then(
    (batch) => {
      const transfer: ArrayBuffer[] = [batch.clips.buffer as ArrayBuffer, batch.labels.buffer as ArrayBuffer];
      if (batch.motion) transfer.push(batch.motion.buffer as ArrayBuffer);
      port.postMessage({ type: 'batch', id: msg.id, batch }, transfer);
    },
    (err: unknown) => {
      const c = (err as { code?: unknown } | null)?.code;
      const code = typeof c === 'string' ? c : undefined;
      port.postMessage({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err), ...(code ? { code } : {}) });
    },
  );
});
