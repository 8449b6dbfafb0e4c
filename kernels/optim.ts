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
// and its values pass through unchanged. Each kernel spells the chains out: a helper cannot take
// the inputs (gpu.js's WGSL passes no array to a helper function).

import type { Input, KernelThis } from './types.js';

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
  let start = 0;
  let n = this.constants.n0!;
  let slot = this.constants.slot0!;
  let at = at0;
  if (i >= this.constants.start1!) { start = this.constants.start1!; n = this.constants.n1!; slot = this.constants.slot1!; at = at1; }
  if (i >= this.constants.start2!) { start = this.constants.start2!; n = this.constants.n2!; slot = this.constants.slot2!; at = at2; }
  if (i >= this.constants.start3!) { start = this.constants.start3!; n = this.constants.n3!; slot = this.constants.slot3!; at = at3; }
  if (i >= this.constants.start4!) { start = this.constants.start4!; n = this.constants.n4!; slot = this.constants.slot4!; at = at4; }
  if (i >= this.constants.start5!) { start = this.constants.start5!; n = this.constants.n5!; slot = this.constants.slot5!; at = at5; }
  if (i >= this.constants.start6!) { start = this.constants.start6!; n = this.constants.n6!; slot = this.constants.slot6!; at = at6; }
  if (i >= this.constants.start7!) { start = this.constants.start7!; n = this.constants.n7!; slot = this.constants.slot7!; at = at7; }
  if (i >= this.constants.start8!) { start = this.constants.start8!; n = this.constants.n8!; slot = this.constants.slot8!; at = at8; }
  if (i >= this.constants.start9!) { start = this.constants.start9!; n = this.constants.n9!; slot = this.constants.slot9!; at = at9; }
  if (slot < 0) return state[i]!;
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
  let start = 0;
  let slot = this.constants.slot0!;
  let at = at0;
  if (i >= this.constants.start1!) { start = this.constants.start1!; slot = this.constants.slot1!; at = at1; }
  if (i >= this.constants.start2!) { start = this.constants.start2!; slot = this.constants.slot2!; at = at2; }
  if (i >= this.constants.start3!) { start = this.constants.start3!; slot = this.constants.slot3!; at = at3; }
  if (i >= this.constants.start4!) { start = this.constants.start4!; slot = this.constants.slot4!; at = at4; }
  if (i >= this.constants.start5!) { start = this.constants.start5!; slot = this.constants.slot5!; at = at5; }
  if (i >= this.constants.start6!) { start = this.constants.start6!; slot = this.constants.slot6!; at = at6; }
  if (i >= this.constants.start7!) { start = this.constants.start7!; slot = this.constants.slot7!; at = at7; }
  if (i >= this.constants.start8!) { start = this.constants.start8!; slot = this.constants.slot8!; at = at8; }
  if (i >= this.constants.start9!) { start = this.constants.start9!; slot = this.constants.slot9!; at = at9; }
  if (slot < 0) return state[i]!;
  const k = at + i - start;
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
  for (let j = 0; j < this.constants.L!; j++) {
    const i = this.thread.x * this.constants.L! + j;
    let start = 0;
    let slot = this.constants.slot0!;
    let at = at0;
    if (i >= this.constants.start1!) { start = this.constants.start1!; slot = this.constants.slot1!; at = at1; }
    if (i >= this.constants.start2!) { start = this.constants.start2!; slot = this.constants.slot2!; at = at2; }
    if (i >= this.constants.start3!) { start = this.constants.start3!; slot = this.constants.slot3!; at = at3; }
    if (i >= this.constants.start4!) { start = this.constants.start4!; slot = this.constants.slot4!; at = at4; }
    if (i >= this.constants.start5!) { start = this.constants.start5!; slot = this.constants.slot5!; at = at5; }
    if (i >= this.constants.start6!) { start = this.constants.start6!; slot = this.constants.slot6!; at = at6; }
    if (i >= this.constants.start7!) { start = this.constants.start7!; slot = this.constants.slot7!; at = at7; }
    if (i >= this.constants.start8!) { start = this.constants.start8!; slot = this.constants.slot8!; at = at8; }
    if (i >= this.constants.start9!) { start = this.constants.start9!; slot = this.constants.slot9!; at = at9; }
    const k = at + i - start;
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
