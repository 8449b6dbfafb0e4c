// What an image file claims, read from its first bytes before any decoder runs: its type, its
// size, and for PNG whether its structure holds together. The decoders behind get-pixels trust
// their input: a PNG whose data is short, or that claims 20000×20000 pixels, makes pngjs emit an
// 'error' event nobody listens to (or allocate gigabytes), and the process dies naming no file.
// Checking here first turns every such file into an error that names it.

import { inflateSync } from 'node:zlib';

import { checkPixelCount, imageSize, u32be, type ImageType } from '../io/image-header.js';

export { sniffImageType, type ImageType } from '../io/image-header.js';

/**
 * Throws, with a reason, unless the image's header gives a size within MAX_IMAGE_PIXELS and (for
 * PNG) its chunks, checksums and compressed data add up to exactly the pixels it claims.
 */
export function checkImage(bytes: Uint8Array, type: ImageType): void {
  if (type === 'image/png') return checkPng(bytes);
  const { width, height } = imageSize(bytes, type);
  checkPixelCount(width, height);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (the PNG and zlib polynomial) of a chunk's type and data. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Samples per pixel of each PNG colour type, and the bit depths it allows. */
const COLOUR_TYPES: Record<number, { samples: number; depths: number[] }> = {
  0: { samples: 1, depths: [1, 2, 4, 8, 16] }, // grey
  2: { samples: 3, depths: [8, 16] }, // RGB
  3: { samples: 1, depths: [1, 2, 4, 8] }, // palette
  4: { samples: 2, depths: [8, 16] }, // grey + alpha
  6: { samples: 4, depths: [8, 16] }, // RGBA
};

/** Adam7's seven passes: [x0, y0, dx, dy] of the pixels each one holds. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;

/**
 * Walks the chunks (lengths, CRCs, IHDR fields, IEND), then inflates the image data and checks
 * that it has exactly one filtered row per scanline, each with a valid filter type (0–4).
 */
function checkPng(b: Uint8Array): void {
  if (b.length < 8) throw new Error(`truncated PNG: ${b.length} bytes, not even its 8-byte signature`);
  if (b[4] !== 0x0d || b[5] !== 0x0a || b[6] !== 0x1a || b[7] !== 0x0a) throw new Error('corrupt PNG: its signature is damaged (was it copied as text?)');
  let at = 8, width = 0, height = 0, bitsPerPixel = 0, interlaced = false, palette = false, ended = false;
  const idat: Uint8Array[] = [];
  while (!ended) {
    if (at + 12 > b.length) throw new Error(`truncated PNG: the file ends at byte ${b.length}, inside a chunk header (no IEND chunk)`);
    const length = u32be(b, at);
    const type = JSON.stringify(String.fromCharCode(...b.subarray(at + 4, at + 8))).slice(1, -1);
    if (at + 12 + length > b.length) throw new Error(`truncated PNG: chunk ${type} needs ${length} bytes, the file ends first`);
    const data = b.subarray(at + 8, at + 8 + length);
    if (crc32(b.subarray(at + 4, at + 8 + length)) !== u32be(b, at + 8 + length)) throw new Error(`corrupt PNG: chunk ${type} fails its checksum`);
    if (at === 8 && type !== 'IHDR') throw new Error('corrupt PNG: the first chunk is not IHDR');
    if (type === 'IHDR') {
      if (length !== 13) throw new Error('corrupt PNG: IHDR is not 13 bytes');
      width = u32be(data, 0);
      height = u32be(data, 4);
      checkPixelCount(width, height);
      const [depth, colour, compression, filter, interlace] = data.subarray(8, 13);
      const kind = COLOUR_TYPES[colour!];
      if (!kind || !kind.depths.includes(depth!)) throw new Error(`corrupt PNG: colour type ${colour} with bit depth ${depth} does not exist`);
      if (compression !== 0 || filter !== 0 || interlace! > 1) throw new Error('corrupt PNG: unknown compression, filter or interlace method');
      bitsPerPixel = kind.samples * depth!;
      interlaced = interlace === 1;
      palette = colour === 3;
    } else if (type === 'PLTE') {
      palette = false;
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      ended = true;
    }
    at += 12 + length;
  }
  if (palette) throw new Error('corrupt PNG: a palette image without a PLTE chunk');
  if (idat.length === 0) throw new Error('corrupt PNG: no image data (IDAT)');

  // The rows each pass holds: a filter-type byte, then ceil(w · bits / 8) bytes.
  const rows: number[] = [];
  for (const [x0, y0, dx, dy] of interlaced ? ADAM7 : [[0, 0, 1, 1] as const]) {
    const w = Math.ceil((width - x0) / dx), h = Math.ceil((height - y0) / dy);
    if (w > 0 && h > 0) for (let y = 0; y < h; y++) rows.push(1 + Math.ceil((w * bitsPerPixel) / 8));
  }
  const expected = rows.reduce((a, r) => a + r, 0);
  let pixels: Uint8Array;
  try {
    pixels = inflateSync(Buffer.concat(idat), { maxOutputLength: expected + 1 });
  } catch (e) {
    const why = (e as Error).message;
    throw new Error(/maxOutputLength|larger than/.test(why) ? `corrupt PNG: more image data than ${width}×${height} pixels need` : `corrupt PNG: the image data does not decompress (${why})`);
  }
  if (pixels.length !== expected) {
    throw new Error(`truncated PNG: its image data holds ${pixels.length} of the ${expected} bytes that ${width}×${height} pixels need`);
  }
  for (let row = 0, p = 0; row < rows.length; p += rows[row]!, row++) {
    if (pixels[p]! > 4) throw new Error(`corrupt PNG: row ${row} has filter type ${pixels[p]} (0–4 exist)`);
  }
}
