// Tour, chapter 2 (docs/02-autodiff.md): reverse-mode autodiff on a tiny expression,
//   L = sum(sigmoid(a·b + c)),
// its graph in topological order, one backward rule worked by hand, and a finite-difference check.
//
//   node examples/tour/02-autodiff.js

import { F, tensor } from 'ddpm-ts';

const a = tensor([0.5, -1, 2], [3], { requiresGrad: true });
const b = tensor([1.5, 0.25, -0.5], [3], { requiresGrad: true });
const c = tensor([0.1, 0.2, 0.3], [3], { requiresGrad: true });

const L = F.sum(F.sigmoid(F.add(F.mul(a, b), c)));

// The graph: every non-leaf tensor remembers the op that made it and that op's inputs.
const order = [];
const walk = (t, seen = new Set()) => {
  if (seen.has(t) || !t.gradNode) return;
  seen.add(t);
  for (const input of t.gradNode.inputs) walk(input, seen);
  order.push(t.gradNode.op);
};
walk(L);
console.log(`graph, inputs first: ${order.join(' → ')}`);

L.backward();
const [value, gradA] = [(await L.data())[0], await a.grad.data()];
console.log(`L = ${value.toFixed(6)}`);
console.log(`autodiff dL/da = [${Array.from(gradA, (v) => v.toFixed(6))}]`);

// By hand: u = a·b + c, s = σ(u), L = Σ s.  dL/ds = 1, ds/du = σ(u)(1 − σ(u)), du/da = b.
const sig = (u) => 1 / (1 + Math.exp(-u));
const A = [0.5, -1, 2], B = [1.5, 0.25, -0.5], C = [0.1, 0.2, 0.3];
const byHand = A.map((ai, i) => {
  const s = sig(ai * B[i] + C[i]);
  return s * (1 - s) * B[i];
});
console.log(`by hand   dL/da = [${byHand.map((v) => v.toFixed(6))}]`);

// Finite differences: (L(a + h·e_i) − L(a − h·e_i)) / 2h, in float64 on the same formula.
const h = 1e-4;
const Lof = (as) => as.reduce((sum, ai, i) => sum + sig(ai * B[i] + C[i]), 0);
const numeric = A.map((_, i) => (Lof(A.map((v, k) => (k === i ? v + h : v))) - Lof(A.map((v, k) => (k === i ? v - h : v)))) / (2 * h));
console.log(`numeric   dL/da = [${numeric.map((v) => v.toFixed(6))}]`);
const worst = Math.max(...Array.from(gradA, (v, i) => Math.abs(v - numeric[i])));
console.log(`largest |autodiff − numeric| = ${worst.toExponential(2)}`);
