// Losses.

import { sameShape, shapeStr } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { mul, sub } from './elementwise.js';
import { mean } from './reduce.js';

/** Mean squared error, mean((pred − target)²), a scalar. dL/dpred = 2(pred − target)/n. */
export function mseLoss(pred: Tensor, target: Tensor): Tensor {
  if (!sameShape(pred.shape, target.shape)) {
    throw new Error(`mseLoss: pred ${shapeStr(pred.shape)} and target ${shapeStr(target.shape)} differ in shape`);
  }
  const d = sub(pred, target);
  return mean(mul(d, d));
}
