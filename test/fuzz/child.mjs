// The fuzzer's child process (issue 18): runs cases [start, start + count) of one seed against the
// native addon and the public Session / ClassifierSession, and prints a line per case:
//   B <index>            before the case starts (a crash or a hang is blamed on the last B)
//   E <index> <json>     after it: the outcome of every call (ok, or the error's code)
//   F <index> <json>     a call that threw something that is not an Error
//   DONE <json>          at the end: cases by kind, and how many workers were terminated after
//                        their session was built (workersReady)
// TATS_FUZZ_VERBOSE=1 adds a line per call: C <index> <call>: <code> <message>
// A case is generated from (seed, index) alone, so `--start i --count 1` replays case i.
// Usage: node test/fuzz/child.mjs --seed S --start I --count N
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = (p) => pathToFileURL(join(root, 'dist', 'lib', p)).href;
const { native, nativePath } = await import(dist('native.js'));
const { Session, ClassifierSession } = await import(dist('index.js'));
const addon = native();
const addonPath = nativePath();

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const SEED = Number(args.seed ?? 1) >>> 0;
const START = Number(args.start ?? 0);
const COUNT = Number(args.count ?? 100);

// ---------------------------------------------------------------------------------------------
// Randomness: one generator per case, keyed by (seed, index).
function mulberry32(a) {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function mix32(h) {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
function caseRng(seed, index) {
  const h = mix32((mix32(seed + 0x9e3779b9) + Math.imul(index + 1, 0x9e3779b9)) >>> 0);
  const next = mulberry32(h);
  const r = {
    f: next,
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
  return r;
}

// ---------------------------------------------------------------------------------------------
// Tiny configs (4 frames x 32 px, micro widths): every valid call takes milliseconds.
const FRAMES = 4;
const SIZE = 32;
const clipBytes = FRAMES * SIZE * SIZE * 3;
const model = { preset: 'tiny', frames: FRAMES, size: SIZE, tubelet: 2, patch: 16, channels: 3, encoderDim: 24, encoderDepth: 1,
  encoderHeads: 3, decoderDim: 24, decoderDepth: 1, decoderHeads: 3, mlpRatio: 2 };
const optim = { lr: 1e-4, minLr: 1e-6, warmupSteps: 0, totalSteps: 10, weightDecay: 0.05, beta1: 0.9, beta2: 0.95, clipGrad: 1 };
const sessionCfg = (strategy = 'tube', batchSize = 1) => ({
  model: { ...model },
  masking: { strategy, ratio: 0.75 },
  sampler: { dim: 24, heads: 3, temperature: 1, ppoEpochs: 1, clipEps: 0.2, valueCoef: 0.5, beta: 1, betaStart: 1, betaSteps: 0,
    reward: 'error', targetKl: 0.01, lr: 1e-4, warmupSteps: 0, clipGrad: 1, weightDecay: 0.05, detachInput: true, exactKl: false, adamaeWeight: 1e-4 },
  optim: { ...optim }, batchSize, device: 'cpu', seed: 1, precision: 'fp32',
  runtime: { graph: true, staging: true, sdpa: 'auto', layerNormBf16: true, legacyAdamw: false, rolloutGraph: true, ppoGraph: true },
});
const { decoderDim: _d, decoderDepth: _dd, decoderHeads: _dh, ...encoder } = model;
const classifierCfg = (batchSize = 1) => ({ model: { ...encoder }, classes: 3, dropPath: 0.1, linearProbe: false, layerDecay: 0.75,
  labelSmoothing: 0.1, mixup: 0.8, cutmix: 1, mixupProb: 0.5, switchProb: 0.5, optim: { ...optim }, batchSize, device: 'cpu', seed: 1,
  precision: 'fp32' });
const TOKENS = (FRAMES / 2) * (SIZE / 16) ** 2;

// ---------------------------------------------------------------------------------------------
// Values.
const FUZZ_ERR = 'FUZZ_GETTER';
const hostileError = () => Object.assign(new Error('thrown by a fuzz getter'), { code: FUZZ_ERR });

function detached(n = 16) {
  const u = new Uint8Array(n);
  structuredClone(u.buffer, { transfer: [u.buffer] });
  return u;
}
function resizable(n, max = n) {
  return new Uint8Array(new ArrayBuffer(n, { maxByteLength: Math.max(n, max) }));
}
const numbers = [0, -0, -1, 1, 2, 3, 7, 1.5, -2.5, 0.5, NaN, Infinity, -Infinity, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 1,
  2 ** 53, -(2 ** 53), 2 ** 63, 1e308, -1e308, Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON, 1e-300];

/** Any value at all, biased to the shapes the boundary reads. */
function junk(r, depth = 0) {
  switch (r.int(depth > 1 ? 6 : 12)) {
    case 0: return r.pick([undefined, null, true, false]);
    case 1: case 2: return r.pick(numbers);
    case 3: return r.pick(['', 'x', 'tube', 'tats', 'cpu', 'cuda', 'cuda:99', '1', 'NaN', '\u0000', 'a'.repeat(1000)]);
    case 4: return r.pick([10n, -1n, Symbol('s'), () => 0, new Date(NaN), /x/, new Error('e')]);
    case 5: return typedArray(r, r.pick([0, 1, 3, clipBytes, 2 * clipBytes, TOKENS, 2 * TOKENS, 17]));
    case 6: return {};
    case 7: return [junk(r, depth + 1), junk(r, depth + 1)];
    case 8: return Object.create(null);
    case 9: return proxyOf(r, r.chance(0.5) ? {} : [1, 2, 3]);
    case 10: return { get x() { throw hostileError(); }, valueOf() { throw hostileError(); }, toString() { return 'evil'; } };
    default: return { [r.pick(['data', 'shape', 'dtype', 'strict', 'stop', 'batch'])]: junk(r, depth + 1) };
  }
}
function typedArray(r, n) {
  switch (r.int(12)) {
    case 0: return new Int32Array(n);
    case 1: return new Float32Array(n).fill(r.pick([0, NaN, Infinity, -1, 1e30]));
    case 2: return new Float64Array(n);
    case 3: return new Uint8ClampedArray(n);
    case 4: return new DataView(new ArrayBuffer(n));
    case 5: return new ArrayBuffer(n);
    case 6: return detached(n);
    case 7: return resizable(n, n + 64);
    case 8: return new Uint8Array(new SharedArrayBuffer(Math.max(n, 1)));
    case 9: return new Uint8Array(new ArrayBuffer(n + 8), r.int(8) + 1, n); // offset view
    case 10: return Buffer.alloc(n, 255);
    default: return new Uint8Array(n).fill(r.int(256));
  }
}
/** A Proxy whose traps may throw, lie about keys, or pass through. */
function proxyOf(r, target) {
  const mode = r.int(4);
  return new Proxy(target, {
    get(t, k, recv) {
      if (mode === 0) throw hostileError();
      if (mode === 1 && typeof k === 'string' && r.chance(0.3)) return junk(r, 2);
      return Reflect.get(t, k, recv);
    },
    ownKeys(t) {
      if (mode === 2) throw hostileError();
      if (mode === 3) return [...Reflect.ownKeys(t), 'ghost'];
      return Reflect.ownKeys(t);
    },
    getOwnPropertyDescriptor(t, k) {
      if (mode === 3 && k === 'ghost') return { value: 1, enumerable: true, configurable: true, writable: true };
      return Reflect.getOwnPropertyDescriptor(t, k);
    },
    has(t, k) { return mode === 1 ? true : Reflect.has(t, k); },
  });
}
/** A number edge (or, rarely, any value) for a numeric field. */
const badNumber = (r) => (r.chance(0.8) ? r.pick(numbers) : junk(r, 2));

/** Replaces 1-3 leaves of a (cloned) object with bad values; may wrap sub-objects in proxies. */
function mutate(r, value) {
  try {
    return mutateUnsafe(r, value);
  } catch {
    return value; // a proxy or getter of the fuzzer's own threw while it looked inside
  }
}
function mutateUnsafe(r, value) {
  const v = structuredCloneSafe(value);
  const times = 1 + r.int(3);
  for (let i = 0; i < times; i++) {
    const paths = leafPaths(v);
    if (paths.length === 0) break;
    const path = r.pick(paths);
    const parent = path.slice(0, -1).reduce((o, k) => o[k], v);
    const key = path[path.length - 1];
    const old = parent[key];
    const roll = r.int(10);
    if (roll === 0) delete parent[key];
    else if (roll <= 5 && typeof old === 'number') parent[key] = badNumber(r);
    else if (roll <= 6 && typeof old === 'number') parent[key] = old * r.pick([0, -1, 2, 1000, 1e6, 0.5]) + r.pick([0, 0.5]);
    else parent[key] = junk(r, 1);
  }
  return v;
}
function structuredCloneSafe(v) {
  if (v === null || typeof v !== 'object') return v;
  if (ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) return v.map(structuredCloneSafe);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, structuredCloneSafe(x)]));
}
function leafPaths(v, prefix = [], out = []) {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return out;
  for (const k of Object.keys(v)) {
    out.push([...prefix, k]);
    if (prefix.length < 2) leafPaths(v[k], [...prefix, k], out);
  }
  return out;
}

/** For verbose replays: arguments as JSON, with the values JSON cannot say spelled out. */
function describe(v) {
  try {
    return JSON.stringify(v, (k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : typeof x === 'bigint' ? `${x}n`
      : ArrayBuffer.isView(x) ? `${x.constructor.name}(${x.byteLength})` : typeof x === 'symbol' || typeof x === 'function' ? String(x) : x));
  } catch (e) {
    return `<${safeString(e?.message)}>`;
  }
}

// ---------------------------------------------------------------------------------------------
// Outcomes.
let outcomes = [];
let failures = [];
const pending = [];
function codeOf(e) {
  if (e instanceof Error) return e.code ? String(e.code) : `(${e.name})`;
  return null;
}
const VERBOSE = process.env.TATS_FUZZ_VERBOSE === '1';
let current = -1;
function record(where, settled) {
  if (VERBOSE) {
    const e = settled.error;
    process.stdout.write(`C ${current} ${where}: ${settled.ok ? 'ok' : `${codeOf(e) ?? 'NOT_AN_ERROR'} ${safeString(e?.message ?? e).split('\n')[0].slice(0, 200)}`}\n`);
  }
  if (settled.ok) outcomes.push('ok');
  else {
    const c = codeOf(settled.error);
    if (c === null) {
      failures.push({ where, thrown: safeString(settled.error) });
      outcomes.push('NOT_AN_ERROR');
    } else outcomes.push(c);
  }
}
function safeString(x) {
  try { return typeof x === 'symbol' ? x.toString() : String(x); } catch { return '<unprintable>'; }
}
/** Calls fn; a returned promise is awaited. Records ok or the error's code. */
async function call(where, fn) {
  let v;
  try { v = fn(); } catch (error) { record(where, { ok: false, error }); return undefined; }
  if (v && typeof v.then === 'function') {
    try { const x = await v; record(where, { ok: true }); return x; } catch (error) { record(where, { ok: false, error }); return undefined; }
  }
  record(where, { ok: true });
  return v;
}
/** Starts fn without awaiting it (concurrency); settled at the end of the case. */
function start(where, fn) {
  let p;
  try { p = Promise.resolve(fn()); } catch (error) { record(where, { ok: false, error }); return; }
  const settled = p.then(() => record(where, { ok: true }), (error) => record(where, { ok: false, error }));
  pending.push(settled);
}
process.on('unhandledRejection', (e) => { failures.push({ where: 'unhandledRejection', thrown: safeString(e?.stack ?? e) }); });
process.on('uncaughtException', (e) => { failures.push({ where: 'uncaughtException', thrown: safeString(e?.stack ?? e) }); });

// ---------------------------------------------------------------------------------------------
// Sessions: a small pool, rebuilt when a case disposes one.
const STRATEGIES = ['tube', 'random', 'frame', 'adamae', 'tats'];
const pool = {};
async function get(kind, r) {
  const p = pool[kind];
  if (p && !p.s.disposed) return p;
  const batch = 1 + r.int(2);
  let s, state;
  if (kind === 'nat') s = new addon.Session(sessionCfg(r.pick(STRATEGIES), batch));
  else if (kind === 'pub') s = await Session.create(sessionCfg(r.pick(STRATEGIES), batch));
  else if (kind === 'cnat') s = new addon.ClassifierSession(classifierCfg(batch));
  else s = await ClassifierSession.create(classifierCfg(batch));
  state = await s.stateDict();
  pool[kind] = { s, batch, state, classifier: kind[0] === 'c', isNative: kind === 'nat' || kind === 'cnat' };
  return pool[kind];
}

/** Valid arguments for a method of a pooled session (the starting point of mutations). */
function validArgs(p, method, r) {
  const B = p.batch;
  const clips = () => new Uint8Array(B * clipBytes).fill(r.int(256));
  const opts = () => (p.isNative ? { strict: r.chance(0.5) } : r.pick([undefined, {}, { strict: false }]));
  if (p.classifier) {
    switch (method) {
      case 'trainStep': return [clips(), Int32Array.from({ length: B }, () => r.int(3))];
      case 'predict': return [new Uint8Array((1 + r.int(2)) * clipBytes)];
      case 'loadStateDict': return [p.state, opts()];
      default: return [];
    }
  }
  switch (method) {
    case 'trainStep': {
      const a = [clips()];
      if (r.chance(0.5)) a.push(new Uint8Array(B * TOKENS).fill(1));
      if (r.chance(0.3)) { if (a.length === 1) a.push(undefined); a.push({ stop: false }); }
      return a;
    }
    case 'evalStep': return [new Uint8Array((1 + r.int(2)) * clipBytes), ...(r.chance(0.5) ? [] : [undefined])];
    case 'reconstruct': {
      const n = 1 + r.int(2);
      if (r.chance(0.5)) return [new Uint8Array(n * clipBytes)];
      const mask = new Uint8Array(n * TOKENS);
      for (let b = 0; b < n; b++) for (let t = 0; t < 4; t++) mask[b * TOKENS + t * 2] = 1;
      return [new Uint8Array(n * clipBytes), mask];
    }
    case 'loadStateDict': return [p.state, opts()];
    default: return [];
  }
}
const SESSION_METHODS = ['trainStep', 'evalStep', 'reconstruct', 'stateDict', 'loadStateDict'];
const CLASSIFIER_METHODS = ['trainStep', 'predict', 'stateDict', 'loadStateDict'];
const methodsOf = (p) => (p.classifier ? CLASSIFIER_METHODS : SESSION_METHODS);

/** A state dict with one entry damaged (shape, dtype, bytes, absurd sizes, extra or missing keys). */
function damagedState(r, state) {
  const s = { ...state };
  const keys = Object.keys(s);
  const k = r.pick(keys);
  const e = s[k];
  switch (r.int(9)) {
    case 0: s[k] = { ...e, shape: e.shape.map(() => badNumber(r)) }; break;
    case 1: s[k] = { ...e, shape: [...e.shape, r.pick([2, 2 ** 40, 0])] }; break;
    case 2: s[k] = { ...e, dtype: r.pick(['F64', 'F16', 'BF16', 'I64', 'U8', 'BOOL', 'Q8', '', 3]) }; break;
    case 3: s[k] = { ...e, data: e.data.subarray(0, Math.max(0, e.data.length - 1 - r.int(8))) }; break;
    case 4: s[k] = { ...e, data: typedArray(r, e.data.length) }; break;
    case 5: s[`ghost.${r.int(9)}`] = { dtype: 'F32', shape: [r.pick([1, 2 ** 31, 2 ** 53])], data: new Uint8Array(4) }; break;
    case 6: delete s[k]; break;
    case 7: s[k] = junk(r, 1); break;
    default: {
      const data = new Uint8Array(e.data.length);
      new DataView(data.buffer).setFloat32(0, r.pick([NaN, Infinity, -Infinity, 1e38]), true);
      s[k] = { ...e, data };
    }
  }
  return r.chance(0.1) ? proxyOf(r, s) : s;
}

/** A side effect for a getter to run while the call reads its arguments. */
function sideEffect(r, p, buffers) {
  const kind = r.int(7);
  return () => {
    switch (kind) {
      case 0: p.s.dispose(); return 'dispose';
      case 1: { const m = r.pick(methodsOf(p)); start(`second ${m}`, () => p.s[m](...validArgs(p, m, r))); return 'second'; }
      case 2: for (const b of buffers) if (b.buffer.resizable) b.buffer.resize(r.int(b.byteLength + 1)); return 'shrink';
      case 3: for (const b of buffers) if (!(b.buffer instanceof SharedArrayBuffer) && !b.buffer.detached) structuredClone(b.buffer, { transfer: [b.buffer] }); return 'detach';
      case 4: throw hostileError();
      case 5: for (const b of buffers) if (b.buffer.resizable) b.buffer.resize(b.buffer.maxByteLength); return 'grow';
      default: void p.s.step; return 'read';
    }
  };
}
/** Wraps an argument object so reading one of its keys runs fx first. */
function withGetter(r, obj, fx) {
  try {
    return withGetterUnsafe(r, obj, fx);
  } catch {
    return obj;
  }
}
function withGetterUnsafe(r, obj, fx) {
  if (obj === null || typeof obj !== 'object' || ArrayBuffer.isView(obj)) return obj;
  const keys = Object.keys(obj);
  const copy = Array.isArray(obj) ? [...obj] : { ...obj };
  const key = keys.length ? r.pick(keys) : 'strict';
  const v = obj[key];
  let ran = false;
  Object.defineProperty(copy, key, { enumerable: true, configurable: true, get() { if (!ran || r.chance(0.3)) { ran = true; fx(); } return v; } });
  return copy;
}
/** Clips in a resizable buffer (so a getter can shrink it), or plain. */
function swappableClips(r, u8) {
  if (!(u8 instanceof Uint8Array) || !r.chance(0.6)) return u8;
  const c = resizable(u8.byteLength, u8.byteLength + 64);
  c.set(u8);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Native exports: valid arguments (small and fast), fuzzed by mutation or replaced by junk.
const validExportArgs = {
  info: () => [],
  patchify: () => [new Uint8Array(clipBytes), { batch: 1, frames: FRAMES, height: SIZE, width: SIZE, tubelet: 2, patch: 16 }],
  gumbelTopk: () => [new Float32Array(2 * 8), { batch: 2, tokens: 8, k: 3, tau: 1, seed: 1, offset: 0, rowBase: 0 }],
  kernelCheckNames: () => [],
  kernelCheck: (r) => [r.pick(safe.kernelCheckNames.length ? safe.kernelCheckNames : ['x']), 1],
  kernelNames: () => [],
  kernelParity: (r) => [r.pick(safe.kernelNames.length ? safe.kernelNames : ['x']), 1],
  matmulPeak: () => [{ device: 'cpu', size: 8, iters: 1 }],
  trajectoryAttentionCheck: () => [1, 'cpu'],
  ppoGradCheck: () => [1],
  drawFrequencyCheck: () => [1, 0.5, 4, 'cpu'],
  samplerBanditCheck: (r) => [r.pick(['tats', 'adamae']), 1, 2, 'cpu'],
  samplerBench: () => [{ batch: 1, slots: 2, perSlot: 4, inputDim: 8, dim: 8, heads: 2, epochs: 1, steps: 1, ratio: 0.5 }, 'cpu'],
  cudaMemory: () => [],
  cudaResetPeak: () => [],
  drawMasks: (r) => [{ strategy: r.pick(['random', 'tube', 'frame']), ratio: 0.5, frames: FRAMES, size: SIZE, tubelet: 2, patch: 16, batch: 1, seed: 1 }],
  // Never a valid group: a rank other than 0 of 2 would wait for its peers. Each case keeps one bad field.
  initProcessGroup: () => [{ rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 1, backend: 'gloo', timeoutMs: 1, device: 'cpu' }],
  processGroup: () => [],
  destroyProcessGroup: () => [],
  distributedBackends: () => [],
};
const safe = { kernelCheckNames: addon.testing.kernelCheckNames(), kernelNames: addon.testing.kernelNames() };
// Calls whose valid arguments still cost real work: fuzzed less often.
const SLOW = new Set(['kernelCheck', 'kernelParity', 'trajectoryAttentionCheck', 'ppoGradCheck', 'samplerBanditCheck', 'drawFrequencyCheck', 'samplerBench']);
/** The product's functions and the test entry points of addon.testing, by name. */
const exportFunctions = (holder) => Object.keys(holder).filter((k) => typeof holder[k] === 'function' && k !== 'Session' && k !== 'ClassifierSession');
const EXPORT_FNS = Object.fromEntries([
  ...exportFunctions(addon).map((k) => [k, (...a) => addon[k](...a)]),
  ...exportFunctions(addon.testing).map((k) => [k, (...a) => addon.testing[k](...a)]),
]);
for (const k of Object.keys(EXPORT_FNS)) if (!validExportArgs[k]) throw new Error(`fuzz: no valid arguments for the new export ${k}; add a row to validExportArgs`);
// Cases pick from the rows' order, not the addon's (which changed when the test entry points moved
// to addon.testing), so a recorded seed and case still replay the same call.
const EXPORTS = Object.keys(validExportArgs).filter((k) => EXPORT_FNS[k]);

/** A bad variant of an initProcessGroup options object: always one field that fails its checks. */
function badGroup(r) {
  const o = mutate(r, validExportArgs.initProcessGroup()[0]);
  const field = r.pick(['rank', 'worldSize', 'masterPort', 'timeoutMs', 'backend', 'device', 'masterAddr']);
  o[field] = { rank: -1, worldSize: 0, masterPort: 70000, timeoutMs: -5, backend: 'mpi', device: 'tpu', masterAddr: 7 }[field];
  return o;
}

async function exportCase(r) {
  const name = r.pick(EXPORTS);
  if (SLOW.has(name) && r.chance(0.7)) {
    // Junk in place of the first argument: these fail before any work.
    const a = validExportArgs[name](r);
    a[0] = junk(r);
    if (name === 'samplerBanditCheck' && a[0] === 'tats') a[0] = 'x';
    return call(name, () => EXPORT_FNS[name](...a));
  }
  let a;
  if (name === 'initProcessGroup') a = r.chance(0.2) ? [junk(r)] : [badGroup(r)];
  else if (r.chance(0.25)) a = Array.from({ length: r.int(4) }, () => junk(r));
  else {
    a = mutate(r, validExportArgs[name](r));
    if (r.chance(0.3) && a.length) { const i = r.int(a.length); a[i] = junk(r); }
  }
  if (name === 'initProcessGroup' && a[0] && typeof a[0] === 'object' && !Array.isArray(a[0]) && !ArrayBuffer.isView(a[0])) {
    // junk may have produced something valid-looking: keep one bad field.
    try { if (a[0].worldSize === 2 || a[0].worldSize === undefined) a[0] = { ...a[0], rank: -1 }; } catch { /* a throwing getter: never valid */ }
  }
  if (r.chance(0.1) && typeof a[a.length - 1] === 'object' && a[a.length - 1] !== null) {
    a[a.length - 1] = withGetter(r, a[a.length - 1], () => { if (r.chance(0.5)) throw hostileError(); });
  }
  if (VERBOSE) process.stdout.write(`C ${current} ${name} args: ${describe(a)}\n`);
  return call(name, () => EXPORT_FNS[name](...a));
}

// ---------------------------------------------------------------------------------------------
// Case kinds.
async function configCase(r) {
  const which = r.int(4);
  const base = which < 2 ? sessionCfg(r.pick(STRATEGIES), 1 + r.int(2)) : classifierCfg(1 + r.int(2));
  let cfg = r.chance(0.1) ? junk(r) : mutate(r, base);
  if (r.chance(0.15) && cfg && typeof cfg === 'object') cfg = proxyOf(r, cfg);
  if (r.chance(0.1)) cfg = withGetter(r, cfg, () => { if (r.chance(0.5)) throw hostileError(); void addon.info(); });
  const s = await call(['Session ctor', 'Session.create', 'ClassifierSession ctor', 'ClassifierSession.create'][which], () => {
    if (which === 0) return new addon.Session(cfg);
    if (which === 1) return Session.create(cfg);
    if (which === 2) return new addon.ClassifierSession(cfg);
    return ClassifierSession.create(cfg);
  });
  if (VERBOSE) process.stdout.write(`C ${current} config: ${describe(cfg)}\n`);
  // Some configs the fuzzer makes are valid: take one step so the built session is exercised.
  if (s && typeof s.dispose === 'function') {
    if (r.chance(0.3)) {
      const B = Number(cfg.batchSize);
      if (B === 1 || B === 2) {
        const clips = new Uint8Array(B * clipBytes);
        await call('step of a fuzzed config', () => (which >= 2 ? s.trainStep(clips, new Int32Array(B)) : s.trainStep(clips)));
      }
    }
    s.dispose();
  }
}

async function methodCase(r, kind) {
  const p = await get(kind, r);
  const m = r.pick([...methodsOf(p), 'getters']);
  if (m === 'getters') {
    for (const g of ['step', 'tokens', 'disposed', 'config']) await call(`get ${g}`, () => p.s[g]);
    return;
  }
  let a = validArgs(p, m, r);
  const roll = r.int(10);
  if (roll < 3) a = Array.from({ length: r.int(4) }, () => junk(r));
  else if (roll < 6 && a.length) { const i = r.int(a.length + 1); a[i] = junk(r); }
  else if (roll < 8 && m === 'loadStateDict') a[0] = damagedState(r, p.state);
  else if (a.length) a[0] = ArrayBuffer.isView(a[0]) ? typedArray(r, a[0].byteLength + r.pick([0, 0, -1, 1, clipBytes])) : mutate(r, a[0]);
  return call(m, () => p.s[m](...a));
}

async function getterCase(r, kind) {
  const p = await get(kind, r);
  const m = r.pick(methodsOf(p).filter((x) => x !== 'stateDict'));
  const a = validArgs(p, m, r);
  if (ArrayBuffer.isView(a[0])) a[0] = swappableClips(r, a[0]);
  const buffers = a.filter((x) => x instanceof Uint8Array);
  const fx = sideEffect(r, p, buffers);
  // Which argument object gets the getter: options, the state (an entry), or a tensor entry.
  if (m === 'loadStateDict') {
    if (r.chance(0.5)) a[0] = withGetter(r, a[0], fx);
    else a[1] = withGetter(r, a[1] ?? {}, fx);
  } else if (m === 'trainStep' && !p.classifier) {
    while (a.length < 2) a.push(undefined);
    a[2] = withGetter(r, a[2] ?? { stop: false }, fx);
  } else {
    // No options object: the side effect runs right after the call starts (work in flight).
    const result = call(m, () => p.s[m](...a));
    await call(`side effect ${m}`, fx);
    await result;
    return;
  }
  const result = call(m, () => p.s[m](...a));
  if (r.chance(0.5)) await call('after-call effect', sideEffect(r, p, buffers));
  await result;
}

async function disposedCase(r, kind) {
  const p = await get(kind, r);
  p.s.dispose();
  if (r.chance(0.3)) p.s.dispose();
  for (const m of [...methodsOf(p), 'step', 'tokens', 'disposed']) {
    if (r.chance(0.5)) continue;
    if (methodsOf(p).includes(m)) {
      await call(`${m} after dispose`, () => p.s[m](...validArgs(p, m, r)));
    } else await call(`get ${m} after dispose`, () => p.s[m]);
  }
}

async function concurrentCase(r, kind) {
  const p = await get(kind, r);
  const n = 2 + r.int(3);
  for (let i = 0; i < n; i++) {
    const m = r.pick(methodsOf(p));
    const a = validArgs(p, m, r);
    if (r.chance(0.2)) a[0] = junk(r);
    start(`concurrent ${m}`, () => p.s[m](...a));
    if (r.chance(0.15)) start('concurrent dispose', () => p.s.dispose());
  }
  // An export on the JS thread while the session works.
  if (r.chance(0.5)) await call('concurrent export', () => addon.drawMasks(validExportArgs.drawMasks(r)[0]));
}

const workerSrc = `
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
// import.meta.url is a data: URL here, which createRequire refuses: resolve from the addon's own path.
const addon = createRequire(workerData.addonPath)(workerData.addonPath);
const s = workerData.classifier ? new addon.ClassifierSession(workerData.cfg) : new addon.Session(workerData.cfg);
const clips = new Uint8Array(workerData.clipBytes * workerData.cfg.batchSize);
const state = await s.stateDict();
parentPort.postMessage('ready');
for (let i = 0; ; i++) {
  const m = workerData.order[i % workerData.order.length];
  try {
    if (m === 0) await (workerData.classifier ? s.trainStep(clips, new Int32Array(workerData.cfg.batchSize)) : s.trainStep(clips));
    else if (m === 1) await (workerData.classifier ? s.predict(clips) : s.evalStep(clips));
    else if (m === 2) await s.stateDict();
    else if (m === 3) await s.loadStateDict(state, { strict: true });
    else { const p = s.stateDict(); s.trainStep(clips).catch(() => {}); await p; }
  } catch {}
}
`;
async function workerCase(r) {
  const classifier = r.chance(0.3);
  const cfg = classifier ? classifierCfg(1 + r.int(2)) : sessionCfg(r.pick(STRATEGIES), 1 + r.int(2));
  const order = Array.from({ length: 5 }, () => r.int(5));
  const w = new Worker(new URL('data:text/javascript,' + encodeURIComponent(workerSrc)), {
    workerData: { addonPath, cfg, classifier, clipBytes, order },
  });
  let ready = false;
  w.on('message', () => { ready = true; });
  const early = r.chance(0.2);
  await call('worker start', () => new Promise((res, rej) => {
    w.once('error', rej);
    if (early) setTimeout(res, r.int(30)); // terminated before (or while) it builds its session
    else w.once('message', res);
  }));
  await new Promise((res) => setTimeout(res, r.int(40)));
  await call('worker terminate', () => w.terminate());
  // Its session was built and its loop of calls had started when it was terminated.
  if (ready) workersReady++;
}

const KINDS = [
  ['export', 30, exportCase],
  ['config', 10, configCase],
  ['method', 25, methodCase],
  ['getter', 15, getterCase],
  ['disposed', 5, disposedCase],
  ['concurrent', 13, concurrentCase],
  ['worker', 2, workerCase],
];
const TOTAL = KINDS.reduce((s, k) => s + k[1], 0);
function kindOf(r) {
  let x = r.int(TOTAL);
  for (const k of KINDS) { if (x < k[1]) return k; x -= k[1]; }
  return KINDS[0];
}

// ---------------------------------------------------------------------------------------------
const byKind = {};
let workersReady = 0;
for (let i = START; i < START + COUNT; i++) {
  const r = caseRng(SEED, i);
  const [kind, , fn] = kindOf(r);
  const target = r.pick(['nat', 'pub', 'cnat', 'cpub']);
  process.stdout.write(`B ${i} ${kind} ${target}\n`);
  current = i;
  outcomes = [];
  failures = [];
  try {
    await fn(r, target);
  } catch (e) {
    failures.push({ where: 'harness', thrown: safeString(e?.stack ?? e) });
  }
  await Promise.all(pending.splice(0));
  byKind[kind] = (byKind[kind] ?? 0) + 1;
  process.stdout.write(`E ${i} ${JSON.stringify(outcomes)}\n`);
  if (failures.length) process.stdout.write(`F ${i} ${JSON.stringify(failures)}\n`);
}
for (const p of Object.values(pool)) try { p.s.dispose(); } catch {}
process.stdout.write(`DONE ${JSON.stringify({ byKind, workersReady })}\n`);
