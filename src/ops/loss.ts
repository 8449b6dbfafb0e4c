// Losses.

import { sameShape, shapeStr } from '../util/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { exp, log, mul, sub } from './elementwise.js';
import { max, mean, sum } from './reduce.js';

/**
 * Mean squared error, mean((pred − target)²), a scalar: dL/dpred = 2(pred − target)/n. With
 * weights w (broadcast over pred), mean(w·(pred − target)²): dL/dpred = 2w(pred − target)/n.
 */
export function mseLoss(pred: Tensor, target: Tensor, weights?: Tensor): Tensor {
  if (!sameShape(pred.shape, target.shape)) {
    throw new Error(`mseLoss: pred ${shapeStr(pred.shape)} and target ${shapeStr(target.shape)} differ in shape`);
  }
  const d = sub(pred, target);
  return mean(weights ? mul(weights, mul(d, d)) : mul(d, d));
}

/**
 * Cross-entropy of class scores z [B, K] against integer labels y, averaged over the batch:
 *   L = mean_b (log Σ_k e^{z_bk} − z_{b,y_b}),   dL/dz = (softmax(z) − onehot(y)) / B
 * The log-sum-exp is taken after subtracting each row's maximum (a constant), so no eᶻ overflows.
 */
export function crossEntropy(logits: Tensor, labels: readonly number[]): Tensor {
  const [B, K] = logits.shape as [number, number];
  if (logits.rank !== 2 || labels.length !== B) throw new Error(`crossEntropy: logits ${shapeStr(logits.shape)} need [B, K] with one label per row, got ${labels.length} labels`);
  const onehot = new Float32Array(B * K);
  labels.forEach((y, b) => {
    if (!Number.isInteger(y) || y < 0 || y >= K) throw new Error(`crossEntropy: label ${b} is ${y}, not a class in 0…${K - 1}`);
    onehot[b * K + y] = 1;
  });
  const shifted = sub(logits, max(logits, 1, true));
  const logSumExp = log(sum(exp(shifted), 1));
  const picked = sum(mul(shifted, new Tensor(logits.backend.fromArray(onehot), [B, K])), 1);
  return mean(sub(logSumExp, picked));
}
