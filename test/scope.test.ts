// tidy(), dispose() and zeroGrad() behave the same on the cpu backend as on the GPU ones
// (gpu-backend.test.ts runs the same cases there): a freed tensor throws, naming what freed it;
// tidy keeps every tensor reachable from what it returns, class instances and cycles included;
// an async function is refused by name.

import { expect } from 'chai';
import { dispose, F, optim, randn, Rng, setBackend, tidy, type Tensor } from 'ddpm-ts';

/** The message a read of a freed tensor rejects with ('' when it reads). */
const readError = (t: { data(): Promise<unknown> }) => t.data().then(() => '', (e: Error) => e.message);

class Holder {
  constructor(readonly weight: Tensor, readonly extra: { inner: Tensor[] }) {}
}

describe('memory scopes on the cpu backend, as on the GPU ones', () => {
  before(() => setBackend('cpu'));

  it('a tensor used after dispose(), a gradient after zeroGrad(), or one that escaped its tidy() throws, naming what freed it', async () => {
    const t = randn([3, 3], new Rng(1));
    dispose(t);
    expect(await readError(t)).to.equal('cpu backend: this tensor was freed by dispose(); it cannot be used afterwards');
    expect(() => F.add(t, 1)).to.throw('cpu backend: this tensor was freed by dispose(); it cannot be used afterwards');
    const w = randn([2, 2], new Rng(2), { requiresGrad: true });
    F.sum(F.square(w)).backward();
    const g = w.grad!;
    new optim.Adam([w]).zeroGrad();
    expect(await readError(g)).to.match(/^cpu backend: this tensor was freed by zeroGrad\(\)/);
    const inner = tidy(() => {
      const kept = F.mul(w, 2);
      const dropped = F.mul(w, 3);
      return { kept, dropped: () => dropped };
    });
    expect(Array.from(await inner.kept.data())).to.have.length(4);
    expect(await readError(inner.dropped())).to.equal('cpu backend: this tensor was freed at the end of the tidy() scope that created it; return it from the scope (or make it outside) to use it afterwards');
  });

  it('tidy keeps the tensors of a returned class instance and of an object that refers to itself', async () => {
    const w = randn([2, 2], new Rng(3));
    const held = tidy(() => new Holder(F.mul(w, 2), { inner: [F.mul(w, 3)] }));
    expect(Array.from(await held.weight.data())).to.deep.equal(Array.from(await w.data()).map((v) => Math.fround(2 * v)));
    expect(await readError(held.extra.inner[0]!)).to.equal('');
    const cyclic = tidy(() => {
      const o: { t: Tensor; self?: unknown; list: unknown[] } = { t: F.mul(w, 4), list: [] };
      o.self = o;
      o.list.push(o, [o]);
      return o;
    });
    expect(await readError(cyclic.t)).to.equal('');
  });

  it('an async function, or one that returns a Promise, is refused by name, and what it made is freed', async () => {
    const message = 'tidy() takes a synchronous function: an async one returns at its first await, so its scope would end (freeing its tensors) before its work is done; await outside tidy, and tidy each synchronous step';
    expect(() => tidy(async () => randn([2], new Rng(4)))).to.throw(message);
    let made: Tensor | null = null;
    expect(() => tidy(() => {
      made = randn([2], new Rng(5));
      return Promise.resolve(made);
    })).to.throw(message);
    expect(await readError(made!)).to.match(/freed at the end of the tidy\(\) scope/);
  });
});
