// The rule for files a command writes (Node), checked before any work is done:
//
// - a command never replaces its own input (a checkpoint, a config), and never a training
//   checkpoint: a run could no longer resume;
// - an image (PNG) output replaces an existing PNG; anything else there is replaced only with
//   `overwrite`;
// - a weights output replaces an existing file only with `overwrite`;
// - the folder must exist and be writable, and the path must not be a folder.
//
// Files are compared by identity (device and inode), so a relative path, a symbolic link or a
// hard link to the input is still the input.

import { constants } from 'node:fs';
import { access, open, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Stats } from 'node:fs';
import { CHECKPOINT_FORMAT } from '../diffusion/checkpoint.js';
import { RUN_FILES } from '../diffusion/trainer.js';
import { describeFileStart, MAX_HEADER_BYTES } from '../io/safetensors.js';
import { describeFsError } from './files.js';

/** A path named on a command line, with the flag that named it (for messages). */
export interface NamedPath {
  flag: string;
  path: string;
}

export interface OutputFile extends NamedPath {
  /** What is written there: an image (PNG), a weights or dataset file (safetensors), a config (JSON). */
  kind: keyof typeof EXAMPLE_NAMES;
}

/** A file name to suggest for each kind of output, when a folder was named instead. */
const EXAMPLE_NAMES = { image: 'samples.png', weights: 'weights.safetensors', dataset: 'images.safetensors', config: 'config.json' };

/** An output the rule refuses; nothing was written. */
export class OutputFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputFileError';
  }
}

/** What an existing file is, from its first bytes. */
type FileKind = { kind: 'png' } | { kind: 'checkpoint'; step: string } | { kind: 'safetensors' } | { kind: 'other'; start: string };

async function fileKind(path: string, size: number): Promise<FileKind> {
  const file = await open(path, 'r').catch((e: unknown) => e as Error);
  if (file instanceof Error) return { kind: 'other', start: `bytes that cannot be read (${describeFsError(file)})` };
  try {
    const head = new Uint8Array(Math.min(size, 16));
    await file.read(head, 0, head.length, 0);
    if ([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => head[i] === b)) return { kind: 'png' };
    const headerLen = head.length >= 9 ? Number(new DataView(head.buffer).getBigUint64(0, true)) : Infinity;
    if (headerLen > MAX_HEADER_BYTES || headerLen > size - 8 || head[8] !== 0x7b) return { kind: 'other', start: describeFileStart(head) };
    const header = new Uint8Array(headerLen);
    await file.read(header, 0, headerLen, 8);
    let metadata: Record<string, unknown> | undefined;
    try {
      metadata = (JSON.parse(new TextDecoder().decode(header)) as { __metadata__?: Record<string, unknown> }).__metadata__;
    } catch {
      return { kind: 'other', start: describeFileStart(head) };
    }
    return metadata?.format === CHECKPOINT_FORMAT ? { kind: 'checkpoint', step: String(metadata.step) } : { kind: 'safetensors' };
  } finally {
    await file.close();
  }
}

const statOrNull = (path: string): Promise<Stats | null> => stat(path).catch(() => null);
const sameFile = (a: Stats, b: Stats) => a.dev === b.dev && a.ino === b.ino;

/** Where a path that may not exist yet would be: its folder's real path and its name. */
async function location(path: string): Promise<string> {
  const dir = await realpath(dirname(resolve(path))).catch(() => resolve(dirname(path)));
  return join(dir, basename(path));
}

/**
 * Checks every output against the rule above (and against each other), before any work: throws
 * an OutputFileError naming the flag, the path and what to do.
 */
export async function checkOutputFiles(outputs: readonly OutputFile[], { inputs = [], overwrite = false }: { inputs?: readonly NamedPath[]; overwrite?: boolean } = {}): Promise<void> {
  const refuse = (message: string): never => {
    throw new OutputFileError(`${message}; nothing was written`);
  };
  const inputStats = await Promise.all(inputs.map(async (input) => ({ ...input, stats: await statOrNull(input.path) })));
  const seen: Array<NamedPath & { at: string }> = [];
  for (const { flag, path, kind } of outputs) {
    const at = await location(path);
    const twin = seen.find((other) => other.at === at);
    if (twin) refuse(`${flag} ${path} and ${twin.flag} ${twin.path} are the same file; give each its own`);
    seen.push({ flag, path, at });

    const dir = dirname(resolve(path));
    const folder = await statOrNull(dir);
    if (!folder) refuse(`${flag} ${path}: the folder ${dirname(path)} does not exist; create it first or choose another ${flag}`);
    if (!folder!.isDirectory()) refuse(`${flag} ${path}: ${dirname(path)} is a file, not a folder`);
    try {
      await access(dir, constants.W_OK);
    } catch (e) {
      refuse(`${flag} ${path}: cannot write in the folder ${dirname(path)}: ${describeFsError(e)}`);
    }

    const existing = await statOrNull(path);
    if (!existing) continue;
    if (existing.isDirectory()) refuse(`${flag} ${path} is a folder; name a file in it, such as ${join(path, EXAMPLE_NAMES[kind])}`);
    const input = inputStats.find((i) => i.stats && sameFile(i.stats, existing));
    if (input) refuse(`${flag} ${path} is the same file as ${input.flag} ${input.path}: a command never replaces its own input; choose another ${flag}`);
    const found = await fileKind(path, existing.size);
    if (found.kind === 'checkpoint') {
      refuse(`${flag} ${path} is a ddpm-ts training checkpoint (step ${found.step}): it is never replaced by another kind of file, since its run could not resume; choose another ${flag}`);
    }
    if (kind === 'image' && found.kind === 'png') continue; // images replace images
    if (!overwrite) {
      const what = found.kind === 'png' ? 'a PNG image' : found.kind === 'safetensors' ? 'a safetensors file' : found.kind === 'other' ? `a file that starts with ${found.start}` : '';
      refuse(`${flag} ${path} exists (${what}); add --overwrite to replace it, or choose another ${flag}`);
    }
  }
}

/**
 * A training run never writes over its own inputs, even with --overwrite: refuses an output
 * folder that is an input folder (--data: the run's files would land among the images it trains
 * on) or whose run file is an input file (--config proj/config.json --out proj). `unchanged`
 * gives the text the run writes to such a file; when the file holds it already, nothing changes.
 */
export async function checkRunInputs(out: NamedPath, inputs: readonly NamedPath[], unchanged: Readonly<Record<string, string>> = {}): Promise<void> {
  const refuse = (message: string): never => {
    throw new OutputFileError(`${message}; nothing was written`);
  };
  const folder = await statOrNull(out.path);
  if (!folder) return; // a new folder holds no input
  for (const input of inputs) {
    const stats = await statOrNull(input.path);
    if (!stats) continue;
    if (stats.isDirectory()) {
      if (sameFile(stats, folder)) refuse(`${out.flag} ${out.path} is the ${input.flag} folder ${input.path}: the run's files would mix with the images it trains on; choose another ${out.flag}`);
      continue;
    }
    for (const name of RUN_FILES) {
      const file = await statOrNull(join(out.path, name));
      if (!file || !sameFile(file, stats)) continue;
      const same = unchanged[name] !== undefined && (await readFile(input.path, 'utf8').catch(() => null)) === unchanged[name];
      if (!same) refuse(`${input.flag} ${input.path} is the run's own ${name} in ${out.flag} ${out.path}, which the run writes: a command never replaces its own input. Copy it elsewhere and pass the copy, or choose another ${out.flag}`);
    }
  }
}
