// Every op case of the PyTorch fixture: output and every input gradient, relative error <= 1e-4.

import { expect } from 'chai';
import { F, Tensor, tensor } from 'ddpm-ts';
import { expectClose, fromFixture, readFixture, withConv, type OpCase } from './helpers.js';

const { cases } = readFixture<{ cases: OpCase[] }>('ops.json');
const TOL = 1e-4;

/** How each fixture op maps onto F, given its inputs by name. */
const run: Record<string, (x: Record<string, Tensor>, attrs: Record<string, number>) => Tensor> = {
  linear: (x) => F.linear(x.x!, x.weight!, x.bias!),
  matmul: (x) => F.matmul(x.a!, x.b!),
  conv2d: (x, a) => F.conv2d(x.x!, x.weight!, x.bias!, { stride: a.stride!, padding: a.padding! }),
  groupNorm: (x, a) => F.groupNorm(x.x!, a.groups!, x.weight!, x.bias!, a.eps!),
  silu: (x) => F.silu(x.x!),
  softmax: (x, a) => F.softmax(x.x!, a.axis!),
  upsampleNearest2x: (x) => F.upsampleNearest2x(x.x!),
  concatChannels: (x) => F.concatChannels([x.a!, x.b!]),
  mseLoss: (x) => F.mseLoss(x.pred!, x.target!),
};

describe('ops match PyTorch (ops.json)', () => {
  const counts = new Map<string, number>();
  for (const c of cases) {
    if (c.name === 'attentionBlock' || c.name === 'resBlock' || c.name === 'timestepEmbedding') continue;
    const k = (counts.get(c.name) ?? 0) + 1;
    counts.set(c.name, k);
    // Convolutions run under both of the CPU backend's algorithms (Winograd applies to 3×3 stride 1).
    for (const algorithm of c.name === 'conv2d' ? (['auto', 'im2col'] as const) : (['auto'] as const)) {
    it(`${c.name} #${k} ${JSON.stringify(c.attrs)}${c.name === 'conv2d' ? ` conv=${algorithm}` : ''}`, () => withConv(algorithm, () => {
      const fn = run[c.name];
      expect(fn, `no mapping for fixture op ${c.name}`).to.be.a('function');
      const inputs: Record<string, Tensor> = {};
      for (const [name, a] of Object.entries(c.inputs)) inputs[name] = fromFixture(a, true);
      const out = fn!(inputs, c.attrs);
      expect(out.size).to.equal(c.output.data.length);
      expectClose(out, c.output.data, TOL, 'output');
      out.backward(tensor(c.gradOutput!.data, out.shape));
      for (const [name, g] of Object.entries(c.grads!)) {
        expect(inputs[name]!.grad, `grad of ${name}`).to.not.equal(null);
        expect(inputs[name]!.grad!.shape).to.deep.equal(g.shape);
        expectClose(inputs[name]!.grad!, g.data, TOL, `grad of ${name}`);
      }
    }));
    }
  }

  it('timestepEmbedding', () => {
    const c = cases.find((k) => k.name === 'timestepEmbedding')!;
    const out = F.timestepEmbedding(c.inputs.t!.data, c.attrs.dim!, c.attrs.maxPeriod);
    expect(out.shape).to.deep.equal(c.output.shape);
    expectClose(out, c.output.data, TOL, 'embedding');
  });

  it('covers every op of the fixture but the two blocks', () => {
    const names = new Set(cases.map((c) => c.name));
    for (const n of names) {
      if (n !== 'attentionBlock' && n !== 'resBlock' && n !== 'timestepEmbedding') expect(run).to.have.property(n);
    }
  });
});
