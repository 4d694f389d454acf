// An intact Theora/Ogg video is not a truncated one. libtheora leaves repeated frames out (its
// packets have gaps in time), so the packet count falls short of duration x fps; the file still
// reaches its end. A cut Ogg file, whose duration comes from its last page and so looks whole,
// is named by its last page: cut inside, or not marked end of stream.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeFrames, probe } from '../lib/data/decode.js';
import { buildDist, cleanTemp, tempDir } from './data-fixtures.js';
import { runCli } from './helpers.js';

let dir: string;
let theora: string;

beforeAll(() => {
  buildDist();
  dir = tempDir('theora');
  mkdirSync(dir, { recursive: true });
  theora = join(dir, 'theora.ogv');
  // The damage zoo's Theora input: 60 frames of testsrc2 at 25 fps.
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=64x48:r=25', '-frames:v', '60', '-c:v', 'libtheora', theora]);
});

afterAll(() => cleanTemp());

describe('Theora in Ogg', () => {
  it('an intact file with frames left out (fewer packets than its duration needs) probes and decodes', async () => {
    // The precondition of the false alarm: packets well short of 2.4 s x 25 fps.
    const packets = Number(
      execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', theora], { encoding: 'utf8' }).trim(),
    );
    expect(packets).toBeLessThan(0.9 * 60);
    const info = await probe(theora);
    expect(info).toMatchObject({ ok: true, frames: packets, fps: 25, width: 64, height: 48, codec: 'theora' });
    const d = await decodeFrames(theora, { indices: Array.from({ length: 31 }, (_, k) => packets - 31 + k), width: 32, height: 32 });
    expect(d.ok, d.ok ? '' : d.reason).toBe(true);
  });

  it('tats pack packs it', () => {
    const list = join(dir, 'list.txt');
    writeFileSync(list, `${theora} 0\n`);
    const r = runCli(['pack', '--dataset', `list:${list}`, '--out', join(dir, 'pack'), '--frames', '16', '--size', '32', '--rate', '2', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.errors).toEqual([]);
    expect(j.packed).toBe(1);
  });

  it('a cut Ogg file is truncated: inside a page, or at a page boundary without the end-of-stream page', async () => {
    const bytes = readFileSync(theora);
    const mid = join(dir, 'cut-mid.ogv');
    writeFileSync(mid, bytes.subarray(0, Math.floor(bytes.length / 2) + 5));
    expect(await probe(mid)).toMatchObject({ ok: false, kind: 'truncated', reason: 'the file ends inside an Ogg page' });
    // Cut just before the last page starts: every remaining page is whole.
    const lastPage = bytes.lastIndexOf('OggS');
    const atPage = join(dir, 'cut-page.ogv');
    writeFileSync(atPage, bytes.subarray(0, lastPage));
    expect(await probe(atPage)).toMatchObject({ ok: false, kind: 'truncated', reason: expect.stringMatching(/last Ogg page is not marked end of stream/) });
  });
});
