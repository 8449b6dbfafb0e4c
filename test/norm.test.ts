// The fused GroupNorm (+ SiLU) kernels against the same functions composed from primitive ops
// (mean, sub, mul, sqrt, div, sigmoid), whose gradients come from autodiff.

import { expect } from 'chai';
import { F, Rng, randn, type Tensor } from 'ddpm-ts';
import { relError } from './helpers.js';

function composedGroupNorm(x: Tensor, groups: number, weight: Tensor, bias: Tensor, eps: number): Tensor {
  const [N, C] = x.shape as [number, number];
  const xg = F.reshape(x, [N, groups, -1]);
  const centred = F.sub(xg, F.mean(xg, 2, true));
  const variance = F.mean(F.mul(centred, centred), 2, true);
  const y = F.reshape(F.div(centred, F.sqrt(F.add(variance, eps))), x.shape);
  const perChannel = [1, C, ...x.shape.slice(2).map(() => 1)];
  return F.add(F.mul(y, F.reshape(weight, perChannel)), F.reshape(bias, perChannel));
}

/** Output and the gradients of x, weight and bias for sum(f(x) · r). */
function valueAndGrads(f: (x: Tensor, w: Tensor, b: Tensor) => Tensor, shape: number[]): Float32Array[] {
  const rng = new Rng(21);
  const x = randn(shape, rng, { requiresGrad: true });
  const w = F.add(F.mul(randn([shape[1]!], rng), 0.3), 1).detach(), b = randn([shape[1]!], rng);
  w.requiresGrad = true;
  b.requiresGrad = true;
  const y = f(x, w, b);
  y.backward(randn(y.shape, rng));
  return [y.toFloat32Array(), x.grad!.toFloat32Array(), w.grad!.toFloat32Array(), b.grad!.toFloat32Array()];
}

describe('fused group normalisation kernels equal their composition from primitives', () => {
  for (const [G, shape] of [[4, [3, 8, 5, 7]], [1, [2, 3, 4]], [8, [2, 32, 16, 16]]] as Array<[number, number[]]>) {
    for (const silu of [false, true]) {
      it(`${silu ? 'groupNormSilu' : 'groupNorm'}, ${G} group(s), x ${JSON.stringify(shape)}`, () => {
        const fused = valueAndGrads((x, w, b) => (silu ? F.groupNormSilu : F.groupNorm)(x, G, w, b, 1e-5), shape);
        const composed = valueAndGrads((x, w, b) => {
          const y = composedGroupNorm(x, G, w, b, 1e-5);
          return silu ? F.silu(y) : y;
        }, shape);
        ['y', 'dx', 'dweight', 'dbias'].forEach((what, i) => {
          const err = relError(fused[i]!, composed[i]!);
          expect(err, `${what}: relative error ${err.toExponential(2)}`).to.be.at.most(1e-5);
        });
      });
    }
  }
});
