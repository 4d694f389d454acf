/**
 * Packing: decode a video dataset once into clip shards (see shards.ts), in parallel, resumably.
 * Each video gives `clipsPerVideo` clips of `frames` frames at stride `rate`, windows evenly spaced
 * over the video (1 = the centre window), resized so the short side is `size` and centre-cropped to
 * size x size. Bad videos are skipped and reported with file and reason; they never stop the run.
 * Nothing damaged passes silently: missing, truncated and corrupted files (decode errors anywhere
 * ffprobe reads, or in the frames decoded), and videos with fewer frames than a clip (skipped
 * unless `keepShort`, then padded and listed in `padded`) are named with the reason. A path listed
 * twice with different labels stops the run before any work (ERR_DATA_DUPLICATE).
 */
import { performance } from 'node:perf_hooks';

import { DataError } from '../errors/index.js';
import type { Annotation } from './annotations/index.js';
import { formatIssue } from './annotations/index.js';
import { DecodePool } from './decode.js';
import { testClipIndices } from './sampling.js';
import { ShardWriter } from './shards.js';
import { SyntheticMotionDataset, isDefaultStyle, type SyntheticOptions } from './synthetic.js';

export interface PackError {
  file: string;
  /** `<kind>: <what>`, kind one of decode-failure.ts's FailureKind, `short`, or an annotation problem. */
  reason: string;
}

export interface PackReport {
  /** Clips written by this run. */
  packed: number;
  /** Videos (and annotation lines) that could not be packed; each is in `errors`. */
  skipped: number;
  /** Clips found already packed (resume). */
  alreadyPacked: number;
  errors: PackError[];
  /** Videos packed though shorter than a clip (`keepShort`): frames repeated to fill it. */
  padded: PackError[];
  /** Shard files in the set. */
  shards: number;
  /** Clips in the set after this run. */
  clips: number;
  /** Clips packed per second of wall time in this run. */
  clipsPerS: number;
  seconds: number;
  out: string;
}

export interface PackVideosOptions {
  annotation: Annotation;
  out: string;
  /** Frames per clip. Defaults to 16. */
  frames?: number;
  /** Temporal stride. Defaults to 4. */
  rate?: number;
  /** Clip side in pixels (short side, then centre square crop). Defaults to 224. */
  size?: number;
  /** Clips per video. Defaults to 1. */
  clipsPerVideo?: number;
  /** Concurrent ffmpeg processes. Defaults to cores - 1. */
  jobs?: number;
  /** Defaults to 256 MiB. */
  maxShardBytes?: number;
  /** Per-process timeout. Defaults to 60000 ms. */
  timeoutMs?: number;
  /**
   * Pack videos with fewer frames than a clip (`frames`), repeating frames to fill it; each is
   * listed in the report's `padded`. Defaults to false: they are skipped and listed in `errors`.
   */
  keepShort?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export async function packVideos(opts: PackVideosOptions): Promise<PackReport> {
  const t0 = performance.now();
  const frames = opts.frames ?? 16;
  const rate = opts.rate ?? 4;
  const size = opts.size ?? 224;
  const views = opts.clipsPerVideo ?? 1;
  const ann = opts.annotation;
  // The same video twice: with two labels the dataset contradicts itself (stop, naming both); with
  // one, the repeat is skipped and listed.
  const firstAt = new Map<string, number>();
  const repeats: PackError[] = [];
  const entries = ann.entries.filter((e, i) => {
    const j = firstAt.get(e.path);
    if (j === undefined) {
      firstAt.set(e.path, i);
      return true;
    }
    const a = ann.entries[j]!;
    if (a.label !== e.label) {
      throw new DataError('ERR_DATA_DUPLICATE', `${e.path} is listed twice with different labels: entry ${j + 1} (label ${a.label}) and entry ${i + 1} (label ${e.label}) of the ${ann.dataset} list`);
    }
    repeats.push({ file: e.path, reason: `duplicate: listed again (entry ${i + 1}, first as entry ${j + 1}, same label); packed once` });
    return false;
  });
  const writer = new ShardWriter(opts.out, {
    dataset: ann.dataset,
    classNames: ann.classNames,
    ...(opts.maxShardBytes !== undefined ? { maxShardBytes: opts.maxShardBytes } : {}),
  });
  const pool = new DecodePool(opts.jobs);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const errors: PackError[] = [...ann.issues.map((i) => ({ file: i.line !== undefined ? `${i.file}:${i.line}` : i.entry !== undefined ? `${i.file}[${i.entry}]` : i.file, reason: i.reason })), ...repeats];
  const padded: PackError[] = [];
  let packed = 0;
  let already = 0;
  let badVideos = 0;
  let done = 0;
  let lastFlush = performance.now();
  let flushMs = 0;
  let next = 0;

  const one = async (path: string, label: number): Promise<void> => {
    const keys = Array.from({ length: views }, (_, k) => `${path}#${k}`);
    if (keys.every((k) => writer.has(k))) {
      already += views;
      return;
    }
    const info = await pool.probe(path, { timeoutMs });
    if (!info.ok) {
      badVideos++;
      errors.push({ file: path, reason: `${info.kind}: ${info.reason}` });
      return;
    }
    if (info.frames < frames) {
      const what = `${info.frames} frame${info.frames === 1 ? '' : 's'}, a clip needs ${frames}`;
      if (!opts.keepShort) {
        badVideos++;
        errors.push({ file: path, reason: `short: ${what} (keepShort / --keep-short packs it with frames repeated)` });
        return;
      }
      padded.push({ file: path, reason: `short: ${what}; frames repeated to fill the clip` });
    }
    const windows = testClipIndices(info.frames, frames, rate, views);
    const all = windows.flat();
    const r = await pool.decode(path, { indices: all, info, shortSide: size, square: true, timeoutMs });
    if (!r.ok) {
      badVideos++;
      errors.push({ file: path, reason: `${r.kind}: ${r.reason}` });
      return;
    }
    const clipBytes = frames * size * size * 3;
    windows.forEach((w, k) => {
      if (writer.has(keys[k]!)) {
        already++;
        return;
      }
      writer.append({ key: keys[k]!, shape: [frames, size, size, 3], label, source: path, frames: w }, r.data.subarray(k * clipBytes, (k + 1) * clipBytes));
      packed++;
    });
    // Flush (fsync + index rewrite) every 2 s, or less often when the index is large: at most ~5% of
    // the time goes to rewriting it.
    if (performance.now() - lastFlush > Math.max(2000, 20 * flushMs)) {
      const f0 = performance.now();
      writer.flush();
      lastFlush = performance.now();
      flushMs = lastFlush - f0;
    }
  };

  const workers = Array.from({ length: Math.min(pool.concurrency, Math.max(1, entries.length)) }, async () => {
    while (next < entries.length) {
      const e = entries[next++]!;
      await one(e.path, e.label);
      opts.onProgress?.(++done, entries.length);
    }
  });
  try {
    await Promise.all(workers);
  } finally {
    writer.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    packed,
    skipped: badVideos + ann.issues.length + repeats.length,
    alreadyPacked: already,
    errors,
    padded,
    shards: writer.index.shards.length,
    clips: writer.count,
    clipsPerS: packed / Math.max(seconds, 1e-9),
    seconds,
    out: opts.out,
  };
}

export interface PackSyntheticOptions {
  synthetic: SyntheticOptions;
  out: string;
  /** Clips to pack (indices 0..count-1). Defaults to the dataset length. */
  count?: number;
  maxShardBytes?: number;
}

/** Renders synthetic clips (with their motion maps) into shards: for readers and benchmarks without ffmpeg. */
export function packSynthetic(opts: PackSyntheticOptions): PackReport {
  const t0 = performance.now();
  const ds = new SyntheticMotionDataset(opts.synthetic);
  const writer = new ShardWriter(opts.out, {
    dataset: 'synthetic',
    classNames: [...ds.classNames],
    ...(opts.maxShardBytes !== undefined ? { maxShardBytes: opts.maxShardBytes } : {}),
  });
  const n = Math.min(opts.count ?? ds.length, ds.length);
  let packed = 0;
  let already = 0;
  // A look other than the default is part of every key (and so recorded in index.json), so that a
  // resumed pack never mixes looks.
  const look = isDefaultStyle(ds.style) ? '' : `:style=${JSON.stringify(ds.style)}`;
  const clip = new Uint8Array(ds.clipBytes);
  const motion = new Uint8Array(ds.tokens);
  try {
    for (let i = 0; i < n; i++) {
      const key = `synthetic:${ds.seed}:${ds.split}:${ds.frames}x${ds.size}${look}:${i}`;
      if (writer.has(key)) {
        already++;
        continue;
      }
      const label = ds.renderInto(i, clip, motion);
      writer.append({ key, shape: [ds.frames, ds.size, ds.size, 3], label, source: key }, clip, motion);
      packed++;
      if (packed % 256 === 0) writer.flush();
    }
  } finally {
    writer.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { packed, skipped: 0, alreadyPacked: already, errors: [], padded: [], shards: writer.index.shards.length, clips: writer.count, clipsPerS: packed / Math.max(seconds, 1e-9), seconds, out: opts.out };
}

export { formatIssue };
