// Module: the PyTorch nn.Module idea. A module owns named parameters and named submodules;
// dotted paths ("down.1.res.0.conv1.weight") name every parameter, so a state dict saved here
// loads into the PyTorch reference model and back.

import { shapeStr, sameShape } from '../util/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { clearGrad, noGrad } from '../tensor/autograd.js';

export type StateDict = Map<string, Tensor>;

export interface LoadOptions {
  /** Require exactly the module's names and shapes (default true). */
  strict?: boolean;
}

/**
 * How `incoming` differs from `expected` by name and shape: wrong shapes, then (when strict)
 * missing and unexpected names, one entry per kind; empty when they match.
 */
export function stateDictProblems(expected: Map<string, { shape: readonly number[] }>, incoming: Map<string, { shape: readonly number[] }>, { strict = true } = {}): string[] {
  const missing = [...expected.keys()].filter((k) => !incoming.has(k));
  const unexpected = [...incoming.keys()].filter((k) => !expected.has(k));
  const mismatched = [...expected]
    .filter(([k, p]) => incoming.has(k) && !sameShape(incoming.get(k)!.shape, p.shape))
    .map(([k, p]) => `${k}: expected ${shapeStr(p.shape)}, got ${shapeStr(incoming.get(k)!.shape)}`);
  const problems: string[] = [];
  if (mismatched.length) problems.push(`wrong shapes: ${mismatched.join('; ')}`);
  if (strict && missing.length) problems.push(`missing: ${missing.join(', ')}`);
  if (strict && unexpected.length) problems.push(`unexpected: ${unexpected.join(', ')}`);
  return problems;
}

export abstract class Module {
  /** Training mode (dropout active) or evaluation mode. */
  training = true;
  private readonly ownParameters = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /** Registers a trainable tensor under `name` (it gets requiresGrad). */
  protected addParameter(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    this.ownParameters.set(name, t);
    return t;
  }

  protected addModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** [dotted name, parameter] for this module and all below it, in registration order. */
  namedParameters(prefix = ''): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [name, p] of this.ownParameters) out.push([prefix + name, p]);
    for (const [name, m] of this.children) out.push(...m.namedParameters(`${prefix}${name}.`));
    return out;
  }

  /** The direct submodules by name. */
  namedModules(): Map<string, Module> {
    return new Map(this.children);
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** The parameters by name (the tensors themselves, not copies). */
  stateDict(): StateDict {
    return new Map(this.namedParameters());
  }

  /**
   * Copies values into the parameters by name. Strict (the default): missing names, unexpected
   * names and shape mismatches are all listed in one error and nothing is changed.
   */
  loadStateDict(state: StateDict | Record<string, Tensor>, { strict = true }: LoadOptions = {}): void {
    const incoming = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateDict();
    const problems = stateDictProblems(own, incoming, { strict });
    if (problems.length) throw new Error(`loadStateDict(${this.constructor.name}): ${problems.join(' | ')}`);
    noGrad(() => {
      for (const [k, p] of own) if (incoming.has(k)) p.assign(incoming.get(k)!);
    });
  }

  train(mode = true): this {
    this.training = mode;
    for (const m of this.children.values()) m.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Drops every parameter's gradient (freeing them on a GPU backend). */
  zeroGrad(): void {
    for (const p of this.parameters()) clearGrad(p);
  }
}

/** An indexed list of submodules, named "0", "1", ... like PyTorch's ModuleList. */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[] = [];

  constructor(items: M[] = []) {
    super();
    for (const m of items) this.push(m);
  }

  push(m: M): M {
    this.addModule(String(this.items.length), m);
    this.items.push(m);
    return m;
  }

  at(i: number): M {
    const m = this.items[i];
    if (!m) throw new Error(`ModuleList: index ${i} out of range (length ${this.items.length})`);
    return m;
  }

  get length(): number {
    return this.items.length;
  }
}

/** A module that only groups children under a name (the UNet's `time`, `mid`, levels). */
export class Container extends Module {
  add<M extends Module>(name: string, m: M): M {
    return this.addModule(name, m);
  }
}
