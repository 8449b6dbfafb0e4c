// The UNet against PyTorch (UNet-S fixture), its configuration checks, and an overfit test.

import { expect } from 'chai';
import { F, Rng, nn, io, optim, randn, tensor, type Tensor } from 'ddpm-ts';
import { expectClose, expectUNetGradients, runUNetFixture } from './helpers.js';

describe('UNet', () => {
  describe('UNet-S equals the PyTorch reference', function () {
    this.timeout(300000);
    let weights: io.Safetensors;
    let ref: io.Safetensors;
    let net: nn.UNet;
    let x: Tensor;
    let out: Tensor;

    before(async () => {
      ({ weights, ref, net, x, out } = await runUNetFixture());
    });

    it('has 1,113,955 parameters with the reference names, shapes and order', () => {
      expect(net.numParameters()).to.equal(1113955);
      expect(net.numParameters()).to.equal(Number(weights.metadata.params));
      const names = net.namedParameters().map(([n, p]) => `${n} [${p.shape}]`);
      expect(names).to.deep.equal([...weights.tensors].map(([n, t]) => `${n} [${t.shape}]`));
    });

    it('forward(x, t) equals out', () => {
      expectClose(out, ref.tensors.get('out')!.toFloat32Array(), 1e-3, 'UNet output');
    });

    it('backward equals gradX and the gradient of every parameter', async () => {
      await expectUNetGradients(net, x, ref);
    });
  });

  it('builds any config of the spec shape (two res blocks, attention at two resolutions, one channel)', () => {
    const net = new nn.UNet({ imageSize: 16, inChannels: 1, baseChannels: 16, channelMults: [1, 2], numResBlocks: 2, attnResolutions: [8, 16], groups: 4, timeEmbDim: 64, zeroInitOut: false }, { rng: new Rng(3) });
    const names = net.namedParameters().map(([n]) => n);
    expect(names).to.include.members(['down.0.attn.1.qkv.weight', 'up.0.res.2.skip.weight', 'up.1.upsample.weight', 'down.0.downsample.weight']);
    expect(names.some((n) => n.startsWith('down.1.downsample'))).to.equal(false);
    const x = randn([2, 1, 16, 16], new Rng(4));
    const y = net.forward(x, [0, 999]);
    expect(y.shape).to.deep.equal([2, 1, 16, 16]);
    expect(Array.from(y.toFloat32Array()).every(Number.isFinite)).to.equal(true);
  });

  it('initialises like PyTorch: U(±1/sqrt(fan_in)) weights, GroupNorm 1 and 0, zero output conv by default', () => {
    const net = new nn.UNet({ imageSize: 8, baseChannels: 8, channelMults: [1, 2], attnResolutions: [4], groups: 2, timeEmbDim: 16 }, { rng: new Rng(1) });
    const w = net.stateDict().get('down.0.res.0.conv1.weight')!.toFloat32Array();
    const bound = 1 / Math.sqrt(8 * 9);
    expect(Math.max(...w.map(Math.abs))).to.be.below(bound).and.above(0.9 * bound);
    expect(Array.from(net.stateDict().get('normOut.weight')!.toFloat32Array())).to.deep.equal(Array(8).fill(1));
    expect(Array.from(net.convOut.weight.toFloat32Array()).every((v) => v === 0)).to.equal(true);
    const y = net.forward(randn([1, 3, 8, 8]), [5]).toFloat32Array();
    expect(Array.from(y).every((v) => v === 0)).to.equal(true);
    // One seed reproduces the initialisation exactly.
    const again = new nn.UNet(net.config, { rng: new Rng(1) });
    expect(Array.from(again.stateDict().get('mid.attn.qkv.weight')!.toFloat32Array()))
      .to.deep.equal(Array.from(net.stateDict().get('mid.attn.qkv.weight')!.toFloat32Array()));
  });

  it('rejects invalid configs with a message naming the field', () => {
    expect(() => new nn.UNet({ groups: 5 })).to.throw(/UNet config: groups must divide every normalised width/);
    expect(() => new nn.UNet({ attnResolutions: [16, 3] })).to.throw(/attnResolutions lists 3, but the net only has resolutions 32, 16, 8/);
    expect(() => new nn.UNet({ imageSize: 18, channelMults: [1, 2, 2] })).to.throw(/imageSize must be divisible by 2\^\(levels-1\) = 4/);
    expect(() => new nn.UNet({ channelMults: [] })).to.throw(/channelMults must be a non-empty list/);
    expect(() => new nn.UNet({ dropout: 1 })).to.throw(/dropout must be a number in \[0, 1\)/);
    expect(() => new nn.UNet({ numResBlocks: 0 })).to.throw(/numResBlocks must be a positive integer/);
    expect(() => new nn.UNet({ imagesize: 32 } as never)).to.throw(/imagesize is not a known field/);
  });

  it('checks its input shape and timesteps', () => {
    const net = new nn.UNet({ imageSize: 8, baseChannels: 8, channelMults: [1], attnResolutions: [], groups: 2, timeEmbDim: 16 });
    expect(() => net.forward(randn([1, 1, 8, 8]), [0])).to.throw(/UNet.forward: x \[1,1,8,8\] should be \[B, 3, 8, 8\]/);
    expect(() => net.forward(randn([2, 3, 8, 8]), [0])).to.throw(/1 timesteps for a batch of 2/);
  });

  it('loadStateDict lists missing, unexpected and wrongly shaped names in one error', () => {
    const net = new nn.UNet({ imageSize: 8, baseChannels: 8, channelMults: [1], attnResolutions: [], groups: 2, timeEmbDim: 16 });
    const state = net.stateDict();
    state.delete('convIn.bias');
    state.set('extra.weight', tensor([1], [1]));
    state.set('convOut.weight', randn([3, 8, 1, 1]));
    expect(() => net.loadStateDict(state)).to.throw(
      /loadStateDict\(UNet\): wrong shapes: convOut.weight: expected \[3,8,3,3\], got \[3,8,1,1\] \| missing: convIn.bias \| unexpected: extra.weight/,
    );
    state.set('convOut.weight', randn([3, 8, 3, 3]));
    net.loadStateDict(state, { strict: false });
  });

  it('a few dozen Adam steps overfit a fixed batch (loss falls by more than half)', function () {
    this.timeout(120000);
    const rng = new Rng(11);
    const net = new nn.UNet({ imageSize: 8, inChannels: 1, baseChannels: 8, channelMults: [1, 2], attnResolutions: [4], groups: 2, timeEmbDim: 16, zeroInitOut: false }, { rng });
    const x = randn([4, 1, 8, 8], rng);
    const target = randn([4, 1, 8, 8], rng);
    const t = [1, 50, 200, 900];
    const opt = new optim.Adam(net.parameters(), { lr: 3e-3 });
    const losses: number[] = [];
    for (let step = 0; step < 40; step++) {
      const loss = F.mseLoss(net.forward(x, t), target);
      losses.push(loss.item());
      opt.zeroGrad();
      loss.backward();
      opt.step();
    }
    expect(losses[39]!).to.be.below(0.5 * losses[0]!);
  });
});
