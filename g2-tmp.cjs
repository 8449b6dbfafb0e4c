const { GPU } = require('gpu.js');
const gpu = new GPU({ mode: process.argv[2] });
const k = gpu.createKernel(function (a) {
  const i = this.thread.x;
  const d1 = this.constants.s1;
  const q = Math.floor(i / d1);
  const r = i - q * d1;
  return a[r * this.constants.t1 + q * this.constants.t0 + this.constants.off];
}, { output: [6], constants: { s1: 3, t1: 2, t0: 1, off: 0 }, precision: 'single', tactic: 'precision', pipeline: true, immutable: true });
const r = k(new Float32Array([0,1,2,3,4,5]));
console.log(r.toArray());
const src = k.compiledFragmentShader || (k.kernel && k.kernel.compiledFragmentShader);
console.log(src && src.split('\n').filter(l => /main|kernel|user_|Math|floor|threadId|i =|d1|q |r /.test(l)).slice(-30).join('\n'));
