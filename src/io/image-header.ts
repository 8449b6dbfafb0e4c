// What an image file claims about itself, read from its first bytes before any decoder runs:
// its type and its size. Node checks this before get-pixels decodes a file, and a page before the
// browser does, so a 20000×20000 image is refused in microseconds instead of after seconds of
// decoding (or gigabytes of memory). Bytes only: this runs anywhere.


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

/** Images with more pixels than this (8192 × 8192) are refused, from their header, before they are decoded. */
export const MAX_IMAGE_PIXELS = 8192 * 8192;

/** Throws unless the header's size is within MAX_IMAGE_PIXELS. */
export function checkPixelCount(width: number, height: number): void {
  if (!(width > 0 && height > 0)) throw new Error(`the header gives no size (${width}×${height})`);
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new Error(`${width}×${height} pixels is over the limit of ${MAX_IMAGE_PIXELS.toLocaleString('en-US')} (8192×8192); shrink the image first`);
  }
}

const u16le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
export const u16be = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;
export const u32be = (b: Uint8Array, i: number) => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;

export function gifSize(b: Uint8Array): { width: number; height: number } {
  if (b.length < 10) throw new Error('truncated GIF header');
  return { width: u16le(b, 6), height: u16le(b, 8) };
}

export function bmpSize(b: Uint8Array): { width: number; height: number } {
  if (b.length < 26) throw new Error('truncated BMP header');
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)) }; // negative height: top-down rows
}

/** A JPEG's size is in its start-of-frame segment (markers C0–CF, except C4, C8 and CC). */
export function jpegSize(b: Uint8Array): { width: number; height: number } {
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

/** A PNG's size, from its IHDR chunk (always the first, at byte 8). */
export function pngSize(b: Uint8Array): { width: number; height: number } {
  if (b.length < 24) throw new Error(`truncated PNG: ${b.length} bytes, too short for its IHDR chunk`);
  return { width: u32be(b, 16), height: u32be(b, 20) };
}

/** The size an image's header gives; throws, with a reason, when the header is damaged. */
export function imageSize(bytes: Uint8Array, type: ImageType): { width: number; height: number } {
  switch (type) {
    case 'image/png':
      return pngSize(bytes);
    case 'image/jpeg':
      return jpegSize(bytes);
    case 'image/gif':
      return gifSize(bytes);
    case 'image/bmp':
      return bmpSize(bytes);
  }
}
