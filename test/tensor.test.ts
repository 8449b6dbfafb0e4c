// Tensors, views, broadcasting, autodiff bookkeeping and seeded randomness.

import { expect } from 'chai';
import { F, Rng, manualSeed, noGrad, ones, optim, randn, tensor, zeros, isGradEnabled } from 'ddpm-ts';

const values = (t: { toFloat32Array(): Float32Array }) => Array.from(t.toFloat32Array());

describe('tensors and views', () => {
  it('holds float32 data with shape, contiguous strides and offset', () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(t.shape).to.deep.equal([2, 3]);
    expect(t.strides).to.deep.equal([3, 1]);
    expect(t.offset).to.equal(0);
    expect(values(t)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(tensor([0.1]).item()).to.equal(Math.fround(0.1));
  });

  it('transposes, permutes and slices without copying, and reads back in logical order', () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const tt = F.transpose(t);
    expect(tt.storage).to.equal(t.storage);
    expect(tt.strides).to.deep.equal([1, 3]);
    expect(values(tt)).to.deep.equal([1, 4, 2, 5, 3, 6]);
    const s = F.slice(t, [0, 1], [2, 3]);
    expect(s.storage).to.equal(t.storage);
    expect(values(s)).to.deep.equal([2, 3, 5, 6]);
    expect(values(F.permute(tensor([...Array(24).keys()], [2, 3, 4]), [2, 0, 1])).slice(0, 6)).to.deep.equal([0, 4, 8, 12, 16, 20]);
  });

  it('reshapes views without copying when the layout allows, copies otherwise', () => {
    const t = tensor([...Array(12).keys()], [3, 4]);
    const r = F.reshape(t, [2, -1, 2]);
    expect(r.shape).to.deep.equal([2, 3, 2]);
    expect(r.storage).to.equal(t.storage);
    const tr = F.reshape(F.transpose(t), [12]);
    expect(tr.storage).to.not.equal(t.storage);
    expect(values(tr)).to.deep.equal([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    // Splitting an axis of a transposed view keeps it a view.
    const split = F.reshape(F.transpose(t), [2, 2, 3]);
    expect(split.storage).to.equal(t.storage);
    expect(values(split)).to.deep.equal([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
  });

  it('broadcasts like NumPy', () => {
    const a = tensor([1, 2, 3], [3, 1]);
    const b = tensor([10, 20], [2]);
    const c = F.add(a, b);
    expect(c.shape).to.deep.equal([3, 2]);
    expect(values(c)).to.deep.equal([11, 21, 12, 22, 13, 23]);
    expect(values(F.sub(1, tensor([1, 2])))).to.deep.equal([0, -1]);
    expect(F.mul(tensor([2], []), tensor([1, 2, 3], [3])).shape).to.deep.equal([3]);
  });

  it('reduces over chosen axes', () => {
    const t = tensor([...Array(24).keys()], [2, 3, 4]);
    expect(values(F.sum(t))).to.deep.equal([276]);
    expect(values(F.sum(t, [0, 2]))).to.deep.equal([60, 92, 124]);
    expect(F.mean(t, 1, true).shape).to.deep.equal([2, 1, 4]);
    expect(values(F.max(t, -1))).to.deep.equal([3, 7, 11, 15, 19, 23]);
  });

  it('upsamples each pixel into a 2x2 block and concatenates channels', () => {
    const up = F.upsampleNearest2x(tensor([1, 2, 3, 4], [1, 1, 2, 2]));
    expect(values(up)).to.deep.equal([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    const cat = F.concatChannels([tensor([1, 2], [1, 1, 1, 2]), tensor([3, 4, 5, 6], [1, 2, 1, 2])]);
    expect(values(cat)).to.deep.equal([1, 2, 3, 4, 5, 6]);
  });

  it('dropout zeroes about p of the elements, scales the rest by 1/(1-p), and is the identity in eval', () => {
    const x = ones([100, 100]);
    const y = Array.from(F.dropout(x, 0.25, true, new Rng(3)).toFloat32Array());
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros).to.be.within(2300, 2700); // 2500 ± 5.8 standard deviations
    expect(y.filter((v) => v !== 0).every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).to.equal(true);
    expect(F.dropout(x, 0.25, false)).to.equal(x);
    expect(() => F.dropout(x, 1)).to.throw(/dropout: p must be in \[0, 1\)/);
  });

  it('assign overwrites in place, and only with a matching shape', () => {
    const p = zeros([2, 2]);
    p.assign(tensor([1, 2, 3, 4], [2, 2]));
    expect(values(p)).to.deep.equal([1, 2, 3, 4]);
    expect(() => p.assign(ones([4]))).to.throw(/assign: source shape \[4\] differs from target \[2,2\]/);
  });
});

describe('autodiff', () => {
  it('backward of a scalar needs no argument; gradients accumulate like PyTorch', () => {
    const x = tensor([1, 2, 3], [3], { requiresGrad: true });
    F.sum(F.mul(x, x)).backward();
    expect(values(x.grad!)).to.deep.equal([2, 4, 6]);
    F.sum(F.mul(x, 3)).backward();
    expect(values(x.grad!)).to.deep.equal([5, 7, 9]);
  });

  it('a convolution\'s weight and bias, and a GroupNorm\'s γ and β, get their gradients as regions of one storage: each accumulates on its own, and zeroGrad frees the storage with its last holder', () => {
    const rng = new Rng(3);
    const x = randn([2, 3, 4, 4], rng), w = randn([4, 3, 3, 3], rng, { requiresGrad: true }), b = randn([4], rng, { requiresGrad: true });
    const gamma = randn([4], rng, { requiresGrad: true }), beta = randn([4], rng, { requiresGrad: true });
    const loss = () => F.sum(F.square(F.groupNorm(F.conv2d(x, w, b, { padding: 1 }), 2, gamma, beta)));
    loss().backward();
    for (const [weight, bias] of [[w, b], [gamma, beta]] as const) {
      expect(bias.grad!.storage, 'one storage').to.equal(weight.grad!.storage);
      expect([weight.grad!.offset, bias.grad!.offset]).to.deep.equal([0, weight.size]);
    }
    const first = [w, b, gamma, beta].map((p) => values(p.grad!));
    loss().backward(); // accumulates in place, each in its own region
    [w, b, gamma, beta].forEach((p, k) => values(p.grad!).forEach((v, i) => expect(v).to.be.closeTo(2 * first[k]![i]!, 1e-4 * (1 + Math.abs(v)))));
    const bGrad = b.grad!;
    new optim.Adam([w]).zeroGrad();
    expect(w.grad).to.equal(null);
    expect(values(bGrad)).to.deep.equal(values(b.grad!)); // the bias still holds the storage
    new optim.Adam([b]).zeroGrad();
    expect(() => values(bGrad)).to.throw(/zeroGrad/);
  });

  it('a non-scalar needs gradOutput of its own shape', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const y = F.mul(x, 2);
    expect(() => y.backward()).to.throw(/pass gradOutput/);
    expect(() => y.backward(ones([3]))).to.throw(/gradOutput shape \[3\] differs from output \[2\]/);
    y.backward(tensor([1, 10], [2]));
    expect(values(x.grad!)).to.deep.equal([2, 20]);
  });

  it('releases the graph after backward, and says so if asked to go through it again', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const h = F.exp(x);
    const y = F.sum(h);
    y.backward();
    expect(h.gradNode).to.equal('released');
    expect(y.gradNode).to.equal('released');
    expect(() => y.backward()).to.throw(/already released/);
  });

  it('noGrad records nothing and returns the function result; detach cuts the graph', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const y = noGrad(() => {
      expect(isGradEnabled()).to.equal(false);
      return F.mul(x, x);
    });
    expect(isGradEnabled()).to.equal(true);
    expect(y.requiresGrad).to.equal(false);
    expect(y.gradNode).to.equal(null);
    const d = F.mul(x, 2).detach();
    expect(d.requiresGrad).to.equal(false);
    expect(() => F.sum(d).backward()).to.throw(/does not require grad/);
  });

  it('only inputs that require grad receive gradients', () => {
    const a = tensor([1, 2], [2], { requiresGrad: true });
    const b = tensor([3, 4], [2]);
    F.sum(F.mul(a, b)).backward();
    expect(values(a.grad!)).to.deep.equal([3, 4]);
    expect(b.grad).to.equal(null);
  });

  it('survives a deep graph (no recursion limit)', () => {
    const x = tensor([1], [1], { requiresGrad: true });
    let y = x;
    for (let i = 0; i < 20000; i++) y = F.add(y, 0.5);
    F.sum(y).backward();
    expect(values(x.grad!)).to.deep.equal([1]);
  });
});

describe('seeded randomness', () => {
  it('one seed reproduces the stream; state can be saved and restored', () => {
    const a = new Rng(42), b = new Rng(42);
    const seqA = Array.from({ length: 5 }, () => a.normal());
    expect(Array.from({ length: 5 }, () => b.normal())).to.deep.equal(seqA);
    const saved = a.getState();
    const next = [a.uniform(), a.normal(), a.int(10)];
    a.setState(saved);
    expect([a.uniform(), a.normal(), a.int(10)]).to.deep.equal(next);
    expect(new Rng(43).normal()).to.not.equal(seqA[0]);
  });

  it('normal deviates have mean 0 and variance 1; uniform ones lie in [0, 1)', () => {
    const rng = new Rng(7);
    const n = 200000;
    let s = 0, s2 = 0, lo = 1, hi = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      s += z;
      s2 += z * z;
      const u = rng.uniform();
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
    }
    // Standard errors: mean 1/sqrt(n) = 0.0022, variance sqrt(2/n) = 0.0032; allow 4 of them.
    expect(Math.abs(s / n)).to.be.below(0.009);
    expect(Math.abs(s2 / n - 1)).to.be.below(0.013);
    expect(lo).to.be.at.least(0);
    expect(hi).to.be.below(1);
  });

  it('randn draws from the global generator that manualSeed resets', () => {
    manualSeed(5);
    const first = values(randn([4]));
    manualSeed(5);
    expect(values(randn([4]))).to.deep.equal(first);
  });
});
