// Every op case of the PyTorch fixture: output and every input gradient, relative error <= 1e-4.

import { expect } from 'chai';
import { F } from 'ddpm-ts';
import { checkOpCase, expectClose, fixtureOpCases, fixtureOps, readFixture, withConv, type OpCase } from './helpers.js';

const { cases } = readFixture<{ cases: OpCase[] }>('ops.json');
const TOL = 1e-4;

describe('ops match PyTorch (ops.json)', () => {
  for (const { c, label } of fixtureOpCases()) {
    // Convolutions run under both of the CPU backend's algorithms (Winograd applies to 3×3 stride 1).
    for (const algorithm of c.name === 'conv2d' ? (['auto', 'im2col'] as const) : (['auto'] as const)) {
      it(`${label}${c.name === 'conv2d' ? ` conv=${algorithm}` : ''}`, () => withConv(algorithm, () => checkOpCase(c, TOL)));
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
      if (n !== 'attentionBlock' && n !== 'resBlock' && n !== 'timestepEmbedding') expect(fixtureOps).to.have.property(n);
    }
  });
});
