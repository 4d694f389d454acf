/**
 * safetensors files: 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}` padded
 * with spaces to a multiple of 8, then the tensors' bytes (offsets relative to the data start).
 * Writes are atomic: a temporary file in the same folder, fsync, rename, fsync of the folder.
 */
import { constants } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { CheckpointError } from '../errors/index.js';
import type { NativeDtype, NativeTensor } from '../native.js';

export type Tensor = NativeTensor;
export type Tensors = Record<string, Tensor>;

/** Bytes per element of each safetensors dtype we read and write. */
export const dtypeSize: Record<NativeDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

const maxHeaderBytes = 100 * 1024 * 1024;

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Serialises tensors (in the order given) and optional string metadata into one buffer list. */
function encode(tensors: Tensors, metadata?: Record<string, string>): { header: Buffer; parts: Uint8Array[] } {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new TypeError('a tensor may not be named __metadata__');
    const size = dtypeSize[t.dtype];
    if (size === undefined) throw new TypeError(`tensor ${name}: unknown dtype ${String(t.dtype)}`);
    const bytes = numel(t.shape) * size;
    if (t.data.byteLength !== bytes)
      throw new TypeError(`tensor ${name}: ${t.data.byteLength} bytes for ${t.dtype} [${t.shape.join(', ')}] (needs ${bytes})`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    parts.push(t.data);
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const body = Buffer.from(json, 'utf8');
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(body.length));
  return { header: Buffer.concat([head, body]), parts };
}

/** Writes `path` atomically (tmp + fsync + rename + fsync of the folder). */
export async function writeFileAtomic(path: string, parts: readonly Uint8Array[]): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    const fh = await open(tmp, 'w');
    try {
      for (const p of parts) {
        let done = 0;
        while (done < p.byteLength) done += (await fh.write(p, done, p.byteLength - done)).bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new CheckpointError(path, `cannot write: ${(err as Error).message}`, { cause: err });
  }
  // The rename is durable once the folder's entry is on disk.
  const d = await open(dir, constants.O_RDONLY);
  try {
    await d.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the data itself is synced.
  } finally {
    await d.close();
  }
}

export async function writeSafetensors(path: string, tensors: Tensors, metadata?: Record<string, string>): Promise<void> {
  const { header, parts } = encode(tensors, metadata);
  await writeFileAtomic(path, [header, ...parts]);
}

/** Parses a safetensors buffer; tensors' data are views into `buf` (no copy). `file` names errors. */
export function parseSafetensors(buf: Uint8Array, file: string): { tensors: Tensors; metadata: Record<string, string> } {
  const fail = (msg: string): never => {
    throw new CheckpointError(file, `not a valid safetensors file: ${msg}`);
  };
  if (buf.byteLength < 8) fail(`${buf.byteLength} bytes, shorter than the 8-byte header length`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > maxHeaderBytes || 8 + n > buf.byteLength) fail(`header length ${n} does not fit in ${buf.byteLength} bytes`);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, n).toString('utf8'));
  } catch (err) {
    fail(`header is not JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + n, dataBytes = buf.byteLength - dataStart;
  const tensors: Tensors = {};
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Object.values(raw).some((v) => typeof v !== 'string'))
        fail('__metadata__ must map strings to strings');
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) fail(`entry ${name} is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in dtypeSize)) fail(`entry ${name} has unsupported dtype ${String(e.dtype)}`);
    const okInt = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
    if (!Array.isArray(e.shape) || !e.shape.every(okInt)) fail(`entry ${name} has a bad shape`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(okInt)) fail(`entry ${name} has bad data_offsets`);
    const [begin, end] = off as [number, number];
    const dtype = e.dtype as NativeDtype, shape = e.shape as number[];
    if (begin > end || end > dataBytes) fail(`entry ${name}: data_offsets [${begin}, ${end}] outside the ${dataBytes} data bytes`);
    if (end - begin !== numel(shape) * dtypeSize[dtype])
      fail(`entry ${name}: ${end - begin} bytes for ${dtype} [${shape.join(', ')}]`);
    spans.push([begin, end, name]);
    tensors[name] = { dtype, shape, data: buf.subarray(dataStart + begin, dataStart + end) };
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++)
    if (spans[i]![0] < spans[i - 1]![1]) fail(`entries ${spans[i - 1]![2]} and ${spans[i]![2]} overlap`);
  return { tensors, metadata };
}

export async function readSafetensors(path: string): Promise<{ tensors: Tensors; metadata: Record<string, string> }> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new CheckpointError(path, `cannot read: ${(err as Error).message}`, { cause: err });
  }
  return parseSafetensors(buf, path);
}
