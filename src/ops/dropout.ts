// Dropout (Srivastava et al. 2014), the inverted form PyTorch uses.

import { globalRng, type Rng } from '../random/rng.js';
import { Tensor } from '../tensor/tensor.js';
import { mul } from './elementwise.js';

/**
 * In training, zeroes each element with probability p and scales the survivors by 1/(1−p), so
 * the expected value is unchanged; in evaluation it is the identity. The mask comes from the
 * seeded generator; the gradient is the same mask (it is a multiplication).
 */
export function dropout(x: Tensor, p: number, training = true, rng: Rng = globalRng): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const mask = new Float32Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() < p ? 0 : 1 / (1 - p);
  return mul(x, new Tensor(x.backend.fromArray(mask), x.shape));
}
