/**
 * A small GIF89a encoder: a fixed 256-colour palette (6x7x6 RGB cube plus greys), no dithering,
 * variable-length LZW, an infinite loop (NETSCAPE2.0). Enough for figures of flat colours and
 * video frames at a glance.
 *
 * Why it is hand-written: the fixed palette makes every frame's colours the same function of its
 * pixels, so a GIF is byte-for-byte the same on every machine and cheap enough for a worker
 * thread at every checkpoint. gifenc (pure JS) was the candidate library: its per-image palette
 * quantisation would render natural video better, but the flat-colour figures we draw gain
 * nothing, and it has had no release since 2021. Revisit if GIFs of real video must look good.
 */

function buildPalette(): Uint8Array {
  const p = new Uint8Array(256 * 3);
  let i = 0;
  for (let r = 0; r < 6; r++)
    for (let g = 0; g < 7; g++)
      for (let b = 0; b < 6; b++, i++) {
        p[i * 3] = Math.round((r * 255) / 5);
        p[i * 3 + 1] = Math.round((g * 255) / 6);
        p[i * 3 + 2] = Math.round((b * 255) / 5);
      }
  // 252 cube entries, then 4 greys.
  for (let k = 0; i < 256; i++, k++) p[i * 3] = p[i * 3 + 1] = p[i * 3 + 2] = [64, 128, 192, 224][k]!;
  return p;
}
const PALETTE = buildPalette();

/** Index of the palette's nearest colour (cube snap; exact for the cube's own colours). */
function quantise(r: number, g: number, b: number): number {
  const ri = Math.round((r * 5) / 255), gi = Math.round((g * 6) / 255), bi = Math.round((b * 5) / 255);
  return ri * 42 + gi * 6 + bi;
}

/** LZW-compresses indices with minimum code size 8, packed LSB first into 255-byte sub-blocks. */
function lzw(indices: Uint8Array): Uint8Array {
  const minCode = 8, clear = 1 << minCode, eoi = clear + 1;
  const out: number[] = [];
  let bitBuf = 0, bitCount = 0, size = minCode + 1;
  const emit = (code: number) => {
    bitBuf |= code << bitCount;
    bitCount += size;
    while (bitCount >= 8) {
      out.push(bitBuf & 0xff);
      bitBuf >>>= 8;
      bitCount -= 8;
    }
  };
  let dict = new Map<number, number>();
  let next = eoi + 1;
  emit(clear);
  let prefix = indices[0] ?? 0;
  for (let i = 1; i < indices.length; i++) {
    const k = indices[i]!;
    const key = prefix * 256 + k;
    const found = dict.get(key);
    if (found !== undefined) {
      prefix = found;
      continue;
    }
    emit(prefix);
    if (next < 4096) {
      dict.set(key, next++);
      if (next > 1 << size && size < 12) size++;
    } else {
      emit(clear);
      dict = new Map();
      next = eoi + 1;
      size = minCode + 1;
    }
    prefix = k;
  }
  emit(prefix);
  emit(eoi);
  if (bitCount > 0) out.push(bitBuf & 0xff);
  const blocks: number[] = [minCode];
  for (let i = 0; i < out.length; i += 255) {
    const n = Math.min(255, out.length - i);
    blocks.push(n, ...out.slice(i, i + n));
  }
  blocks.push(0);
  return Uint8Array.from(blocks);
}

/** Encodes RGB frames (each uint8 [height, width, 3]) as a looping animated GIF. */
export function encodeGif(frames: readonly Uint8Array[], width: number, height: number, delayMs = 250): Buffer {
  if (frames.length === 0 || width < 1 || height < 1 || width > 65535 || height > 65535) throw new RangeError('encodeGif: no frames or a bad size');
  const parts: Buffer[] = [];
  const header = Buffer.alloc(13);
  header.write('GIF89a', 0, 'latin1');
  header.writeUInt16LE(width, 6);
  header.writeUInt16LE(height, 8);
  header[10] = 0xf7; // global colour table, 8 bits colour resolution, 256 entries
  parts.push(header, Buffer.from(PALETTE));
  parts.push(Buffer.from([0x21, 0xff, 0x0b, ...Buffer.from('NETSCAPE2.0', 'latin1'), 0x03, 0x01, 0x00, 0x00, 0x00]));
  const delay = Math.max(2, Math.round(delayMs / 10));
  for (const rgb of frames) {
    if (rgb.length !== width * height * 3) throw new RangeError(`encodeGif: a frame has ${rgb.length} bytes, expected ${width * height * 3}`);
    parts.push(Buffer.from([0x21, 0xf9, 0x04, 0x04, delay & 0xff, delay >> 8, 0x00, 0x00]));
    const desc = Buffer.alloc(10);
    desc[0] = 0x2c;
    desc.writeUInt16LE(width, 5);
    desc.writeUInt16LE(height, 7);
    parts.push(desc);
    const idx = new Uint8Array(width * height);
    for (let i = 0; i < idx.length; i++) idx[i] = quantise(rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!);
    parts.push(Buffer.from(lzw(idx)));
  }
  parts.push(Buffer.from([0x3b]));
  return Buffer.concat(parts);
}
