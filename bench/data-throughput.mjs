#!/usr/bin/env node
// Data throughput: clips/s decoding video files with ffmpeg (per process = per core) and clips/s
// reading uint8 clip shards (pread + crc32, one thread and through the worker loader).
// Runs on the compiled package: `npm run build:ts && node bench/data-throughput.mjs [--record]`.
// Options: --clips N (decode clips per setting, default 24), --shard-clips N (default 240), --no-decode,
//          --size PX (default 224), --frames N (default 16), --record (write bench/records/<date>-data-throughput.md)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const data = await import(join(root, 'dist', 'lib', 'data', 'index.js'));
const { DecodePool, DataLoader, ShardReader, denseIndices, findFfmpeg, packSynthetic, pretrainAugment, seededRand } = data;

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const record = process.argv.includes('--record');
const CLIPS = arg('clips', 24);
const SHARD_CLIPS = arg('shard-clips', 240);
const SIZE = arg('size', 224);
const FRAMES = arg('frames', 16);
const clipBytes = FRAMES * SIZE * SIZE * 3;
const work = mkdtempSync(join(tmpdir(), 'tats-bench-data-'));
const results = { decode: [], shards: [] };
const log = (s) => process.stderr.write(s + '\n');

// ---- decode ------------------------------------------------------------------------------------
// K400-like source: 426x320 (VideoMAE's 320p), 30 fps, 10 s, H.264 CRF 23, two GOP lengths.
// Skipped with --no-decode or when there is no ffmpeg (shards need none).
const ff = findFfmpeg();
const doDecode = !process.argv.includes('--no-decode') && ff !== undefined;
if (!doDecode) log(ff ? 'decode: skipped (--no-decode)' : 'decode: skipped (no ffmpeg found)');
const videos = {};
for (const gop of doDecode ? [60, 16] : []) {
  const p = join(work, `src-g${gop}.mp4`);
  execFileSync(ff.ffmpeg, ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=426x320:r=30:d=10', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-g', String(gop), '-pix_fmt', 'yuv420p', p]);
  videos[gop] = p;
}
for (const gop of doDecode ? [60, 16] : []) {
  for (const conc of [1, 2]) {
    const pool = new DecodePool(conc);
    const info = await pool.probe(videos[gop]);
    if (!info.ok) throw new Error(info.reason);
    const rand = seededRand(gop * 10 + conc);
    const out = new Uint8Array(clipBytes);
    let augMs = 0;
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: conc }, async () => {
        while (next < CLIPS) {
          next++;
          const indices = denseIndices(info.frames, FRAMES, 4, rand);
          const r = await pool.decode(videos[gop], { indices, info, shortSide: Math.round((SIZE * 8) / 7) });
          if (!r.ok) throw new Error(r.reason);
          const a = performance.now();
          pretrainAugment(r.data, FRAMES, r.height, r.width, SIZE, rand, { out });
          augMs += performance.now() - a;
        }
      }),
    );
    const s = (performance.now() - t0) / 1000;
    const row = { source: `426x320 h264 gop ${gop}, ${info.frames} frames`, processes: conc, clips: CLIPS, clipsPerS: CLIPS / s, clipsPerSPerProcess: CLIPS / s / conc, augmentMsPerClip: augMs / CLIPS };
    results.decode.push(row);
    log(`decode ${FRAMES}x4 -> ${SIZE}: gop ${gop}, ${conc} process(es): ${row.clipsPerS.toFixed(2)} clips/s (augment ${row.augmentMsPerClip.toFixed(1)} ms/clip)`);
  }
}

// ---- shards ------------------------------------------------------------------------------------
const dir = join(work, 'shards');
const packed = packSynthetic({ synthetic: { seed: 0, frames: FRAMES, size: SIZE, length: SHARD_CLIPS }, out: dir });
log(`packed ${packed.packed} synthetic ${FRAMES}x${SIZE} clips (${((packed.packed * clipBytes) / 1e9).toFixed(2)} GB) at ${packed.clipsPerS.toFixed(0)} clips/s`);
const B = 8;
const shuffle = (order, seed) => {
  const r = seededRand(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
};
for (const verify of ['always', 'once', 'never']) {
  const rd = new ShardReader(dir, { verify });
  const order = Array.from({ length: rd.length }, (_, i) => i);
  // one untimed pass (page cache; for 'once' it is the verifying pass), then 2 timed passes
  for (let s = 0; s + B <= order.length; s += B) rd.readBatch(order.slice(s, s + B));
  let n = 0;
  const t0 = performance.now();
  for (let pass = 0; pass < 2; pass++) {
    shuffle(order, pass);
    for (let s = 0; s + B <= order.length; s += B) {
      rd.readBatch(order.slice(s, s + B));
      n += B;
    }
  }
  const s = (performance.now() - t0) / 1000;
  rd.close();
  const what = { always: 'crc32 on every read', once: "crc32 'once' (steady state after the verifying first pass)", never: 'no crc32' }[verify];
  const row = { reader: `ShardReader.readBatch, 1 thread, ${what}`, clipsPerS: n / s, GBps: (n * clipBytes) / s / 1e9 };
  results.shards.push(row);
  log(`${row.reader}: ${row.clipsPerS.toFixed(0)} clips/s, ${row.GBps.toFixed(2)} GB/s`);
}
for (const [workers, verify, recycle] of [[1, 'always', false], [2, 'always', false], [1, 'once', false], [2, 'once', false], [1, 'once', true], [2, 'once', true]]) {
  // 3 epochs; the first (worker start-up, and the verifying pass for 'once') is not timed
  const l = new DataLoader({ source: { kind: 'shards', dir, verify }, batchSize: B, workers, epochs: 3, prefetch: 4 });
  let n = 0;
  let t0 = 0;
  for await (const b of l) {
    if (b.epoch === 0) {
      t0 = performance.now();
      continue;
    }
    n += b.labels.length;
    if (recycle) l.recycle(b);
  }
  const s = (performance.now() - t0) / 1000;
  await l.close();
  const row = { reader: `DataLoader, ${workers} worker thread(s), crc32 ${verify === 'always' ? 'on every read' : "'once' (steady state)"}, transferred batches of ${B}${recycle ? ', buffers recycled' : ''}`, clipsPerS: n / s, GBps: (n * clipBytes) / s / 1e9 };
  results.shards.push(row);
  log(`${row.reader}: ${row.clipsPerS.toFixed(0)} clips/s, ${row.GBps.toFixed(2)} GB/s`);
}
rmSync(work, { recursive: true, force: true });

// ---- report ------------------------------------------------------------------------------------
const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const ffmpeg = ff ? execFileSync(ff.ffmpeg, ['-version'], { encoding: 'utf8' }).split('\n')[0].replace(/ Copyright.*/, '') : 'no ffmpeg';
const device = `${cpus()[0]?.model ?? 'cpu'} x ${cpus().length} cores, node ${process.version}, ${ffmpeg}`;
const date = new Date().toISOString();
const summary = { date, commit, device, frames: FRAMES, size: SIZE, ...results };
process.stdout.write(JSON.stringify(summary) + '\n');
if (record) {
  const md = [
    `# Data throughput (${FRAMES}x${SIZE}x${SIZE} uint8 clips)`,
    '',
    `- date: ${date}`,
    `- commit: ${commit}`,
    `- device: ${device}`,
    `- command: \`npm run build:ts && node bench/data-throughput.mjs --record\``,
    '',
    '## Decoding video files (ffmpeg child processes, 16x4 dense clips, short side scaled in ffmpeg, multi-scale crop in JS)',
    '| source | processes | clips/s | clips/s per process | augment ms/clip |',
    '|---|---|---|---|---|',
    ...results.decode.map((r) => `| ${r.source} | ${r.processes} | ${r.clipsPerS.toFixed(2)} | ${r.clipsPerSPerProcess.toFixed(2)} | ${r.augmentMsPerClip.toFixed(1)} |`),
    '',
    `## Reading shards (${SHARD_CLIPS} synthetic clips, ${((SHARD_CLIPS * clipBytes) / 1e9).toFixed(2)} GB, page cache)`,
    '| reader | clips/s | GB/s |',
    '|---|---|---|',
    ...results.shards.map((r) => `| ${r.reader} | ${r.clipsPerS.toFixed(0)} | ${r.GBps.toFixed(2)} |`),
    '',
  ].join('\n');
  const file = join(root, 'bench', 'records', `${date.slice(0, 10)}-data-throughput.md`);
  writeFileSync(file, md);
  log(`wrote ${file}`);
}
