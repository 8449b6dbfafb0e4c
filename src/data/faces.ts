// A procedural face generator, so training needs no download: every seed draws a different
// face (head shape and position, skin tone, hair style and colour, eyes, brows, nose, mouth
// expression, accessories, clothes, background), rendered with 4×4 supersampling for smooth
// edges. The same seed always gives the same face, at any size.

import { Rng } from '../random/rng.js';

type RGB = [number, number, number];
/** A layer: where it covers the canvas (u, v in [0, 1], v down) and its colour there. */
interface Layer {
  hit: (u: number, v: number) => boolean;
  colour: (u: number, v: number) => RGB;
}

const SKIN: RGB[] = [
  [255, 224, 196], [241, 194, 160], [224, 172, 130], [198, 134, 94],
  [170, 110, 72], [141, 85, 52], [110, 66, 40], [84, 50, 32],
];
const HAIR: RGB[] = [
  [25, 20, 18], [60, 40, 28], [100, 66, 40], [150, 95, 50], [200, 160, 90],
  [230, 205, 140], [165, 70, 35], [150, 150, 150], [235, 235, 230], [70, 90, 200], [200, 80, 150],
];
const IRIS: RGB[] = [[70, 45, 25], [110, 75, 40], [60, 110, 170], [70, 130, 80], [120, 110, 60], [90, 90, 100]];

const clamp255 = (x: number) => Math.max(0, Math.min(255, x));
const shade = (c: RGB, k: number): RGB => [clamp255(c[0] * k), clamp255(c[1] * k), clamp255(c[2] * k)];
const mix = (a: RGB, b: RGB, t: number): RGB => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
const solid = (c: RGB) => () => c;

function ellipse(cx: number, cy: number, rx: number, ry: number, angle = 0) {
  const cos = Math.cos(angle), sin = Math.sin(angle);
  return (u: number, v: number) => {
    const dx = u - cx, dy = v - cy;
    const x = dx * cos + dy * sin, y = -dx * sin + dy * cos;
    return (x * x) / (rx * rx) + (y * y) / (ry * ry) <= 1;
  };
}

/** A thick line segment (a capsule) from (x0, y0) to (x1, y1). */
function segment(x0: number, y0: number, x1: number, y1: number, width: number) {
  const dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy || 1e-12;
  return (u: number, v: number) => {
    const s = Math.max(0, Math.min(1, ((u - x0) * dx + (v - y0) * dy) / len2));
    const ex = u - (x0 + s * dx), ey = v - (y0 + s * dy);
    return ex * ex + ey * ey <= width * width;
  };
}

/** A stroke along the circle of centre (cx, cy) and radius r, between angles a0 and a1 (v down). */
function arc(cx: number, cy: number, r: number, a0: number, a1: number, width: number) {
  return (u: number, v: number) => {
    const dx = u - cx, dy = v - cy;
    if (Math.abs(Math.hypot(dx, dy) - r) > width) return false;
    const a = Math.atan2(dy, dx);
    return a >= a0 && a <= a1;
  };
}

const pick = <T>(rng: Rng, list: readonly T[]): T => list[rng.int(list.length)]!;
const range = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng.uniform();
const chance = (rng: Rng, p: number) => rng.uniform() < p;
const jitter = (rng: Rng, c: RGB, amount: number): RGB => shade(c, 1 + (rng.uniform() - 0.5) * amount);
const randomColour = (rng: Rng, lo = 30, hi = 230): RGB => [range(rng, lo, hi), range(rng, lo, hi), range(rng, lo, hi)];
/** Index i with probability weights[i] (weights sum to 1). */
function weighted(rng: Rng, weights: readonly number[]): number {
  let u = rng.uniform();
  for (let i = 0; i < weights.length - 1; i++) if ((u -= weights[i]!) < 0) return i;
  return weights.length - 1;
}

/**
 * What the generator chose for a face, as classes: the labels a feature network learns to see
 * (src/metrics/feature-net.ts, through src/metrics/face-reference.ts), with each attribute's number of classes.
 */
export const FACE_ATTRIBUTES = {
  background: 3, hairStyle: 6, skin: 8, hairColour: 11, eyesClosed: 2, beard: 3, expression: 5, glasses: 3, earrings: 2, hat: 2,
} as const;
export type FaceAttributes = { -readonly [K in keyof typeof FACE_ATTRIBUTES]: number };

/** The attributes of face `seed` (the same draws that render it). */
export function faceAttributes(seed: number): FaceAttributes {
  return faceLayers(seed).attributes;
}

/** The layers of one face, back to front, and the attributes they show. */
function faceLayers(seed: number): { layers: Layer[]; attributes: FaceAttributes } {
  const rng = new Rng(seed);
  const layers: Layer[] = [];
  const attributes: FaceAttributes = { background: 0, hairStyle: 0, skin: 0, hairColour: 0, eyesClosed: 0, beard: 0, expression: 0, glasses: 0, earrings: 0, hat: 0 };
  const add = (hit: Layer['hit'], colour: Layer['colour']) => layers.push({ hit, colour });

  // Background: flat, vertical gradient, or split in two.
  // Muted: halfway to grey, so the face stands out.
  const bgA = mix(randomColour(rng, 20, 240), [128, 128, 128], 0.4), bgB = mix(randomColour(rng, 20, 240), [128, 128, 128], 0.4);
  const bgKind = (attributes.background = rng.int(3));
  add(() => true, (u, v) => (bgKind === 0 ? bgA : bgKind === 1 ? mix(bgA, bgB, v) : u < 0.5 ? bgA : bgB));

  const cx = 0.5 + range(rng, -0.06, 0.06), cy = 0.5 + range(rng, -0.04, 0.06);
  const rx = range(rng, 0.22, 0.3), ry = rx * range(rng, 1.15, 1.4);
  const tilt = range(rng, -0.12, 0.12);
  attributes.skin = rng.int(SKIN.length);
  const skin = jitter(rng, SKIN[attributes.skin]!, 0.12);
  attributes.hairColour = chance(rng, 0.9) ? rng.int(9) : 9 + rng.int(HAIR.length - 9); // natural, or dyed
  const hair = jitter(rng, HAIR[attributes.hairColour]!, 0.2);
  const hairStyle = (attributes.hairStyle = rng.int(6)); // 0 bald, 1 short, 2 long, 3 bob, 4 bun, 5 curly volume
  const lit = range(rng, -0.25, 0.25); // light from the left or right
  const skinAt = (u: number, v: number): RGB => shade(skin, 1 + lit * (u - cx) / rx - 0.15 * Math.max(0, (v - cy) / ry));

  // Shoulders and neck.
  const shirt = randomColour(rng);
  add(ellipse(cx, 1.12, rx * range(rng, 1.8, 2.4), 0.3), (u) => shade(shirt, 1 + lit * (u - cx) * 2));
  if (chance(rng, 0.3)) add(ellipse(cx, 0.86, rx * 0.6, 0.05), solid(shade(shirt, 0.7))); // collar
  add((u, v) => Math.abs(u - cx) < rx * 0.42 && v > cy && v < cy + ry + 0.12, (u, v) => shade(skinAt(u, v), 0.82));

  // Hair behind the head.
  if (hairStyle === 2) add((u, v) => ellipse(cx, cy + 0.02, rx * 1.25, ry * 1.1)(u, v) || (Math.abs(u - cx) < rx * 1.2 && v > cy && v < cy + ry * 1.2), solid(shade(hair, 0.85)));
  if (hairStyle === 3) add(ellipse(cx, cy - 0.02, rx * 1.22, ry * 1.02), solid(shade(hair, 0.85)));
  if (hairStyle === 5) add(ellipse(cx, cy - ry * 0.25, rx * 1.45, ry * 1.05), (u, v) => shade(hair, 0.85 + 0.15 * Math.sin(60 * u) * Math.sin(60 * v)));
  if (hairStyle === 4) add(ellipse(cx, cy - ry * 1.05, rx * 0.45, rx * 0.4), solid(hair));

  // Ears, then the face: an ellipse whose lower half narrows into a jaw.
  const earY = cy + range(rng, -0.02, 0.04);
  add(ellipse(cx - rx * 0.98, earY, rx * 0.17, ry * 0.2), (u, v) => shade(skinAt(u, v), 0.92));
  add(ellipse(cx + rx * 0.98, earY, rx * 0.17, ry * 0.2), (u, v) => shade(skinAt(u, v), 0.92));
  const jaw = range(rng, 0.0, 0.35);
  add((u, v) => {
    const x = (u - cx) / rx, y = (v - cy) / ry;
    const narrow = y > 0 ? 1 - jaw * y * y : 1;
    return (x / narrow) ** 2 + y * y <= 1;
  }, skinAt);
  if (chance(rng, 0.35)) {
    const blush = mix(skin, [230, 90, 100], 0.35);
    for (const side of [-1, 1]) add(ellipse(cx + side * rx * 0.52, cy + ry * 0.25, rx * 0.17, ry * 0.08), solid(blush));
  }

  // Hair on top of the head (fringe), for all but bald and curly-volume styles.
  if (hairStyle !== 0) {
    const hairline = cy - ry * range(rng, 0.35, 0.6);
    const parting = range(rng, -0.5, 0.5);
    add((u, v) => {
      if (!ellipse(cx, cy - ry * 0.08, rx * 1.06, ry * 0.98)(u, v)) return false;
      const x = (u - cx) / rx;
      return v < hairline + 0.04 * Math.sin(3 * (x - parting)) - (hairStyle === 1 ? 0 : 0.02 * Math.abs(x - parting));
    }, (u) => shade(hair, 1 + 0.12 * Math.sin(40 * u)));
  }

  // Eyes: white, iris, pupil; sometimes closed; and brows.
  const eyeY = cy - ry * range(rng, 0.05, 0.2);
  const eyeDx = rx * range(rng, 0.36, 0.46);
  const eyeR = rx * range(rng, 0.12, 0.18);
  const iris = pick(rng, IRIS);
  const look = range(rng, -0.35, 0.35) * eyeR;
  const closed = chance(rng, 0.08);
  attributes.eyesClosed = closed ? 1 : 0;
  const browTilt = range(rng, -0.25, 0.3); // positive: raised inner ends (surprised/sad)
  const browY = eyeY - eyeR * range(rng, 1.5, 2.3);
  for (const side of [-1, 1]) {
    const ex = cx + side * eyeDx;
    if (closed) {
      add(arc(ex, eyeY - eyeR * 0.6, eyeR, 0.4, Math.PI - 0.4, eyeR * 0.2), solid([40, 30, 30]));
    } else {
      add(ellipse(ex, eyeY, eyeR * 1.25, eyeR * 0.85, side * tilt * 0.3), solid([245, 245, 240]));
      add(ellipse(ex + look, eyeY, eyeR * 0.62, eyeR * 0.62), solid(iris));
      add(ellipse(ex + look, eyeY, eyeR * 0.3, eyeR * 0.3), solid([15, 12, 12]));
      add(ellipse(ex + look + eyeR * 0.2, eyeY - eyeR * 0.22, eyeR * 0.12, eyeR * 0.12), solid([255, 255, 255]));
    }
    const inner = ex - side * eyeR * 1.2, outer = ex + side * eyeR * 1.3;
    add(segment(inner, browY - browTilt * eyeR, outer, browY + browTilt * eyeR * 0.5, eyeR * range(rng, 0.18, 0.32)), solid(shade(hair, 0.8)));
  }

  // Nose: a shaded wedge and nostrils.
  const noseY = cy + ry * range(rng, 0.12, 0.25);
  const noseW = rx * range(rng, 0.12, 0.2);
  add(segment(cx + lit * 0.02, eyeY + eyeR, cx + lit * 0.04, noseY, noseW * 0.35), (u, v) => shade(skinAt(u, v), 0.88));
  for (const side of [-1, 1]) add(ellipse(cx + side * noseW * 0.55, noseY, noseW * 0.28, noseW * 0.18), (u, v) => shade(skinAt(u, v), 0.62));

  // Moustache and beard.
  if (chance(rng, 0.15)) {
    attributes.beard = 1;
    add((u, v) => {
      const x = (u - cx) / rx, y = (v - cy) / ry;
      return y > 0.3 && (x * x) / 0.9 + y * y <= 1.02;
    }, (u, v) => shade(hair, 0.9 + 0.1 * Math.sin(50 * (u + v))));
  } else if (chance(rng, 0.12)) {
    attributes.beard = 2; // a moustache
    add(ellipse(cx, noseY + ry * 0.12, rx * 0.42, ry * 0.07), solid(shade(hair, 0.9)));
  }

  // Mouth: smile, grin (open, with teeth), neutral line, frown or "o".
  const mouthY = cy + ry * range(rng, 0.45, 0.58);
  const mouthW = rx * range(rng, 0.3, 0.5);
  const lips: RGB = mix(shade(skin, 0.75), [170, 40, 60], range(rng, 0.2, 0.6));
  const expression = (attributes.expression = weighted(rng, [0.35, 0.2, 0.2, 0.1, 0.15]));
  const lipW = ry * 0.035;
  if (expression === 0) add(arc(cx, mouthY - mouthW * 0.9, mouthW * 1.1, Math.PI * 0.28, Math.PI * 0.72, lipW), solid(lips));
  if (expression === 1) {
    add((u, v) => ellipse(cx, mouthY - ry * 0.02, mouthW, ry * 0.14)(u, v) && v > mouthY - ry * 0.04, solid([90, 20, 30]));
    add((u, v) => ellipse(cx, mouthY - ry * 0.02, mouthW * 0.85, ry * 0.12)(u, v) && v > mouthY - ry * 0.04 && v < mouthY + ry * 0.02, solid([250, 250, 245]));
  }
  if (expression === 2) add(segment(cx - mouthW * 0.8, mouthY, cx + mouthW * 0.8, mouthY, lipW), solid(lips));
  if (expression === 3) add(arc(cx, mouthY + mouthW * 1.1, mouthW * 1.05, -Math.PI * 0.7, -Math.PI * 0.3, lipW), solid(lips));
  if (expression === 4) add(ellipse(cx, mouthY, mouthW * 0.35, ry * 0.09), solid([90, 20, 30]));

  // Accessories: glasses or sunglasses, earrings, a hat.
  const frame = randomColour(rng, 10, 200);
  if (chance(rng, 0.2)) {
    const sun = chance(rng, 0.3);
    attributes.glasses = sun ? 2 : 1;
    for (const side of [-1, 1]) {
      const ex = cx + side * eyeDx;
      if (sun) add(ellipse(ex, eyeY, eyeR * 1.7, eyeR * 1.3), solid([20, 20, 25]));
      else add((u, v) => ellipse(ex, eyeY, eyeR * 1.75, eyeR * 1.45)(u, v) && !ellipse(ex, eyeY, eyeR * 1.45, eyeR * 1.15)(u, v), solid(frame));
    }
    add(segment(cx - eyeDx + eyeR * 1.6, eyeY, cx + eyeDx - eyeR * 1.6, eyeY, eyeR * 0.15), solid(frame));
  }
  if (chance(rng, 0.15)) {
    attributes.earrings = 1;
    const gold: RGB = chance(rng, 0.5) ? [230, 190, 60] : [200, 200, 210];
    for (const side of [-1, 1]) add(ellipse(cx + side * rx * 1.0, earY + ry * 0.22, rx * 0.06, rx * 0.06), solid(gold));
  }
  if (chance(rng, 0.12)) {
    attributes.hat = 1;
    const hat = randomColour(rng);
    add((u, v) => ellipse(cx, cy - ry * 0.55, rx * 1.1, ry * 0.55)(u, v) && v < cy - ry * 0.55, solid(hat));
    add(segment(cx - rx * 1.25, cy - ry * 0.57, cx + rx * 1.25, cy - ry * 0.57, ry * 0.06), solid(shade(hat, 0.8)));
  }
  return { layers, attributes };
}

const SUPERSAMPLE = 4;

/**
 * Renders face `seed` as channel-first floats in [−1, 1]: [3, size, size], or [1, size, size]
 * (luma) when channels is 1.
 */
export function renderFace(seed: number, size: number, channels = 3): Float32Array {
  const { layers } = faceLayers(seed);
  const plane = size * size;
  const out = new Float32Array(channels * plane);
  const n = SUPERSAMPLE * SUPERSAMPLE;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0, g = 0, b = 0;
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const u = (x + (sx + 0.5) / SUPERSAMPLE) / size, v = (y + (sy + 0.5) / SUPERSAMPLE) / size;
          for (let i = layers.length - 1; i >= 0; i--) {
            const layer = layers[i]!;
            if (layer.hit(u, v)) {
              const c = layer.colour(u, v);
              r += c[0]; g += c[1]; b += c[2];
              break;
            }
          }
        }
      }
      const p = y * size + x;
      const scale = 2 / (255 * n);
      if (channels === 1) {
        out[p] = (0.299 * r + 0.587 * g + 0.114 * b) * scale - 1;
      } else {
        out[p] = r * scale - 1;
        out[plane + p] = g * scale - 1;
        out[2 * plane + p] = b * scale - 1;
      }
    }
  }
  return out;
}
