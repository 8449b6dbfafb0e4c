const { GPU } = require('gpu.js');
const gpu = new GPU({ mode: process.argv[2] });
function floorDiv(a, b) { let q = Math.floor(a / b); const r = a - q * b; if (r < 0) { q -= 1; } if (r >= b) { q += 1; } return q; }
function offsetA(i) {
  let rem = i;
  const q3 = floorDiv(rem, this.constants.n3); let at = this.constants.aOffset + (rem - q3 * this.constants.n3) * this.constants.a3; rem = q3;
  const q2 = floorDiv(rem, this.constants.n2); at += (rem - q2 * this.constants.n2) * this.constants.a2; rem = q2;
  const q1 = floorDiv(rem, this.constants.n1); at += (rem - q1 * this.constants.n1) * this.constants.a1; rem = q1;
  return at + rem * this.constants.a0;
}
const k = gpu.createKernel(function (a) {
  return a[offsetA(this.thread.x)] * 10;
}, { output: [6], functions: [floorDiv, offsetA], constants: { n1: 1, n2: 2, n3: 3, a0: 0, a1: 0, a2: 1, a3: 2, aOffset: 0 }, precision: 'single', tactic: 'precision', pipeline: true, immutable: true });
const r = k(new Float32Array([0,1,2,3,4,5]));
console.log(r.toArray ? r.toArray() : r);
