// The attention and residual blocks against PyTorch (ops.json), plus gradient checks.

import { expect } from 'chai';
import { nn, tensor, Rng, type Tensor } from 'ddpm-ts';
import { expectClose, fromFixture, gradCheck, randomInput, readFixture, type OpCase } from './helpers.js';

const { cases } = readFixture<{ cases: OpCase[] }>('ops.json');

function loadCase(c: OpCase, module: nn.Module, dataInputs: string[]): Record<string, Tensor> {
  const data: Record<string, Tensor> = {};
  const params = new Map<string, Tensor>();
  for (const [name, a] of Object.entries(c.inputs)) {
    if (dataInputs.includes(name)) data[name] = fromFixture(a, true);
    else params.set(name, fromFixture(a));
  }
  module.loadStateDict(params);
  return data;
}

function checkAgainstFixture(c: OpCase, module: nn.Module, out: Tensor, data: Record<string, Tensor>): void {
  expectClose(out, c.output.data, 1e-4, `${c.name} output`);
  out.backward(tensor(c.gradOutput!.data, out.shape));
  const grads = new Map([...Object.entries(data), ...module.namedParameters()].map(([n, t]) => [n, t.grad]));
  for (const [name, g] of Object.entries(c.grads!)) {
    expect(grads.get(name), `grad of ${name}`).to.be.an('object');
    expectClose(grads.get(name)!, g.data, 1e-4, `${c.name} grad of ${name}`);
  }
}

describe('UNet blocks match PyTorch (ops.json)', () => {
  it('attentionBlock', () => {
    const c = cases.find((k) => k.name === 'attentionBlock')!;
    const block = new nn.AttentionBlock(c.inputs.x!.shape[1]!, c.attrs.groups!);
    const { x } = loadCase(c, block, ['x']);
    checkAgainstFixture(c, block, block.forward(x!), { x: x! });
  });

  it('resBlock', () => {
    const c = cases.find((k) => k.name === 'resBlock')!;
    const [, cin] = c.inputs.x!.shape as [number, number];
    const cout = c.output.shape[1]!;
    const block = new nn.ResBlock(cin, cout, c.inputs.temb!.shape[1]!, { groups: c.attrs.groups! });
    const { x, temb } = loadCase(c, block, ['x', 'temb']);
    checkAgainstFixture(c, block, block.forward(x!, temb!), { x: x!, temb: temb! });
  });

  it('gradient checks of both blocks with respect to their inputs (central differences)', async () => {
    const attn = new nn.AttentionBlock(4, 2, new Rng(1));
    await gradCheck((x) => attn.forward(x), [randomInput([1, 4, 3, 2], 5)]);
    const res = new nn.ResBlock(2, 4, 3, { groups: 2, rng: new Rng(2) });
    await gradCheck((x, t) => res.forward(x, t), [randomInput([2, 2, 3, 3], 6), randomInput([2, 3], 7)]);
  });
});
