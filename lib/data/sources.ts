/**
 * Sample sources behind the loader: synthetic clips, shards, and decoded video lists, all with one
 * interface that fills caller-owned buffers and reports bad samples as values (never throws for one).
 * Descriptors are plain data so they can be sent to worker threads.
 */
import { DataError } from '../errors/index.js';
import type { VideoEntry } from './annotations/index.js';
import { DecodePool, type VideoInfo } from './decode.js';
import { sampleIndices, type SamplingRecipe } from './sampling.js';
import { ShardReader, type ShardVerify } from './shards.js';
import { SyntheticMotionDataset, type SyntheticOptions } from './synthetic.js';
import { flipHorizontal, pretrainAugment, seededRand } from './transforms.js';

export type SourceDescriptor =
  | { kind: 'synthetic'; options: SyntheticOptions }
  | {
      kind: 'shards';
      dir: string;
      /** crc32 checks (see ShardVerify). Defaults to 'once'. */
      verify?: ShardVerify;
      /** Output side; when it differs from the shard's, a multi-scale crop is resized to it. */
      size?: number;
      /** Seed for the crop and flip draws. */
      seed?: number;
      /** Mirror each clip left-right with p = 0.5 (fine-tuning); the motion map is then left out. Defaults to false. */
      flip?: boolean;
      /**
       * A clip that fails its checksum or lies past the end of its shard: 'stop' throws the
       * DataError (ERR_SHARD_CHECKSUM, naming the shard file and the clip); 'skip' reports it as a
       * bad sample, which the caller replaces and counts. Defaults to 'stop'.
       */
      onDamaged?: 'stop' | 'skip';
    }
  | {
      kind: 'videos';
      entries: VideoEntry[];
      /** Output side (square). */
      size: number;
      recipe: SamplingRecipe;
      seed: number;
      /** Short side that ffmpeg scales to before the multi-scale crop. Defaults to size * 8/7 (256 for 224). */
      decodeShortSide?: number;
      /** Concurrent ffmpeg processes per source. Defaults to 2. */
      decodeConcurrency?: number;
      timeoutMs?: number;
    };

/**
 * A sample that failed to load: the file (a video, or the shard file that holds the clip), the
 * clip's index in the shard set for shards, and why.
 */
export interface BadSample {
  file: string;
  /** Shards: the clip's index in the set (index.json's `clips[clip]`). */
  clip?: number;
  reason: string;
}

/** `file`, or `file clip N` for a shard clip: how a bad sample is named in messages. */
export function badSampleName(b: { file: string; clip?: number }): string {
  return b.clip === undefined ? b.file : `${b.file} clip ${b.clip}`;
}

export type LoadResult = { ok: true; label: number } | ({ ok: false } & BadSample);

export interface Source {
  readonly length: number;
  /** Bytes per output clip. */
  readonly clipBytes: number;
  /** Shape of one output clip [T, H, W, 3]. */
  readonly clipShape: [number, number, number, number];
  /** Motion bytes per clip; 0 when the source has no motion map. */
  readonly motionBytes: number;
  /** Loads sample `index` (of `epoch`) into the buffers. */
  load(index: number, epoch: number, clip: Uint8Array, motion?: Uint8Array): Promise<LoadResult>;
  close(): void;
}

function mix(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35) ^ Math.imul(c + 0x165667b1, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

class SyntheticSource implements Source {
  private readonly ds: SyntheticMotionDataset;
  readonly length: number;
  readonly clipBytes: number;
  readonly clipShape: [number, number, number, number];
  readonly motionBytes: number;
  constructor(opts: SyntheticOptions) {
    this.ds = new SyntheticMotionDataset(opts);
    this.length = this.ds.length;
    this.clipBytes = this.ds.clipBytes;
    this.clipShape = [...this.ds.clipShape];
    this.motionBytes = this.ds.tokens;
  }
  load(index: number, _epoch: number, clip: Uint8Array, motion?: Uint8Array): Promise<LoadResult> {
    const label = this.ds.renderInto(index, clip, motion ?? new Uint8Array(this.motionBytes));
    return Promise.resolve({ ok: true, label });
  }
  close(): void {}
}

class ShardSource implements Source {
  private readonly reader: ShardReader;
  readonly length: number;
  readonly clipBytes: number;
  readonly clipShape: [number, number, number, number];
  readonly motionBytes: number;
  private readonly srcShape: [number, number, number, number];
  private readonly scratch: Uint8Array | undefined;
  private readonly seed: number;
  private readonly flip: boolean;
  private readonly onDamaged: 'stop' | 'skip';
  constructor(d: Extract<SourceDescriptor, { kind: 'shards' }>) {
    this.onDamaged = d.onDamaged ?? 'stop';
    this.reader = new ShardReader(d.dir, { verify: d.verify ?? 'once' });
    this.length = this.reader.length;
    const first = this.reader.index.clips[0];
    this.srcShape = this.reader.setShape ?? [1, 1, 1, 3];
    const [t, h, w] = this.srcShape;
    const size = d.size;
    const resize = size !== undefined && (size !== h || size !== w);
    this.clipShape = resize ? [t, size, size, 3] : this.srcShape;
    this.clipBytes = this.clipShape.reduce((a, b) => a * b, 1);
    this.flip = d.flip ?? false;
    // Motion maps are only meaningful at the packed geometry, unflipped.
    this.motionBytes = resize || this.flip ? 0 : (first?.motionBytes ?? 0);
    this.scratch = resize ? new Uint8Array(this.srcShape.reduce((a, b) => a * b, 1)) : undefined;
    this.seed = d.seed ?? 0;
  }
  load(index: number, epoch: number, clip: Uint8Array, motion?: Uint8Array): Promise<LoadResult> {
    const c = this.reader.index.clips[index]!;
    const file = `${this.reader.dir}/${this.reader.index.shards[c.shard]?.file}`;
    try {
      if (this.scratch) {
        const label = this.reader.readInto(index, this.scratch);
        const [t, h, w] = this.srcShape;
        pretrainAugment(this.scratch, t, h, w, this.clipShape[1], seededRand(mix(this.seed, index, epoch)), { flip: this.flip, out: clip });
        return Promise.resolve({ ok: true, label });
      }
      const label = this.reader.readInto(index, clip, this.motionBytes ? motion : undefined);
      if (this.flip && seededRand(mix(this.seed, index, epoch))() < 0.5) flipHorizontal(clip, this.clipShape[0], this.clipShape[1], this.clipShape[2]);
      return Promise.resolve({ ok: true, label });
    } catch (err) {
      // Damage is never passed over silently: by default it stops the caller.
      if (this.onDamaged === 'stop' || !(err instanceof DataError)) return Promise.reject(err);
      return Promise.resolve({ ok: false, file, clip: index, reason: (err as Error).message });
    }
  }
  close(): void {
    this.reader.close();
  }
}

class VideoSource implements Source {
  readonly length: number;
  readonly clipBytes: number;
  readonly clipShape: [number, number, number, number];
  readonly motionBytes = 0;
  private readonly pool: DecodePool;
  private readonly infos = new Map<string, VideoInfo>();
  constructor(private readonly d: Extract<SourceDescriptor, { kind: 'videos' }>) {
    this.length = d.entries.length;
    this.clipShape = [d.recipe.frames, d.size, d.size, 3];
    this.clipBytes = this.clipShape.reduce((a, b) => a * b, 1);
    this.pool = new DecodePool(d.decodeConcurrency ?? 2);
  }
  async load(index: number, epoch: number, clip: Uint8Array): Promise<LoadResult> {
    const e = this.d.entries[index]!;
    const timeout = this.d.timeoutMs !== undefined ? { timeoutMs: this.d.timeoutMs } : {};
    let info = this.infos.get(e.path);
    if (!info) {
      const p = await this.pool.probe(e.path, timeout);
      if (!p.ok) return { ok: false, file: e.path, reason: `${p.kind}: ${p.reason}` };
      info = p;
      this.infos.set(e.path, p);
    }
    const rand = seededRand(mix(this.d.seed, index, epoch));
    const indices = sampleIndices(info.frames, this.d.recipe, rand);
    const shortSide = this.d.decodeShortSide ?? Math.round((this.d.size * 8) / 7);
    const r = await this.pool.decode(e.path, { indices, info, shortSide, ...timeout });
    if (!r.ok) return { ok: false, file: e.path, reason: `${r.kind}: ${r.reason}` };
    pretrainAugment(r.data, indices.length, r.height, r.width, this.d.size, rand, { flip: this.d.recipe.flip, out: clip });
    return { ok: true, label: e.label };
  }
  close(): void {}
}

/** Opens a source from its descriptor. */
export function openSource(d: SourceDescriptor): Source {
  switch (d.kind) {
    case 'synthetic':
      return new SyntheticSource(d.options);
    case 'shards':
      return new ShardSource(d);
    case 'videos':
      return new VideoSource(d);
  }
}

function uninitialised(n: number): Uint8Array {
  const buf = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(buf.buffer, buf.byteOffset, n);
}

export interface BuiltBatch {
  clips: Uint8Array;
  motion?: Uint8Array;
  labels: Int32Array;
  /** Samples that failed (each replaced by another index). */
  bad: BadSample[];
  /** Load attempts, good and bad. */
  attempts: number;
}

/**
 * Fills one batch from `indices` (into `reuse` when it has the right size). A bad sample is
 * replaced by another index (deterministic walk), up to `maxRetries` per slot; the failures are
 * returned, not thrown.
 */
export async function buildBatch(src: Source, indices: number[], epoch: number, maxRetries = 16, reuse?: Uint8Array): Promise<BuiltBatch> {
  const b = indices.length;
  // A recycled buffer, else one that is not zero-filled (every byte is written below) and not from
  // Buffer's pool, so it can be transferred.
  const clips = reuse && reuse.length === b * src.clipBytes ? reuse : uninitialised(b * src.clipBytes);
  const motion = src.motionBytes ? new Uint8Array(b * src.motionBytes) : undefined;
  const labels = new Int32Array(b);
  const bad: BadSample[] = [];
  let attempts = 0;
  await Promise.all(
    indices.map(async (first, k) => {
      const clip = clips.subarray(k * src.clipBytes, (k + 1) * src.clipBytes);
      const m = motion?.subarray(k * src.motionBytes, (k + 1) * src.motionBytes);
      let idx = first;
      for (let attempt = 0; attempt <= maxRetries; attempt++) {
        attempts++;
        const r = await src.load(idx, epoch, clip, m);
        if (r.ok) {
          labels[k] = r.label;
          return;
        }
        bad.push(r.clip === undefined ? { file: r.file, reason: r.reason } : { file: r.file, clip: r.clip, reason: r.reason });
        idx = (first + (attempt + 1) * 7919) % src.length;
      }
      const last = bad[bad.length - 1];
      throw new Error(`no good sample after ${maxRetries + 1} tries from index ${first}; last: ${last ? badSampleName(last) : ''}: ${last?.reason}`);
    }),
  );
  return motion ? { clips, motion, labels, bad, attempts } : { clips, labels, bad, attempts };
}
