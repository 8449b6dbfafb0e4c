// The optimizer's updates, fused: one launch updates a whole bucket of parameters, their moments
// and their values (Adam was 16 launches a parameter, with the copies back; then 3; then about
// 1⅙; then one a bucket of five; now one a bucket of up to ten). The GPU twin of src/backends/cpu/optim.ts.
//
// Adam (Kingma & Ba; PyTorch's order of operations), with g the gradient (g + λ·p for Adam's L2
// decay, formed by the optimizer before):
//   m ← β1·m + (1−β1)·g
//   v ← β2·v + (1−β2)·g²
//   p ← p·d − s·m / (√v / c + ε)        s = lr/(1−β1ᵗ), c = √(1−β2ᵗ), d = 1 − lr·λ for AdamW (else 1)
// The constants (β1, 1−β1, β2, 1−β2, ε; the differences taken in float64 by the caller, as the
// composed ops did) are fixed per optimizer; s, c and d change every step, so they are arguments:
// a new step compiles nothing.
//
// Buckets. The optimizer keeps the state of up to ten parameters in one flat storage
// (src/optim/buckets.ts): member j's block of it starts at startⱼ. Adam's state holds the
// parameters themselves too (each parameter tensor is a view of it, as PyTorch's flat
// parameters are), so one kernel writes a bucket's new moments and values: one output a kernel is
// all gpu.js has. A kernel reads up to six separate input storages (WebGPU gives a shader 8
// storage buffers by default: the output, the state and six inputs; Adam's kernel gives one of
// them to the clip scale, so it reads five). Several members may be views of one storage (a
// weight's and its bias's gradients, the parameters of one Adam bucket): member j reads input
// slotⱼ from atⱼ on. Thread i finds its member by comparing i with the starts, constants fixed per
// bucket; unused members start at the end, so no thread reaches them. A member whose slot is −1
// is not this launch's (its storage did not fit in the slots: the backend launches again for it),
// and its values pass through unchanged. The helpers below find a member and its constants; each
// kernel spells out the read from its slot (gpu.js's WGSL passes no array to a helper function).

import type { Input, KernelThis } from './types.js';

/** The member of the bucket that element i belongs to: the last j whose block starts at or before i. */
export function memberOf(this: KernelThis | void, i: number): number {
  let j = 0;
  if (i >= (this as KernelThis).constants.start1!) j = 1;
  if (i >= (this as KernelThis).constants.start2!) j = 2;
  if (i >= (this as KernelThis).constants.start3!) j = 3;
  if (i >= (this as KernelThis).constants.start4!) j = 4;
  if (i >= (this as KernelThis).constants.start5!) j = 5;
  if (i >= (this as KernelThis).constants.start6!) j = 6;
  if (i >= (this as KernelThis).constants.start7!) j = 7;
  if (i >= (this as KernelThis).constants.start8!) j = 8;
  if (i >= (this as KernelThis).constants.start9!) j = 9;
  return j;
}

/** Member j's block start in the state, startⱼ. */
export function startOf(this: KernelThis | void, j: number): number {
  if (j === 0) return 0;
  if (j === 1) return (this as KernelThis).constants.start1!;
  if (j === 2) return (this as KernelThis).constants.start2!;
  if (j === 3) return (this as KernelThis).constants.start3!;
  if (j === 4) return (this as KernelThis).constants.start4!;
  if (j === 5) return (this as KernelThis).constants.start5!;
  if (j === 6) return (this as KernelThis).constants.start6!;
  if (j === 7) return (this as KernelThis).constants.start7!;
  if (j === 8) return (this as KernelThis).constants.start8!;
  return (this as KernelThis).constants.start9!;
}

/** Member j's size, nⱼ. */
export function lengthOf(this: KernelThis | void, j: number): number {
  if (j === 0) return (this as KernelThis).constants.n0!;
  if (j === 1) return (this as KernelThis).constants.n1!;
  if (j === 2) return (this as KernelThis).constants.n2!;
  if (j === 3) return (this as KernelThis).constants.n3!;
  if (j === 4) return (this as KernelThis).constants.n4!;
  if (j === 5) return (this as KernelThis).constants.n5!;
  if (j === 6) return (this as KernelThis).constants.n6!;
  if (j === 7) return (this as KernelThis).constants.n7!;
  if (j === 8) return (this as KernelThis).constants.n8!;
  return (this as KernelThis).constants.n9!;
}

/** Member j's input slot (−1: another launch's). */
export function slotOf(this: KernelThis | void, j: number): number {
  if (j === 0) return (this as KernelThis).constants.slot0!;
  if (j === 1) return (this as KernelThis).constants.slot1!;
  if (j === 2) return (this as KernelThis).constants.slot2!;
  if (j === 3) return (this as KernelThis).constants.slot3!;
  if (j === 4) return (this as KernelThis).constants.slot4!;
  if (j === 5) return (this as KernelThis).constants.slot5!;
  if (j === 6) return (this as KernelThis).constants.slot6!;
  if (j === 7) return (this as KernelThis).constants.slot7!;
  if (j === 8) return (this as KernelThis).constants.slot8!;
  return (this as KernelThis).constants.slot9!;
}

/** Member j's offset in its input, atⱼ (an argument: it changes with the step's storages). */
export function atOf(j: number, at0: number, at1: number, at2: number, at3: number, at4: number, at5: number, at6: number, at7: number, at8: number, at9: number): number {
  if (j === 0) return at0;
  if (j === 1) return at1;
  if (j === 2) return at2;
  if (j === 3) return at3;
  if (j === 4) return at4;
  if (j === 5) return at5;
  if (j === 6) return at6;
  if (j === 7) return at7;
  if (j === 8) return at8;
  return at9;
}

/**
 * Adam's step for a bucket: member j (nⱼ values) has m at [startⱼ, startⱼ + nⱼ), v at
 * [startⱼ + nⱼ, startⱼ + 2nⱼ) and its value p at [startⱼ + 2nⱼ, startⱼ + 3nⱼ); its gradient is
 * read from input slotⱼ (g0…g4) at atⱼ on, times scale[0] when the constant `scaled` is 1 (gradient
 * clipping's scale, computed on the GPU: clipping then costs no launch a gradient). A thread of
 * p's block computes its element's new m and v again (three products) rather than wait for
 * another launch. Five input slots: the scale takes the sixth storage.
 */
export function adamStep(this: KernelThis, state: Input, scale: Input, g0: Input, g1: Input, g2: Input, g3: Input, g4: Input, stepSize: number, bias2Sqrt: number, decay: number,
  at0: number, at1: number, at2: number, at3: number, at4: number, at5: number, at6: number, at7: number, at8: number, at9: number): number {
  const i = this.thread.x;
  const j = memberOf(i);
  const slot = slotOf(j);
  if (slot < 0) return state[i]!;
  const start = startOf(j);
  const n = lengthOf(j);
  const at = atOf(j, at0, at1, at2, at3, at4, at5, at6, at7, at8, at9);
  const local = i - start;
  // Which block (0: m, 1: v, 2: p) and the parameter's element k this thread is about.
  let part = 0;
  if (local >= n) part = 1;
  if (local >= 2 * n) part = 2;
  const k = local - part * n;
  let g = 0;
  if (slot === 0) g = g0[at + k]!;
  else if (slot === 1) g = g1[at + k]!;
  else if (slot === 2) g = g2[at + k]!;
  else if (slot === 3) g = g3[at + k]!;
  else g = g4[at + k]!;
  if (this.constants.scaled === 1) g = g * scale[0]!;
  const m = state[start + k]! * this.constants.beta1! + g * this.constants.oneMinusBeta1!;
  const v = state[start + n + k]! * this.constants.beta2! + g * g * this.constants.oneMinusBeta2!;
  if (part === 0) return m;
  if (part === 1) return v;
  const denom = Math.sqrt(v) / bias2Sqrt + this.constants.eps!;
  return state[start + 2 * n + k]! * decay - (m / denom) * stepSize;
}

/**
 * a·state + b·xⱼ over a bucket (the EMA: shadow ← d·shadow + (1−d)·param; Adam's L2 decay, g + λ·p,
 * with one x), member j's values at [startⱼ, startⱼ + nⱼ) of the state, read from input slotⱼ
 * (x0…x5) at atⱼ on (a parameter is a view of its optimizer's state).
 */
export function blend(this: KernelThis, state: Input, x0: Input, x1: Input, x2: Input, x3: Input, x4: Input, x5: Input, a: number, b: number,
  at0: number, at1: number, at2: number, at3: number, at4: number, at5: number, at6: number, at7: number, at8: number, at9: number): number {
  const i = this.thread.x;
  const j = memberOf(i);
  const slot = slotOf(j);
  if (slot < 0) return state[i]!;
  const k = atOf(j, at0, at1, at2, at3, at4, at5, at6, at7, at8, at9) + i - startOf(j);
  let x = 0;
  if (slot === 0) x = x0[k]!;
  else if (slot === 1) x = x1[k]!;
  else if (slot === 2) x = x2[k]!;
  else if (slot === 3) x = x3[k]!;
  else if (slot === 4) x = x4[k]!;
  else x = x5[k]!;
  return a * state[i]! + b * x;
}

/**
 * Partial sums of squares over a bucket's values end to end (gradient clipping's squared norm):
 * thread k adds into[k] (the buckets before, when the constant `chained` is 1) and the squares of
 * values [k·L, (k+1)·L): member j's values at [startⱼ, startⱼ + nⱼ), read from input slotⱼ at atⱼ
 * on; nothing at or past `total`, nor for a member of slot −1 (another launch's). Every bucket has
 * the same number of parts, so the chain over all buckets ends in one reduce.
 */
export function sumSquares(this: KernelThis, into: Input, x0: Input, x1: Input, x2: Input, x3: Input, x4: Input, x5: Input,
  at0: number, at1: number, at2: number, at3: number, at4: number, at5: number, at6: number, at7: number, at8: number, at9: number): number {
  let sum = 0;
  if (this.constants.chained === 1) sum = into[this.thread.x]!;
  for (let t = 0; t < this.constants.L!; t++) {
    const i = this.thread.x * this.constants.L! + t;
    const j = memberOf(i);
    const slot = slotOf(j);
    const k = atOf(j, at0, at1, at2, at3, at4, at5, at6, at7, at8, at9) + i - startOf(j);
    let v = 0;
    if (i >= this.constants.total! || slot < 0) v = 0;
    else if (slot === 0) v = x0[k]!;
    else if (slot === 1) v = x1[k]!;
    else if (slot === 2) v = x2[k]!;
    else if (slot === 3) v = x3[k]!;
    else if (slot === 4) v = x4[k]!;
    else v = x5[k]!;
    sum += v * v;
  }
  return sum;
}
