// The sinusoidal timestep embedding of the Transformer and DDPM.

import { getBackend } from '../backends/registry.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * For integer timesteps t, emb[b] = [sin(t_b·f_0) … sin(t_b·f_{h−1}), cos(t_b·f_0) … cos(t_b·f_{h−1})]
 * with h = dim/2 and frequencies f_i = exp(−ln(maxPeriod)·i/(h−1)), from 1 down to 1/maxPeriod.
 * Arguments are rounded to float32 as PyTorch computes them, so results agree to the last bits.
 * Timesteps are data, not parameters: there is no gradient.
 */
export function timestepEmbedding(t: ArrayLike<number> | Tensor, dim: number, maxPeriod = 10000): Tensor {
  const steps = t instanceof Tensor ? t.toFloat32Array() : t;
  if (!Number.isInteger(dim) || dim < 4 || dim % 2 !== 0) {
    throw new Error(`timestepEmbedding: dim must be an even integer >= 4, got ${dim}`);
  }
  const half = dim / 2;
  const scale = Math.fround(Math.log(maxPeriod) / (half - 1));
  const freqs = new Float32Array(half);
  for (let i = 0; i < half; i++) freqs[i] = Math.exp(Math.fround(i * -scale));
  const out = new Float32Array(steps.length * dim);
  for (let b = 0; b < steps.length; b++) {
    const tb = steps[b]!;
    if (!Number.isFinite(tb)) throw new Error(`timestepEmbedding: timestep ${b} is ${tb}`);
    for (let i = 0; i < half; i++) {
      const arg = Math.fround(tb * freqs[i]!);
      out[b * dim + i] = Math.sin(arg);
      out[b * dim + half + i] = Math.cos(arg);
    }
  }
  const backend = t instanceof Tensor ? t.backend : getBackend();
  return new Tensor(backend.fromArray(out), [steps.length, dim]);
}
