// The run config: defaults, merging, and one clear message per wrong field.

import { expect } from 'chai';
import { ConfigError, UNet, defaultConfig, resolveConfig, sourceDefaults } from 'ddpm-ts';

function problems(partial: unknown): string[] {
  try {
    resolveConfig(partial);
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('has a default for every field, and merges a partial config section by section', () => {
    const c = resolveConfig({ train: { steps: 10 }, sample: { sampler: 'ddpm' } });
    expect(c.train.steps).to.equal(10);
    expect(c.train.batchSize).to.equal(defaultConfig.train.batchSize);
    expect(c.sample.sampler).to.equal('ddpm');
    expect(c.diffusion).to.deep.equal({ timesteps: 1000, schedule: 'linear', betaStart: 1e-4, betaEnd: 0.02, prediction: 'eps', variance: 'beta' });
    expect(c.model.imageSize).to.equal(c.data.imageSize);
    expect(c.model.inChannels).to.equal(c.data.channels);
  });

  it('gives MNIST one channel by default, faces and a folder three; data.channels overrides either way', () => {
    const mnist = resolveConfig({ data: { source: 'mnist' } });
    expect(mnist.data.channels).to.equal(1);
    expect(mnist.model.inChannels).to.equal(1);
    expect(resolveConfig({}).data.channels).to.equal(3);
    expect(resolveConfig({ data: { source: 'folder', path: 'photos' } }).data.channels).to.equal(3);
    expect(defaultConfig.data.channels).to.equal(sourceDefaults(defaultConfig.data.source).channels);
    expect(resolveConfig({ data: { source: 'folder', path: 'photos', channels: 1 } }).data.channels).to.equal(1);
    // An MNIST run from before with three channels stores them, and resumes on three.
    const before = resolveConfig({ data: { source: 'mnist', channels: 3 } });
    expect([before.data.channels, before.model.inChannels]).to.deep.equal([3, 3]);
    expect(resolveConfig(JSON.parse(JSON.stringify(before)))).to.deep.equal(before);
    // model.inChannels follows the source's channels: stating the other count names both fields.
    expect(() => resolveConfig({ data: { source: 'mnist' }, model: { inChannels: 3 } })).to.throw(ConfigError, 'model.inChannels (3) must equal data.channels (1)');
  });

  it('flips faces and a folder\'s images by default, not MNIST digits; data.flip overrides either way', () => {
    expect(resolveConfig({ data: { source: 'folder', path: 'photos' } }).data.flip).to.equal(true);
    expect(resolveConfig({ data: { source: 'mnist', channels: 1 } }).data.flip).to.equal(false);
    expect(resolveConfig({}).data.flip).to.equal(true);
    expect(defaultConfig.data.flip).to.equal(sourceDefaults(defaultConfig.data.source).flip);
    expect(resolveConfig({ data: { source: 'folder', path: 'photos', flip: false } }).data.flip).to.equal(false);
    expect(resolveConfig({ data: { source: 'mnist', channels: 1, flip: true } }).data.flip).to.equal(true);
    // A resolved config (as a checkpoint stores it) resolves to itself: its flip is kept.
    const stored = resolveConfig({ data: { source: 'mnist', channels: 1, flip: true } });
    expect(resolveConfig(JSON.parse(JSON.stringify(stored)))).to.deep.equal(stored);
  });

  it('gives MNIST a UNet of half the width unless the config sets the model\'s fields; faces and folders keep the defaults\'', () => {
    const mnist = resolveConfig({ data: { source: 'mnist', channels: 1 } }).model;
    expect([mnist.baseChannels, mnist.timeEmbDim, mnist.groups, mnist.numResBlocks]).to.deep.equal([8, 32, 4, 1]);
    expect(mnist.channelMults).to.deep.equal([1, 1, 2, 2]);
    expect(new UNet(mnist).numParameters()).to.equal(78049);
    expect(resolveConfig({ data: { source: 'folder', path: 'photos' } }).model).to.deep.equal(resolveConfig({}).model);
    expect(resolveConfig({}).model.baseChannels).to.equal(16);
    // A field the config sets wins; the others still follow the source.
    const wide = resolveConfig({ data: { source: 'mnist', channels: 1 }, model: { baseChannels: 16 } }).model;
    expect([wide.baseChannels, wide.timeEmbDim]).to.deep.equal([16, 32]);
    // A checkpoint of an MNIST run from before (its resolved config names the wider net) keeps its net.
    const before = resolveConfig({ data: { source: 'mnist', channels: 1 }, model: { baseChannels: 16, timeEmbDim: 64 } });
    expect(resolveConfig(JSON.parse(JSON.stringify(before))).model).to.deep.equal(before.model);
    // Ones from before [1, 1, 2, 2] store [1, 2, 2] or [1, 1, 2], and keep them.
    for (const [channelMults, parameters] of [[[1, 2, 2], 71033], [[1, 1, 2], 51985]] as const) {
      const older = resolveConfig({ data: { source: 'mnist' }, model: { channelMults: [...channelMults] } });
      expect(resolveConfig(JSON.parse(JSON.stringify(older))).model.channelMults).to.deep.equal(channelMults);
      expect(new UNet(older.model).numParameters()).to.equal(parameters);
    }
  });

  it('gives faces and a folder two ResBlocks a level by default and MNIST one; a faces run from before keeps its one', () => {
    expect(resolveConfig({}).model.numResBlocks).to.equal(2);
    expect(defaultConfig.model.numResBlocks).to.equal(2);
    expect(resolveConfig({ data: { source: 'folder', path: 'photos' } }).model.numResBlocks).to.equal(2);
    expect(resolveConfig({ data: { source: 'mnist', channels: 1 } }).model.numResBlocks).to.equal(1);
    expect(resolveConfig({ data: { source: 'mnist', channels: 1 }, model: { numResBlocks: 2 } }).model.numResBlocks).to.equal(2);
    const before = resolveConfig({ model: { numResBlocks: 1 } });
    expect(resolveConfig(JSON.parse(JSON.stringify(before))).model.numResBlocks).to.equal(1);
    expect(new UNet(resolveConfig({}).model).numParameters()).to.equal(409219);
    expect(new UNet(before.model).numParameters()).to.equal(280755);
  });

  it('trains MNIST at a learning rate of 2e-3 unless the config sets one; faces and folders keep 1e-3', () => {
    expect(resolveConfig({ data: { source: 'mnist', channels: 1 } }).train.lr).to.equal(2e-3);
    expect(resolveConfig({}).train.lr).to.equal(1e-3);
    expect(resolveConfig({ data: { source: 'folder', path: 'photos' } }).train.lr).to.equal(1e-3);
    expect(resolveConfig({ data: { source: 'mnist', channels: 1 }, train: { lr: 5e-4 } }).train.lr).to.equal(5e-4);
    // The source changes the rate and the default folder (runs/mnist, runs/<the folder's name>): the other train fields are the defaults'.
    const { lr: _mnistLr, outDir: mnistDir, ...mnistRest } = resolveConfig({ data: { source: 'mnist', channels: 1 } }).train;
    const { lr: _facesLr, outDir: facesDir, ...facesRest } = resolveConfig({}).train;
    expect(mnistRest).to.deep.equal(facesRest);
    expect([facesDir, mnistDir, resolveConfig({ data: { source: 'folder', path: 'my/photos/' } }).train.outDir]).to.deep.equal(['runs/faces', 'runs/mnist', 'runs/photos']);
    expect(resolveConfig({ data: { source: 'folder', path: 'my/photos' }, train: { outDir: 'here' } }).train.outDir).to.equal('here');
    // A checkpoint of an MNIST run from before stores its rate, 1e-3, and resumes at it.
    const before = resolveConfig({ data: { source: 'mnist', channels: 1 }, train: { lr: 1e-3 } });
    expect(resolveConfig(JSON.parse(JSON.stringify(before))).train.lr).to.equal(1e-3);
  });

  it('the model follows the data shape', () => {
    const c = resolveConfig({ data: { imageSize: 16, channels: 1 }, model: { channelMults: [1, 2], attnResolutions: [8] } });
    expect(c.model.imageSize).to.equal(16);
    expect(c.model.inChannels).to.equal(1);
    expect(problems({ data: { imageSize: 16 }, model: { imageSize: 32 } })).to.deep.equal(['model.imageSize (32) must equal data.imageSize (16), or be left out']);
  });

  it('names each wrong field once, with what is allowed', () => {
    const list = problems({
      seed: -1,
      train: { batchSize: 0, lr: 'fast', batchsize: 4 },
      diffusion: { schedule: 'quadratic', betaStart: 0.5, betaEnd: 0.1 },
      data: { source: 'folder', flip: 'yes' },
      sample: { steps: 2000 },
      modle: {},
    });
    expect(list).to.have.members([
      "'modle' is not a config section (sections: seed, backend, threads, model, diffusion, data, train, sample); did you mean 'model'?",
      "diffusion.schedule must be one of 'linear', 'cosine' (got \"quadratic\")",
      'data.flip must be true or false (got "yes")',
      'train.batchsize is not a known field; did you mean train.batchSize?',
      'train.batchSize must be an integer >= 1 (got 0)',
      'train.lr must be a number > 0 (got "fast")',
      'seed must be an integer from 0 to 4294967295 (got -1)',
      "data.path must name an image folder when data.source is 'folder'",
      'sample.steps (2000) must not exceed diffusion.timesteps (1000)',
    ]);
    expect(problems({ diffusion: { betaStart: 0.5, betaEnd: 0.1 } })).to.deep.equal(['diffusion.betaStart (0.5) must not exceed diffusion.betaEnd (0.1)']);
    expect(problems({ model: { groups: 7 } })[0]).to.match(/^model\.groups must divide every normalised width/);
    expect(problems({ backend: 'tpu' })[0]).to.match(/^backend must be one of 'cpu'/);
    expect(problems({ train: { emaWarmup: 0.5 } })).to.deep.equal(['train.emaWarmup must be a number >= 1 (got 0.5)']);
  });

  it('the error message lists every problem on its own line', () => {
    try {
      resolveConfig({ train: { steps: -1, logEvery: 0 } });
      expect.fail('should throw');
    } catch (e) {
      expect((e as Error).message).to.equal('invalid config:\n  - train.steps must be an integer >= 0 and <= 100000000 (got -1)\n  - train.logEvery must be an integer >= 1 (got 0)');
    }
  });

  it('lists every fault at once: model faults too, while the data shape is wrong', () => {
    // Ten wrong fields; once only seven were listed, the model's skipped behind data.imageSize.
    const list = problems({
      seed: 1.5,
      data: { imageSize: 'big', flip: 'yes' },
      diffusion: { schedule: 'quadratic', timesteps: 1 },
      train: { batchSize: 0, lr: -1 },
      sample: { eta: 2 },
      model: { channelMults: [], groups: 5, dropout: 1 },
    });
    expect(list).to.have.members([
      'seed must be an integer from 0 to 4294967295 (got 1.5)',
      'data.imageSize must be an integer >= 4 (got "big")',
      'data.flip must be true or false (got "yes")',
      "diffusion.schedule must be one of 'linear', 'cosine' (got \"quadratic\")",
      'diffusion.timesteps must be an integer >= 2 (got 1)',
      'train.batchSize must be an integer >= 1 (got 0)',
      'train.lr must be a number > 0 (got -1)',
      'sample.eta must be a number >= 0 and <= 1 (got 2)',
      'model.channelMults must be a non-empty list of positive integers (got [])',
      'model.groups must divide every normalised width, and 16 channels occur (got 5)',
      'model.dropout must be a number in [0, 1) (got 1)',
    ]);
    // With a valid image size, attention resolutions are checked even when the levels are not.
    expect(problems({ model: { channelMults: [], attnResolutions: [3], groups: 5 } })).to.deep.equal([
      'model.channelMults must be a non-empty list of positive integers (got [])',
      'model.attnResolutions lists 3, which no level of a 32×32 net can have (32, 16, 8, 4, 2, 1) (got [3])',
      'model.groups must divide every normalised width, and 16 channels occur (got 5)',
    ]);
    // Several model faults alone are all listed too (the UNet's own check stopped at the first).
    expect(problems({ model: { baseChannels: 7, numResBlocks: 0, timeEmbDim: -2 } })).to.have.length(3);
  });

  it('sample.count and sample.eta have upper limits', () => {
    expect(problems({ sample: { count: 1e9 } })).to.deep.equal(['sample.count must be an integer >= 1 and <= 1024 (got 1000000000)']);
    expect(problems({ sample: { eta: -1 } })).to.deep.equal(['sample.eta must be a number >= 0 and <= 1 (got -1)']);
    expect(resolveConfig({ sample: { count: 1024, eta: 1 } }).sample.count).to.equal(1024);
  });

  it('scales the predicted noise by 1/1.04 for faces and a folder unless the config sets sample.epsScale; MNIST keeps 1 (off); 0.5…2', () => {
    expect(defaultConfig.sample.epsScale).to.equal(1.04);
    expect(resolveConfig({}).sample.epsScale).to.equal(1.04);
    expect(resolveConfig({ data: { source: 'folder', path: 'photos' } }).sample.epsScale).to.equal(1.04);
    expect(resolveConfig({ data: { source: 'mnist', channels: 1 } }).sample.epsScale).to.equal(1);
    expect(resolveConfig({ data: { source: 'mnist', channels: 1 }, sample: { epsScale: 1.02 } }).sample.epsScale).to.equal(1.02);
    expect(resolveConfig({ sample: { epsScale: 1 } }).sample.epsScale).to.equal(1);
    // The source changes only λ: the other sample fields are the defaults'.
    const { epsScale: _mnistScale, ...mnistRest } = resolveConfig({ data: { source: 'mnist', channels: 1 } }).sample;
    const { epsScale: _facesScale, ...facesRest } = resolveConfig({}).sample;
    expect(mnistRest).to.deep.equal(facesRest);
    expect(problems({ sample: { epsScale: 0 } })).to.deep.equal(['sample.epsScale must be a number >= 0.5 and <= 2 (got 0)']);
    expect(problems({ sample: { epsScale: 2.5 } })).to.deep.equal(['sample.epsScale must be a number >= 0.5 and <= 2 (got 2.5)']);
    expect(problems({ sample: { epsScale: '1.03' } })).to.deep.equal(['sample.epsScale must be a number >= 0.5 and <= 2 (got "1.03")']);
  });
});
