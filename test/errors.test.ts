// Bad input gets an error that names the op and the shapes, never a NaN or a wrong-shaped result.

import { expect } from 'chai';
import { F, ones, tensor, zeros } from 'ddpm-ts';

describe('clear errors for bad input', () => {
  it('conv2d: channel mismatch, wrong rank, bias size, kernel larger than input', () => {
    expect(() => F.conv2d(zeros([2, 3, 5, 5]), zeros([4, 2, 3, 3]))).to.throw(
      /conv2d\(x \[2,3,5,5\], weight \[4,2,3,3\].*input has 3 channels but the weight expects 2/,
    );
    expect(() => F.conv2d(zeros([3, 5, 5]), zeros([4, 3, 3, 3]))).to.throw(/conv2d.*input must be \[N, C, H, W\]/);
    expect(() => F.conv2d(zeros([1, 3, 5, 5]), zeros([4, 3, 3, 3]), zeros([3]))).to.throw(/bias \[3\] should be \[4\]/);
    expect(() => F.conv2d(zeros([1, 1, 2, 2]), zeros([1, 1, 3, 3]))).to.throw(/kernel does not fit/);
    expect(() => F.conv2d(zeros([1, 1, 5, 5]), zeros([1, 1, 3, 3]), null, { stride: 0 })).to.throw(/stride must be a positive integer/);
  });

  it('matmul and linear: inner sizes', () => {
    expect(() => F.matmul(zeros([2, 3]), zeros([4, 5]))).to.throw(/matmul: inner sizes differ: \[2,3\] · \[4,5\]/);
    expect(() => F.matmul(zeros([2, 2, 3]), zeros([3, 3, 5]))).to.throw(/matmul: shapes \[2\] and \[3\] cannot be broadcast/);
    expect(() => F.linear(zeros([2, 3]), zeros([4, 5]))).to.throw(/linear: input \[2,3\] does not fit weight \[4,5\]/);
  });

  it('broadcasting, reshape, slice, concat, permute', () => {
    expect(() => F.add(zeros([2, 3]), zeros([4]))).to.throw(/add: shapes \[2,3\] and \[4\] cannot be broadcast together/);
    expect(() => F.reshape(zeros([2, 3]), [4, -1])).to.throw(/reshape: cannot reshape \[2,3\] \(6 elements\) to \[4,-1\]/);
    expect(() => F.slice(zeros([2, 3]), [0, 2], [2, 4])).to.throw(/slice: range \[2, 4\) is invalid for axis 1 of \[2,3\]/);
    expect(() => F.concat([zeros([2, 3]), zeros([3, 2])], 0)).to.throw(/concat: shapes \[2,3\], \[3,2\] differ outside axis 0/);
    expect(() => F.permute(zeros([2, 3]), [0, 0])).to.throw(/permute: \[0,0\] is not a permutation/);
    expect(() => F.sum(zeros([2, 3]), 2)).to.throw(/sum: axis 2 is out of range for a tensor of rank 2/);
  });

  it('groupNorm, mseLoss, timestepEmbedding, tensor creation', () => {
    expect(() => F.groupNorm(zeros([1, 6, 2, 2]), 4)).to.throw(/groupNorm\(x \[1,6,2,2\], groups 4\): groups must be a positive integer dividing the 6 channels/);
    expect(() => F.groupNorm(zeros([1, 4, 2, 2]), 2, ones([3]))).to.throw(/weight \[3\] should be \[4\]/);
    expect(() => F.mseLoss(zeros([2, 3]), zeros([3, 2]))).to.throw(/mseLoss: pred \[2,3\] and target \[3,2\] differ in shape/);
    expect(() => F.timestepEmbedding([1, 2], 7)).to.throw(/dim must be an even integer/);
    expect(() => tensor([1, 2, 3], [2, 2])).to.throw(/tensor: shape \[2,2\] needs 4 values, got 3/);
    expect(() => zeros([2, -1])).to.throw(/zeros: invalid shape \[2,-1\]/);
  });

  it('groupNorm of a constant input gives finite zeros (eps guards the division)', () => {
    const y = F.groupNorm(ones([1, 2, 3, 3]), 1);
    expect(Array.from(y.toFloat32Array()).every((v) => v === 0)).to.equal(true);
  });
});
