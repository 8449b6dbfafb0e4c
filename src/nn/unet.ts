// The DDPM UNet (Ho et al. 2020), compact: a time embedding, an encoder of ResBlocks (with
// attention at chosen resolutions) that halves the resolution per level, a middle block, and a
// decoder that mirrors the encoder, consuming the encoder's activations through skip
// connections. Parameter names follow the PyTorch reference exactly.

import * as F from '../ops/index.js';
import { globalRng, type Rng } from '../random/rng.js';
import type { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../util/shape.js';
import { AttentionBlock } from './attention.js';
import { Conv2d, GroupNorm } from './layers.js';
import { Container, Module, ModuleList } from './module.js';
import { ResBlock } from './resblock.js';
import { TimeEmbedding } from './time-embedding.js';

export interface UNetConfig {
  imageSize: number;
  inChannels: number;
  baseChannels: number;
  channelMults: number[];
  numResBlocks: number;
  attnResolutions: number[];
  groups: number;
  timeEmbDim: number;
  dropout: number;
  /** Zero-initialise the final convolution, so the untrained net predicts 0 (DDPM's choice). */
  zeroInitOut: boolean;
}

export const defaultUNetConfig: UNetConfig = {
  imageSize: 32,
  inChannels: 3,
  baseChannels: 32,
  channelMults: [1, 2, 2],
  numResBlocks: 1,
  attnResolutions: [8],
  groups: 8,
  timeEmbDim: 128,
  dropout: 0,
  zeroInitOut: true,
};

const isPositiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;

/** Fills defaults and checks every field; the error lists every fault, each naming its field and what is allowed. */
export function resolveUNetConfig(partial: Partial<UNetConfig>, where = 'UNet config: '): UNetConfig {
  const { config, problems } = checkUNetConfig(partial, where);
  if (problems.length) throw new Error(problems.map((p) => p.message).join('\n'));
  return config;
}

export interface UNetConfigProblem {
  field: string;
  message: string;
}

/**
 * Every fault of a UNet config, not just the first: each check runs whenever the fields it
 * reads are valid themselves, so one bad field never hides another.
 */
export function checkUNetConfig(partial: Partial<UNetConfig>, where = 'UNet config: '): { config: UNetConfig; problems: UNetConfigProblem[] } {
  const problems: UNetConfigProblem[] = [];
  const known = new Set(Object.keys(defaultUNetConfig));
  for (const key of Object.keys(partial)) {
    if (!known.has(key)) problems.push({ field: key, message: `${where}${key} is not a known field (fields: ${[...known].join(', ')})` });
  }
  const c: UNetConfig = { ...defaultUNetConfig, ...partial };
  const bad = new Set<keyof UNetConfig>();
  const fault = (field: keyof UNetConfig, why: string) => {
    bad.add(field);
    problems.push({ field, message: `${where}${field} ${why} (got ${JSON.stringify(c[field])})` });
  };
  for (const f of ['imageSize', 'inChannels', 'baseChannels', 'numResBlocks', 'groups', 'timeEmbDim'] as const) {
    if (!isPositiveInt(c[f])) fault(f, 'must be a positive integer');
  }
  if (!Array.isArray(c.channelMults) || c.channelMults.length === 0 || !c.channelMults.every(isPositiveInt)) {
    fault('channelMults', 'must be a non-empty list of positive integers');
  }
  if (!Array.isArray(c.attnResolutions) || !c.attnResolutions.every(isPositiveInt)) {
    fault('attnResolutions', 'must be a list of positive integers');
  }
  if (typeof c.dropout !== 'number' || !(c.dropout >= 0 && c.dropout < 1)) fault('dropout', 'must be a number in [0, 1)');
  if (typeof c.zeroInitOut !== 'boolean') fault('zeroInitOut', 'must be true or false');
  const ok = (...fields: Array<keyof UNetConfig>) => fields.every((f) => !bad.has(f));
  if (ok('baseChannels') && (c.baseChannels % 2 !== 0 || c.baseChannels < 4)) {
    fault('baseChannels', 'must be even and at least 4 (it is the sinusoidal embedding width)');
  }
  if (ok('imageSize', 'channelMults')) {
    const levels = c.channelMults.length;
    if (c.imageSize % 2 ** (levels - 1) !== 0) fault('imageSize', `must be divisible by 2^(levels-1) = ${2 ** (levels - 1)} for ${levels} levels`);
  }
  if (ok('imageSize', 'attnResolutions')) {
    // With valid levels, the net's resolutions; without, every size a level could have.
    const resolutions = ok('channelMults')
      ? c.channelMults.map((_, i) => c.imageSize / 2 ** i)
      : Array.from({ length: Math.floor(Math.log2(c.imageSize)) + 1 }, (_, i) => c.imageSize / 2 ** i).filter(Number.isInteger);
    const stray = c.attnResolutions.find((r) => !resolutions.includes(r));
    if (stray !== undefined) {
      fault('attnResolutions', ok('channelMults')
        ? `lists ${stray}, but the net only has resolutions ${resolutions.join(', ')}`
        : `lists ${stray}, which no level of a ${c.imageSize}×${c.imageSize} net can have (${resolutions.join(', ')})`);
    }
  }
  if (ok('baseChannels', 'groups')) {
    // The widths need the levels; with invalid ones, the first level's width is still known.
    const widths = channelWidths({ ...c, channelMults: ok('channelMults') ? c.channelMults : [1], numResBlocks: ok('numResBlocks') ? c.numResBlocks : 1, attnResolutions: [] });
    const odd = [...widths].find((w) => w % c.groups !== 0);
    if (odd !== undefined) fault('groups', `must divide every normalised width, and ${odd} channels occur`);
  }
  return { config: c, problems };
}

/** The architecture as plain data: each level's ResBlock widths, attention and resampling. */
export interface LevelPlan {
  blocks: Array<[inChannels: number, outChannels: number]>;
  attention: boolean;
  resample: boolean;
}

export interface UNetPlan {
  down: LevelPlan[];
  midChannels: number;
  /** Indexed by level like `down`; the decoder runs them from the deepest up. */
  up: LevelPlan[];
}

/**
 * Works out every block's channel counts once, for validation and construction alike. The
 * encoder pushes each output on a skip stack; each decoder block takes one skip back off it.
 */
export function planUNet(c: UNetConfig): UNetPlan {
  const levels = c.channelMults.length;
  const attentionAt = (i: number) => c.attnResolutions.includes(c.imageSize / 2 ** i);
  const skips = [c.baseChannels];
  let ch = c.baseChannels;
  const down = c.channelMults.map((m, i): LevelPlan => {
    const blocks: LevelPlan['blocks'] = [];
    for (let j = 0; j < c.numResBlocks; j++) {
      blocks.push([ch, c.baseChannels * m]);
      ch = c.baseChannels * m;
      skips.push(ch);
    }
    const resample = i < levels - 1;
    if (resample) skips.push(ch);
    return { blocks, attention: attentionAt(i), resample };
  });
  const midChannels = ch;
  const up: LevelPlan[] = new Array(levels);
  for (let i = levels - 1; i >= 0; i--) {
    const blocks: LevelPlan['blocks'] = [];
    for (let j = 0; j <= c.numResBlocks; j++) {
      const cout = c.baseChannels * c.channelMults[i]!;
      blocks.push([ch + skips.pop()!, cout]);
      ch = cout;
    }
    up[i] = { blocks, attention: attentionAt(i), resample: i > 0 };
  }
  return { down, midChannels, up };
}

/** Every channel count a GroupNorm sees (decoder block inputs include the concatenated skips). */
function channelWidths(c: UNetConfig): Set<number> {
  const p = planUNet(c);
  return new Set([...p.down, ...p.up].flatMap((l) => l.blocks.flat()).concat(p.midChannels));
}

/** One resolution of the encoder or decoder: its ResBlocks, their attention, and the resampling conv. */
class Level extends Container {
  readonly res = new ModuleList<ResBlock>();
  readonly attn = new ModuleList<AttentionBlock>();
  readonly resample: Conv2d | null;

  constructor(plan: LevelPlan, resampleName: 'downsample' | 'upsample', make: {
    block: (cin: number, cout: number) => ResBlock;
    attention: (ch: number) => AttentionBlock;
    resample: (ch: number) => Conv2d;
  }) {
    super();
    this.add('res', this.res);
    this.add('attn', this.attn);
    for (const [cin, cout] of plan.blocks) {
      this.res.push(make.block(cin, cout));
      if (plan.attention) this.attn.push(make.attention(cout));
    }
    const ch = plan.blocks[plan.blocks.length - 1]![1];
    this.resample = plan.resample ? this.add(resampleName, make.resample(ch)) : null;
  }

  /**
   * Runs the blocks; `before` feeds each block (the decoder concatenates a skip), `after` sees
   * each result. `tembSilu` is SiLU(temb), computed once for every block.
   */
  run(h: Tensor, tembSilu: Tensor, before: (h: Tensor) => Tensor, after: (h: Tensor) => void): Tensor {
    this.res.items.forEach((rb, j) => {
      h = rb.forward(before(h), null, tembSilu);
      if (this.attn.length) h = this.attn.at(j).forward(h);
      after(h);
    });
    return h;
  }
}

export class UNet extends Module {
  readonly config: UNetConfig;
  readonly time: TimeEmbedding;
  readonly convIn: Conv2d;
  readonly down: ModuleList<Level>;
  readonly mid: { res1: ResBlock; attn: AttentionBlock; res2: ResBlock };
  readonly up: ModuleList<Level>;
  readonly normOut: GroupNorm;
  readonly convOut: Conv2d;

  constructor(config: Partial<UNetConfig> = {}, { rng = globalRng }: { rng?: Rng } = {}) {
    super();
    const c = (this.config = resolveUNetConfig(config));
    const { baseChannels: base, groups, timeEmbDim: tdim, dropout } = c;
    const plan = planUNet(c);
    const block = (cin: number, cout: number) => new ResBlock(cin, cout, tdim, { groups, dropout, rng });
    const attention = (ch: number) => new AttentionBlock(ch, groups, rng);

    this.time = this.addModule('time', new TimeEmbedding(base, tdim, rng));
    this.convIn = this.addModule('convIn', new Conv2d(c.inChannels, base, 3, { padding: 1, rng }));
    const downsample = (ch: number) => new Conv2d(ch, ch, 3, { stride: 2, padding: 1, rng });
    this.down = this.addModule('down', new ModuleList(plan.down.map((p) => new Level(p, 'downsample', { block, attention, resample: downsample }))));
    const mid = this.addModule('mid', new Container());
    const ch = plan.midChannels;
    this.mid = { res1: mid.add('res1', block(ch, ch)), attn: mid.add('attn', attention(ch)), res2: mid.add('res2', block(ch, ch)) };
    // The decoder is built deepest level first, as it runs, so initialisation follows data flow.
    const upsample = (ch: number) => new Conv2d(ch, ch, 3, { padding: 1, rng });
    const upLevels: Level[] = [];
    for (let i = plan.up.length - 1; i >= 0; i--) upLevels[i] = new Level(plan.up[i]!, 'upsample', { block, attention, resample: upsample });
    this.up = this.addModule('up', new ModuleList(upLevels));
    this.normOut = this.addModule('normOut', new GroupNorm(groups, base));
    this.convOut = this.addModule('convOut', new Conv2d(base, c.inChannels, 3, { padding: 1, rng }));
    if (c.zeroInitOut) this.convOut.zeroInit();
  }

  /** x [B, C, S, S], t one integer timestep per batch item → the predicted noise, shaped as x. */
  forward(x: Tensor, t: ArrayLike<number>): Tensor {
    const c = this.config;
    if (x.rank !== 4 || x.shape[1] !== c.inChannels || x.shape[2] !== c.imageSize || x.shape[3] !== c.imageSize) {
      throw new Error(`UNet.forward: x ${shapeStr(x.shape)} should be [B, ${c.inChannels}, ${c.imageSize}, ${c.imageSize}]`);
    }
    if (t.length !== x.shape[0]) throw new Error(`UNet.forward: ${t.length} timesteps for a batch of ${x.shape[0]}`);
    // Every ResBlock projects SiLU(temb): one activation for all of them (and one gradient).
    const tembSilu = this.time.forward(t, { silu: true });
    let h = this.convIn.forward(x);
    const skips = [h];
    for (const level of this.down.items) {
      h = level.run(h, tembSilu, (u) => u, (u) => skips.push(u));
      if (level.resample) {
        h = level.resample.forward(h);
        skips.push(h);
      }
    }
    h = this.mid.res2.forward(this.mid.attn.forward(this.mid.res1.forward(h, null, tembSilu)), null, tembSilu);
    for (let i = this.up.length - 1; i >= 0; i--) {
      const level = this.up.at(i);
      h = level.run(h, tembSilu, (u) => F.concatChannels([u, skips.pop()!]), () => {});
      if (level.resample) h = level.resample.forward(F.upsampleNearest2x(h));
    }
    return this.convOut.forward(this.normOut.forwardSilu(h));
  }
}
