// The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of
// JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}},
// then the raw little-endian tensor bytes, offsets relative to the end of the header.
// Parsing and serialising work on bytes, anywhere; files are Node's part (src/node/safetensors-files.ts).

import { tensor } from '../ops/creation.js';
import { shapeStr, sizeOf } from '../util/shape.js';
import type { Tensor } from '../tensor/tensor.js';

export interface Safetensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<string, number> = { F32: 4, I32: 4, I64: 8 };
/** Integers above this lose precision as float32; such a file is refused rather than silently altered. */
const FLOAT32_EXACT_INT = 2 ** 24;
/** The reference implementation's cap on the header's size. */
export const MAX_HEADER_BYTES = 100_000_000;
/**
 * A valid header nests three levels ({name: {shape: [...]}}). Refusing deeper ones before
 * JSON.parse keeps a hostile file from costing seconds and gigabytes (or the parser's stack).
 */
const MAX_HEADER_DEPTH = 8;

/** How deep `[` and `{` nest in JSON text, stopping as soon as `limit` is passed (strings skipped). */
function jsonDepth(bytes: Uint8Array, limit: number): number {
  let depth = 0, deepest = 0, inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === 0x5c) i++; // backslash: skip the escaped byte
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x7b || b === 0x5b) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (b === 0x7d || b === 0x5d) depth--;
  }
  return deepest;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ParseOptions {
  /**
   * Looks at each tensor's values as they are read; a returned text (for example "holds NaN at
   * index 3") refuses the file, naming the tensor.
   */
  checkValues?: (name: string, values: Float32Array) => string | null;
}

/**
 * Reads a safetensors file's bytes. I32 and I64 tensors become float32 tensors (exact up to 2^24).
 * Everything the format requires is checked, and a file that breaks a rule is refused with an
 * error naming `source` and what is wrong.
 */
export function parseSafetensors(input: ArrayBuffer | Uint8Array, source = 'safetensors data', { checkValues }: ParseOptions = {}): Safetensors {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const fail = (why: string): never => {
    throw new Error(`${source}: ${why}`);
  };
  if (bytes.length < 8) fail(`truncated: ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  // A safetensors file starts with a plausible length and a JSON object; anything else is another kind of file.
  const looksLikeSafetensors = headerLen <= MAX_HEADER_BYTES && headerLen >= 2 && bytes[8] === 0x7b;
  if (!looksLikeSafetensors) fail(`not a safetensors file: it starts with ${describeFileStart(bytes)}, where a safetensors file has an 8-byte header length (at most ${MAX_HEADER_BYTES}) and then a JSON header ('{')`);
  if (headerLen > bytes.length - 8) fail(`header length ${headerLen} runs past the end of the file (${bytes.length} bytes): truncated`);
  const headerBytes = bytes.subarray(8, 8 + headerLen);
  const depth = jsonDepth(headerBytes, MAX_HEADER_DEPTH);
  if (depth > MAX_HEADER_DEPTH) fail(`header nests more than ${MAX_HEADER_DEPTH} levels deep (a safetensors header needs 3)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    return fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) return fail('header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;

  const metadata: Record<string, string> = {};
  const entries: Array<{ name: string; dtype: string; shape: number[]; begin: number; end: number }> = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!isPlainObject(raw)) fail('__metadata__ is not a map of strings to strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`metadata '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (!isPlainObject(raw)) fail(`tensor '${name}' is not described by an object`);
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    // The dtype must be one of our names as a string: not ["F32"] (String() would flatten it),
    // nor an inherited property such as 'toString'.
    const dtype = e.dtype;
    if (typeof dtype !== 'string' || !Object.hasOwn(BYTES, dtype)) {
      fail(`tensor '${name}' has dtype ${JSON.stringify(dtype)}; supported: ${Object.keys(BYTES).join(', ')}`);
    }
    const shape = e.shape as number[];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor '${name}' has an invalid shape`);
    const offsets = e.data_offsets as number[];
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      fail(`tensor '${name}' has invalid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLen) fail(`tensor '${name}' bytes [${begin}, ${end}) lie outside the data (${dataLen} bytes): truncated or corrupt`);
    const needed = sizeOf(shape) * BYTES[dtype as string]!;
    if (end - begin !== needed) {
      fail(`tensor '${name}' of shape ${shapeStr(shape)} and dtype ${dtype} needs ${needed} bytes, has ${end - begin}`);
    }
    entries.push({ name, dtype: dtype as string, shape, begin, end });
  }
  checkTiling(entries, dataLen, fail);

  const tensors = new Map<string, Tensor>();
  for (const { name, dtype, shape, begin } of entries) {
    const n = sizeOf(shape);
    const values = new Float32Array(n);
    const at = dataStart + begin;
    if (dtype === 'F32') {
      for (let i = 0; i < n; i++) values[i] = view.getFloat32(at + 4 * i, true);
    } else {
      for (let i = 0; i < n; i++) {
        const v = dtype === 'I32' ? view.getInt32(at + 4 * i, true) : Number(view.getBigInt64(at + 8 * i, true));
        if (Math.abs(v) > FLOAT32_EXACT_INT) fail(`tensor '${name}' holds ${v}, not exactly representable as float32`);
        values[i] = v;
      }
    }
    const problem = checkValues?.(name, values);
    if (problem) fail(`tensor '${name}' ${problem}`);
    tensors.set(name, tensor(values, shape));
  }
  return { tensors, metadata };
}

/**
 * The format requires the tensors to cover the data exactly: sorted by offset, each begins where
 * the one before ends, the first at 0 and the last at the end of the file. A hole, an overlap or
 * bytes left over mean the header does not describe the data (a wrong length prefix shifts every
 * tensor by a few bytes and leaves that many over at the end), so every value would be garbage.
 */
function checkTiling(entries: ReadonlyArray<{ name: string; begin: number; end: number }>, dataLen: number, fail: (why: string) => never): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0, previous: string | null = null;
  for (const { name, begin, end } of sorted) {
    if (begin < covered) fail(`tensors '${previous}' and '${name}' overlap`);
    if (begin > covered) fail(`data bytes [${covered}, ${begin}) belong to no tensor (a hole ${previous === null ? 'before the first tensor' : `between '${previous}' and '${name}'`}): the header does not describe the data`);
    covered = end;
    previous = name;
  }
  if (covered !== dataLen) {
    fail(`the data holds ${dataLen - covered} byte(s) after the last tensor${previous === null ? '' : ` ('${previous}' ends at ${covered} of ${dataLen})`}: the header does not describe the data (a wrong header length, or bytes appended)`);
  }
}

/** The first bytes of a file in hex, with the kind of file they announce when it is a common one. */
export function describeFileStart(bytes: Uint8Array): string {
  const at = (text: string | number[], offset = 0) => (typeof text === 'string' ? [...text].map((c) => c.charCodeAt(0)) : text).every((b, i) => bytes[offset + i] === b);
  const kinds: Array<[boolean, string]> = [
    [at([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'a PNG image'],
    [at([0xff, 0xd8, 0xff]), 'a JPEG image'],
    [at('GIF8'), 'a GIF image'],
    [at('PK\x03\x04'), 'a ZIP archive; PyTorch\'s torch.save writes one: save with safetensors instead'],
    [at([0x1f, 0x8b]), 'a gzip file'],
    [at('%PDF'), 'a PDF document'],
    [at([0x89]) && at('HDF', 1), 'an HDF5 file'],
    [at([0x93]) && at('NUMPY', 1), 'a NumPy array file'],
    [bytes[0] === 0x80 && bytes[1]! >= 2 && bytes[1]! <= 5, 'a Python pickle; PyTorch\'s legacy torch.save writes one: save with safetensors instead'],
    [bytes[0] === 0x7b || bytes[0] === 0x5b, 'text, perhaps JSON'],
  ];
  const hex = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  const kind = kinds.find(([matches]) => matches)?.[1];
  return `${hex}${bytes.length > 8 ? ' …' : ''}${kind ? ` (${kind})` : ''}`;
}

/**
 * Encodes float32 tensors (in the given order) and string metadata as safetensors bytes. The
 * values are read with `data()`, so tensors on any backend (WebGPU's included) can be saved.
 */
export async function serializeSafetensors(tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  if (list.some(([name]) => name === '__metadata__')) throw new Error("serializeSafetensors: '__metadata__' is reserved");
  const values = await Promise.all(list.map(([, t]) => t.data()));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const blobs: Float32Array[] = [];
  for (const [k, [name, t]] of list.entries()) {
    const data = values[k]!;
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + 4 * data.length] };
    blobs.push(data);
    offset += 4 * data.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8; // keeps the data 8-byte aligned, as the reference writer does
  if (pad) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const data of blobs) {
    for (let i = 0; i < data.length; i++) view.setFloat32(at + 4 * i, data[i]!, true);
    at += 4 * data.length;
  }
  return out;
}
