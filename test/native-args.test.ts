// Bad arguments of every kind at every exported native function: each must throw (or reject)
// a JS error with a code; none may crash the process. A new export without a row here fails.
import { describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';
import { sessionConfig } from './session-config.js';

type Fn = (...args: unknown[]) => unknown;

const junk: unknown[] = [undefined, null, 0, -1, 1.5, NaN, 'x', true, {}, [], () => 0, Symbol('s'), 10n];

/** Junk that is not a valid seed (a non-negative integer). */
const badSeeds = junk.filter((j) => !(typeof j === 'number' && Number.isInteger(j) && j >= 0));

/** A valid samplerBench options object (each bad row changes one field). */
const benchOk = { batch: 1, slots: 2, perSlot: 4, inputDim: 8, dim: 8, heads: 2, epochs: 1, steps: 3, ratio: 0.5 };
// Every bad variant of this fails its checks before any rendezvous starts.
const groupOk = { rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 29400, backend: 'gloo', timeoutMs: 1000, device: 'cpu' };
const goodConfig = () => sessionConfig({ frames: 4, size: 32, batchSize: 1 });
/** goodConfig with one field replaced (path like 'model.frames'; undefined deletes it). */
function configWith(path: string, value: unknown): unknown {
  const cfg = JSON.parse(JSON.stringify(goodConfig())) as Record<string, Record<string, unknown>>;
  const [a, b] = path.split('.') as [string, string | undefined];
  const target = b === undefined ? (cfg as Record<string, unknown>) : cfg[a]!;
  const key = b ?? a;
  if (value === undefined) delete target[key];
  else target[key] = value;
  return cfg;
}
const goodClassifier = () => ({
  model: { preset: 'tiny', frames: 4, size: 32, tubelet: 2, patch: 16, channels: 3, encoderDim: 24, encoderDepth: 1, encoderHeads: 3, mlpRatio: 4 },
  classes: 3,
  dropPath: 0.1,
  linearProbe: false,
  layerDecay: 0.75,
  labelSmoothing: 0.1,
  mixup: 0.8,
  cutmix: 1,
  mixupProb: 1,
  switchProb: 0.5,
  optim: { lr: 1e-3, minLr: 1e-6, warmupSteps: 1, totalSteps: 10, weightDecay: 0.05, beta1: 0.9, beta2: 0.999, clipGrad: 0 },
  batchSize: 2,
  device: 'cpu',
  seed: 1,
  precision: 'fp32',
});
/** goodClassifier with one field replaced (path like 'model.frames'; undefined deletes it). */
function classifierWith(path: string, value: unknown): unknown {
  const cfg = JSON.parse(JSON.stringify(goodClassifier())) as Record<string, Record<string, unknown>>;
  const [a, b] = path.split('.') as [string, string | undefined];
  const target = b === undefined ? (cfg as Record<string, unknown>) : cfg[a]!;
  const key = b ?? a;
  if (value === undefined) delete target[key];
  else target[key] = value;
  return cfg;
}
const masks = { strategy: 'tube', ratio: 0.9, frames: 4, size: 32, tubelet: 2, patch: 16, batch: 1, seed: 1 };

/** Exports that are classes: called with `new`. */
const classes = new Set(['Session', 'ClassifierSession']);

/** For each export: argument lists that must fail. */
const badCalls: Record<string, unknown[][]> = {
  ClassifierSession: [
    [],
    ...junk.map((j) => [j]),
    ...['model', 'classes', 'dropPath', 'linearProbe', 'layerDecay', 'labelSmoothing', 'mixup', 'cutmix', 'mixupProb', 'switchProb', 'optim', 'batchSize', 'device', 'seed', 'precision'].map((k) => [classifierWith(k, undefined)]),
    ...['model.frames', 'model.encoderDim', 'model.mlpRatio', 'optim.lr', 'optim.totalSteps'].flatMap((k) => [[classifierWith(k, undefined)], [classifierWith(k, 'x')]]),
    [classifierWith('linearProbe', 1)],
    [classifierWith('classes', 0)],
    [classifierWith('model.frames', 3)],
    [classifierWith('model.frames', 0)],
    [classifierWith('model.tubelet', 0)],
    [classifierWith('model.encoderHeads', 5)],
    [classifierWith('model.channels', 1)],
    [classifierWith('batchSize', 0)],
    [classifierWith('device', 'gpu')],
    [classifierWith('precision', 'fp16')],
    // Finite but past a 32-bit float: refused here, not mid-step (issue 18's fuzz finding).
    [classifierWith('layerDecay', 1.8e308)],
    [classifierWith('optim.clipGrad', 1e308)],
  ],
  info: [],
  patchify: [
    [],
    ...junk.map((j) => [j, { batch: 1, frames: 2, height: 16, width: 16 }]),
    ...junk.map((j) => [new Uint8Array(2 * 16 * 16 * 3), j]),
    ...junk.map((j) => [new Uint8Array(2 * 16 * 16 * 3), { batch: j, frames: 2, height: 16, width: 16 }]),
    [new Uint8Array(10), { batch: 1, frames: 2, height: 16, width: 16 }],
    [new Float32Array(2 * 16 * 16 * 3), { batch: 1, frames: 2, height: 16, width: 16 }],
    [new Uint8Array(2 * 16 * 16 * 3), { batch: 1, frames: 2, height: 16, width: 16, patch: 0 }],
    [new Uint8Array(2 * 16 * 16 * 3), { batch: 1, frames: 2, height: 16, width: 16, patch: 5 }],
    [new Uint8Array(0), { batch: 0, frames: 2, height: 16, width: 16 }],
  ],
  matmulPeak: [
    [],
    ...junk.map((j) => [j]),
    ...junk.map((j) => [{ device: j, size: 64, iters: 1 }]),
    ...junk.map((j) => [{ device: 'cpu', size: j, iters: 1 }]),
    ...junk.map((j) => [{ device: 'cpu', size: 64, iters: j }]),
    [{ device: 'gpu', size: 64, iters: 1 }],
    [{ device: 'cpu', size: 8, iters: 1 }],
    [{ device: 'cpu', size: 64, iters: 0 }],
  ],
  cudaMemory: [],
  cudaResetPeak: [],
  drawMasks: [
    [],
    ...junk.map((j) => [j]),
    ...Object.keys(masks).flatMap((k) => junk.filter((j) => typeof j !== 'number' || k === 'strategy').map((j) => [{ ...masks, [k]: j }])),
    [{ ...masks, strategy: 'tats' }],
    [{ ...masks, ratio: 1 }],
    [{ ...masks, ratio: 0 }],
    [{ ...masks, frames: 3 }],
    [{ ...masks, size: 0 }],
    [{ ...masks, patch: 0 }],
    [{ ...masks, batch: 0 }],
    [{ ...masks, seed: -1 }],
  ],
  Session: [
    [],
    ...junk.map((j) => [j]),
    ...['model', 'masking', 'sampler', 'optim', 'batchSize', 'device', 'seed', 'precision'].map((k) => [configWith(k, undefined)]),
    ...['model.frames', 'model.mlpRatio', 'masking.ratio', 'sampler.detachInput', 'optim.lr', 'optim.clipGrad'].flatMap((k) => [
      [configWith(k, undefined)],
      [configWith(k, 'x')],
    ]),
    [configWith('model.frames', 1.5)],
    [configWith('masking.strategy', 'nope')],
    [configWith('masking.ratio', 1)],
    [configWith('model.frames', 3)],
    [configWith('model.encoderHeads', 5)],
    [configWith('model.channels', 1)],
    [configWith('batchSize', 0)],
    [configWith('device', 'gpu')],
    [configWith('precision', 'fp16')],
    [configWith('deviceIndex', 'x')],
    [configWith('dataParallel', 'yes')],
    [configWith('dataParallel', true)], // no process group in this process
    [configWith('optim.lr', 1e300)],
    [configWith('optim.clipGrad', -1e39)],
  ],
  gumbelTopk: [
    [],
    ...junk.map((j) => [j, { batch: 1, tokens: 4, k: 1, tau: 1, seed: 0, offset: 0 }]),
    ...junk.map((j) => [new Float32Array(4), j]),
    ...junk.filter((j) => typeof j !== 'number').map((j) => [new Float32Array(4), { batch: 1, tokens: 4, k: j, tau: 1, seed: 0, offset: 0 }]),
    ...junk.filter((j) => typeof j !== 'number').map((j) => [new Float32Array(4), { batch: 1, tokens: 4, k: 1, tau: j, seed: 0, offset: 0 }]),
    ...junk.filter((j) => typeof j !== 'number').map((j) => [new Float32Array(4), { batch: 1, tokens: 4, k: 1, tau: 1, seed: j, offset: 0 }]),
    [new Uint8Array(4), { batch: 1, tokens: 4, k: 1, tau: 1, seed: 0, offset: 0 }],
    [new Float32Array(3), { batch: 1, tokens: 4, k: 1, tau: 1, seed: 0, offset: 0 }],
    [new Float32Array(4), { batch: 1, tokens: 4, k: 5, tau: 1, seed: 0, offset: 0 }],
    [new Float32Array(4), { batch: 1, tokens: 4, k: -1, tau: 1, seed: 0, offset: 0 }],
    [new Float32Array(4), { batch: 1, tokens: 4, k: 1, tau: 0, seed: 0, offset: 0 }],
    [new Float32Array(4), { batch: 1, tokens: 4, k: 1, tau: -1, seed: 0, offset: 0 }],
    [new Float32Array(4), { batch: 1, tokens: 4, k: 1, tau: 1, seed: -1, offset: 0 }],
    [new Float32Array(4), { batch: 1, tokens: 4, k: 1.5, tau: 1, seed: 0, offset: 0 }],
    [new Float32Array(4), { batch: 1, tokens: 4, k: 1, tau: NaN, seed: 0, offset: 0 }],
    [new Float32Array(4), { batch: 1, tokens: 4, k: 1, tau: 1, seed: 0, offset: 1.5 }],
    [new Float32Array(0), { batch: 0, tokens: 4, k: 1, tau: 1, seed: 0, offset: 0 }],
  ],
  initProcessGroup: [
    [],
    ...junk.map((j) => [j]),
    ...Object.keys(groupOk).flatMap((k) => [undefined, k === 'masterAddr' ? 5 : 'x'].map((j) => [{ ...groupOk, [k]: j }])),
    [{ ...groupOk, rank: 2 }],
    [{ ...groupOk, rank: -1 }],
    [{ ...groupOk, worldSize: 0 }],
    [{ ...groupOk, masterPort: 0 }],
    [{ ...groupOk, masterPort: 70000 }],
    [{ ...groupOk, masterAddr: '' }],
    [{ ...groupOk, timeoutMs: 0 }],
    [{ ...groupOk, backend: 'mpi' }],
    [{ ...groupOk, backend: 'nccl' }],
    [{ ...groupOk, device: 'gpu' }],
  ],
  processGroup: [],
  destroyProcessGroup: [],
  distributedBackends: [],
};

/** For each function of addon.testing: argument lists that must fail. */
const badTestingCalls: Record<string, unknown[][]> = {
  kernelNames: [],
  kernelCheckNames: [],
  kernelCheck: [[], ...junk.map((j) => [j, 1]), ...junk.filter((j) => typeof j !== 'number').map((j) => ['masked_mse', j]), ['nope', 1], ['masked_mse', -3], ['masked_mse', 1.5]],
  kernelParity: [[], ...junk.map((j) => [j, 1]), ...junk.filter((j) => typeof j !== 'number').map((j) => ['patchify', j]), ['nope', 1], ['patchify', -3]],
  trajectoryAttentionCheck: [
    [],
    ...badSeeds.map((j) => [j]),
    ...junk.filter((j) => j !== undefined).map((j) => [1, j]),
    [1, 'gpu'],
  ],
  ppoGradCheck: [[], ...badSeeds.map((j) => [j])],
  drawFrequencyCheck: [
    [],
    ...badSeeds.map((j) => [j, 0.9, 10]),
    ...junk.map((j) => [1, j, 10]),
    [1, 0, 10],
    [1, 1, 10],
    ...junk.map((j) => [1, 0.9, j]),
    [1, 0.9, 0],
    [1, 0.9, 2_000_000],
    ...junk.filter((j) => j !== undefined).map((j) => [1, 0.9, 10, j]),
  ],
  samplerBanditCheck: [
    [],
    ...junk.map((j) => [j, 1, 20]),
    ['random', 1, 20],
    ...badSeeds.map((j) => ['tats', j, 20]),
    ...junk.map((j) => ['tats', 1, j]),
    ['tats', 1, 19],
    ...junk.filter((j) => j !== undefined).map((j) => ['tats', 1, 20, j]),
  ],
  samplerBench: [
    [],
    ...junk.map((j) => [j]),
    ...['batch', 'slots', 'perSlot', 'inputDim', 'dim', 'heads', 'epochs', 'steps', 'ratio'].flatMap((key) =>
      [undefined, null, 'x', NaN, -1, 0, 1.5].map((j) => [{ ...benchOk, [key]: j }]),
    ),
    [{ ...benchOk, dim: 10, heads: 4 }],
    [{ ...benchOk, ratio: 1 }],
    [{ ...benchOk, bf16: 'yes' }],
    [{ ...benchOk, bf16: true }, 'cpu'],
    [benchOk, 'gpu'],
    [benchOk, 3],
  ],
};

async function expectJsError(fn: Fn, args: unknown[], construct = false): Promise<void> {
  let err: unknown;
  try {
    if (construct) new (fn as unknown as new (...a: unknown[]) => unknown)(...args);
    else await fn(...args);
  } catch (e) {
    err = e;
  }
  expect(err, `expected an error for ${String(args.map((a) => typeof a))}`).toBeInstanceOf(Error);
  expect(typeof (err as { code?: unknown }).code).toBe('string');
}

describe('native argument checking', () => {
  const addon = native() as unknown as Record<string, unknown>;
  const testing = native().testing as unknown as Record<string, unknown>;
  const functionsOf = (holder: Record<string, unknown>) => Object.keys(holder).filter((k) => typeof holder[k] === 'function');

  it('covers every exported function', () => {
    for (const name of functionsOf(addon)) expect(Object.keys(badCalls), `no bad-argument cases for ${name}`).toContain(name);
    for (const name of functionsOf(testing)) expect(Object.keys(badTestingCalls), `no bad-argument cases for testing.${name}`).toContain(name);
  });

  it('keeps the test and bench entry points off the product surface', () => {
    const product = functionsOf(addon);
    for (const name of Object.keys(badTestingCalls)) expect(product, `${name} belongs on addon.testing`).not.toContain(name);
  });

  for (const [holder, table, prefix] of [
    [addon, badCalls, ''],
    [testing, badTestingCalls, 'testing.'],
  ] as const) {
    for (const [name, calls] of Object.entries(table)) {
      if (calls.length === 0) continue;
      it(`${prefix}${name} rejects bad arguments with coded errors`, async () => {
        const fn = holder[name] as Fn;
        expect(typeof fn).toBe('function');
        for (const args of calls) await expectJsError(fn, args, classes.has(name));
      });
    }
  }
});

describe('native Session methods: argument checking', () => {
  const addon = native();
  const clipBytes = 1 * 4 * 32 * 32 * 3;
  const clips = () => new Uint8Array(clipBytes);
  const tensor = (dtype: unknown, shape: unknown, data: unknown) => ({ dtype, shape, data });
  const badMethodCalls: Record<string, unknown[][]> = {
    trainStep: [
      [],
      ...junk.map((j) => [j]),
      [new Uint8Array(clipBytes - 1)],
      [new Float32Array(clipBytes)],
      ...junk.filter((j) => j !== undefined).map((j) => [clips(), j]),
      [clips(), new Uint8Array(7)],
    ],
    evalStep: [[], ...junk.map((j) => [j]), [new Uint8Array(3)], [clips(), new Uint8Array(9)]],
    reconstruct: [
      [],
      ...junk.map((j) => [j]),
      [clips(), new Uint8Array(7)],
      [clips(), new Uint8Array(8)], // nothing masked
      [clips(), new Uint8Array(8).fill(1)], // everything masked
    ],
    loadStateDict: [
      [],
      ...junk.map((j) => [j, { strict: true }]),
      ...junk.map((j) => [{}, j]),
      [{}, { strict: 'yes' }],
      [{ mask_token: 5 }, { strict: false }],
      [{ mask_token: tensor('F8', [1, 1, 96], new Uint8Array(384)) }, { strict: false }],
      [{ mask_token: tensor('F32', 'x', new Uint8Array(384)) }, { strict: false }],
      [{ mask_token: tensor('F32', [1, -1, 96], new Uint8Array(384)) }, { strict: false }],
      [{ mask_token: tensor('F32', [1, 1, 96], new Uint8Array(383)) }, { strict: false }],
      [{ mask_token: tensor('F32', [1, 1, 96], new Float32Array(96)) }, { strict: false }],
      [{ mask_token: tensor('F32', [1, 96], new Uint8Array(384)) }, { strict: false }],
      [{ mask_token: tensor('I64', [1, 1, 96], new Uint8Array(768)) }, { strict: false }],
      [{ 'state.step': tensor('F32', [], new Uint8Array(4)) }, { strict: false }],
      [{ 'optim.mask_token.exp_avg': tensor('F32', [1, 1, 96], new Uint8Array(384)) }, { strict: true }],
      [{ nope: tensor('U8', [1], new Uint8Array(1)) }, { strict: true }],
      [{}, { strict: true }],
    ],
  };

  it('covers every method', () => {
    const session = new addon.Session(goodConfig());
    const proto = Object.getPrototypeOf(session) as Record<string, unknown>;
    const methods = Object.getOwnPropertyNames(proto).filter(
      (k) => k !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, k)?.value === 'function',
    );
    for (const m of methods)
      if (!['stateDict', 'dispose'].includes(m)) expect(Object.keys(badMethodCalls), `no bad-argument cases for Session.${m}`).toContain(m);
    session.dispose();
  });

  for (const [name, calls] of Object.entries(badMethodCalls)) {
    it(`Session.${name} rejects bad arguments with coded errors`, async () => {
      const session = new addon.Session(goodConfig()) as unknown as Record<string, Fn> & { dispose(): void };
      for (const args of calls) await expectJsError(session[name]!.bind(session), args);
      session.dispose();
    });
  }
});

describe('native ClassifierSession methods: argument checking', () => {
  const addon = native();
  const clipBytes = 2 * 4 * 32 * 32 * 3;
  const clips = () => new Uint8Array(clipBytes);
  const tensor = (dtype: unknown, shape: unknown, data: unknown) => ({ dtype, shape, data });
  const badMethodCalls: Record<string, unknown[][]> = {
    trainStep: [
      [],
      ...junk.map((j) => [j, new Int32Array(2)]),
      [new Uint8Array(clipBytes - 1), new Int32Array(2)],
      [new Uint8Array(clipBytes / 2), new Int32Array(2)], // one clip, batch is 2
      [new Float32Array(clipBytes), new Int32Array(2)],
      ...junk.map((j) => [clips(), j]),
      [clips(), new Int32Array(3)],
      [clips(), new Uint8Array(2)],
      [clips(), Int32Array.from([0, 3])], // label out of range
      [clips(), Int32Array.from([-1, 0])],
    ],
    predict: [[], ...junk.map((j) => [j]), [new Uint8Array(3)], [new Uint8Array(0)], [new Float32Array(clipBytes)]],
    loadStateDict: [
      [],
      ...junk.map((j) => [j, { strict: true }]),
      ...junk.map((j) => [{}, j]),
      [{}, { strict: 'yes' }],
      [{ 'head.bias': 5 }, { strict: false }],
      [{ 'head.bias': tensor('F8', [3], new Uint8Array(12)) }, { strict: false }],
      [{ 'head.bias': tensor('F32', 'x', new Uint8Array(12)) }, { strict: false }],
      [{ 'head.bias': tensor('F32', [3], new Uint8Array(11)) }, { strict: false }],
      [{ 'head.bias': tensor('F32', [4], new Uint8Array(16)) }, { strict: false }], // wrong shape
      [{ 'head.bias': tensor('F32', [3], new Float32Array(3)) }, { strict: false }],
      [{ nope: tensor('U8', [1], new Uint8Array(1)) }, { strict: true }],
      [{}, { strict: true }], // everything missing
    ],
  };

  it('covers every method', () => {
    const session = new addon.ClassifierSession(goodClassifier() as never);
    const proto = Object.getPrototypeOf(session) as Record<string, unknown>;
    const methods = Object.getOwnPropertyNames(proto).filter(
      (k) => k !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, k)?.value === 'function',
    );
    for (const m of methods)
      if (!['stateDict', 'dispose'].includes(m)) expect(Object.keys(badMethodCalls), `no bad-argument cases for ClassifierSession.${m}`).toContain(m);
    session.dispose();
  });

  for (const [name, calls] of Object.entries(badMethodCalls)) {
    it(`ClassifierSession.${name} rejects bad arguments with coded errors`, async () => {
      const session = new addon.ClassifierSession(goodClassifier() as never) as unknown as Record<string, Fn> & { dispose(): void };
      for (const args of calls) await expectJsError(session[name]!.bind(session), args);
      session.dispose();
    });
  }

  it('throws ERR_DISPOSED after dispose', async () => {
    const session = new addon.ClassifierSession(goodClassifier() as never);
    session.dispose();
    await expectJsError(session.predict.bind(session) as Fn, [clips()]);
  });
});
