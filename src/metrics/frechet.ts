// The Fréchet distance between two sets of feature vectors, each summarised as a Gaussian (the
// "FID" when the features come from a network that sees images): for means μ₁, μ₂ and
// covariances Σ₁, Σ₂,
//
//   d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½)
//
// All in float64. Σ₁Σ₂ is not symmetric, but it is similar to S Σ₂ S with S = Σ₁^½ (symmetric,
// positive semi-definite), so Tr((Σ₁Σ₂)^½) = Σᵢ √λᵢ(S Σ₂ S): two symmetric eigendecompositions
// (Jacobi rotations, below) instead of a general matrix square root.

/** A set's mean and covariance (unbiased, n − 1 in the denominator, as numpy.cov), d features. */
export interface FeatureStats {
  readonly d: number;
  readonly count: number;
  readonly mean: Float64Array;
  /** Row-major d × d. */
  readonly cov: Float64Array;
}

/** The mean and covariance of n feature rows of d values (row-major). */
export function featureStats(features: ArrayLike<number>, n: number, d: number): FeatureStats {
  if (features.length !== n * d) throw new Error(`featureStats: ${features.length} values are not ${n} rows of ${d}`);
  if (n < 2) throw new Error(`featureStats: a covariance needs at least 2 rows, got ${n}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) mean[k]! += features[i * d + k]!;
  for (let k = 0; k < d; k++) mean[k]! /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) row[k] = features[i * d + k]! - mean[k]!;
    for (let a = 0; a < d; a++) {
      const ra = row[a]!;
      for (let b = a; b < d; b++) cov[a * d + b]! += ra * row[b]!;
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = cov[a * d + b]! / (n - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  }
  return { d, count: n, mean, cov };
}

/**
 * Eigenvalues and eigenvectors of a symmetric d × d matrix (row-major), by cyclic Jacobi
 * rotations: each rotation zeroes one off-diagonal pair; sweeps repeat until the off-diagonal
 * part is negligible. `vectors` holds the eigenvectors as columns: A = V diag(λ) Vᵀ.
 */
export function symmetricEigen(matrix: ArrayLike<number>, d: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  const offNorm = () => {
    let s = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) s += a[p * d + q]! ** 2;
    return Math.sqrt(s);
  };
  let scale = 0;
  for (let i = 0; i < d * d; i++) scale = Math.max(scale, Math.abs(a[i]!));
  for (let sweep = 0; sweep < 100 && offNorm() > 1e-15 * scale * d; sweep++) {
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q]!;
        if (apq === 0) continue;
        // The rotation angle θ with tan 2θ = 2a_pq / (a_qq − a_pp), in its stable form.
        const theta = (a[q * d + q]! - a[p * d + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < d; k++) {
          // Columns p and q of A, then rows p and q (A ← JᵀAJ), and V ← VJ.
          const akp = a[k * d + p]!, akq = a[k * d + q]!;
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k]!, aqk = a[q * d + k]!;
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p]!, vkq = v[k * d + q]!;
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: d }, (_, i) => a[i * d + i]!), vectors: v };
}

/** The symmetric square root of a symmetric positive semi-definite matrix (eigenvalues below 0, rounding's, taken as 0). */
export function sqrtPsd(matrix: ArrayLike<number>, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const r = Math.sqrt(Math.max(0, values[k]!));
    for (let i = 0; i < d; i++) {
      const vik = vectors[i * d + k]! * r;
      for (let j = 0; j < d; j++) out[i * d + j]! += vik * vectors[j * d + k]!;
    }
  }
  return out;
}

/** d² = ‖μ₁ − μ₂‖² + Tr(Σ₁) + Tr(Σ₂) − 2 Tr((Σ₁Σ₂)^½). */
export function frechetDistance(x: FeatureStats, y: FeatureStats): number {
  if (x.d !== y.d) throw new Error(`frechetDistance: ${x.d} features against ${y.d}`);
  const d = x.d;
  let meanTerm = 0, traces = 0;
  for (let k = 0; k < d; k++) {
    meanTerm += (x.mean[k]! - y.mean[k]!) ** 2;
    traces += x.cov[k * d + k]! + y.cov[k * d + k]!;
  }
  // S Σ₂ S, S = Σ₁^½: symmetric, with the eigenvalues of Σ₁Σ₂.
  const s = sqrtPsd(x.cov, d);
  const product = multiply(multiply(s, y.cov, d), s, d);
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const m = (product[i * d + j]! + product[j * d + i]!) / 2; // exactly symmetric again
      product[i * d + j] = product[j * d + i] = m;
    }
  }
  const { values } = symmetricEigen(product, d);
  let traceSqrt = 0;
  for (const v of values) traceSqrt += Math.sqrt(Math.max(0, v));
  return meanTerm + traces - 2 * traceSqrt;
}

function multiply(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k]!;
      for (let j = 0; j < d; j++) out[i * d + j]! += aik * b[k * d + j]!;
    }
  }
  return out;
}
