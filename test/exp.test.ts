// The CPU backend computes eˣ itself (Math.exp cannot be inlined into its loops): exp and
// sigmoid must round to exactly the float32 that Math.exp gives, over the whole range, and keep
// the special values.

import { expect } from 'chai';
import { F, Rng, tensor } from 'ddpm-ts';

function values(): Float32Array {
  const rng = new Rng(31);
  const out: number[] = [0, -0, 1, -1, 88.7, 88.73, -87.3, -103.9, -104, 709, -708, 710, -750, 1000, -1000, Infinity, -Infinity];
  for (const [lo, hi] of [[-1e-6, 1e-6], [-1, 1], [-20, 20], [-110, 90], [-1000, 1000]]) {
    for (let i = 0; i < 40000; i++) out.push(lo! + (hi! - lo!) * rng.uniform());
  }
  return Float32Array.from(out);
}

/** How many elements of y are not exactly `reference(x)` rounded to float32. */
function mismatches(x: Float32Array, y: Float32Array, reference: (v: number) => number): number {
  let count = 0;
  x.forEach((v, i) => (count += Object.is(y[i], Math.fround(reference(v))) ? 0 : 1));
  return count;
}

describe('exp and sigmoid kernels', () => {
  it('exp equals Math.exp rounded to float32, everywhere (overflow to Infinity, underflow to 0)', () => {
    const x = values();
    expect(mismatches(x, F.exp(tensor(x)).toFloat32Array(), Math.exp), 'elements differing from Math.exp').to.equal(0);
  });

  it('sigmoid equals 1/(1 + Math.exp(-x)) rounded to float32, and NaN stays NaN', () => {
    const x = values();
    expect(mismatches(x, F.sigmoid(tensor(x)).toFloat32Array(), (v) => 1 / (1 + Math.exp(-v))), 'elements differing').to.equal(0);
    expect(F.sigmoid(tensor([NaN])).item()).to.be.NaN;
    expect(F.exp(tensor([NaN])).item()).to.be.NaN;
  });
});
