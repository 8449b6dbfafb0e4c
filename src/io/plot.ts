// A loss curve as a PNG: logged losses on a log scale, with a smoothed line and labelled axes,
// drawn with a tiny built-in pixel font so no canvas or font library is needed.

import type { RGBAImage } from './image.js';

// 3×5 glyphs, one string of 15 bits (rows top to bottom) per character.
const GLYPHS: Record<string, string> = {
  '0': '111101101101111', '1': '010110010010111', '2': '111001111100111', '3': '111001111001111',
  '4': '101101111001001', '5': '111100111001111', '6': '111100111101111', '7': '111001010010010',
  '8': '111101111101111', '9': '111101111001111', '.': '000000000000010', '-': '000000111000000',
  e: '000111111100111', k: '100101110101101', s: '000111100001111', t: '010111010010011',
  p: '000111101111100', l: '010010010010011', o: '000111101101111', ' ': '000000000000000',
  f: '011100110100100', i: '010000010010010', d: '001001111101111',
};

type RGB = readonly [number, number, number];

class Canvas implements RGBAImage {
  readonly data: Uint8Array;
  constructor(readonly width: number, readonly height: number) {
    this.data = new Uint8Array(width * height * 4).fill(255);
  }
  set(x: number, y: number, c: RGB): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const p = (y * this.width + x) * 4;
    this.data[p] = c[0];
    this.data[p + 1] = c[1];
    this.data[p + 2] = c[2];
  }
  line(x0: number, y0: number, x1: number, y1: number, c: RGB): void {
    const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    for (let i = 0; i <= n; i++) this.set(x0 + ((x1 - x0) * i) / n, y0 + ((y1 - y0) * i) / n, c);
  }
  text(x: number, y: number, s: string, c: RGB, scale = 2): void {
    [...s].forEach((ch, k) => {
      const g = GLYPHS[ch] ?? GLYPHS[' ']!;
      for (let i = 0; i < 15; i++) {
        if (g[i] !== '1') continue;
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) this.set(x + (k * 4 + (i % 3)) * scale + dx, y + Math.floor(i / 3) * scale + dy, c);
      }
    });
  }
}

const label = (v: number) => (v >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toPrecision(3)}`);

/** Draws (step, value) points (the loss, or the FID: `name` labels the axis): light dots, a dark exponentially smoothed line, a log scale. */
export function lossCurve(points: ReadonlyArray<readonly [number, number]>, width = 640, height = 360, name = 'loss'): RGBAImage {
  const cv = new Canvas(width, height);
  const left = 56, right = width - 16, top = 16, bottom = height - 36;
  const good = points.filter(([, l]) => l > 0 && Number.isFinite(l));
  const axis: RGB = [60, 60, 60], grid: RGB = [228, 228, 228];
  cv.line(left, top, left, bottom, axis);
  cv.line(left, bottom, right, bottom, axis);
  cv.text(right - 32, bottom + 20, 'step', axis);
  cv.text(4, top - 12, name, axis);
  if (good.length === 0) return cv;
  const maxStep = Math.max(1, ...good.map(([s]) => s));
  let lo = Math.log10(Math.min(...good.map(([, l]) => l))), hi = Math.log10(Math.max(...good.map(([, l]) => l)));
  if (hi - lo < 0.2) { lo -= 0.1; hi += 0.1; }
  const X = (s: number) => left + ((right - left) * s) / maxStep;
  const Y = (l: number) => bottom - ((bottom - top) * (Math.log10(l) - lo)) / (hi - lo);
  // Gridlines at 1, 2 and 5 times each power of ten in range.
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (Math.log10(v) < lo || Math.log10(v) > hi) continue;
      cv.line(left + 1, Y(v), right, Y(v), grid);
      cv.text(4, Y(v) - 5, label(v), axis);
    }
  }
  for (let i = 0; i <= 4; i++) {
    const s = Math.round((maxStep * i) / 4);
    cv.line(X(s), bottom, X(s), bottom + 4, axis);
    const text = label(s);
    cv.text(Math.min(X(s) - 8, width - 2 - text.length * 8), bottom + 8, text, axis);
  }
  for (const [s, l] of good) cv.set(X(s), Y(l), [150, 180, 230]);
  let smooth = good[0]![1];
  let prev: [number, number] | null = null;
  const k = Math.min(0.3, 20 / good.length);
  for (const [s, l] of good) {
    smooth = Math.exp((1 - k) * Math.log(smooth) + k * Math.log(l));
    const p: [number, number] = [X(s), Y(smooth)];
    if (prev) cv.line(prev[0], prev[1], p[0], p[1], [20, 60, 160]);
    prev = p;
  }
  return cv;
}
