// The functional namespace `F`: every op, with PyTorch's argument order and shapes.

export { add, sub, mul, div, neg, exp, log, sqrt, sigmoid, square, clamp, type Operand } from './elementwise.js';
export { sum, mean, max } from './reduce.js';
export { reshape, permute, transpose, expand, contiguous, clone, slice, concat, concatChannels, unbroadcast } from './view.js';
export { bmm, matmul, linear, type MatmulOptions } from './matmul.js';
export { conv2d, type Conv2dOptions } from './conv.js';
export { silu, softmax } from './activation.js';
export { attention } from './attention.js';
export { groupNorm, groupNormSilu } from './norm.js';
export { upsampleNearest2x } from './upsample.js';
export { mseLoss, crossEntropy } from './loss.js';
export { timestepEmbedding } from './embedding.js';
export { dropout } from './dropout.js';
