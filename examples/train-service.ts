// A Node HTTP service that pretrains in-process and answers while it trains:
//   GET  /status  -> {state, step, totalSteps, loss, clipsPerS, etaS, out, checkpoint}
//   POST /stop    -> stops after the current step, writes a checkpoint
//
//   npm run build:ts && node dist/examples/train-service.js --port 8080 --steps 100 --out runs/service
//   curl localhost:8080/status
//
// Training never blocks the event loop (native steps run off the main thread), so /status answers
// at once. The process exits when training ends, unless --stay is given.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import { Trainer, type Strategy, type TrainProgress } from 'tats';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    preset: { type: 'string', default: 'cpu-demo' },
    strategy: { type: 'string' },
    steps: { type: 'string' },
    out: { type: 'string', default: 'runs/service' },
    resume: { type: 'boolean', default: false },
    stay: { type: 'boolean', default: false },
  },
});

const trainer = await Trainer.open(
  {
    preset: args.preset,
    out: args.out,
    ...(args.steps ? { steps: Number(args.steps) } : {}),
    ...(args.strategy ? { masking: { strategy: args.strategy as Strategy } } : {}),
  },
  { resume: args.resume },
);
const stop = new AbortController();
let state: 'training' | 'stopping' | 'done' | 'stopped' | 'failed' = 'training';
let last: TrainProgress | undefined;
let checkpoint: string | null = null;
let failure: string | undefined;
trainer.on('checkpoint', (c) => {
  checkpoint = c.path;
});

const server = createServer((req, res) => {
  const send = (code: number, body: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body) + '\n');
  };
  if (req.method === 'GET' && req.url === '/status') {
    send(200, {
      state,
      step: last?.step ?? trainer.step,
      totalSteps: trainer.config.steps,
      loss: last?.loss ?? null,
      clipsPerS: last?.clipsPerS ?? null,
      etaS: last?.etaS ?? null,
      out: trainer.paths.out,
      checkpoint,
      ...(failure ? { error: failure } : {}),
    });
  } else if (req.method === 'POST' && req.url === '/stop') {
    if (state === 'training') state = 'stopping';
    stop.abort();
    send(202, { state });
  } else {
    send(404, { error: 'GET /status or POST /stop' });
  }
});
server.listen(Number(args.port), () => {
  const a = server.address();
  console.log(`training ${trainer.config.steps} steps into ${trainer.paths.out}; status on http://localhost:${typeof a === 'object' && a ? a.port : args.port}/status`);
});

try {
  const r = await trainer.run({ signal: stop.signal, onProgress: (p) => (last = p) });
  state = r.aborted ? 'stopped' : 'done';
  console.log(`${state} at step ${r.step}, loss ${r.loss?.toFixed(4)}, checkpoint ${r.checkpoint}`);
} catch (err) {
  state = 'failed';
  failure = err instanceof Error ? err.message : String(err);
  console.error(`training failed: ${failure}`);
  process.exitCode = 1;
} finally {
  await trainer.dispose();
  if (!args.stay) server.close();
}
