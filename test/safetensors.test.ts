// safetensors reading and writing: round trips, the reference writer's exact bytes, bad files.

import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { io, randn, tensor, Rng } from 'ddpm-ts';
import { fixturesDir } from './helpers.js';

const fixture = (name: string) => new URL(name, fixturesDir).pathname;

/** A safetensors file whose header is `json` (text or bytes), followed by `data` zero bytes. */
function withHeader(json: string | Uint8Array, data = 0): Uint8Array {
  const bytes = typeof json === 'string' ? new TextEncoder().encode(json) : json;
  const out = new Uint8Array(8 + bytes.length + data);
  new DataView(out.buffer).setBigUint64(0, BigInt(bytes.length), true);
  out.set(bytes, 8);
  return out;
}
const header = (h: object, data = 0) => withHeader(JSON.stringify(h), data);

describe('safetensors', () => {
  it('re-serialising the PyTorch-written weights gives the same bytes (same names, shapes, layout)', async () => {
    const original = readFileSync(fixture('unet-s.safetensors'));
    const { tensors, metadata } = await io.loadSafetensors(fixture('unet-s.safetensors'));
    expect(tensors.size).to.equal(166);
    const again = await io.serializeSafetensors(tensors, metadata);
    expect(Buffer.from(again).equals(original)).to.equal(true);
  });

  it('saves atomically and loads back bit-exact, from a path or from an ArrayBuffer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ddpm-ts-'));
    const file = join(dir, 'model.safetensors');
    const a = randn([3, 4, 5], new Rng(1));
    const b = tensor([Number.MIN_VALUE, -0, 1e30, Math.PI], [2, 2]);
    await io.saveSafetensors(file, { a, b }, { note: 'hello' });
    expect(readdirSync(dir)).to.deep.equal(['model.safetensors']);
    const back = await io.loadSafetensors(file);
    expect(back.metadata).to.deep.equal({ note: 'hello' });
    expect(Array.from(back.tensors.get('a')!.toFloat32Array())).to.deep.equal(Array.from(a.toFloat32Array()));
    expect(Object.is(back.tensors.get('b')!.toFloat32Array()[1], -0)).to.equal(true);
    const bytes = readFileSync(file);
    const fromBuffer = io.parseSafetensors(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    expect(fromBuffer.tensors.get('b')!.shape).to.deep.equal([2, 2]);
  });

  it('reads I64 tensors (the fixture timesteps)', async () => {
    const { tensors } = await io.loadSafetensors(fixture('unet-s.io.safetensors'));
    expect(Array.from(tensors.get('t')!.toFloat32Array())).to.deep.equal([10, 537]);
  });

  it('names the file and the problem for truncated or corrupt data', async () => {
    const good = await io.serializeSafetensors({ w: tensor([1, 2, 3, 4], [4]) });
    const dir = mkdtempSync(join(tmpdir(), 'ddpm-ts-'));
    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, good.subarray(0, good.length - 3));
    try {
      await io.loadSafetensors(truncated);
      expect.fail('should have thrown');
    } catch (e) {
      expect((e as Error).message).to.match(/truncated\.safetensors: tensor 'w' bytes \[0, 16\) lie outside the data \(13 bytes\)/);
    }
    expect(() => io.parseSafetensors(new Uint8Array(4))).to.throw(/too short/);
    const badLen = good.slice();
    new DataView(badLen.buffer).setBigUint64(0, 1000n, true);
    expect(() => io.parseSafetensors(badLen)).to.throw(/header length 1000 runs past the end/);
    expect(() => io.parseSafetensors(header({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8))).to.throw(/needs 12 bytes, has 8/);
    expect(() => io.parseSafetensors(header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12))).to.throw(/'a' and 'b' overlap/);
    expect(() => io.parseSafetensors(header({ w: { dtype: 'BF16', shape: [1], data_offsets: [0, 2] } }, 2))).to.throw(/dtype "BF16"; supported: F32, I32, I64/);
    const notJson = header({});
    notJson[9] = 0x7c; // "{|"
    expect(() => io.parseSafetensors(notJson)).to.throw(/header is not valid JSON/);
    try {
      await io.loadSafetensors(join(dir, 'missing.safetensors'));
      expect.fail('should have thrown');
    } catch (e) {
      expect((e as Error).message).to.match(/loadSafetensors: cannot read .*missing\.safetensors/);
    }
  });

  it('refuses what the format forbids: non-UTF-8 headers, non-string dtypes, odd metadata, huge or deep headers', () => {
    const w = { dtype: 'F32', shape: [1], data_offsets: [0, 4] };
    // Bytes 0xff 0xfe inside a JSON string: TextDecoder would quietly make them U+FFFD.
    const latin = new TextEncoder().encode(JSON.stringify({ w, __metadata__: { note: 'XX' } }));
    const at = latin.indexOf(0x58);
    latin[at] = 0xff;
    latin[at + 1] = 0xfe;
    expect(() => io.parseSafetensors(withHeader(latin, 4), 'latin.safetensors')).to.throw(/^latin\.safetensors: header is not valid UTF-8$/);
    expect(() => io.parseSafetensors(header({ w: { ...w, dtype: ['F32'] } }, 4))).to.throw(/tensor 'w' has dtype \["F32"\]; supported/);
    for (const inherited of ['toString', 'valueOf', 'constructor', '__proto__']) {
      expect(() => io.parseSafetensors(header({ w: { ...w, dtype: inherited } }, 4))).to.throw(`tensor 'w' has dtype "${inherited}"; supported`);
    }
    for (const meta of [['a', 'b'], 'text', null, 7]) {
      expect(() => io.parseSafetensors(header({ w, __metadata__: meta }, 4))).to.throw(/__metadata__ is not a map of strings to strings/);
    }
    expect(() => io.parseSafetensors(header({ w, __metadata__: { n: { deep: 'x' } } }, 4))).to.throw(/metadata 'n' is not a string/);
    expect(() => io.parseSafetensors(header({ w: 'F32' }, 4))).to.throw(/tensor 'w' is not described by an object/);
    // A header length over the cap is not a safetensors file at all, whatever the file's length.
    const big = new Uint8Array(16);
    new DataView(big.buffer).setBigUint64(0, BigInt(io.MAX_HEADER_BYTES + 1), true);
    big[8] = 0x7b;
    expect(() => io.parseSafetensors(big)).to.throw(`not a safetensors file: it starts with 01 e1 f5 05 00 00 00 00 …, where a safetensors file has an 8-byte header length (at most 100000000) and then a JSON header ('{')`);
    // Three million nested arrays: refused by the depth scan before JSON.parse sees them.
    const deep = '{"w":' + '['.repeat(3_000_000) + ']'.repeat(3_000_000) + '}';
    expect(() => io.parseSafetensors(withHeader(deep))).to.throw(/header nests more than 8 levels deep/);
    // A valid file's header (3 levels) still parses, strings with brackets and escapes included.
    const ok = io.parseSafetensors(header({ w, __metadata__: { note: '[[[[[[[[[[{{{{{{{{{\\"' } }, 4));
    expect(ok.metadata.note).to.equal('[[[[[[[[[[{{{{{{{{{\\"');
  });
});
