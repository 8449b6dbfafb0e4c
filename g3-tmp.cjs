const { GPU } = require('gpu.js');
const gpu = new GPU({ mode: process.argv[2] });
const k = gpu.createKernel(function (a) {
  let rem = this.thread.x;
  let at = this.constants.offset;
  for (let k = 0; k < this.constants.rank; k++) {
    const d = this.constants.rank - 1 - k;
    const n = this.constants.shape[d];
    const q = Math.floor(rem / n);
    at += (rem - q * n) * this.constants.strides[d];
    rem = q;
  }
  return a[at];
}, { output: [6], constants: { rank: 2, shape: [2, 3], strides: [1, 2], offset: 0 }, precision: 'single', tactic: 'precision', pipeline: true, immutable: true });
const r = k(new Float32Array([0,1,2,3,4,5]));
console.log(r.toArray ? r.toArray() : r);
const src = k.compiledFragmentShader;
if (src) console.log(src.split('\n').filter(l => /constants_|for \(|user_at|user_rem/.test(l)).slice(0,40).join('\n'));
