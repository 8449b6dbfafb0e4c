// Schedules and sampler steps against PyTorch (schedule.json), the forward process, sampling.

import { expect } from 'chai';
import { diffusion, io, nn, resolveConfig, tensor, Rng, randn, F, type Tensor } from 'ddpm-ts';
import { expectClose, readFixture, relError } from './helpers.js';

interface Fixture {
  schedules: Record<'linear' | 'cosine', { T: number; betas: number[]; alphasCumprod: number[]; posteriorVariance: number[]; posteriorMeanCoef1: number[]; posteriorMeanCoef2: number[] }>;
  steps: Array<{ kind: 'ddpm' | 'ddim'; t: number; tPrev?: number; shape: number[]; xt: number[]; eps: number[]; z: number[]; xPrevVarianceBeta?: number[]; xPrevVariancePosterior?: number[]; xPrevEta0?: number[]; xPrevEta1?: number[] }>;
}
const fx = readFixture<Fixture>('schedule.json');
const linear = diffusion.makeSchedule({ schedule: 'linear', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 });

describe('diffusion', () => {
  describe('schedules equal PyTorch in float64 (1e-10)', () => {
    for (const kind of ['linear', 'cosine'] as const) {
      it(kind, () => {
        const s = diffusion.makeSchedule({ schedule: kind, timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 });
        const ref = fx.schedules[kind];
        for (const field of ['betas', 'alphasCumprod', 'posteriorVariance', 'posteriorMeanCoef1', 'posteriorMeanCoef2'] as const) {
          // Element by element, relative to each reference value (the late ᾱ are tiny).
          const worst = ref[field].reduce((w, r, i) => Math.max(w, Math.abs(s[field][i]! - r) / Math.max(Math.abs(r), 1e-300)), 0);
          expect(worst, `${kind}.${field}`).to.be.at.most(1e-10);
        }
      });
    }
  });

  describe('sampler steps equal PyTorch (1e-5, float32)', () => {
    for (const step of fx.steps) {
      const t = (a: number[]) => tensor(a, step.shape);
      if (step.kind === 'ddpm') {
        for (const variance of ['beta', 'posterior'] as const) {
          it(`DDPM t=${step.t}, variance ${variance}`, () => {
            const out = diffusion.ddpmStep(linear, t(step.xt), t(step.eps), step.t, t(step.z), { variance });
            expectClose(out, variance === 'beta' ? step.xPrevVarianceBeta! : step.xPrevVariancePosterior!, 1e-5, 'x_{t-1}');
          });
        }
      } else {
        for (const eta of [0, 1]) {
          it(`DDIM ${step.t} → ${step.tPrev}, eta ${eta}`, () => {
            const out = diffusion.ddimStep(linear, t(step.xt), t(step.eps), step.t, step.tPrev!, eta, t(step.z));
            expectClose(out, eta === 0 ? step.xPrevEta0! : step.xPrevEta1!, 1e-5, 'x_prev');
          });
        }
      }
    }
  });

  it('clipping x0 changes nothing when x0 is in range, and keeps it in [-1, 1] otherwise', () => {
    const rng = new Rng(1);
    const t = 500;
    const x0 = F.mul(randn([2, 3, 4, 4], rng), 0.3);
    const eps = randn([2, 3, 4, 4], rng);
    const z = randn([2, 3, 4, 4], rng);
    const xt = diffusion.qSample(linear, x0, [t, t], eps);
    const plain = diffusion.ddpmStep(linear, xt, eps, t, z).toFloat32Array();
    const clipped = diffusion.ddpmStep(linear, xt, eps, t, z, { clip: true }).toFloat32Array();
    expect(relError(clipped, plain)).to.be.below(1e-5);
    // An x0 far outside [-1, 1]: a deterministic DDIM jump to the end lands exactly on clip(x0).
    const xtFar = diffusion.qSample(linear, F.mul(x0, 10), [t, t], eps);
    const end = diffusion.ddimStep(linear, xtFar, eps, t, -1, 0, z, { clip: true }).toFloat32Array();
    expect(Math.max(...end.map(Math.abs))).to.be.at.most(1 + 1e-6);
    expect(end.filter((v) => Math.abs(v) > 0.999).length).to.be.above(10);
  });

  it('qSample is the closed form √ᾱ x0 + √(1−ᾱ) ε, per batch item', () => {
    const x0 = tensor([1, 2], [2, 1, 1, 1]);
    const eps = tensor([3, -1], [2, 1, 1, 1]);
    const out = diffusion.qSample(linear, x0, [0, 999], eps).toFloat32Array();
    const a0 = linear.alphasCumprod[0]!, a1 = linear.alphasCumprod[999]!;
    expect(out[0]).to.be.closeTo(Math.sqrt(a0) * 1 + Math.sqrt(1 - a0) * 3, 1e-6);
    expect(out[1]).to.be.closeTo(Math.sqrt(a1) * 2 - Math.sqrt(1 - a1), 1e-6);
    expect(() => diffusion.qSample(linear, x0, [0, 1000], eps)).to.throw(/timestep 1000 is outside 0…999/);
  });

  it('eps, x0 and v predictions all recover the same noise', () => {
    const rng = new Rng(2);
    const x0 = randn([2, 1, 3, 3], rng), eps = randn([2, 1, 3, 3], rng);
    const t = 321;
    const xt = diffusion.qSample(linear, x0, [t, t], eps);
    for (const p of ['eps', 'x0', 'v'] as const) {
      const target = diffusion.trainingTarget(p, linear, x0, eps, [t, t]);
      const recovered = diffusion.predictedEps(p, linear, xt, target, t);
      expect(relError(recovered.toFloat32Array(), eps.toFloat32Array()), p).to.be.below(1e-4);
    }
  });

  it('min-SNR-γ weights: ε by min(SNR, γ)/SNR, v by min(SNR, γ)/(SNR + 1), x0 by min(SNR, γ), one per item', () => {
    const t = [0, 100, 999];
    const snr = t.map((s) => linear.alphasCumprod[s]! / (1 - linear.alphasCumprod[s]!));
    expect(snr[0]).to.be.above(5); // nearly clean: capped
    expect(snr[2]).to.be.below(5); // nearly pure noise: not capped
    const like = randn([3, 2, 4, 4], new Rng(1));
    const expected = { eps: snr.map((s) => Math.min(s, 5) / s), v: snr.map((s) => Math.min(s, 5) / (s + 1)), x0: snr.map((s) => Math.min(s, 5)) };
    for (const p of ['eps', 'v', 'x0'] as const) {
      const w = diffusion.minSnrWeights(p, linear, t, 5, like);
      expect(w.shape, p).to.deep.equal([3, 1, 1, 1]);
      expectClose(w.toFloat32Array(), Float32Array.from(expected[p]), 1e-6, p);
    }
    expect(diffusion.minSnrWeights('eps', linear, [999], 5, like).toFloat32Array()[0]).to.equal(1);
  });

  it('DDIM timesteps: trailing spacing from T-1, and every timestep for steps = T', () => {
    expect(diffusion.ddimTimesteps(1000, 50).slice(0, 3)).to.deep.equal([999, 979, 959]);
    expect(diffusion.ddimTimesteps(1000, 50).at(-1)).to.equal(19);
    expect(diffusion.ddimTimesteps(10, 10)).to.deep.equal([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(() => diffusion.ddimTimesteps(10, 11)).to.throw(/steps must be an integer in 1…10/);
  });

  it('sample() checks its options as the config does: a missing prediction or clip, an unknown or mistyped option, is named', () => {
    const net = { forward: (x: Tensor) => F.mul(x, 0) };
    const req = { count: 1, channels: 3, imageSize: 2, rng: new Rng(1) };
    const full = { sampler: 'ddim', steps: 5, eta: 1, clip: true, prediction: 'eps', variance: 'beta' };
    const problem = (opts: unknown, r: unknown = req) => {
      try {
        diffusion.sample(net, linear, opts as never, r as never);
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(problem(full)).to.equal('');
    const { prediction: _p, ...noPrediction } = full;
    expect(problem(noPrediction)).to.equal('sample: options.prediction must be one of "eps", "x0", "v" (got nothing)');
    const { clip: _c, ...noClip } = full;
    expect(problem(noClip)).to.equal('sample: options.clip must be one of true, false (got nothing)');
    expect(problem({ ...full, steps: '5' })).to.equal(`sample: options.steps must be an integer from 1 to ${linear.T} for DDIM (got "5")`);
    expect(problem({ ...full, stpes: 5 })).to.match(/^sample: options\.stpes is not a sampler option/);
    expect(problem(full, { ...req, rng: 3 })).to.equal('sample: request.rng must be an Rng (new Rng(seed))');
  });

  it('with the true noise as prediction, both samplers walk a known image back exactly (deterministic DDIM)', () => {
    // A "perfect" denoiser for a single training image x*: ε̂ = (x_t − √ᾱ x*)/√(1−ᾱ).
    const target = tensor(Float32Array.from({ length: 12 }, (_, i) => Math.sin(i) * 0.8), [1, 3, 2, 2]);
    const perfect = {
      forward: (x: Tensor, t: ArrayLike<number>) => {
        const a = linear.alphasCumprod[t[0]!]!;
        return F.div(F.sub(x, F.mul(F.expand(target, x.shape), Math.sqrt(a))), Math.sqrt(1 - a));
      },
    };
    const opts = { steps: 20, eta: 0, clip: false, prediction: 'eps' as const, variance: 'beta' as const };
    const ddim = diffusion.sample(perfect, linear, { ...opts, sampler: 'ddim' }, { count: 2, channels: 3, imageSize: 2, rng: new Rng(4), trajectoryFrames: 5 });
    expect(ddim.images.shape).to.deep.equal([2, 3, 2, 2]);
    expect(relError(ddim.images.toFloat32Array(), [...target.toFloat32Array(), ...target.toFloat32Array()])).to.be.below(1e-3);
    expect(ddim.trajectory).to.have.length(5);
    expect(ddim.trajectoryTimesteps[0]).to.equal(1000);
    expect(ddim.trajectoryTimesteps.at(-1)).to.equal(0);
    const ddpm = diffusion.sample(perfect, linear, { ...opts, sampler: 'ddpm' }, { count: 1, channels: 3, imageSize: 2, rng: new Rng(5) });
    expect(relError(ddpm.images.toFloat32Array(), target.toFloat32Array())).to.be.below(1e-3);
  });

  it('epsilon scaling divides the predicted noise by λ at every step: λ = 1 is the plain sampler, bit for bit', () => {
    // A denoiser that is not perfect (its ε̂ a fixed function of x_t and t), so each step matters.
    const net = { forward: (x: Tensor, t: ArrayLike<number>) => F.mul(F.sub(x, 0.1), 0.9 + t[0]! / 5000) };
    // The same net with its output divided by λ: what scaling ε̂ by 1/λ must equal exactly.
    const shrunk = (lambda: number) => ({ forward: (x: Tensor, t: ArrayLike<number>) => F.div(net.forward(x, t), lambda) });
    const draw = (model: typeof net, sampler: 'ddpm' | 'ddim', epsScale?: number) =>
      Array.from(diffusion.sample(model, linear, { sampler, steps: 10, eta: 1, clip: true, prediction: 'eps', variance: 'beta', ...(epsScale !== undefined && { epsScale }) }, { count: 2, channels: 3, imageSize: 4, rng: new Rng(7) }).images.toFloat32Array());
    for (const sampler of ['ddim', 'ddpm'] as const) {
      const plain = draw(net, sampler);
      expect(draw(net, sampler, 1), sampler).to.deep.equal(plain);
      const scaled = draw(net, sampler, 1.05);
      expect(scaled, sampler).to.deep.equal(draw(shrunk(1.05), sampler, 1));
      const change = Math.max(...scaled.map((v, i) => Math.abs(v - plain[i]!)));
      expect(change, `${sampler}: λ = 1.05 changes the images`).to.be.above(1e-2);
    }
    expect(() => draw(net, 'ddim', 0)).to.throw('sample: options.epsScale must be a number > 0 (got 0)');
  });

  it('sampleSteps yields after every step (done of total, x_t) and returns what sample() returns, bit for bit', () => {
    const net = { forward: (x: Tensor, t: ArrayLike<number>) => F.mul(F.sub(x, 0.1), 0.9 + t[0]! / 5000) };
    const opts = { sampler: 'ddim' as const, steps: 6, eta: 1, clip: true, prediction: 'eps' as const, variance: 'beta' as const };
    const req = () => ({ count: 5, channels: 3, imageSize: 4, rng: new Rng(3), batchSize: 2 });
    const whole = diffusion.sample(net, linear, opts, req());
    const steps = diffusion.sampleSteps(net, linear, opts, req());
    const seen: Array<[number, number, readonly number[]]> = [];
    let next = steps.next();
    while (!next.done) {
      seen.push([next.value.done, next.value.total, next.value.x.shape]);
      next = steps.next();
    }
    // 3 batches (2, 2, 1 images) of 6 steps.
    expect(seen.map(([d]) => d)).to.deep.equal(Array.from({ length: 18 }, (_, i) => i + 1));
    expect(seen.every(([, t]) => t === 18)).to.equal(true);
    expect(seen[0]![2]).to.deep.equal([2, 3, 4, 4]);
    expect(seen[17]![2]).to.deep.equal([1, 3, 4, 4]);
    expect(Array.from(next.value.images.toFloat32Array())).to.deep.equal(Array.from(whole.images.toFloat32Array()));
  });

  it('samplingSetup takes prediction and variance from the weights\' training, and sample fields over the file\'s', () => {
    const config = resolveConfig({ model: { imageSize: 8, baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [], groups: 4, timeEmbDim: 16 },
      data: { imageSize: 8 }, diffusion: { prediction: 'v', variance: 'posterior' }, sample: { sampler: 'ddim', steps: 10 } });
    const trained = new nn.UNet(config.model, { rng: new Rng(2) });
    return io.serializeSafetensors(trained.stateDict(), { config: JSON.stringify(config) }).then((bytes) => {
      const file = diffusion.parseSamplingWeights(bytes, 'v-model.safetensors');
      const setup = diffusion.samplingSetup(file, { steps: 4, eta: 0 });
      expect(setup.options).to.deep.equal({ sampler: 'ddim', steps: 4, eta: 0, clip: true, epsScale: config.sample.epsScale, prediction: 'v', variance: 'posterior' });
      expect(setup.config.sample.steps).to.equal(4);
      expect(setup.schedule.T).to.equal(config.diffusion.timesteps);
      // The model holds the file's weights: its output is the trained one's.
      const x = randn([1, 3, 8, 8], new Rng(5));
      expect(Array.from(setup.model.forward(x, [10]).toFloat32Array())).to.deep.equal(Array.from(trained.eval().forward(x, [10]).toFloat32Array()));
      // What the file's training fixed cannot be asked for; sample fields are checked by the config's rules (plain JavaScript callers too).
      expect(() => diffusion.samplingSetup(file, { prediction: 'eps' } as never)).to.throw("samplingSetup: prediction is not a sample field: it comes from the weights' training (diffusion.prediction 'v' in v-model.safetensors)");
      expect(() => diffusion.samplingSetup(file, { variance: 'beta' } as never)).to.throw("diffusion.variance 'posterior'");
      expect(() => diffusion.samplingSetup(file, { steps: 0 })).to.throw('sample.steps');
      expect(() => diffusion.samplingSetup(file, { stpes: 3 } as never)).to.throw('sample.stpes');
      expect(() => diffusion.samplingSetup({} as never)).to.throw('samplingSetup: the first argument must be what loadSamplingWeights or parseSamplingWeights returns');
    });
  });
});
