// The Fréchet distance (src/metrics/frechet.ts) in float64: the eigendecomposition it rests on,
// its floor for identical sets, and SciPy's sqrtm-based formula (the one pytorch-fid uses) on the
// same features, ≤ 1e-6 relative. Needs Debian's python3-scipy in CI.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { metrics, Rng } from 'ddpm-ts';

const python = process.env.DDPM_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

/** n rows of d correlated features: z·M + offset, z standard normal (M random, so the covariance is full). */
function features(n: number, d: number, rng: Rng, offset = 0): Float64Array {
  const m = Float64Array.from({ length: d * d }, () => rng.normal() / Math.sqrt(d));
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const z = Float64Array.from({ length: d }, () => rng.normal());
    for (let j = 0; j < d; j++) {
      let s = offset * (j % 3);
      for (let k = 0; k < d; k++) s += z[k]! * m[k * d + j]!;
      out[i * d + j] = s;
    }
  }
  return out;
}

describe('the Fréchet distance (metrics)', () => {
  it('symmetricEigen: A = V diag(λ) Vᵀ with V orthonormal, to 1e-12', () => {
    const d = 24, rng = new Rng(1);
    const b = Float64Array.from({ length: d * d }, () => rng.normal());
    const a = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) a[i * d + j] = b[i * d + j]! + b[j * d + i]!;
    const { values, vectors: v } = metrics.symmetricEigen(a, d);
    let err = 0, orth = 0, scale = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let r = 0, o = 0;
        for (let k = 0; k < d; k++) {
          r += v[i * d + k]! * values[k]! * v[j * d + k]!;
          o += v[k * d + i]! * v[k * d + j]!;
        }
        err = Math.max(err, Math.abs(r - a[i * d + j]!));
        orth = Math.max(orth, Math.abs(o - (i === j ? 1 : 0)));
        scale = Math.max(scale, Math.abs(a[i * d + j]!));
      }
    }
    expect(err / scale).to.be.below(1e-12);
    expect(orth).to.be.below(1e-12);
  });

  it('is 0 for a set against itself (to 1e-9 of its trace), grows with a shift of the mean by exactly ‖Δμ‖², and is symmetric', () => {
    const d = 16, n = 200;
    const x = metrics.featureStats(features(n, d, new Rng(2)), n, d);
    let trace = 0;
    for (let k = 0; k < d; k++) trace += x.cov[k * d + k]!;
    expect(Math.abs(metrics.frechetDistance(x, x))).to.be.below(1e-9 * trace);
    const shifted = { ...x, mean: x.mean.map((m, k) => m + (k === 3 ? 2 : 0)) };
    expect(metrics.frechetDistance(x, shifted)).to.be.closeTo(4, 1e-8);
    const y = metrics.featureStats(features(n, d, new Rng(3), 0.5), n, d);
    expect(metrics.frechetDistance(x, y)).to.be.closeTo(metrics.frechetDistance(y, x), 1e-9 * metrics.frechetDistance(x, y));
  });

  it("equals SciPy's formula (‖Δμ‖² + Tr(Σ₁ + Σ₂ − 2·sqrtm(Σ₁Σ₂))) on the same features, ≤ 1e-6 relative", function () {
    const check = spawnSync(python, ['-c', 'import scipy.linalg, numpy'], { encoding: 'utf8' });
    if (check.status !== 0) {
      if (process.env.CI) throw new Error(`CI needs SciPy for ${python} (Debian's python3-scipy; .ci/run installs it)`);
      return this.skip();
    }
    const dir = mkdtempSync(join(tmpdir(), 'ddpm-ts-fid-'));
    for (const [d, n] of [[8, 50], [64, 300]] as const) {
      const a = features(n, d, new Rng(d)), b = features(n, d, new Rng(d + 1), 0.3);
      writeFileSync(join(dir, 'a.bin'), Buffer.from(a.buffer));
      writeFileSync(join(dir, 'b.bin'), Buffer.from(b.buffer));
      const code = `import numpy as np, scipy.linalg as la
a = np.fromfile(${JSON.stringify(join(dir, 'a.bin'))}).reshape(${n}, ${d}); b = np.fromfile(${JSON.stringify(join(dir, 'b.bin'))}).reshape(${n}, ${d})
m1, m2, s1, s2 = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
covmean = la.sqrtm(s1 @ s2).real
print(repr(float((m1 - m2) @ (m1 - m2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))))`;
      const r = spawnSync(python, ['-c', code], { encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
      const scipy = Number(r.stdout.trim());
      const ours = metrics.frechetDistance(metrics.featureStats(a, n, d), metrics.featureStats(b, n, d));
      expect(Math.abs(ours - scipy) / scipy, `ours ${ours}, SciPy ${scipy} (d ${d})`).to.be.at.most(1e-6);
    }
  });
});
