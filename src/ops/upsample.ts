// Nearest-neighbour 2× upsampling, composed from views.

import { shapeStr } from '../util/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { contiguous, expand, reshape } from './view.js';

/**
 * [N, C, H, W] -> [N, C, 2H, 2W], each pixel copied into a 2×2 block: view x as
 * [N, C, H, 1, W, 1], broadcast to [N, C, H, 2, W, 2] and lay it out. The gradient of a pixel
 * is the sum over its 2×2 block, which expand's gradient (a sum over the broadcast axes) gives.
 */
export function upsampleNearest2x(x: Tensor): Tensor {
  if (x.rank !== 4) throw new Error(`upsampleNearest2x: input must be [N, C, H, W], got ${shapeStr(x.shape)}`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const blocks = expand(reshape(x, [N, C, H, 1, W, 1]), [N, C, H, 2, W, 2]);
  return reshape(contiguous(blocks), [N, C, 2 * H, 2 * W]);
}
