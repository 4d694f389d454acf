#!/usr/bin/env node
// The damaged-input zoo of docs/reliability.md (issue 18): makes damaged and odd videos with
// ffmpeg, bad list files and damaged shard sets, runs each through `tats pack`, the shard reader
// and `tats pretrain` (stop and skip), and prints a markdown table of input -> outcome.
//
//   npx tsc -p tsconfig.json && node bench/damage-zoo.mjs [--record FILE] [--keep]
//
// Every row is one run of the built CLI (dist/cli/tats.js) on that input alone, so an outcome is
// the input's. Paths in the table are relative to the zoo's temporary folder. Needs ffmpeg with
// libx264, libvpx-vp9, libx265 and libaom-av1 (scripts/setup.sh installs Debian's); a missing
// encoder skips its row. --record FILE also writes the markdown there; --keep leaves the zoo.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'tats.js');
if (!existsSync(cli)) {
  process.stderr.write('damage-zoo: dist/ is not built: run `npx tsc -p tsconfig.json` first\n');
  process.exit(2);
}
const { ShardReader, readShardIndex } = await import(join(root, 'dist', 'lib', 'data', 'index.js'));

const argv = process.argv.slice(2);
const recordAt = argv.includes('--record') ? argv[argv.indexOf('--record') + 1] : undefined;
const keep = argv.includes('--keep');
const zoo = mkdtempSync(join(tmpdir(), 'tats-zoo-'));
const log = (s) => process.stderr.write(s + '\n');
const started = Date.now();

// ---- helpers -------------------------------------------------------------------------------------
const encoders = spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' }).stdout;
const hasEncoder = (name) => new RegExp(`^ \\S+ ${name} `, 'm').test(encoders);
function ffmpeg(args) {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}
/** A test pattern video: `frames` frames of w x h at 25 fps. */
function video(name, { frames = 60, w = 64, h = 48, codec = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'], extra = [], src = 'testsrc2' } = {}) {
  const p = join(zoo, 'v', name);
  mkdirSync(dirname(p), { recursive: true });
  ffmpeg(['-f', 'lavfi', '-i', `${src}${src.includes('=') ? ':' : '='}s=${w}x${h}:r=25`, '-frames:v', String(frames), ...codec, ...extra, p]);
  return p;
}
function copy(from, name) {
  const p = join(zoo, 'v', name);
  copyFileSync(from, p);
  return p;
}
function cut(from, name, share) {
  const p = copy(from, name);
  truncateSync(p, Math.floor(statSync(p).size * share));
  return p;
}
/** Overwrites `n` bytes at `share` of the file with a fixed pattern. */
function corrupt(from, name, share, n) {
  const p = copy(from, name);
  const b = readFileSync(p);
  const at = Math.floor(b.length * share);
  for (let i = 0; i < n && at + i < b.length; i++) b[at + i] = (i * 2654435761) >>> 24;
  writeFileSync(p, b);
  return p;
}
const short = (s) =>
  String(s)
    .split(zoo + '/').join('')
    .split(zoo).join('<zoo>')
    .replace(/\s+/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
const clip = (s, n = 240) => (s.length > n ? s.slice(0, n - 3) + '...' : s);
function tats(args, timeoutMs = 180_000) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: zoo, encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: Date.now() - t0 };
}
/** The error line of a failed CLI run (`tats: ERR_...: message`). */
const errorOf = (r) => r.stderr.split('\n').find((l) => /ERR_[A-Z_]+/.test(l)) ?? r.stderr.trim().split('\n').at(-1) ?? '';

// ---- videos -------------------------------------------------------------------------------------
log(`damage-zoo: making videos in ${zoo}`);
const good = video('good.mp4');
const goodFast = join(zoo, 'v', 'good-faststart.mp4');
ffmpeg(['-i', good, '-c', 'copy', '-movflags', '+faststart', goodFast]);
const goodMkv = video('good.mkv', { frames: 60, codec: ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'] });
const longer = video('long.mp4', { frames: 250, w: 160, h: 120 });

/** [name, how it was made, path or null when it could not be made]. */
const videos = [];
const add = (how, make, need) => {
  if (need && !hasEncoder(need)) {
    videos.push({ how, path: null, note: `encoder ${need} missing` });
    return;
  }
  try {
    videos.push({ how, path: make() });
  } catch (err) {
    videos.push({ how, path: null, note: `could not be made: ${String(err.stderr ?? err.message).trim().split('\n')[0]}` });
  }
};
add('intact: H.264 mp4, 60 frames of 64x48 (control)', () => good);
add('intact: the same, fast start (index first)', () => goodFast);
for (const s of [0.1, 0.5, 0.9, 0.99]) add(`cut at ${s * 100}% (index at the end: no moov)`, () => cut(good, `cut-${s * 100}.mp4`, s));
for (const s of [0.1, 0.3, 0.6, 0.9]) add(`fast start, cut at ${s * 100}%`, () => cut(goodFast, `cut-fast-${s * 100}.mp4`, s));
add('250 frames of 160x120, fast start, cut at 50%', () => {
  const f = join(zoo, 'v', 'long-fast.mp4');
  ffmpeg(['-i', longer, '-c', 'copy', '-movflags', '+faststart', f]);
  return cut(f, 'cut-long-fast-50.mp4', 0.5);
});
add('Matroska cut at 50% (no index needed)', () => cut(goodMkv, 'cut-50.mkv', 0.5));
add('4 KB overwritten at 50%', () => corrupt(good, 'corrupt-4k-50.mp4', 0.5, 4096));
add('64 bytes overwritten at 30%', () => corrupt(good, 'corrupt-64-30.mp4', 0.3, 64));
add('4 KB overwritten at 50% of a 250-frame fast-start file', () => {
  const f = join(zoo, 'v', 'long-fast2.mp4');
  ffmpeg(['-i', longer, '-c', 'copy', '-movflags', '+faststart', f]);
  return corrupt(f, 'corrupt-long-50.mp4', 0.5, 4096);
});
add('first 64 bytes overwritten (container header)', () => corrupt(good, 'corrupt-head.mp4', 0, 64));
add('0 video frames (a video track without samples)', () => video('frames0.mp4', { frames: 0 }));
add('audio only (no video stream)', () => {
  const p = join(zoo, 'v', 'audio-only.m4a');
  ffmpeg(['-f', 'lavfi', '-i', 'sine=d=2', '-c:a', 'aac', p]);
  return p;
});
add('1 frame', () => video('frames1.mp4', { frames: 1 }));
add('2 frames', () => video('frames2.mp4', { frames: 2 }));
add('15 frames (a clip of 16 at stride 2 needs 31)', () => video('frames15.mp4', { frames: 15 }));
add('huge: 7680x4320 H.264, 32 frames', () => video('huge-8k.mp4', { frames: 32, w: 7680, h: 4320, extra: ['-preset', 'ultrafast'] }));
add('huge: 8192x8192 FFV1, 2 frames', () => video('huge-8192.mkv', { frames: 2, w: 8192, h: 8192, codec: ['-c:v', 'ffv1'], src: 'color=c=red' }), 'ffv1');
add('tiny: 2x2 H.264, 60 frames', () => video('tiny-2x2.mp4', { w: 2, h: 2 }));
add('tiny: 3x3 FFV1 (odd size), 60 frames', () => video('tiny-3x3.mkv', { w: 3, h: 3, codec: ['-c:v', 'ffv1'], src: 'color=c=blue' }), 'ffv1');
add('extreme aspect: 4096x2 H.264', () => video('wide-4096x2.mp4', { w: 4096, h: 2, frames: 40 }));
add('VP9 WebM', () => video('vp9.webm', { codec: ['-c:v', 'libvpx-vp9', '-deadline', 'realtime'] }), 'libvpx-vp9');
add('HEVC mp4', () => video('hevc.mp4', { codec: ['-c:v', 'libx265', '-x265-params', 'log-level=error'] }), 'libx265');
add('AV1 mp4 (libaom)', () => video('av1.mp4', { frames: 40, codec: ['-c:v', 'libaom-av1', '-cpu-used', '8'] }), 'libaom-av1');
add('MPEG-4 part 2 AVI', () => video('mpeg4.avi', { codec: ['-c:v', 'mpeg4'] }), 'mpeg4');
add('MJPEG AVI', () => video('mjpeg.avi', { codec: ['-c:v', 'mjpeg'] }), 'mjpeg');
add('ProRes MOV', () => video('prores.mov', { codec: ['-c:v', 'prores'] }), 'prores');
add('FFV1 MKV (lossless)', () => video('ffv1.mkv', { codec: ['-c:v', 'ffv1'] }), 'ffv1');
add('Theora Ogg', () => video('theora.ogv', { codec: ['-c:v', 'libtheora'] }), 'libtheora');
add('Theora Ogg cut at 50%', () => cut(video('theora-c.ogv', { codec: ['-c:v', 'libtheora'] }), 'cut-50.ogv', 0.5), 'libtheora');
add('Theora Ogg cut just before its last page (every page whole)', () => {
  const p = copy(video('theora-p.ogv', { codec: ['-c:v', 'libtheora'] }), 'cut-page.ogv');
  truncateSync(p, readFileSync(p).lastIndexOf('OggS'));
  return p;
}, 'libtheora');
add('animated GIF', () => video('anim.gif', { codec: [] }), 'gif');
add('raw video in AVI', () => video('raw.avi', { codec: ['-c:v', 'rawvideo', '-pix_fmt', 'bgr24'] }), 'rawvideo');
add('H.264 10-bit 4:4:4', () => video('h264-444-10.mp4', { codec: ['-c:v', 'libx264', '-pix_fmt', 'yuv444p10le'] }));
add('MPEG-2 TS', () => video('mpeg2.ts', { codec: ['-c:v', 'mpeg2video'] }), 'mpeg2video');
add('one PNG image', () => video('image.png', { frames: 1, codec: [] }));
add('rotated 90 degrees (display matrix)', () => {
  const p = join(zoo, 'v', 'rotated.mp4');
  ffmpeg(['-i', good, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', p]);
  return p;
});
add('wrong extension: an MKV named .mp4', () => copy(goodMkv, 'mkv-named.mp4'));
add('0-byte file', () => {
  const p = join(zoo, 'v', 'empty.mp4');
  writeFileSync(p, '');
  return p;
});
add('random bytes', () => {
  const p = join(zoo, 'v', 'random.mp4');
  const b = Buffer.alloc(100_000);
  for (let i = 0; i < b.length; i++) b[i] = (i * 2654435761 + 12345) >>> 24;
  writeFileSync(p, b);
  return p;
});
add('a text file named .mp4', () => {
  const p = join(zoo, 'v', 'text.mp4');
  writeFileSync(p, 'this is not a video\n');
  return p;
});
add('missing file', () => join(zoo, 'v', 'missing.mp4'));
add('dangling symlink', () => {
  const p = join(zoo, 'v', 'dangling.mp4');
  symlinkSync(join(zoo, 'v', 'nowhere.mp4'), p);
  return p;
});
add('a directory', () => {
  const p = join(zoo, 'v', 'folder.mp4');
  mkdirSync(p);
  return p;
});
add('a fifo (named pipe, no writer)', () => {
  const p = join(zoo, 'v', 'fifo.mp4');
  execFileSync('mkfifo', [p]);
  return p;
});
add('a character device (/dev/zero)', () => '/dev/zero');
add(`mode 000${process.getuid?.() === 0 ? ' (the zoo runs as root, which reads it anyway)' : ''}`, () => {
  const p = copy(good, 'mode000.mp4');
  chmodSync(p, 0);
  return p;
});

const PACK = ['--frames', '16', '--size', '32', '--rate', '2'];
const videoRows = [];
for (const v of videos) {
  if (!v.path) {
    videoRows.push([v.how, '-', `not run: ${v.note}`]);
    continue;
  }
  const name = short(v.path);
  const list = join(zoo, 'lists', `${relative(join(zoo, 'v'), v.path).replace(/[^\w.-]/g, '_')}.txt`);
  mkdirSync(dirname(list), { recursive: true });
  writeFileSync(list, `${v.path} 0\n`);
  log(`pack ${name}`);
  const r = tats(['pack', '--dataset', `list:${list}`, '--out', join(zoo, 'packs', relative(join(zoo, 'v'), v.path).replace(/[^\w.-]/g, '_')), ...PACK, '--json']);
  let outcome;
  if (r.status === 0) {
    const j = JSON.parse(r.stdout);
    if (j.packed > 0) outcome = `packed (${j.packed} clip)${j.padded.length ? `, padded: ${j.padded[0].reason}` : ''}`;
    else outcome = `skipped: \`${clip(short(j.errors[0]?.reason ?? '?'))}\``;
  } else outcome = `exit ${r.status ?? r.signal}: \`${clip(short(errorOf(r)))}\``;
  // Short videos again with --keep-short.
  if (r.status === 0 && /short:/.test(outcome)) {
    const k = tats(['pack', '--dataset', `list:${list}`, '--out', join(zoo, 'packs', `keep-${list.split('/').pop()}`), ...PACK, '--keep-short', '--json']);
    const j = k.status === 0 ? JSON.parse(k.stdout) : undefined;
    outcome += j ? `; with \`--keep-short\`: packed ${j.packed}, listed as padded` : `; with \`--keep-short\`: exit ${k.status}`;
  }
  videoRows.push([v.how, `\`${name}\``, `${outcome} (${(r.ms / 1000).toFixed(1)} s)`]);
}
// All of them in one list: one run, each named, the good ones packed.
const all = join(zoo, 'lists', 'all.txt');
writeFileSync(all, videos.filter((v) => v.path).map((v) => `${v.path} 0`).join('\n') + '\n');
log('pack all');
const together = tats(['pack', '--dataset', `list:${all}`, '--out', join(zoo, 'packs', 'all'), ...PACK, '--json']);
const tj = together.status === 0 ? JSON.parse(together.stdout) : undefined;

// ---- 64-byte overwrites at many offsets -----------------------------------------------------------
// One 64-byte overwrite lands anywhere: in a slice the decoder flags, in one it conceals, in one it
// decodes as valid syntax (H.264 has no checksum), or outside the frames a clip uses. Each damaged
// copy is packed alone and its clip compared with the intact file's.
const SCAN = 40;
const scanSrc = video('scan.mp4', { frames: 100, w: 320, h: 240 });
const packClip = (file, tag) => {
  const list = join(zoo, 'lists', `scan-${tag}.txt`);
  writeFileSync(list, `${file} 0\n`);
  const out = join(zoo, 'packs', `scan-${tag}`);
  const r = tats(['pack', '--dataset', `list:${list}`, '--out', out, ...PACK, '--json']);
  const j = r.status === 0 ? JSON.parse(r.stdout) : undefined;
  if (!j || j.packed === 0) return { named: j?.errors[0]?.reason ?? errorOf(r) };
  const reader = new ShardReader(out);
  const bytes = reader.read(0).clip;
  reader.close();
  return { bytes };
};
log('scan: 64-byte overwrites');
const intactClip = packClip(scanSrc, 'intact').bytes;
const scan = { named: 0, same: 0, silent: 0, reasons: new Map(), silentAt: [] };
for (let k = 0; k < SCAN; k++) {
  const share = 0.05 + (0.9 * k) / SCAN;
  const f = corrupt(scanSrc, `scan-${k}.mp4`, share, 64);
  const o = packClip(f, String(k));
  if (o.named) {
    scan.named++;
    const kind = o.named.split(':')[0] + (/concealing/.test(o.named) ? ' (concealed slice)' : '');
    scan.reasons.set(kind, (scan.reasons.get(kind) ?? 0) + 1);
  } else if (Buffer.compare(Buffer.from(o.bytes), Buffer.from(intactClip)) === 0) scan.same++;
  else {
    scan.silent++;
    scan.silentAt.push(`${(share * 100).toFixed(1)}%`);
  }
}

// ---- list files ---------------------------------------------------------------------------------
const lists = [
  ['the same path twice, different labels', `${good} 0\n${goodFast} 1\n${good} 2\n`],
  ['the same path twice, same label', `${good} 0\n${goodFast} 1\n${good} 0\n`],
  ['the same file by two spellings (`dir/../file`), different labels', `${good} 0\n${join(zoo, 'v', '..', 'v', 'good.mp4')} 1\n`],
  ['a stray label (1000000)', `${good} 0\n${goodFast} 1\n${goodMkv} 1000000\n`],
  ['a stray label with `--classes 2`', `${good} 0\n${goodFast} 1\n${goodMkv} 1000000\n`, ['--classes', '2']],
  ['999 (few classes used, at most 1000: taken)', `${good} 0\n${goodFast} 999\n`],
  ['a line without a label', `${good} 0\n${goodFast}\n`],
  ['a label that is not an integer (`1.5`, `-1`, `x`)', `${good} 0\n${goodFast} 1.5\n${goodMkv} -1\n${longer} x\n`],
  ['blank lines, CRLF line ends, trailing spaces', `\n${good} 0\r\n\r\n${goodFast} 1   \r\n`],
  ['a path with spaces', null],
  ['a relative path (resolved against the list folder)', `../v/good.mp4 0\n`],
  ['an empty list', ''],
  ['a UTF-8 BOM before the first line', `\ufeff${good} 0\n${goodFast} 1\n`],
  ['a list that is a directory', undefined],
];
const listRows = [];
for (const [how, text, extra = []] of lists) {
  let file = join(zoo, 'lists', `case-${listRows.length}.txt`);
  if (text === null) {
    const spaced = join(zoo, 'v', 'with space.mp4');
    copyFileSync(good, spaced);
    writeFileSync(file, `${spaced} 0\n`);
  } else if (text === undefined) {
    file = join(zoo, 'lists', 'a-folder');
    mkdirSync(file, { recursive: true });
  } else writeFileSync(file, text);
  log(`list: ${how}`);
  const r = tats(['pack', '--dataset', `list:${file}`, '--out', join(zoo, 'packs', `list-${listRows.length}`), ...PACK, '--json', ...extra]);
  let outcome;
  if (r.status === 0) {
    const j = JSON.parse(r.stdout);
    const issues = j.errors.map((e) => `\`${clip(short(`${e.file}: ${e.reason}`), 160)}\``);
    outcome = `packed ${j.packed}${issues.length ? `; skipped and listed: ${issues.join('; ')}` : ''}`;
  } else outcome = `exit ${r.status}: \`${clip(short(errorOf(r)))}\``;
  listRows.push([how, outcome]);
}

// ---- shard sets ---------------------------------------------------------------------------------
log('shards');
const base = join(zoo, 'shards', 'intact');
const packed = tats(['pack', '--dataset', 'synthetic', '--count', '8', '--frames', '8', '--size', '64', '--seed', '1', '--out', base, '--json']);
if (packed.status !== 0) throw new Error(`pack synthetic failed: ${packed.stderr}`);
const idx = readShardIndex(base);
const shardFile = (dir) => join(dir, idx.shards[0].file);
function damaged(name, edit) {
  const dir = join(zoo, 'shards', name);
  cpSync(base, dir, { recursive: true });
  edit(dir);
  return dir;
}
const editIndex = (dir, f) => {
  const j = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  f(j);
  writeFileSync(join(dir, 'index.json'), JSON.stringify(j));
};
const flip = (dir, at) => {
  const b = readFileSync(shardFile(dir));
  b[at] ^= 0x01;
  writeFileSync(shardFile(dir), b);
};
const sets = [
  ['intact (control)', base],
  ['one flipped bit in clip 5', damaged('flip', (d) => flip(d, idx.clips[5].offset + 1000))],
  ['one flipped bit in clip 5\'s motion map', damaged('flip-motion', (d) => flip(d, idx.clips[5].offset + idx.clips[5].bytes + 3))],
  ['a flipped bit in every clip', damaged('flip-all', (d) => idx.clips.forEach((c) => flip(d, c.offset + 77)))],
  ['shard file cut by 100 bytes (clip 7)', damaged('cut-end', (d) => truncateSync(shardFile(d), statSync(shardFile(d)).size - 100))],
  ['shard file cut in half', damaged('cut-half', (d) => truncateSync(shardFile(d), Math.floor(statSync(shardFile(d)).size / 2)))],
  ['shard file empty', damaged('cut-all', (d) => truncateSync(shardFile(d), 0))],
  ['shard file missing', damaged('missing', (d) => rmSync(shardFile(d)))],
  ['index: clip 5\'s offset pointed at clip 6', damaged('offset', (d) => editIndex(d, (j) => (j.clips[5].offset = j.clips[6].offset)))],
  ['index: clip 5\'s offset off by one', damaged('offset1', (d) => editIndex(d, (j) => (j.clips[5].offset += 1)))],
  ['index: clip 5\'s label changed (within the classes)', damaged('label', (d) => editIndex(d, (j) => (j.clips[5].label = (j.clips[5].label + 1) % j.classNames.length)))],
  ['index: clip 2\'s label 1000000', damaged('label-big', (d) => editIndex(d, (j) => (j.clips[2].label = 1000000)))],
  ['index: clip 5\'s crc32 changed', damaged('crc', (d) => editIndex(d, (j) => (j.clips[5].crc32 = (j.clips[5].crc32 + 1) >>> 0)))],
  ['index: clip 5\'s shape changed (same bytes)', damaged('shape', (d) => editIndex(d, (j) => (j.clips[5].shape = [8, 32, 128, 3])))],
  ['index: clip 5 past the end of its shard', damaged('past-end', (d) => editIndex(d, (j) => (j.clips[5].offset = j.shards[0].bytes)))],
  ['index.json cut in half', damaged('index-cut', (d) => truncateSync(join(d, 'index.json'), Math.floor(statSync(join(d, 'index.json')).size / 2)))],
  ['index.json missing', damaged('index-missing', (d) => rmSync(join(d, 'index.json')))],
  ['bytes appended to the shard file', damaged('appended', (d) => writeFileSync(shardFile(d), Buffer.alloc(4096, 7), { flag: 'a' }))],
];
const pretrainConfig = join(zoo, 'pretrain.json');
writeFileSync(
  pretrainConfig,
  JSON.stringify({ preset: 'cpu-demo', model: { preset: 'micro', encoderDepth: 1, decoderDepth: 1 }, masking: { strategy: 'random' }, batchSize: 2, steps: 8, logEvery: 1, checkpointEvery: 100, device: 'cpu', picture: false }),
);
const shardRows = [];
for (const [how, dir] of sets) {
  log(`shards: ${how}`);
  // The reader, every clip.
  let read;
  try {
    const reader = new ShardReader(dir);
    const bad = [];
    for (let i = 0; i < reader.length; i++) {
      try {
        reader.read(i);
      } catch (err) {
        bad.push(`${err.code ?? err.name}: ${err.message}`);
      }
    }
    reader.close();
    read = bad.length === 0 ? `all ${reader.length} clips read` : `${bad.length} of ${reader.length} clips refused; first: \`${clip(short(bad[0]))}\``;
  } catch (err) {
    read = `not opened: \`${clip(short(`${err.code ?? err.name}: ${err.message}`))}\``;
  }
  const stop = tats(['pretrain', '--config', pretrainConfig, '--dataset', `shards:${dir}`, '--out', join(zoo, 'runs', `${relative(join(zoo, 'shards'), dir)}-stop`), '--json']);
  const stopOutcome = stop.status === 0 ? `completes (${JSON.parse(stop.stdout).bad_samples} bad)` : `exit ${stop.status}: \`${clip(short(errorOf(stop)), 200)}\``;
  const skip = tats(['pretrain', '--config', pretrainConfig, '--dataset', `shards:${dir}`, '--out', join(zoo, 'runs', `${relative(join(zoo, 'shards'), dir)}-skip`), '--on-damaged', 'skip', '--json']);
  let skipOutcome;
  if (skip.status === 0) {
    const j = JSON.parse(skip.stdout);
    skipOutcome = j.bad_samples === 0
      ? 'completes, nothing skipped'
      : `completes; ${j.bad_samples} replaced, recorded in bad_samples.jsonl: ${j.bad_files.map((b) => `clip ${b.clip}`).join(', ')}`;
  } else skipOutcome = `exit ${skip.status}: \`${clip(short(errorOf(skip)), 200)}\``;
  shardRows.push([how, read, stopOutcome, skipOutcome]);
}

// ---- report -------------------------------------------------------------------------------------
const table = (head, rows) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
const ff = spawnSync('ffmpeg', ['-version'], { encoding: 'utf8' }).stdout.split('\n')[0];
const md = [
  `## Damaged-input zoo (bench/damage-zoo.mjs)`,
  '',
  `${new Date().toISOString().slice(0, 10)}, ${ff}, node ${process.version}, commit ${spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim()}; ` +
    `${((Date.now() - started) / 1000).toFixed(0)} s. Each video alone in a list, \`tats pack ${PACK.join(' ')} --json\`:`,
  '',
  table(['input', 'file', 'outcome of `tats pack`'], videoRows),
  '',
  tj
    ? `All ${videos.filter((v) => v.path).length} inputs in one list: exit ${together.status}, ${tj.packed} packed, ${tj.skipped} skipped, each skipped one named in \`errors\` (${tj.errors.length}), ${(together.ms / 1000).toFixed(1)} s.`
    : `All inputs in one list: exit ${together.status}: ${short(errorOf(together))}`,
  '',
  `64 bytes overwritten at ${SCAN} offsets (5% to 95%) of a 100-frame 320x240 H.264 mp4, each packed alone (\`tats pack ${PACK.join(' ')}\`) and its clip compared with the intact file's: ` +
    `**${scan.named} named** (${[...scan.reasons].map(([k, n]) => `${k} ${n}`).join(', ')}), ${scan.same} packed with the clip byte-identical to the intact one (the damage is outside the frames used), ` +
    `**${scan.silent} packed with a different clip, not named**${scan.silentAt.length ? ` (at ${scan.silentAt.join(', ')})` : ''}.`,
  '',
  'List files (`tats pack --dataset list:FILE`):',
  '',
  table(['list', 'outcome'], listRows),
  '',
  `Shard sets (8 synthetic clips of 8x64x64 with motion maps, one shard file; index version ${idx.version}). The reader reads every clip (verify once); \`tats pretrain\` runs 8 steps of 2 clips (two epochs), by default and with \`--on-damaged skip\`:`,
  '',
  table(['damage', 'ShardReader', '`tats pretrain`', '`tats pretrain --on-damaged skip`'], shardRows),
  '',
].join('\n');
process.stdout.write(md);
if (recordAt) writeFileSync(recordAt, md);
if (!keep) {
  try {
    chmodSync(join(zoo, 'v', 'mode000.mp4'), 0o644);
  } catch {
    // not made
  }
  rmSync(zoo, { recursive: true, force: true });
} else log(`damage-zoo: kept ${zoo}`);
