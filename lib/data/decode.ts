/**
 * Video decoding through ffmpeg child processes: one process per clip, single-threaded, seeking on
 * its input and converting only the frames asked for to raw rgb24 through a pipe. Processes are
 * isolated, so a corrupt file cannot crash the caller: every failure (missing, empty, truncated,
 * undecodable, timed out) comes back as a typed result naming the file and the reason.
 *
 * The binary is found by ffmpeg.ts; failures are typed and classified by decode-failure.ts.
 */
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';

import { DataError } from '../errors/index.js';
import { classify, errorLine, fail, firstErrorLine, statFailure, type DecodeFailure } from './decode-failure.js';
import { requireFfmpeg } from './ffmpeg.js';
import { containerCut } from './container-check.js';

export { findFfmpeg, requireFfmpeg, setFfmpeg, type FfmpegBinaries } from './ffmpeg.js';
export type { DecodeFailure, FailureKind } from './decode-failure.js';

export interface VideoInfo {
  ok: true;
  file: string;
  /** Frame count (demuxed packets when ffprobe is there, else duration x fps). */
  frames: number;
  fps: number;
  width: number;
  height: number;
  /** Seconds. */
  duration: number;
  codec: string;
}

export type ProbeResult = VideoInfo | DecodeFailure;

export interface DecodedFrames {
  ok: true;
  file: string;
  /** uint8 [indices.length, height, width, 3], in the order of the indices asked for. */
  data: Uint8Array;
  width: number;
  height: number;
  /** Frame indices decoded (after clamping to the video). */
  indices: number[];
}

export type DecodeResult = DecodedFrames | DecodeFailure;

/** Output geometry: exact size, or short side (optionally centre-cropped to a square). Defaults to native. */
export interface Resize {
  width?: number;
  height?: number;
  /** Scale so the short side is this many pixels (keeps aspect). */
  shortSide?: number;
  /** With shortSide: centre-crop to shortSide x shortSide. */
  square?: boolean;
}

export interface DecodeOptions extends Resize {
  /** Frame indices (0-based) to return, in order; duplicates are decoded once. */
  indices: number[];
  /** Probe result, if already known (saves one process). */
  info?: VideoInfo;
  /** Kill the process after this long. Defaults to 30000 ms. */
  timeoutMs?: number;
}

interface RunOut {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
  spawnError?: Error;
}

function run(bin: string, args: string[], timeoutMs: number, sink?: (chunk: Buffer) => void): Promise<RunOut> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => (sink ? sink(c) : out.push(c)));
    child.stderr.on('data', (c: Buffer) => {
      if (err.length < 65536) err += c.toString('utf8');
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout: Buffer.alloc(0), stderr: err, timedOut, spawnError: e });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err, timedOut });
    });
  });
}

function parseRate(r: unknown): number {
  if (typeof r !== 'string') return 0;
  const [a, b] = r.split('/').map(Number);
  if (!a || !Number.isFinite(a)) return 0;
  return b ? a / b : a;
}

/** Frame count, rate, size and codec of the first video stream. */
export async function probe(file: string, opts: { timeoutMs?: number } = {}): Promise<ProbeResult> {
  const bad = statFailure(file);
  if (bad) return bad;
  const bins = requireFfmpeg();
  const timeoutMs = opts.timeoutMs ?? 30_000;
  if (bins.ffprobe) {
    const r = await run(
      bins.ffprobe,
      ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries',
        'stream=codec_name,width,height,nb_frames,nb_read_packets,avg_frame_rate,r_frame_rate,duration:format=duration', '-of', 'json', file],
      timeoutMs,
    );
    if (r.timedOut) return fail(file, 'timeout', `ffprobe took longer than ${timeoutMs} ms`);
    if (r.spawnError) throw new DataError('ERR_FFMPEG_MISSING', `cannot run ${bins.ffprobe}: ${r.spawnError.message}`);
    if (r.code !== 0) return classify(file, r.stderr);
    let j: { streams?: Array<Record<string, unknown>>; format?: Record<string, unknown> };
    try {
      j = JSON.parse(r.stdout.toString('utf8'));
    } catch {
      return fail(file, 'undecodable', 'ffprobe printed no JSON');
    }
    const s = j.streams?.[0];
    if (!s) return fail(file, 'undecodable', 'no video stream');
    const fps = parseRate(s.avg_frame_rate) || parseRate(s.r_frame_rate);
    const duration = Number(s.duration ?? j.format?.duration ?? 0) || 0;
    const packets = Number(s.nb_read_packets ?? 0);
    const nb = Number(s.nb_frames ?? 0);
    const frames = packets > 0 ? packets : nb > 0 ? nb : Math.round(duration * fps);
    const width = Number(s.width ?? 0);
    const height = Number(s.height ?? 0);
    if (!(frames > 0) || !(width > 0) || !(height > 0)) {
      return fail(file, r.stderr.trim() ? 'truncated' : 'undecodable', `no decodable frames (${frames} frames, ${width}x${height})${r.stderr.trim() ? `: ${errorLine(r.stderr, file)}` : ''}`);
    }
    // Damage the demuxer sees while counting packets (the whole file is read): frames missing
    // against the header or the duration (a cut-off file whose index was written first), or
    // errors from the parsers (bytes overwritten mid-file).
    const expected = Math.round(duration * fps);
    if (packets > 0 && nb > packets) {
      return fail(file, 'truncated', `${packets} of the ${nb} frames its header lists are in the file (it ends early)${r.stderr.trim() ? `: ${firstErrorLine(r.stderr)}` : ''}`);
    }
    if (packets > 0 && expected > packets + 2 && packets < 0.9 * expected) {
      // Fewer packets than the duration needs is a cut file only if they end early: streams that
      // leave out repeated frames (Theora's dropped frames, variable rate) have gaps but reach
      // the end. Their frames are indexed as decoded; seeking at the nominal rate still leaves
      // enough of them after the seek point (at most one frame per 1/fps before it).
      const end = await lastPacketEnd(bins.ffprobe, file, timeoutMs);
      if (end === undefined || end < duration - 1.5 / (fps || 25)) {
        return fail(
          file,
          'truncated',
          `${packets} frames in the file where its duration (${duration.toFixed(2)} s at ${fps.toFixed(2)} fps) needs about ${expected}${end === undefined ? '' : `, and they end at ${end.toFixed(2)} s`}`,
        );
      }
    }
    if (r.stderr.trim()) return fail(file, 'corrupt', `damaged data (ffprobe: ${firstErrorLine(r.stderr)})`);
    const cut = containerCut(file);
    if (cut) return fail(file, 'truncated', cut);
    return { ok: true, file, frames, fps: fps || 25, width, height, duration: duration || frames / (fps || 25), codec: String(s.codec_name ?? '') };
  }
  // No ffprobe: parse `ffmpeg -i` (it exits 1 because no output is given; the header is on stderr).
  const r = await run(bins.ffmpeg, ['-hide_banner', '-nostdin', '-i', file], timeoutMs);
  if (r.timedOut) return fail(file, 'timeout', `ffmpeg -i took longer than ${timeoutMs} ms`);
  if (r.spawnError) throw new DataError('ERR_FFMPEG_MISSING', `cannot run ${bins.ffmpeg}: ${r.spawnError.message}`);
  const dur = /Duration: (\d+):(\d+):([\d.]+)/.exec(r.stderr);
  const vid = /Stream #\S+.*Video: (\w+).*?, (\d{2,5})x(\d{2,5})[^\n]*?([\d.]+) fps/.exec(r.stderr);
  if (!vid) return classify(file, r.stderr.replace(/At least one output file must be specified\s*$/, ''));
  const duration = dur ? Number(dur[1]) * 3600 + Number(dur[2]) * 60 + Number(dur[3]) : 0;
  const fps = Number(vid[4]);
  const frames = Math.round(duration * fps);
  if (!(frames > 0)) return fail(file, 'undecodable', 'no duration in the header');
  const cut = containerCut(file);
  if (cut) return fail(file, 'truncated', cut);
  return { ok: true, file, frames, fps, width: Number(vid[2]), height: Number(vid[3]), duration, codec: vid[1]! };
}

/** End time (s) of the last video packet of the file (pts + duration), or undefined when none has a time. */
async function lastPacketEnd(ffprobe: string, file: string, timeoutMs: number): Promise<number | undefined> {
  const r = await run(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', file], timeoutMs);
  if (r.code !== 0 || r.timedOut) return undefined;
  let end: number | undefined;
  for (const line of r.stdout.toString('utf8').split('\n')) {
    const [pts, dur] = line.split(',').map(Number);
    if (pts === undefined || !Number.isFinite(pts)) continue;
    const e = pts + (dur !== undefined && Number.isFinite(dur) ? dur : 0);
    if (end === undefined || e > end) end = e;
  }
  return end;
}

/**
 * The lines of an ffmpeg run at `-loglevel level+info` that report damage: errors, and the
 * decoder's concealment of broken macroblocks, which it logs at info level (at `-loglevel error`
 * a slice with garbage in it can decode with no word, in ffmpeg builds before Debian's
 * 5.1.9-0+deb12u1). Tags removed.
 */
function damageLines(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => /\[(error|fatal|panic)\]/.test(l) || /concealing \d+ DC|corrupt decoded frame/.test(l))
    .map((l) => l.replace(/\[(info|warning|error|fatal|panic)\] /, ''))
    .join('\n');
}

/** Output size for a resize request on a w x h source, and the ffmpeg filter chain for it. */
export function outputGeometry(w: number, h: number, r: Resize): { width: number; height: number; filter: string } {
  if (r.width !== undefined && r.height !== undefined) {
    return { width: r.width, height: r.height, filter: `scale=${r.width}:${r.height}:flags=bilinear` };
  }
  if (r.shortSide !== undefined) {
    const s = r.shortSide;
    const sw = w <= h ? s : Math.max(s, Math.round((w * s) / h / 2) * 2);
    const sh = w <= h ? Math.max(s, Math.round((h * s) / w / 2) * 2) : s;
    if (r.square) return { width: s, height: s, filter: `scale=${sw}:${sh}:flags=bilinear,crop=${s}:${s}` };
    return { width: sw, height: sh, filter: `scale=${sw}:${sh}:flags=bilinear` };
  }
  return { width: w, height: h, filter: 'null' };
}

/**
 * Decodes the frames `indices` of `file` to rgb24 (see DecodeOptions). Indices beyond the video
 * are clamped to its last frame. Never throws for a bad video; throws DataError only when ffmpeg
 * itself is missing.
 */
export async function decodeFrames(file: string, opts: DecodeOptions): Promise<DecodeResult> {
  const info = opts.info ?? (await probe(file, opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}));
  if (!info.ok) return info;
  const bad = opts.info ? statFailure(file) : undefined;
  if (bad) return bad;
  const bins = requireFfmpeg();
  const timeoutMs = opts.timeoutMs ?? 30_000;
  if (opts.indices.length === 0) return fail(file, 'undecodable', 'no frame indices asked for');
  const indices = opts.indices.map((i) => Math.min(info.frames - 1, Math.max(0, Math.floor(i))));
  const uniq = [...new Set(indices)].sort((a, b) => a - b);
  const first = uniq[0]!;
  const geo = outputGeometry(info.width, info.height, opts);
  const frameBytes = geo.width * geo.height * 3;
  // Input seek to just before the first frame (CFR: t = index / fps); n then counts from it.
  const seek = first > 0 ? ['-ss', ((first - 0.5) / info.fps).toFixed(6)] : [];
  const sel = uniq.map((i) => `eq(n\\,${i - first})`).join('+');
  const vf = `select='${sel}',${geo.filter}`;
  const args = [
    '-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+info', '-threads', '1', '-filter_threads', '1',
    ...seek, '-i', file, '-an', '-sn', '-dn', '-map', '0:v:0', '-vf', vf, '-vsync', '0',
    '-frames:v', String(uniq.length), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ];
  const want = uniq.length * frameBytes;
  const buf = Buffer.allocUnsafe(want);
  let got = 0;
  const ran = await run(bins.ffmpeg, args, timeoutMs, (c) => {
    const n = Math.min(c.length, want - got);
    if (n > 0) c.copy(buf, got, 0, n);
    got += c.length;
  });
  const r = { ...ran, stderr: damageLines(ran.stderr) };
  if (r.spawnError) throw new DataError('ERR_FFMPEG_MISSING', `cannot run ${bins.ffmpeg}: ${r.spawnError.message}`);
  if (r.timedOut) return fail(file, 'timeout', `decoding took longer than ${timeoutMs} ms`);
  if (got < want) {
    const frames = Math.floor(got / frameBytes);
    if (r.code !== 0 && frames === 0) return classify(file, r.stderr);
    // With errors on stderr the frames are there but do not decode (damage); without, they are missing.
    return fail(file, r.stderr.trim() ? 'corrupt' : 'truncated', `decoded ${frames} of ${uniq.length} frames (asked for frames ${uniq[0]}..${uniq[uniq.length - 1]} of ${info.frames})${r.stderr.trim() ? `: ${errorLine(r.stderr, file)}` : ''}`);
  }
  // Any damage line is a decode error in the frames used (concealed macroblocks, broken NAL
  // units), which would otherwise pass as a plausible, wrong clip.
  if (r.code !== 0 || r.stderr.trim()) {
    return fail(file, 'corrupt', `decode errors in frames ${uniq[0]}..${uniq[uniq.length - 1]}: ${firstErrorLine(r.stderr) || `ffmpeg exited with ${r.code}`}`);
  }
  // Lay the frames out in the order asked for (duplicates copied).
  const data = new Uint8Array(indices.length * frameBytes);
  const slot = new Map(uniq.map((v, k) => [v, k]));
  indices.forEach((v, k) => {
    const s = slot.get(v)!;
    data.set(buf.subarray(s * frameBytes, (s + 1) * frameBytes), k * frameBytes);
  });
  return { ok: true, file, data, width: geo.width, height: geo.height, indices };
}

/** Runs at most `concurrency` ffmpeg processes at once; excess calls wait in order. */
export class DecodePool {
  readonly concurrency: number;
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  /** `concurrency` defaults to the number of cores minus one (at least 1). */
  constructor(concurrency?: number) {
    this.concurrency = Math.max(1, Math.floor(concurrency ?? Math.max(1, cpus().length - 1)));
  }

  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) await new Promise<void>((res) => this.waiting.push(res));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  probe(file: string, opts: { timeoutMs?: number } = {}): Promise<ProbeResult> {
    return this.slot(() => probe(file, opts));
  }

  /** Probe (unless opts.info is given) and decode, each step holding one slot. */
  async decode(file: string, opts: DecodeOptions): Promise<DecodeResult> {
    const info = opts.info ?? (await this.probe(file, opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}));
    if (!info.ok) return info;
    return this.slot(() => decodeFrames(file, { ...opts, info }));
  }
}
