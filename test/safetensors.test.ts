// safetensors reading and writing: round trips, the reference writer's exact bytes, bad files.

import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { io, randn, tensor, Rng } from 'ddpm-ts';
import { fixturesDir } from './helpers.js';

const fixture = (name: string) => new URL(name, fixturesDir).pathname;

describe('safetensors', () => {
  it('re-serialising the PyTorch-written weights gives the same bytes (same names, shapes, layout)', async () => {
    const original = readFileSync(fixture('unet-s.safetensors'));
    const { tensors, metadata } = await io.loadSafetensors(fixture('unet-s.safetensors'));
    expect(tensors.size).to.equal(166);
    const again = io.serializeSafetensors(tensors, metadata);
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
    const good = io.serializeSafetensors({ w: tensor([1, 2, 3, 4], [4]) });
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
    const header = (h: object, data = 0) => {
      const json = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + json.length + data);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      return out;
    };
    expect(() => io.parseSafetensors(header({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8))).to.throw(/needs 12 bytes, has 8/);
    expect(() => io.parseSafetensors(header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12))).to.throw(/'a' and 'b' overlap/);
    expect(() => io.parseSafetensors(header({ w: { dtype: 'BF16', shape: [1], data_offsets: [0, 2] } }, 2))).to.throw(/dtype BF16; supported: F32, I32, I64/);
    const notJson = header({});
    notJson[8] = 0x7b + 1;
    expect(() => io.parseSafetensors(notJson)).to.throw(/header is not valid JSON/);
    try {
      await io.loadSafetensors(join(dir, 'missing.safetensors'));
      expect.fail('should have thrown');
    } catch (e) {
      expect((e as Error).message).to.match(/loadSafetensors: cannot read .*missing\.safetensors/);
    }
  });
});
