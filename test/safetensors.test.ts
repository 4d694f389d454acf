// safetensors read/write: byte layout, round trips for every dtype, atomic writes, and header
// validation errors that name the file.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadCheckpoint } from '../lib/checkpoint/checkpoint.js';
import { parseSafetensors, readSafetensors, writeSafetensors, type Tensors } from '../lib/checkpoint/safetensors.js';
import { CheckpointError } from '../lib/errors/index.js';
import { randomBytes } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tats-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(header: unknown, data = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  return Buffer.concat([head, json, data]);
}

describe('safetensors', () => {
  it('writes the documented layout and reads it back for every dtype', async () => {
    const tensors: Tensors = {
      'a.weight': { dtype: 'F32', shape: [2, 3], data: new Uint8Array(new Float32Array([1, 2, 3, 4, 5, -6]).buffer) },
      'b.bf16': { dtype: 'BF16', shape: [4], data: randomBytes(8, 1) },
      'c.f16': { dtype: 'F16', shape: [1, 1, 3], data: randomBytes(6, 2) },
      'd.step': { dtype: 'I64', shape: [], data: new Uint8Array(new BigInt64Array([42n]).buffer) },
      'e.rng': { dtype: 'U8', shape: [5], data: randomBytes(5, 3) },
      'f.i32': { dtype: 'I32', shape: [2], data: randomBytes(8, 4) },
      'g.f64': { dtype: 'F64', shape: [1], data: randomBytes(8, 5) },
      'h.bool': { dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
      'i.empty': { dtype: 'F32', shape: [0, 4], data: new Uint8Array(0) },
    };
    const path = join(dir, 'all.safetensors');
    await writeSafetensors(path, tensors, { format: 'pt' });
    const raw = readFileSync(path);
    const n = Number(raw.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0); // header padded so the data starts 8-byte aligned
    const header = JSON.parse(raw.subarray(8, 8 + n).toString('utf8'));
    expect(header.__metadata__).toEqual({ format: 'pt' });
    expect(header['a.weight']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header['b.bf16'].data_offsets).toEqual([24, 32]);
    expect(raw.length).toBe(8 + n + 24 + 8 + 6 + 8 + 5 + 8 + 8 + 3);
    const back = await readSafetensors(path);
    expect(back.metadata).toEqual({ format: 'pt' });
    expect(Object.keys(back.tensors)).toEqual(Object.keys(tensors));
    for (const [name, t] of Object.entries(tensors)) {
      expect(back.tensors[name]!.dtype).toBe(t.dtype);
      expect(back.tensors[name]!.shape).toEqual(t.shape);
      expect(Buffer.from(back.tensors[name]!.data).equals(Buffer.from(t.data))).toBe(true);
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]); // no temporary left behind
  });

  it('replaces an existing file atomically', async () => {
    const path = join(dir, 'replace.safetensors');
    await writeSafetensors(path, { x: { dtype: 'U8', shape: [1], data: new Uint8Array([1]) } });
    await writeSafetensors(path, { y: { dtype: 'U8', shape: [2], data: new Uint8Array([2, 3]) } });
    expect(Object.keys((await readSafetensors(path)).tensors)).toEqual(['y']);
  });

  it('refuses tensors whose bytes do not match dtype and shape', async () => {
    await expect(
      writeSafetensors(join(dir, 'bad.safetensors'), { x: { dtype: 'F32', shape: [3], data: new Uint8Array(8) } }),
    ).rejects.toThrow(/8 bytes for F32 \[3\]/);
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(3), /shorter than the 8-byte header length/],
    ['header longer than the file', file({}, new Uint8Array(0), 1000n), /header length 1000 does not fit/],
    ['header not JSON', file('{nope'), /header is not JSON/],
    ['header an array', file('[1]'), /not a JSON object/],
    ['unknown dtype', file({ x: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /unsupported dtype F8/],
    ['bad shape', file({ x: { dtype: 'U8', shape: [-1], data_offsets: [0, 1] } }, new Uint8Array(1)), /bad shape/],
    ['offsets out of range', file({ x: { dtype: 'U8', shape: [4], data_offsets: [0, 4] } }, new Uint8Array(2)), /outside the 2 data bytes/],
    ['size mismatch', file({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)), /4 bytes for F32 \[2\]/],
    [
      'overlap',
      file(
        { x: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, y: { dtype: 'U8', shape: [2], data_offsets: [1, 3] } },
        new Uint8Array(3),
      ),
      /entries x and y overlap/,
    ],
    ['metadata not strings', file({ __metadata__: { a: 1 } }), /__metadata__ must map strings to strings/],
  ];
  for (const [what, bytes, message] of bad) {
    it(`rejects a file with ${what}, naming the file`, async () => {
      const path = join(dir, `${what.replace(/\W+/g, '-')}.safetensors`);
      writeFileSync(path, bytes);
      const err = await readSafetensors(path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as CheckpointError).code).toBe('ERR_CHECKPOINT');
      expect((err as Error).message).toContain(path);
      expect((err as Error).message).toMatch(message);
    });
  }

  it('parses views into the buffer without copying', () => {
    const buf = file({ x: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } }, new Uint8Array([7, 9]));
    const { tensors } = parseSafetensors(buf, 'mem');
    expect(tensors.x!.data.buffer).toBe(buf.buffer);
    expect([...tensors.x!.data]).toEqual([7, 9]);
  });

  it('a checkpoint folder without meta.json is refused with the file named', async () => {
    const err = await loadCheckpoint(join(dir, 'nowhere'), undefined as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toContain(join(dir, 'nowhere', 'meta.json'));
  });
});
