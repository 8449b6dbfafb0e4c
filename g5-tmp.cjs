const { GPU } = require('gpu.js');
const gpu = new GPU({ mode: process.argv[2] });
try {
const k = gpu.createKernel(function (a) { let z = 1; z = this.constants.v > 2 ? z : 0; if (z === 1) { z = 5; } return a[this.thread.x] * this.constants.v + z; }, { output: [3], constants: { v: 3 }, precision: 'single', tactic: 'precision' });
console.log(k(new Float32Array([1,2,3])));
} catch (e) { console.log('ERR', e.message.slice(0, 300)); }
