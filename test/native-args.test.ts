// Bad arguments of every kind at every exported native function: each must throw (or reject)
// a JS error with a code; none may crash the process. A new export without a row here fails.
import { describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';

type Fn = (...args: unknown[]) => unknown;

const junk: unknown[] = [undefined, null, 0, -1, 1.5, NaN, 'x', true, {}, [], () => 0, Symbol('s'), 10n];

/** Junk that is not a valid seed (a non-negative integer). */
const badSeeds = junk.filter((j) => !(typeof j === 'number' && Number.isInteger(j) && j >= 0));

/** A valid samplerBench options object (each bad row changes one field). */
const benchOk = { batch: 1, slots: 2, perSlot: 4, inputDim: 8, dim: 8, heads: 2, epochs: 1, steps: 3, ratio: 0.5 };

/** For each export: argument lists that must fail. */
const badCalls: Record<string, unknown[][]> = {
  info: [],
  kernelNames: [],
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

async function expectJsError(fn: Fn, args: unknown[]): Promise<void> {
  let err: unknown;
  try {
    await fn(...args);
  } catch (e) {
    err = e;
  }
  expect(err, `expected an error for ${String(args.map((a) => typeof a))}`).toBeInstanceOf(Error);
  expect(typeof (err as { code?: unknown }).code).toBe('string');
}

describe('native argument checking', () => {
  const addon = native() as unknown as Record<string, unknown>;

  it('covers every exported function', () => {
    const exported = Object.keys(addon).filter((k) => typeof addon[k] === 'function');
    for (const name of exported) expect(Object.keys(badCalls), `no bad-argument cases for ${name}`).toContain(name);
  });

  for (const [name, calls] of Object.entries(badCalls)) {
    if (calls.length === 0) continue;
    it(`${name} rejects bad arguments with coded errors`, async () => {
      const fn = addon[name] as Fn;
      expect(typeof fn).toBe('function');
      for (const args of calls) await expectJsError(fn, args);
    });
  }
});
