/**
 * A minimal PNG encoder: 8-bit RGB, no interlace, filter 0, zlib from node:zlib.
 *
 * Why it is hand-written: a PNG of this kind is a signature, three chunks and a CRC around
 * node:zlib's deflate, which is all the work. A library (pngjs, or sharp with its libvips binary)
 * would add a dependency for these 60 lines and do the same deflate; none gives a smaller or
 * faster file at filter 0 for our flat-colour figures.
 */
import { promisify } from 'node:util';
import { deflate, deflateSync } from 'node:zlib';

const deflateAsync = promisify(deflate);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bufs: Uint8Array[]): number {
  let c = 0xffffffff;
  for (const b of bufs) for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32([head.subarray(4), data]), 0);
  return Buffer.concat([head, data, crc]);
}

function checkSize(rgb: Uint8Array, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || rgb.length !== width * height * 3) {
    throw new RangeError(`encodePng: ${rgb.length} bytes is not ${width} x ${height} x 3`);
  }
}

/** Scanlines with filter byte 0 (none) in front of each row. */
function scanlines(rgb: Uint8Array, width: number, height: number): Buffer {
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return raw;
}

function assemble(width: number, height: number, idat: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}

/** Encodes uint8 RGB pixels [height, width, 3] as a PNG file. */
export function encodePng(rgb: Uint8Array, width: number, height: number): Buffer {
  checkSize(rgb, width, height);
  return assemble(width, height, deflateSync(scanlines(rgb, width, height)));
}

/** encodePng with the compression on libuv's thread pool (keeps the event loop free). */
export async function encodePngAsync(rgb: Uint8Array, width: number, height: number): Promise<Buffer> {
  checkSize(rgb, width, height);
  return assemble(width, height, await deflateAsync(scanlines(rgb, width, height)));
}
