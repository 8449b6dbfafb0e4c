// What an image file claims, read from its first bytes before any decoder runs: its type, its
// size, and for PNG whether its structure holds together. The decoders behind get-pixels trust
// their input: a PNG whose data is short, or that claims 20000×20000 pixels, makes pngjs emit an
// 'error' event nobody listens to (or allocate gigabytes), and the process dies naming no file.
// Checking here first turns every such file into an error that names it.

import { inflateSync } from 'node:zlib';

import { MAX_IMAGE_PIXELS } from '../data/image-set.js';

export { MAX_IMAGE_PIXELS };

export type ImageType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/bmp';

/** The image type from the file's first bytes (its extension may lie). */
export function sniffImageType(bytes: Uint8Array): ImageType | null {
  const at = (i: number, ...b: number[]) => b.every((v, k) => bytes[i + k] === v);
  if (at(0, 0x89, 0x50, 0x4e, 0x47)) return 'image/png';
  if (at(0, 0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (at(0, 0x47, 0x49, 0x46, 0x38)) return 'image/gif';
  if (at(0, 0x42, 0x4d)) return 'image/bmp';
  return null;
}

/**
 * Throws, with a reason, unless the image's header gives a size within MAX_IMAGE_PIXELS and (for
 * PNG) its chunks, checksums and compressed data add up to exactly the pixels it claims.
 */
export function checkImage(bytes: Uint8Array, type: ImageType): void {
  if (type === 'image/png') return checkPng(bytes);
  const { width, height } = type === 'image/jpeg' ? jpegSize(bytes) : type === 'image/gif' ? gifSize(bytes) : bmpSize(bytes);
  checkPixelCount(width, height);
}

function checkPixelCount(width: number, height: number): void {
  if (!(width > 0 && height > 0)) throw new Error(`the header gives no size (${width}×${height})`);
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new Error(`${width}×${height} pixels is over the limit of ${MAX_IMAGE_PIXELS.toLocaleString('en-US')} (8192×8192); shrink the image first`);
  }
}

const u16le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const u16be = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;
const u32be = (b: Uint8Array, i: number) => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;

function gifSize(b: Uint8Array): { width: number; height: number } {
  if (b.length < 10) throw new Error('truncated GIF header');
  return { width: u16le(b, 6), height: u16le(b, 8) };
}

function bmpSize(b: Uint8Array): { width: number; height: number } {
  if (b.length < 26) throw new Error('truncated BMP header');
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)) }; // negative height: top-down rows
}

/** A JPEG's size is in its start-of-frame segment (markers C0–CF, except C4, C8 and CC). */
function jpegSize(b: Uint8Array): { width: number; height: number } {
  let i = 2;
  while (i + 3 < b.length) {
    if (b[i] !== 0xff) throw new Error(`corrupt JPEG: no segment marker at byte ${i}`);
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    const length = u16be(b, i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > b.length) break;
      return { width: u16be(b, i + 7), height: u16be(b, i + 5) };
    }
    if (marker === 0xd9 || marker === 0xda) break; // end of image, or scan data before any frame header
    i += 2 + length;
  }
  throw new Error('corrupt JPEG: no frame header (SOF) found');
}

// --- PNG ---------------------------------------------------------------------------------------

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
