// Images as the network sees them: 8-bit RGBA pixels, centre-cropped and resized into the
// network's [−1, 1] channel-first layout, and grids of samples. (Reading and writing image
// files, with get-pixels and save-pixels, is Node's part: src/node/image-files.ts.)

/** 8-bit RGBA pixels, row-major: data[(y·width + x)·4 + c]. */
export interface RGBAImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * The centred square crop of an image, resized to size×size by averaging the source area each
 * target pixel covers (a box filter: no aliasing when shrinking), as channel-first values in
 * [−1, 1]. Alpha is composited over white; one channel gives luma.
 */
export function toNetworkInput(img: RGBAImage, size: number, channels: number): Float32Array {
  const side = Math.min(img.width, img.height);
  const x0 = (img.width - side) / 2, y0 = (img.height - side) / 2;
  const scale = side / size;
  const out = new Float32Array(channels * size * size);
  const rgb = [0, 0, 0];
  for (let ty = 0; ty < size; ty++) {
    for (let tx = 0; tx < size; tx++) {
      // Source rectangle [sx0, sx1) × [sy0, sy1), weighted by overlap with each source pixel.
      const sx0 = x0 + tx * scale, sx1 = sx0 + scale, sy0 = y0 + ty * scale, sy1 = sy0 + scale;
      rgb[0] = rgb[1] = rgb[2] = 0;
      let total = 0;
      for (let y = Math.floor(sy0); y < Math.ceil(sy1); y++) {
        const wy = Math.min(y + 1, sy1) - Math.max(y, sy0);
        for (let x = Math.floor(sx0); x < Math.ceil(sx1); x++) {
          const w = wy * (Math.min(x + 1, sx1) - Math.max(x, sx0));
          const p = (Math.min(y, img.height - 1) * img.width + Math.min(x, img.width - 1)) * 4;
          const a = img.data[p + 3]! / 255;
          for (let c = 0; c < 3; c++) rgb[c]! += w * (img.data[p + c]! * a + 255 * (1 - a));
          total += w;
        }
      }
      const p = ty * size + tx;
      if (channels === 1) {
        out[p] = ((0.299 * rgb[0]! + 0.587 * rgb[1]! + 0.114 * rgb[2]!) / total) * (2 / 255) - 1;
      } else {
        for (let c = 0; c < 3; c++) out[c * size * size + p] = (rgb[c]! / total) * (2 / 255) - 1;
      }
    }
  }
  return out;
}

/**
 * Lays out n images (channel-first values in [−1, 1], one or three channels, S×S each) in a grid
 * of `cols` columns with `pad` pixels between them; `scale` repeats each pixel for viewing.
 */
export function imageGrid(images: Float32Array, n: number, channels: number, size: number, { cols = Math.ceil(Math.sqrt(n)), pad = 2, scale = 1, background = 255 } = {}): RGBAImage {
  const rows = Math.ceil(n / cols);
  const cell = size * scale + pad;
  const width = cols * cell + pad, height = rows * cell + pad;
  const data = new Uint8Array(width * height * 4).fill(background);
  const plane = size * size;
  for (let i = 0; i < n; i++) {
    const ox = pad + (i % cols) * cell, oy = pad + Math.floor(i / cols) * cell;
    for (let y = 0; y < size * scale; y++) {
      for (let x = 0; x < size * scale; x++) {
        const src = i * channels * plane + Math.floor(y / scale) * size + Math.floor(x / scale);
        const dst = ((oy + y) * width + ox + x) * 4;
        for (let c = 0; c < 3; c++) {
          const v = images[src + (channels === 1 ? 0 : c) * plane]!;
          data[dst + c] = Math.round(Math.max(0, Math.min(1, (v + 1) / 2)) * 255);
        }
        data[dst + 3] = 255;
      }
    }
  }
  return { width, height, data };
}

/**
 * A denoising strip: one row per image, one column per frame of its chain (x_T … x_0).
 * `frames` are [count, C, S, S] tensors' values; the first `rows` images are shown.
 */
export function trajectoryStrip(frames: Float32Array[], rows: number, channels: number, size: number, scale = 1): RGBAImage {
  const plane = channels * size * size;
  const cells = new Float32Array(rows * frames.length * plane);
  frames.forEach((values, f) => {
    for (let r = 0; r < rows; r++) cells.set(values.subarray(r * plane, (r + 1) * plane), (r * frames.length + f) * plane);
  });
  return imageGrid(cells, rows * frames.length, channels, size, { cols: frames.length, scale });
}
