/**
 * Structural checks of a video container that ffprobe passes over: an mp4/mov whose last top-level
 * box runs past the end of the file (cut inside its trailing `moov`: every frame is there, so
 * ffprobe and the decoder say nothing), and an Ogg file whose last page is cut or is not marked
 * end-of-stream (Ogg has no header that gives its length, so a cut file reads as a shorter one).
 * Only the box and page headers are read.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Top-level box types an mp4/mov/3gp file starts with. */
const MP4_FIRST = new Set(['ftyp', 'moov', 'mdat', 'free', 'wide', 'skip', 'styp', 'pnot', 'uuid']);
/** More top-level boxes than any real file has: stop walking (a loop guard, not an error). */
const MAX_BOXES = 100_000;
/** An Ogg page is at most 27 + 255 + 255 * 255 bytes. */
const OGG_MAX_PAGE = 27 + 255 + 255 * 255;

function readAt(fd: number, at: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  const got = readSync(fd, b, 0, n, at);
  return b.subarray(0, got);
}

const fourcc = (b: Buffer, at: number) => b.toString('latin1', at, at + 4);
const printable = (s: string) => /^[\x20-\x7e]{4}$/.test(s);

/** mp4/mov: every top-level box must end within the file. */
function mp4Cut(fd: number, size: number): string | undefined {
  let pos = 0;
  for (let n = 0; pos < size && n < MAX_BOXES; n++) {
    const h = readAt(fd, pos, 16);
    if (h.length < 8) return `the file ends inside a box header at offset ${pos} (${h.length} of 8 bytes)`;
    const type = fourcc(h, 4);
    // Bytes after the last box that are not a box (padding, junk) are not a cut box.
    if (!printable(type)) return undefined;
    let len = h.readUInt32BE(0);
    if (len === 0) return undefined; // the box runs to the end of the file
    if (len === 1) {
      if (h.length < 16) return `the file ends inside the header of its '${type}' box at offset ${pos}`;
      len = Number(h.readBigUInt64BE(8));
    }
    if (len < 8) return `its '${type}' box at offset ${pos} has an impossible size (${len} bytes)`;
    if (pos + len > size) return `the file ends inside its '${type}' box: ${size - pos} of its ${len} bytes (offset ${pos}) are there`;
    pos += len;
  }
  return undefined;
}

/** Ogg: the last page must be whole and marked end-of-stream. */
function oggCut(fd: number, size: number): string | undefined {
  const from = Math.max(0, size - OGG_MAX_PAGE);
  const tail = readAt(fd, from, size - from);
  // The last capture pattern whose page ends exactly at the end of the file ("OggS" can also
  // occur inside page data, so each candidate's length is checked).
  for (let at = tail.lastIndexOf('OggS'); at >= 0; at = at > 0 ? tail.lastIndexOf('OggS', at - 1) : -1) {
    if (at + 27 > tail.length) continue;
    const segs = tail[at + 26]!;
    if (at + 27 + segs > tail.length) continue;
    let len = 27 + segs;
    for (let k = 0; k < segs; k++) len += tail[at + 27 + k]!;
    if (at + len !== tail.length) continue;
    if ((tail[at + 5]! & 0x04) === 0) return 'its last Ogg page is not marked end of stream (the file ends early)';
    return undefined;
  }
  return 'the file ends inside an Ogg page';
}

/**
 * Why the file's container is cut short, or undefined when its structure reaches its end (or it is
 * not an mp4/mov or Ogg file, which this does not check).
 */
export function containerCut(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const head = readAt(fd, 0, 8);
    if (head.length < 8) return undefined;
    if (MP4_FIRST.has(fourcc(head, 4))) return mp4Cut(fd, size);
    if (fourcc(head, 0) === 'OggS') return oggCut(fd, size);
    return undefined;
  } catch {
    // Unreadable files are reported by the caller's own checks.
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
