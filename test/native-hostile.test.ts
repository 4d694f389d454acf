// A hostile caller at the native boundary (issue 18): each case that used to kill the process
// (SIGFPE, SIGSEGV, SIGABRT) or hang runs in a child process, so a regression fails its test
// instead of taking vitest down. Every child must exit 0 and print what its calls threw.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { describe, expect, it } from 'vitest';

import { packageRoot } from '../lib/paths.js';

const dist = (p: string) => JSON.stringify(pathToFileURL(join(packageRoot, 'dist', 'lib', p)).href);

// Shared by every child: the addon, the public API, a tiny config and a report() that prints the
// outcome of a promise or a call as one JSON line.
const prelude = `
import { native } from ${dist('native.js')};
import { Session } from ${dist('session.js')};
import { ClassifierSession } from ${dist('eval/classifier.js')};
const addon = native();
const model = { preset: 'tiny', frames: 4, size: 32, tubelet: 2, patch: 16, channels: 3, encoderDim: 24, encoderDepth: 1,
  encoderHeads: 3, decoderDim: 24, decoderDepth: 1, decoderHeads: 3, mlpRatio: 4 };
const optim = { lr: 1e-4, minLr: 1e-6, warmupSteps: 0, totalSteps: 10, weightDecay: 0.05, beta1: 0.9, beta2: 0.95, clipGrad: 0 };
const cfg = (m = {}, top = {}) => ({ model: { ...model, ...m }, masking: { strategy: 'tube', ratio: 0.75 },
  sampler: { dim: 24, heads: 3, temperature: 1, ppoEpochs: 1, clipEps: 0.2, valueCoef: 0.5, beta: 1, betaStart: 1, betaSteps: 0, reward: 'error', targetKl: 0.01, lr: 1e-4, warmupSteps: 0, clipGrad: 1,
    weightDecay: 0.05, detachInput: true, exactKl: false, adamaeWeight: 1e-4 },
  optim, batchSize: 1, device: 'cpu', seed: 1, precision: 'fp32',
  runtime: { graph: true, staging: true, sdpa: 'auto', layerNormBf16: true, legacyAdamw: false, rolloutGraph: true, ppoGraph: true }, ...top });
const { decoderDim, decoderDepth, decoderHeads, ...encoder } = model;
const ccfg = (m = {}) => ({ model: { ...encoder, ...m }, classes: 3, dropPath: 0, linearProbe: false, layerDecay: 1,
  labelSmoothing: 0, mixup: 0, cutmix: 0, mixupProb: 0, switchProb: 0, optim, batchSize: 1, device: 'cpu', seed: 1, precision: 'fp32' });
const clipBytes = 4 * 32 * 32 * 3;
const out = {};
const outcome = (e) => (e ? { code: e.code, name: e.name, message: String(e.message) } : { ok: true });
async function report(key, fn) {
  try { const v = await fn(); out[key] = { ok: true, value: v === undefined ? null : typeof v === 'object' ? 'object' : v }; }
  catch (e) { out[key] = outcome(e); }
}
`;

interface Outcome {
  ok?: true;
  value?: unknown;
  code?: string;
  name?: string;
  message?: string;
}

/** Runs `body` (ES module code after the prelude) in a child node; it must exit 0. */
function child(body: string, timeoutMs = 90_000): Record<string, Outcome> {
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `${prelude}\n${body}\nconsole.log('RESULT ' + JSON.stringify(out));`],
    { cwd: packageRoot, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, OMP_NUM_THREADS: '2' } },
  );
  const detail = `signal ${r.signal}, status ${r.status}\n${r.stderr.slice(-3000)}`;
  expect(r.error, detail).toBeUndefined();
  expect(r.signal, detail).toBeNull();
  expect(r.status, detail).toBe(0);
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  expect(line, r.stdout + r.stderr).toBeDefined();
  return JSON.parse(line!.slice('RESULT '.length)) as Record<string, Outcome>;
}

describe('native boundary: no call crashes the process', () => {
  it('1. Session.create with patch = 0 or tubelet = 0: ERR_CONFIG naming the field (was SIGFPE)', () => {
    const r = child(`
      await report('patch', () => new addon.Session(cfg({ patch: 0 })));
      await report('tubelet', () => new addon.Session(cfg({ tubelet: 0 })));
      await report('publicPatch', () => Session.create(cfg({ patch: 0 })));
      await report('sizeNotMultiple', () => new addon.Session(cfg({ size: 33 })));
      await report('classifierPatch', () => new addon.ClassifierSession(ccfg({ patch: 0 })));
      await report('classifierTubelet', () => ClassifierSession.create(ccfg({ tubelet: 0 })));
    `);
    for (const [key, field] of [
      ['patch', 'config.model.patch'],
      ['tubelet', 'config.model.tubelet'],
      ['publicPatch', 'config.model.patch'],
      ['sizeNotMultiple', 'config.model.size'],
      ['classifierPatch', 'config.model.patch'],
      ['classifierTubelet', 'config.model.tubelet'],
    ] as const) {
      expect(r[key]!.code, key).toBe('ERR_CONFIG');
      expect(r[key]!.message, key).toContain(field);
    }
  });

  it('2. the mask helper (drawMasks) and the kernels with sizes past 2^32: coded errors (was SIGFPE, abort, hang)', () => {
    const r = child(`
      const masks = { strategy: 'tube', ratio: 0.5, frames: 4, size: 32, tubelet: 2, patch: 16, batch: 1, seed: 1 };
      await report('ok', () => addon.drawMasks(masks).tokens);
      for (const strategy of ['random', 'tube', 'frame']) {
        await report(strategy + 'Tokens', () => addon.drawMasks({ ...masks, strategy, size: 8192, patch: 1 }));
        await report(strategy + 'Huge', () => addon.drawMasks({ ...masks, strategy, size: 2 ** 33 + 16, patch: 16 }));
        await report(strategy + 'Batch', () => addon.drawMasks({ ...masks, strategy, frames: 16, size: 1024, batch: 2 ** 32 }));
      }
      await report('gumbel', () => addon.gumbelTopk(new Float32Array(0), { batch: 2 ** 32, tokens: 2 ** 32, k: 1, tau: 1, seed: 1, offset: 0 }));
    `);
    expect(r.ok!.value).toBe(8);
    for (const s of ['random', 'tube', 'frame']) {
      expect(r[`${s}Tokens`]!.code).toBe('ERR_CONFIG');
      expect(r[`${s}Tokens`]!.message).toMatch(/tokens per clip/);
      expect(r[`${s}Huge`]!.code).toBe('ERR_CONFIG');
      expect(r[`${s}Huge`]!.message).toContain('options.size');
      expect(r[`${s}Batch`]!.code).toBe('ERR_CONFIG');
    }
    expect(r.gumbel!.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(r.gumbel!.message).toContain('logits');
  });

  it('3. a getter that disposes the session or starts a second call while trainStep reads its options (was SIGSEGV; ERR_BUSY bypass)', () => {
    const r = child(`
      const clips = new Uint8Array(clipBytes).fill(7);
      {
        const s = new addon.Session(cfg());
        await report('dispose', () => s.trainStep(clips, undefined, { get stop() { s.dispose(); return false; } }));
        await report('afterDispose', () => s.trainStep(clips));
      }
      {
        const s = new addon.Session(cfg());
        let second;
        const first = s.trainStep(clips, undefined, { get stop() { second = s.trainStep(clips); return false; } });
        await report('second', () => second);
        await report('first', () => first.then((m) => m.step));
        await report('next', () => s.trainStep(clips).then((m) => m.step));
        await report('reentrantEval', () => s.evalStep(clips, undefined));
      }
      {
        const s = await Session.create(cfg());
        let second;
        await report('publicDispose', () => s.trainStep(clips, undefined, { get stop() { s.dispose(); return false; } }));
        const s2 = await Session.create(cfg());
        const first = s2.trainStep(clips, undefined, { get stop() { second = s2.trainStep(clips); return false; } });
        await report('publicSecond', () => second);
        await report('publicFirst', () => first.then((m) => m.step));
      }
    `);
    expect(r.dispose!.code).toBe('ERR_DISPOSED');
    expect(r.afterDispose!.code).toBe('ERR_DISPOSED');
    expect(r.second!.code).toBe('ERR_BUSY');
    expect(r.first).toEqual({ ok: true, value: 1 });
    expect(r.next).toEqual({ ok: true, value: 2 });
    expect(r.reentrantEval!.ok).toBe(true);
    expect(r.publicDispose!.code).toBe('ERR_DISPOSED');
    expect(r.publicSecond!.code).toBe('ERR_BUSY');
    expect(r.publicFirst).toEqual({ ok: true, value: 1 });
  });

  it('4. getters that dispose or call again inside loadStateDict: Session, the public API, ClassifierSession (was SIGSEGV)', () => {
    const r = child(`
      // A state whose first entry's getter runs JS; the native reader reaches it while parsing.
      function hostile(state, fn) {
        const [first] = Object.keys(state);
        const copy = { ...state };
        Object.defineProperty(copy, first, { enumerable: true, get() { fn(); return state[first]; } });
        return copy;
      }
      const nat = new addon.Session(cfg());
      const state = await nat.stateDict();
      {
        const s = new addon.Session(cfg());
        await report('dispose', () => s.loadStateDict(hostile(state, () => s.dispose()), { strict: true }));
        const s2 = new addon.Session(cfg());
        let second;
        const first = s2.loadStateDict(hostile(state, () => { second = s2.trainStep(new Uint8Array(clipBytes)); }), { strict: true });
        await report('second', () => second);
        await report('first', () => first);
        const s3 = new addon.Session(cfg());
        await report('optionsDispose', () => s3.loadStateDict(state, { get strict() { s3.dispose(); return true; } }));
      }
      {
        const s = await Session.create(cfg());
        await report('publicDispose', () => s.loadStateDict(hostile(state, () => s.dispose())));
        const s2 = await Session.create(cfg());
        let second;
        const first = s2.loadStateDict(hostile(state, () => { second = s2.stateDict(); }));
        await report('publicSecond', () => second);
        await report('publicFirst', () => first);
      }
      {
        const c = new addon.ClassifierSession(ccfg());
        const cstate = await c.stateDict();
        const c1 = new addon.ClassifierSession(ccfg());
        await report('classifierDispose', () => c1.loadStateDict(hostile(cstate, () => c1.dispose()), { strict: true }));
        const c2 = await ClassifierSession.create(ccfg());
        let second;
        const first = c2.loadStateDict(hostile(cstate, () => { second = c2.predict(new Uint8Array(clipBytes)); }));
        await report('classifierSecond', () => second);
        await report('classifierFirst', () => first);
        const c3 = await ClassifierSession.create(ccfg());
        await report('classifierPublicDispose', () => c3.loadStateDict(hostile(cstate, () => c3.dispose())));
      }
    `);
    for (const k of ['dispose', 'optionsDispose', 'publicDispose', 'classifierDispose', 'classifierPublicDispose']) {
      expect(r[k]!.code, k).toBe('ERR_DISPOSED');
    }
    for (const k of ['second', 'publicSecond', 'classifierSecond']) expect(r[k]!.code, k).toBe('ERR_BUSY');
    for (const k of ['first', 'publicFirst', 'classifierFirst']) expect(r[k]!.ok, k).toBe(true);
  });

  it('5. loadStateDict with absurd shapes: a coded error before any allocation (was SIGABRT, terminate)', () => {
    const r = child(`
      const s = new addon.Session(cfg());
      const e = (shape, data = new Uint8Array(4)) => ({ 'x': { dtype: 'F32', shape, data } });
      await report('overflow', () => s.loadStateDict(e([2 ** 40, 2 ** 40, 2 ** 40]), { strict: false }));
      await report('huge', () => s.loadStateDict(e([2 ** 50]), { strict: false }));
      await report('zeroTimesHuge', () => s.loadStateDict(e([2 ** 53 - 1, 2 ** 53 - 1, 0], new Uint8Array(0)), { strict: false }));
      await report('rank', () => s.loadStateDict(e(new Array(100).fill(1)), { strict: false }));
      const c = new addon.ClassifierSession(ccfg());
      await report('classifier', () => c.loadStateDict(e([2 ** 40, 2 ** 40]), { strict: false }));
      await report('stillWorks', () => s.trainStep(new Uint8Array(clipBytes)).then((m) => m.step));
    `);
    for (const k of ['overflow', 'huge', 'rank', 'classifier']) {
      expect(r[k]!.code, k).toBe('ERR_INVALID_ARG_TYPE');
      expect(r[k]!.message, k).toContain("state['x']");
    }
    expect(r.overflow!.message).toContain('overflow');
    expect(r.zeroTimesHuge!.ok || r.zeroTimesHuge!.code !== undefined).toBe(true);
    expect(r.stillWorks).toEqual({ ok: true, value: 1 });
  });

  it('6. a resizable ArrayBuffer shrunk, or a buffer transferred, while a step that reads it is in flight (was SIGSEGV)', () => {
    const r = child(`
      const s = new addon.Session(cfg({}, { batchSize: 2 }));
      const n = 2 * clipBytes;
      for (let i = 0; i < 3; i++) {
        const ab = new ArrayBuffer(n, { maxByteLength: n });
        const clips = new Uint8Array(ab);
        clips.fill(100 + i);
        const p = s.trainStep(clips);
        ab.resize(0);
        await report('shrunk' + i, () => p.then((m) => Number.isFinite(m.loss)));
      }
      for (let i = 0; i < 3; i++) {
        const clips = new Uint8Array(n).fill(50);
        const motion = new Uint8Array(2 * s.tokens).fill(1);
        const p = s.trainStep(clips, motion);
        // Detached (ArrayBuffer.prototype.transfer where there is one, Node >= 21).
        structuredClone(clips.buffer, { transfer: [clips.buffer] });
        structuredClone(motion.buffer, { transfer: [motion.buffer] });
        await report('transferred' + i, () => p.then((m) => Number.isFinite(m.loss)));
      }
      {
        const clips = new Uint8Array(n).fill(9);
        const p = s.evalStep(clips);
        structuredClone(clips.buffer, { transfer: [clips.buffer] });
        await report('evalDetached', () => p.then((m) => Number.isFinite(m.loss)));
        const p2 = s.reconstruct(new Uint8Array(n));
        await report('reconstruct', () => p2.then((m) => m.tokens));
      }
      {
        // Shared memory stays zero-copy (it can be neither detached nor shrunk).
        const shared = new Uint8Array(new SharedArrayBuffer(n)).fill(3);
        await report('shared', () => s.trainStep(shared).then((m) => Number.isFinite(m.loss)));
      }
      const c = new addon.ClassifierSession(ccfg());
      const ab = new ArrayBuffer(clipBytes, { maxByteLength: clipBytes });
      const p = c.trainStep(new Uint8Array(ab).fill(5), new Int32Array([1]));
      ab.resize(1);
      await report('classifier', () => p.then((m) => Number.isFinite(m.loss)));
    `);
    for (const k of ['shrunk0', 'shrunk1', 'shrunk2', 'transferred0', 'transferred1', 'transferred2', 'evalDetached', 'shared', 'classifier']) {
      expect(r[k], k).toEqual({ ok: true, value: true });
    }
    expect(r.reconstruct!.ok).toBe(true);
  });

  it('7. a worker_thread that owns a Session terminated while a call is in flight (was SIGABRT)', () => {
    const r = child(`
      const { Worker } = await import('node:worker_threads');
      const src = \`
        import { parentPort } from 'node:worker_threads';
        import { native } from ${dist('native.js').replace(/"/g, "'")};
        const addon = native();
        const cfg = JSON.parse(process.env.TATS_TEST_CFG);
        const s = new addon.Session(cfg);
        const clips = new Uint8Array(${4 * 32 * 32 * 3});
        const state = await s.stateDict();
        parentPort.postMessage('ready');
        for (;;) {
          await s.trainStep(clips);
          await s.evalStep(clips);
          await s.stateDict();
          await s.loadStateDict(state, { strict: true });
        }
      \`;
      process.env.TATS_TEST_CFG = JSON.stringify(cfg());
      let terminated = 0;
      for (let i = 0; i < 6; i++) {
        const w = new Worker(new URL('data:text/javascript,' + encodeURIComponent(src)), { env: process.env });
        await new Promise((res, rej) => { w.once('message', res); w.once('error', rej); });
        await new Promise((res) => setTimeout(res, 5 + 20 * i));
        await w.terminate();
        terminated++;
      }
      out.terminated = { ok: true, value: terminated };
      await report('mainStillWorks', () => new addon.Session(cfg()).trainStep(new Uint8Array(clipBytes)).then((m) => m.step));
    `, 180_000);
    expect(r.terminated).toEqual({ ok: true, value: 6 });
    expect(r.mainStillWorks).toEqual({ ok: true, value: 1 });
  });
});

describe('native boundary: refusals instead of hangs and bare errors', () => {
  it('Session.create with a huge depth or width refuses at once, naming the field or the memory it would need', () => {
    const started = Date.now();
    const r = child(`
      await report('depth', () => new addon.Session(cfg({ encoderDepth: 1e6 })));
      await report('width', () => new addon.Session(cfg({ encoderDim: 3 * 2 ** 20, encoderHeads: 3 })));
      await report('decoderDepth', () => new addon.Session(cfg({ decoderDepth: 1e9 })));
      await report('memory', () => new addon.Session(cfg({ encoderDim: 49152, encoderHeads: 3, encoderDepth: 1000 })));
      await report('batch', () => new addon.Session(cfg({}, { batchSize: 2 ** 40 })));
      await report('classifierDepth', () => new addon.ClassifierSession(ccfg({ encoderDepth: 1e7 })));
      await report('classifierMemory', () => ClassifierSession.create(ccfg({ encoderDim: 49152, encoderHeads: 3, encoderDepth: 1000 })));
    `, 60_000);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(r.depth!.code).toBe('ERR_CONFIG');
    expect(r.depth!.message).toContain('config.model.encoderDepth');
    expect(r.width!.code).toBe('ERR_CONFIG');
    expect(r.width!.message).toContain('config.model.encoderDim');
    expect(r.decoderDepth!.message).toContain('config.model.decoderDepth');
    expect(r.batch!.message).toContain('config.batchSize');
    expect(r.classifierDepth!.code).toBe('ERR_CONFIG');
    for (const k of ['memory', 'classifierMemory']) {
      expect(r[k]!.code, k).toBe('ERR_OUT_OF_MEMORY');
      expect(r[k]!.message, k).toMatch(/needs about [\d.]+ GiB .* GiB of memory of device 'cpu'/);
    }
  });

  it('host out-of-memory is ERR_OUT_OF_MEMORY naming the allocation, and the session still works after', () => {
    // A virtual-memory limit makes a large evalStep fail its allocation on the host.
    const script = `
      const s = new addon.Session(cfg());
      await report('small', () => s.evalStep(new Uint8Array(clipBytes)).then((m) => Number.isFinite(m.loss)));
      await report('big', () => s.evalStep(new Uint8Array(100000 * clipBytes)));
      await report('after', () => s.evalStep(new Uint8Array(clipBytes)).then((m) => Number.isFinite(m.loss)));
    `;
    const r = spawnSync(
      'sh',
      ['-c', `ulimit -v 5000000; exec "${process.execPath}" --input-type=module -e "$TATS_SCRIPT"`],
      {
        cwd: packageRoot,
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, OMP_NUM_THREADS: '2', TATS_SCRIPT: `${prelude}\n${script}\nconsole.log('RESULT ' + JSON.stringify(out));` },
      },
    );
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('RESULT '))!.slice(7)) as Record<string, Outcome>;
    expect(res.small).toEqual({ ok: true, value: true });
    expect(res.big!.code).toBe('ERR_OUT_OF_MEMORY');
    expect(res.big!.message).toMatch(/Session\.evalStep: out of host memory/);
    expect(res.big!.message).toMatch(/allocate \d+ bytes/);
    expect(res.after).toEqual({ ok: true, value: true });
  });

  it('loadStateDict(state, null) names the argument (was a bare TypeError)', () => {
    const r = child(`
      const s = await Session.create(cfg());
      const state = await s.stateDict();
      await report('null', () => s.loadStateDict(state, null));
      await report('string', () => s.loadStateDict(state, 'strict'));
      await report('strict', () => s.loadStateDict(state, { strict: 1 }));
      await report('undefined', () => s.loadStateDict(state));
      const c = await ClassifierSession.create(ccfg());
      await report('classifierNull', () => c.loadStateDict(state, null));
      await report('nativeNull', () => new addon.Session(cfg()).loadStateDict(state, null));
    `);
    for (const k of ['null', 'string', 'classifierNull']) {
      expect(r[k]!.code, k).toBe('ERR_CONFIG');
      expect(r[k]!.message, k).toMatch(/loadStateDict options: expected an object/);
    }
    expect(r.strict!.code).toBe('ERR_CONFIG');
    expect(r.strict!.message).toContain('options.strict');
    expect(r.undefined).toEqual({ ok: true, value: null });
    expect(r.nativeNull!.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(r.nativeNull!.message).toContain('options must be an object, received null');
  });
});
