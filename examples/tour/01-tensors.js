// Tour, chapter 1 (docs/01-tensors.md): a tensor is a view of storage: shape, strides, offset.
// Element (i, j) of a rank-2 view lives at storage[offset + i·strides[0] + j·strides[1]].
//
//   node examples/tour/01-tensors.js

import { F, tensor } from 'ddpm-ts';

// Values are read with `await t.data()`, which works on every backend (WebGPU reads only asynchronously).
const describe = async (name, t) => console.log(`${name}: shape [${t.shape}] strides [${t.strides}] offset ${t.offset} values [${Array.from(await t.data())}]`);

// Twelve numbers in one storage, seen as 3 rows of 4.
const x = tensor(Float32Array.from({ length: 12 }, (_, i) => i), [3, 4]);
await describe('x', x);

// The transpose swaps the strides: no value moves.
const xt = F.transpose(x);
await describe('transpose(x)', xt);
console.log(`transpose(x) shares x's storage: ${xt.storage === x.storage}`);

// A slice moves the offset: rows 1..2, columns 1..3 start at element 1·4 + 1 = 5.
const s = F.slice(x, [1, 1], [3, 3]);
await describe('slice(x, [1,1], [3,3])', s);
console.log(`slice shares x's storage: ${s.storage === x.storage}`);

// Where is element (1, 2) of the transpose? offset + 1·1 + 2·4 = 9, and storage[9] = 9.
console.log(`transpose(x)[1][2] is storage[${xt.offset + 1 * xt.strides[0] + 2 * xt.strides[1]}]`);

// Broadcasting: a row of 4 added to each of 3 rows is read with stride 0 along the new axis.
const row = tensor([100, 200, 300, 400], [4]);
const b = F.expand(row, [3, 4]);
await describe('expand(row, [3,4])', b);
await describe('x + row', F.add(x, row));

// Reshaping a transposed view cannot be a view (its elements are not evenly spaced): it copies.
const flat = F.reshape(xt, [12]);
await describe('reshape(transpose(x), [12])', flat);
console.log(`reshape of the transpose shares x's storage: ${flat.storage === x.storage}`);
console.log(`reshape of x itself shares x's storage: ${F.reshape(x, [2, 6]).storage === x.storage}`);
