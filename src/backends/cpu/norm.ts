// Group normalisation (optionally followed by SiLU) as one kernel each way: composed from
// elementwise ops it took a dozen passes over the activations, here it takes two or three.
//
// For each image n and group g of channels (M = channels per group × spatial size values):
//   μ = mean(x),  r = 1/√(mean((x − μ)²) + eps),  x̂ = (x − μ)·r
//   a = γ_c·x̂ + β_c,   y = a   or   y = SiLU(a) = a·σ(a)
// Backward, given dy:
//   g_a = dy                     or   dy·σ(a)·(1 + a·(1 − σ(a)))      (SiLU's derivative)
//   dβ_c = Σ g_a,   dγ_c = Σ g_a·x̂                                     (over images and pixels)
//   dx = r·(g_x̂ − mean(g_x̂) − x̂·mean(g_x̂·x̂)),  g_x̂ = g_a·γ_c       (means over the group)
// Sums accumulate in float64.

export interface GroupNormShape {
  N: number;
  C: number;
  /** Values per channel (the product of the spatial sizes). */
  S: number;
  groups: number;
}

const sigmoid = (a: number) => 1 / (1 + Math.exp(-a));

/** y, and the per-(image, group) mean and 1/σ the backward pass reuses. */
export function groupNormForward(x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, { N, C, S, groups }: GroupNormShape, eps: number, silu: boolean): { y: Float32Array; mean: Float32Array; rstd: Float32Array } {
  const y = new Float32Array(x.length), mean = new Float32Array(N * groups), rstd = new Float32Array(N * groups);
  const perGroup = C / groups, M = perGroup * S;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const start = (n * C + g * perGroup) * S, end = start + M;
      let sum = 0;
      for (let i = start; i < end; i++) sum += x[i]!;
      const mu = sum / M;
      let squares = 0;
      for (let i = start; i < end; i++) squares += (x[i]! - mu) * (x[i]! - mu);
      const r = 1 / Math.sqrt(squares / M + eps);
      mean[n * groups + g] = mu;
      rstd[n * groups + g] = r;
      // a = γ·(x − μ)·r + β = x·scale + shift
      for (let c = g * perGroup; c < (g + 1) * perGroup; c++) {
        const scale = (gamma ? gamma[c]! : 1) * r, shift = (beta ? beta[c]! : 0) - mu * scale;
        const o = (n * C + c) * S;
        if (silu) for (let i = o; i < o + S; i++) {
          const a = x[i]! * scale + shift;
          y[i] = a * sigmoid(a);
        }
        else for (let i = o; i < o + S; i++) y[i] = x[i]! * scale + shift;
      }
    }
  }
  return { y, mean, rstd };
}

/** dx, dγ and dβ, from dy, x and the forward pass's mean and 1/σ. */
export function groupNormBackward(dy: Float32Array, x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, mean: Float32Array, rstd: Float32Array, { N, C, S, groups }: GroupNormShape, silu: boolean): { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array } {
  const dx = new Float32Array(x.length);
  const dgamma = new Float64Array(C), dbeta = new Float64Array(C);
  const perGroup = C / groups, M = perGroup * S;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const mu = mean[n * groups + g]!, r = rstd[n * groups + g]!;
      // Pass 1: g_a (kept in dx for pass 2), the channel sums, and the group's two means.
      let sumGx = 0, sumGxXhat = 0;
      for (let c = g * perGroup; c < (g + 1) * perGroup; c++) {
        const gc = gamma ? gamma[c]! : 1, bc = beta ? beta[c]! : 0;
        let sumGa = 0, sumGaXhat = 0;
        const o = (n * C + c) * S;
        for (let i = o; i < o + S; i++) {
          const xhat = (x[i]! - mu) * r;
          let ga = dy[i]!;
          if (silu) {
            const a = gc * xhat + bc, s = sigmoid(a);
            ga *= s * (1 + a * (1 - s));
          }
          dx[i] = ga;
          sumGa += ga;
          sumGaXhat += ga * xhat;
        }
        dbeta[c] += sumGa;
        dgamma[c] += sumGaXhat;
        sumGx += sumGa * gc;
        sumGxXhat += sumGaXhat * gc;
      }
      const meanGx = sumGx / M, meanGxXhat = sumGxXhat / M;
      // Pass 2: dx = r·(g_a·γ − mean(g_x̂) − x̂·mean(g_x̂·x̂)).
      for (let c = g * perGroup; c < (g + 1) * perGroup; c++) {
        const gc = gamma ? gamma[c]! : 1;
        const o = (n * C + c) * S;
        for (let i = o; i < o + S; i++) dx[i] = r * (dx[i]! * gc - meanGx - (x[i]! - mu) * r * meanGxXhat);
      }
    }
  }
  return { dx, dgamma: Float32Array.from(dgamma), dbeta: Float32Array.from(dbeta) };
}
