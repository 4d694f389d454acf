/**
 * Clip shards: decoded uint8 clips packed once, read back with pread and no ffmpeg.
 *
 * A shard directory holds `shard-NNNNN.bin` files (clips back to back, each clip's bytes
 * [T, H, W, 3] optionally followed by its uint8 [N] motion map) and one `index.json`:
 *   { format: "tats-shards", version: 1, dataset, classNames, shards: [{file, bytes}],
 *     clips: [{key, shard, offset, bytes, shape: [T,H,W,3], motionBytes?, label, source, frames?, crc32}] }
 * `crc32` (zlib's) covers the clip bytes, its motion bytes and then (version 2) the clip's record:
 * key, label, shard, offset, bytes, motionBytes, and (version 3) its shape, so an edited label,
 * offset or shape fails the check as a flipped byte does (version 1 and 2 sets are still read).
 * Every version also checks a clip's shape against the set's (pack writes one shape per set), so an
 * edited shape is named even where the checksum does not cover it. The index is rewritten atomically
 * (write a temporary file, fsync, rename) after the shard data it names has been fsynced, so a crash
 * leaves a valid index; on reopen, shard bytes past the indexed end are cut off and packing resumes,
 * skipping the clips whose key is already indexed.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

import { DataError } from '../errors/index.js';

export const SHARD_FORMAT = 'tats-shards';
export const SHARD_VERSION = 3;
/** Versions read: 1 (crc32 over the data only), 2 (data and record), 3 (data and record with shape). */
const READABLE_VERSIONS = [1, 2, 3];

type RecordFields = Pick<ShardClip, 'key' | 'label' | 'shard' | 'offset' | 'bytes' | 'motionBytes' | 'shape'>;

/** The clip record's bytes that a version >= 2 crc32 covers after the data (version 3 adds the shape). */
function recordBytes(version: number, c: RecordFields): Buffer {
  const fields: unknown[] = [c.key, c.label, c.shard, c.offset, c.bytes, c.motionBytes ?? 0];
  if (version >= 3) fields.push(c.shape);
  return Buffer.from(JSON.stringify(fields), 'utf8');
}

/** The crc32 stored for a clip: data (clip, then motion), then the record for version >= 2. */
export function clipChecksum(version: number, c: RecordFields, clip: Uint8Array, motion?: Uint8Array): number {
  let crc = crc32(clip);
  if (motion) crc = crc32(motion, crc);
  return version >= 2 ? crc32(recordBytes(version, c), crc) : crc;
}

/** The shape most clips of the set have (pack writes one per set); ties go to the earliest. */
export function setShape(clips: ShardClip[]): [number, number, number, number] | undefined {
  const counts = new Map<string, { n: number; shape: [number, number, number, number] }>();
  let best: { n: number; shape: [number, number, number, number] } | undefined;
  for (const c of clips) {
    const k = c.shape.join('x');
    const e = counts.get(k) ?? { n: 0, shape: c.shape };
    e.n++;
    counts.set(k, e);
    if (!best || e.n > best.n) best = e;
  }
  return best?.shape;
}

export interface ShardClip {
  /** Unique key of the clip within the set (source path + view), used to resume. */
  key: string;
  shard: number;
  offset: number;
  /** Clip bytes: T*H*W*3. */
  bytes: number;
  shape: [number, number, number, number];
  /** Motion-map bytes stored right after the clip (synthetic sets). */
  motionBytes?: number;
  label: number;
  source: string;
  /** Source frame indices. */
  frames?: number[];
  crc32: number;
}

export interface ShardIndex {
  format: typeof SHARD_FORMAT;
  version: number;
  dataset: string;
  classNames: string[];
  shards: Array<{ file: string; bytes: number }>;
  clips: ShardClip[];
}

const INDEX = 'index.json';

function indexError(dir: string, what: string): DataError {
  return new DataError('ERR_SHARD_INDEX', `${join(dir, INDEX)}: ${what}`);
}

/** Reads and checks index.json of a shard directory. */
export function readShardIndex(dir: string): ShardIndex {
  const file = join(dir, INDEX);
  if (!existsSync(file)) throw new DataError('ERR_SHARD_INDEX', `${file}: no shard index (pack one with 'tats pack')`);
  let j: ShardIndex;
  try {
    j = JSON.parse(readFileSync(file, 'utf8')) as ShardIndex;
  } catch (err) {
    throw indexError(dir, `not valid JSON (${(err as Error).message})`);
  }
  if (j === null || typeof j !== 'object' || j.format !== SHARD_FORMAT) throw indexError(dir, `expected format "${SHARD_FORMAT}"`);
  if (!READABLE_VERSIONS.includes(j.version)) throw indexError(dir, `version ${String(j.version)} is not supported (expected one of ${READABLE_VERSIONS.join(', ')})`);
  if (!Array.isArray(j.shards) || !Array.isArray(j.clips) || !Array.isArray(j.classNames)) throw indexError(dir, 'expected arrays "shards", "clips" and "classNames"');
  j.clips.forEach((c, i) => {
    const ok =
      c && Number.isInteger(c.shard) && c.shard >= 0 && c.shard < j.shards.length && Number.isInteger(c.offset) && c.offset >= 0 &&
      Number.isInteger(c.bytes) && Array.isArray(c.shape) && c.shape.length === 4 && c.shape.every((d) => Number.isInteger(d) && d > 0) && c.shape[3] === 3 && c.shape.reduce((a, b) => a * b, 1) === c.bytes &&
      Number.isInteger(c.label) && Number.isInteger(c.crc32) && c.offset + c.bytes + (c.motionBytes ?? 0) <= j.shards[c.shard]!.bytes;
    if (!ok) throw indexError(dir, `clips[${i}] is malformed (needs shard, offset, bytes = product of shape [T,H,W,3], label, crc32, within its shard)`);
    if (c.label < 0 || (j.classNames.length > 0 && c.label >= j.classNames.length)) {
      throw indexError(dir, `clips[${i}] (${String(c.source)}) has label ${c.label}, outside the ${j.classNames.length} class names`);
    }
  });
  return j;
}

function writeIndexAtomic(dir: string, index: ShardIndex): void {
  const tmp = join(dir, `${INDEX}.tmp-${process.pid}`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify(index));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, INDEX));
}

export interface ShardWriterOptions {
  dataset: string;
  classNames: string[];
  /** Roll to a new shard file past this size. Defaults to 256 MiB. */
  maxShardBytes?: number;
}

/** Appends clips to shards; resumable. Single-threaded writer (decode in parallel, write here). */
export class ShardWriter {
  readonly dir: string;
  readonly index: ShardIndex;
  private readonly keys: Set<string>;
  private readonly maxShardBytes: number;
  private fd: number | undefined;
  private dirty = false;

  constructor(dir: string, opts: ShardWriterOptions) {
    this.dir = dir;
    this.maxShardBytes = opts.maxShardBytes ?? 256 * 1024 * 1024;
    mkdirSync(dir, { recursive: true });
    if (existsSync(join(dir, INDEX))) {
      this.index = readShardIndex(dir);
      if (this.index.dataset !== opts.dataset) {
        throw indexError(dir, `holds dataset "${this.index.dataset}", not "${opts.dataset}"; pack into another directory`);
      }
      // Cut any bytes written after the last index update (a crash between data and index).
      for (const s of this.index.shards) {
        const p = join(dir, s.file);
        const fd = openSync(p, existsSync(p) ? 'r+' : 'w+');
        const size = fstatSync(fd).size;
        if (size < s.bytes) {
          closeSync(fd);
          throw new DataError('ERR_SHARD_INDEX', `${p} has ${size} bytes but the index says ${s.bytes}: the shard is damaged; delete the directory and pack again`);
        }
        ftruncateSync(fd, s.bytes);
        closeSync(fd);
      }
    } else {
      this.index = { format: SHARD_FORMAT, version: SHARD_VERSION, dataset: opts.dataset, classNames: opts.classNames, shards: [], clips: [] };
    }
    this.keys = new Set(this.index.clips.map((c) => c.key));
  }

  /** True when a clip with this key is already packed. */
  has(key: string): boolean {
    return this.keys.has(key);
  }

  get count(): number {
    return this.index.clips.length;
  }

  /** Appends one clip (and its motion map); durable after the next flush(). */
  append(meta: { key: string; shape: [number, number, number, number]; label: number; source: string; frames?: number[] }, clip: Uint8Array, motion?: Uint8Array): void {
    if (this.keys.has(meta.key)) return;
    const bytes = meta.shape.reduce((a, b) => a * b, 1);
    if (clip.length !== bytes) throw new RangeError(`clip ${meta.key} has ${clip.length} bytes, shape ${meta.shape.join('x')} needs ${bytes}`);
    let last = this.index.shards[this.index.shards.length - 1];
    if (!last || last.bytes >= this.maxShardBytes) {
      this.closeShard();
      last = { file: `shard-${String(this.index.shards.length).padStart(5, '0')}.bin`, bytes: 0 };
      this.index.shards.push(last);
      writeFileSync(join(this.dir, last.file), new Uint8Array(0));
    }
    if (this.fd === undefined) this.fd = openSync(join(this.dir, last.file), 'r+');
    const offset = last.bytes;
    writeSync(this.fd, clip, 0, clip.length, offset);
    if (motion) writeSync(this.fd, motion, 0, motion.length, offset + clip.length);
    last.bytes = offset + clip.length + (motion?.length ?? 0);
    const record = {
      key: meta.key,
      shard: this.index.shards.length - 1,
      offset,
      bytes,
      shape: meta.shape,
      ...(motion ? { motionBytes: motion.length } : {}),
      label: meta.label,
      source: meta.source,
      ...(meta.frames ? { frames: meta.frames } : {}),
    };
    // A set begun in version 1 goes on with version 1 checksums (one rule per set).
    this.index.clips.push({ ...record, crc32: clipChecksum(this.index.version, record, clip, motion) });
    this.keys.add(meta.key);
    this.dirty = true;
  }

  private closeShard(): void {
    if (this.fd !== undefined) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  /** fsyncs the shard data, then rewrites index.json atomically. */
  flush(): void {
    if (this.fd !== undefined) fsyncSync(this.fd);
    if (this.dirty || !existsSync(join(this.dir, INDEX))) writeIndexAtomic(this.dir, this.index);
    this.dirty = false;
  }

  close(): void {
    this.flush();
    this.closeShard();
  }
}

export interface ShardSample {
  clip: Uint8Array;
  motion?: Uint8Array;
  label: number;
}

/**
 * How reads are checked against the index's crc32: 'always' every read; 'once' (default) the first
 * read of each clip in this reader (later epochs read page-cached bytes at memcpy speed; crc32 runs
 * at 2-4 GB/s on one core here and would otherwise cap the reader); 'never' (or false) not at all.
 */
export type ShardVerify = 'always' | 'once' | 'never' | boolean;

/**
 * Reads clips from a shard directory with pread; no ffmpeg. A checked read whose crc32 does not
 * match throws ERR_SHARD_CHECKSUM naming the shard file and the clip.
 */
export class ShardReader {
  readonly dir: string;
  readonly index: ShardIndex;
  readonly verify: 'always' | 'once' | 'never';
  /** The set's clip shape (see setShape); a clip whose index record says otherwise is refused. */
  readonly setShape: [number, number, number, number] | undefined;
  private readonly fds: Array<number | undefined>;
  private readonly verified: Uint8Array;

  constructor(dir: string, opts: { verify?: ShardVerify } = {}) {
    this.dir = dir;
    this.index = readShardIndex(dir);
    const v = opts.verify ?? 'once';
    this.verify = v === true ? 'always' : v === false ? 'never' : v;
    this.setShape = setShape(this.index.clips);
    this.fds = new Array(this.index.shards.length).fill(undefined);
    this.verified = new Uint8Array(this.index.clips.length);
  }

  get length(): number {
    return this.index.clips.length;
  }

  get classNames(): string[] {
    return this.index.classNames;
  }

  /** Shape of clip i: [T, H, W, 3]. */
  shape(i: number): [number, number, number, number] {
    return this.clip(i).shape;
  }

  label(i: number): number {
    return this.clip(i).label;
  }

  private clip(i: number): ShardClip {
    const c = this.index.clips[i];
    if (!c) throw new RangeError(`shard clip ${i} is out of range [0, ${this.length})`);
    return c;
  }

  private fd(shard: number): number {
    let fd = this.fds[shard];
    if (fd === undefined) {
      const p = join(this.dir, this.index.shards[shard]!.file);
      try {
        fd = openSync(p, 'r');
      } catch (err) {
        throw new DataError('ERR_SHARD_INDEX', `cannot open shard ${p}: ${(err as Error).message}`);
      }
      this.fds[shard] = fd;
    }
    return fd;
  }

  /**
   * Reads clip i into `clipOut` (clip bytes) and `motionOut` (motion bytes, if the clip has any and
   * a buffer is given). Returns the label.
   */
  readInto(i: number, clipOut: Uint8Array, motionOut?: Uint8Array): number {
    const c = this.clip(i);
    // Checked on every read, before the bytes: the shape decides how they are laid out, and the
    // crc32 of version 1 and 2 sets does not cover it.
    const want = this.setShape!;
    if (c.shape.some((d, k) => d !== want[k])) {
      throw new DataError(
        'ERR_SHARD_INDEX',
        `${join(this.dir, INDEX)}: clips[${i}].shape is [${c.shape.join(', ')}] (${c.source}), where the set's clips are [${want.join(', ')}]: the index record is damaged or edited; pack it again`,
      );
    }
    if (clipOut.length !== c.bytes) throw new RangeError(`clip ${i} has ${c.bytes} bytes (shape ${c.shape.join('x')}), the buffer ${clipOut.length}`);
    const fd = this.fd(c.shard);
    const file = join(this.dir, this.index.shards[c.shard]!.file);
    const got = readSync(fd, clipOut, 0, c.bytes, c.offset);
    let motion: Uint8Array | undefined;
    let mgot = 0;
    if (c.motionBytes) {
      motion = motionOut && motionOut.length === c.motionBytes ? motionOut : new Uint8Array(c.motionBytes);
      mgot = readSync(fd, motion, 0, c.motionBytes, c.offset + c.bytes);
    }
    if (got !== c.bytes || mgot !== (c.motionBytes ?? 0)) {
      throw new DataError('ERR_SHARD_CHECKSUM', `shard ${file} is shorter than its index: clip ${i} (${c.source}) at offset ${c.offset} read ${got} of ${c.bytes} bytes`);
    }
    if (this.verify === 'always' || (this.verify === 'once' && this.verified[i] === 0)) {
      const crc = clipChecksum(this.index.version, c, clipOut, motion);
      if (crc !== c.crc32) {
        throw new DataError(
          'ERR_SHARD_CHECKSUM',
          `shard ${file}: clip ${i} (${c.source}, offset ${c.offset}, label ${c.label}) fails its checksum (crc32 ${crc} != ${c.crc32} in the index): the clip's bytes or its index record (key, label, shard, offset, bytes, shape) are damaged; pack it again`,
        );
      }
      this.verified[i] = 1;
    }
    return c.label;
  }

  /** Reads clip i into fresh buffers. */
  read(i: number): ShardSample {
    const c = this.clip(i);
    const clip = new Uint8Array(c.bytes);
    const motion = c.motionBytes ? new Uint8Array(c.motionBytes) : undefined;
    const label = this.readInto(i, clip, motion);
    return motion ? { clip, motion, label } : { clip, label };
  }

  /** Reads clips into one batch; all must have the same shape. */
  readBatch(indices: ArrayLike<number>): { clips: Uint8Array; motion?: Uint8Array; labels: Int32Array } {
    const n = indices.length;
    if (n === 0) return { clips: new Uint8Array(0), labels: new Int32Array(0) };
    const first = this.clip(indices[0]!);
    const clips = new Uint8Array(n * first.bytes);
    const motion = first.motionBytes ? new Uint8Array(n * first.motionBytes) : undefined;
    const labels = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const c = this.clip(indices[k]!);
      if (c.bytes !== first.bytes || (c.motionBytes ?? 0) !== (first.motionBytes ?? 0)) {
        throw new DataError('ERR_SHARD_INDEX', `clip ${indices[k]} has shape ${c.shape.join('x')}, the batch ${first.shape.join('x')}: a batch needs one shape`);
      }
      labels[k] = this.readInto(
        indices[k]!,
        clips.subarray(k * c.bytes, (k + 1) * c.bytes),
        motion ? motion.subarray(k * c.motionBytes!, (k + 1) * c.motionBytes!) : undefined,
      );
    }
    return motion ? { clips, motion, labels } : { clips, labels };
  }

  close(): void {
    for (const fd of this.fds) if (fd !== undefined) closeSync(fd);
    this.fds.fill(undefined);
  }
}
