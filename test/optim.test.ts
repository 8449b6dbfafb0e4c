// Optimizers against PyTorch (adam.json), gradient clipping, warm-up, EMA.

import { expect } from 'chai';
import { F, nn, optim, randn, tensor, tidy, Rng } from 'ddpm-ts';
import { expectClose, readFixture } from './helpers.js';

interface AdamCase {
  name: 'adam' | 'adamw';
  options: { lr: number; betas: [number, number]; eps: number; weight_decay?: number };
  param0: number[];
  grads: number[][];
  paramAfterEachStep: number[][];
}

describe('optimizers', () => {
  for (const c of readFixture<{ cases: AdamCase[] }>('adam.json').cases) {
    it(`${c.name} reproduces PyTorch step by step to 1e-6`, () => {
      const p = tensor(c.param0, [c.param0.length], { requiresGrad: true });
      const Opt = c.name === 'adam' ? optim.Adam : optim.AdamW;
      const opt = new Opt([p], { lr: c.options.lr, betas: c.options.betas, eps: c.options.eps, weightDecay: c.options.weight_decay ?? 0 });
      c.grads.forEach((g, step) => {
        p.grad = tensor(g, [g.length]);
        opt.step();
        const got = Array.from(p.toFloat32Array());
        got.forEach((v, i) => expect(Math.abs(v - c.paramAfterEachStep[step]![i]!), `step ${step + 1} element ${i}`).to.be.at.most(1e-6));
      });
    });
  }

  it('Adam and AdamW differ only in how weight decay is applied', () => {
    const run = (Opt: typeof optim.Adam, weightDecay: number) => {
      const p = tensor([1, -2], [2], { requiresGrad: true });
      const opt = new Opt([p], { lr: 0.1, weightDecay });
      p.grad = tensor([0.5, 0.5], [2]);
      opt.step();
      return Array.from(p.toFloat32Array());
    };
    expect(run(optim.Adam, 0)).to.deep.equal(run(optim.AdamW, 0));
    expect(run(optim.Adam, 0.5)).to.not.deep.equal(run(optim.AdamW, 0.5));
    expect(() => new optim.Adam([], { lr: -1 })).to.throw(/Adam: lr must be >= 0/);
  });

  it('saves and restores its moments so a resumed run continues identically', () => {
    const make = () => tensor([0.3, -0.7, 1.1], [3], { requiresGrad: true });
    const grads = [[1, 2, 3], [-1, 0.5, 0], [0.2, 0.2, -4]];
    const straight = make();
    const a = new optim.Adam([straight], { lr: 0.01 });
    for (const g of grads) {
      straight.grad = tensor(g, [3]);
      a.step();
    }
    const resumed = make();
    const b = new optim.Adam([resumed], { lr: 0.01 });
    resumed.grad = tensor(grads[0]!, [3]);
    b.step();
    const c = new optim.Adam([resumed], { lr: 0.01 });
    c.loadState(b.state());
    for (const g of grads.slice(1)) {
      resumed.grad = tensor(g, [3]);
      c.step();
    }
    expect(Array.from(resumed.toFloat32Array())).to.deep.equal(Array.from(straight.toFloat32Array()));
  });

  it('clipGradNorm scales all gradients by one factor to the max norm and returns the old norm (a tensor, as in PyTorch)', () => {
    const a = tensor([1, 1], [2], { requiresGrad: true }), b = tensor([1], [1], { requiresGrad: true });
    a.grad = tensor([3, 0], [2]);
    b.grad = tensor([4], [1]);
    const gradA = a.grad;
    expect(optim.clipGradNorm([a, b], 1).item()).to.be.closeTo(5, 1e-6);
    expect(a.grad, 'scaled in place').to.equal(gradA);
    expect(Array.from(a.grad.toFloat32Array())[0]).to.be.closeTo(0.6, 1e-6);
    expect(Array.from(b.grad!.toFloat32Array())[0]).to.be.closeTo(0.8, 1e-6);
    const before = Array.from(b.grad!.toFloat32Array());
    expect(optim.clipGradNorm([a, b], 10).item()).to.be.closeTo(1, 1e-6);
    expect(Array.from(b.grad!.toFloat32Array()), 'a norm under the limit leaves the gradients exactly as they were').to.deep.equal(before);
  });

  it('clipScale gives the norm and scale and leaves the gradients; Adam.step(scale) then updates exactly as clipGradNorm and Adam.step (Adam, AdamW, Adam with L2 decay, a parameter that is a view)', () => {
    const run = (fold: boolean, Opt: typeof optim.Adam, options: optim.AdamOptions) => {
      const whole = randn([3, 4], new Rng(1), { requiresGrad: true });
      const viewed = F.slice(randn([2, 5], new Rng(2)), [0, 1], [2, 4]); // a view: the composed path
      viewed.requiresGrad = true;
      const params = [whole, viewed, randn([7], new Rng(3), { requiresGrad: true })];
      const opt = new Opt(params, { lr: 0.05, ...options });
      const norms: number[] = [];
      for (let step = 0; step < 3; step++) {
        const g = new Rng(20 + step);
        for (const p of params) p.grad = F.mul(randn(p.shape, g), 2);
        const before = params.map((p) => Array.from(p.grad!.toFloat32Array()));
        if (fold) {
          const { norm, scale } = optim.clipScale(params, 1.5);
          params.forEach((p, k) => expect(Array.from(p.grad!.toFloat32Array()), 'gradients left as they were').to.deep.equal(before[k]));
          norms.push(norm.item());
          opt.step(scale);
        } else {
          norms.push(optim.clipGradNorm(params, 1.5).item());
          opt.step();
        }
      }
      return { norms, params: params.map((p) => Array.from(p.toFloat32Array())) };
    };
    for (const [Opt, options] of [[optim.Adam, {}], [optim.AdamW, { weightDecay: 0.1 }], [optim.Adam, { weightDecay: 0.1 }]] as const) {
      const folded = run(true, Opt, options), separate = run(false, Opt, options);
      expect(separate.norms.every((n) => n > 1.5), 'the clip scales').to.equal(true);
      expect(folded.norms).to.deep.equal(separate.norms);
      expect(folded.params, `${Opt.name} ${JSON.stringify(options)}`).to.deep.equal(separate.params);
    }
    expect(() => new optim.Adam([randn([2], new Rng(4), { requiresGrad: true })]).step(randn([2], new Rng(5)))).to.throw(/gradScale must hold one value/);
    expect(() => optim.clipScale([], 0)).to.throw(/^clipScale: maxNorm must be > 0, got 0$/);
    expect(() => optim.clipGradNorm([], -1)).to.throw(/^clipGradNorm: maxNorm must be > 0, got -1$/);
  });

  it('Adam keeps its parameters in its state (one launch a bucket on a GPU): the same tensors, the same values; a later optimizer takes them over and the first still updates them right', () => {
    const make = () => [randn([3, 4], new Rng(30), { requiresGrad: true }), randn([5], new Rng(31), { requiresGrad: true })];
    const [a, b] = make() as [ReturnType<typeof randn>, ReturnType<typeof randn>];
    const before = [a, b].map((p) => Array.from(p.toFloat32Array()));
    const first = new optim.Adam([a, b], { lr: 0.1 });
    expect([a, b].map((p) => Array.from(p.toFloat32Array())), 'values kept').to.deep.equal(before);
    expect(a.storage, 'both in one bucket').to.equal(b.storage);
    expect(first.state().m[0]!.storage).to.equal(a.storage);
    const second = new optim.Adam([a, b], { lr: 0.1 });
    expect(a.storage, 'moved into the second').to.equal(second.state().m[0]!.storage);
    // The first optimizer, stepping parameters that now live in the second's state, against a fresh Adam on copies.
    const [ra, rb] = make() as [ReturnType<typeof randn>, ReturnType<typeof randn>];
    const reference = new optim.Adam([ra, rb], { lr: 0.1 });
    for (let step = 0; step < 2; step++) {
      for (const [p, r, seed] of [[a, ra, 40 + step], [b, rb, 50 + step]] as const) {
        p.grad = randn(p.shape, new Rng(seed));
        r.grad = randn(r.shape, new Rng(seed));
      }
      first.step();
      reference.step();
    }
    expectClose(a.toFloat32Array(), ra.toFloat32Array(), 1e-6, 'a');
    expectClose(b.toFloat32Array(), rb.toFloat32Array(), 1e-6, 'b');
    expect(Array.from(a.toFloat32Array())).not.to.deep.equal(before[0]); // it stepped
    // Made inside a tidy() scope, an optimizer's state (the parameters in it) outlives the scope.
    const c = randn([4], new Rng(60), { requiresGrad: true });
    let inScope: optim.Adam | null = null;
    tidy(() => {
      inScope = new optim.Adam([c], { lr: 0.1 }); // not returned: the scope does not keep it
    });
    c.grad = randn([4], new Rng(61));
    inScope!.step();
    expect(c.toFloat32Array().every(Number.isFinite)).to.equal(true);
  });

  it('warmupLr ramps linearly to the base rate', () => {
    expect(optim.warmupLr(1e-3, 0, 100)).to.be.closeTo(1e-5, 1e-12);
    expect(optim.warmupLr(1e-3, 49, 100)).to.be.closeTo(5e-4, 1e-12);
    expect(optim.warmupLr(1e-3, 500, 100)).to.equal(1e-3);
    expect(optim.warmupLr(1e-3, 0, 0)).to.equal(1e-3);
  });

  it('scheduledLr: the warm-up, then constant, or a cosine from the base rate towards 0 at the last step', () => {
    for (const s of [0, 49, 500]) expect(optim.scheduledLr(1e-3, s, 100, 1100, 'constant')).to.equal(optim.warmupLr(1e-3, s, 100));
    expect(optim.scheduledLr(1e-3, 49, 100, 1100, 'cosine')).to.equal(optim.warmupLr(1e-3, 49, 100));
    expect(optim.scheduledLr(1e-3, 100, 100, 1100, 'cosine')).to.equal(1e-3); // the first step after the warm-up
    expect(optim.scheduledLr(1e-3, 350, 100, 1100, 'cosine')).to.be.closeTo(1e-3 * 0.5 * (1 + Math.SQRT1_2), 1e-15); // a quarter: cos(π/4)
    expect(optim.scheduledLr(1e-3, 600, 100, 1100, 'cosine')).to.be.closeTo(5e-4, 1e-15);
    expect(optim.scheduledLr(1e-3, 1099, 100, 1100, 'cosine')).to.be.closeTo(1e-3 * 0.5 * (1 + Math.cos(Math.PI * 0.999)), 1e-15);
    expect(optim.scheduledLr(1e-3, 1500, 100, 1100, 'cosine')).to.equal(0); // past the end (a resume asked for fewer): 0
  });

  it('EMA averages parameters with a warmed-up decay and copies them into a model', () => {
    const model = new nn.Linear(2, 1, { rng: new Rng(0) });
    const ema = new optim.EMA(model, { decay: 0.9 });
    const w0 = Array.from(model.weight.toFloat32Array());
    model.weight.assign(F.add(model.weight, 1));
    expect(ema.currentDecay()).to.be.closeTo(0.1, 1e-12); // (1 + 0)/(10 + 0)
    ema.update();
    const avg = Array.from(ema.stateDict().get('weight')!.toFloat32Array());
    avg.forEach((v, i) => expect(v).to.be.closeTo(0.1 * w0[i]! + 0.9 * (w0[i]! + 1), 1e-6));
    for (let i = 0; i < 100; i++) ema.update();
    expect(ema.currentDecay()).to.equal(0.9);
    const copy = new nn.Linear(2, 1, { rng: new Rng(5) });
    ema.copyTo(copy);
    expect(Array.from(copy.weight.toFloat32Array())).to.deep.equal(Array.from(ema.stateDict().get('weight')!.toFloat32Array()));
  });

  it('EMA warm-up c: decay min(d, (1 + n)/(c + n)); c = 1 means none; c < 1 refused', () => {
    const model = new nn.Linear(2, 1, { rng: new Rng(0) });
    const slow = new optim.EMA(model, { decay: 0.999, warmup: 3 });
    const none = new optim.EMA(model, { decay: 0.999, warmup: 1 });
    expect(slow.currentDecay()).to.be.closeTo(1 / 3, 1e-15);
    expect(none.currentDecay()).to.equal(0.999);
    for (let i = 0; i < 97; i++) slow.update();
    expect(slow.currentDecay()).to.be.closeTo(98 / 100, 1e-15); // an average of about the last n/(c − 1) = 49 steps
    // After n updates with c = 2 every weight so far counts the same: (1 + n)/(2 + n) is a running mean.
    const mean = new optim.EMA(model, { decay: 0.999, warmup: 2 });
    const w0 = model.weight.toFloat32Array()[0]!;
    for (let k = 1; k <= 3; k++) {
      model.weight.assign(F.add(model.weight, 1));
      mean.update();
    }
    expect(mean.stateDict().get('weight')!.toFloat32Array()[0]).to.be.closeTo(w0 + (0 + 1 + 2 + 3) / 4, 1e-6);
    expect(() => new optim.EMA(model, { warmup: 0.5 })).to.throw('EMA: warmup must be a number >= 1, got 0.5');
  });
});
