// Writing files (Node): atomic replacement, appending a line, creating a folder, and errors that
// say in words which file failed and why ("no space left on the device"), never a bare errno.

import { constants } from 'node:fs';
import { access, appendFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StoreWriteError } from '../diffusion/store.js';

/** A write that failed: the file (or folder) and the cause in words; `code` is Node's (ENOSPC, EACCES, …). */
export class FileWriteError extends StoreWriteError {
  constructor(readonly path: string, code: string | undefined, message: string) {
    super(path, code, message);
    this.name = 'FileWriteError';
  }
}

/** The cause of a file-system error in words, with its code. */
export function describeFsError(e: unknown): string {
  const { code, message } = e as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EDQUOT: 'the disk quota is exhausted',
    EROFS: 'the file system is read-only',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'a folder on its path does not exist',
    ENOTDIR: 'a part of its path is a file, not a folder',
    EISDIR: 'it is a folder',
    EEXIST: 'a file of that name exists',
    EIO: 'an input/output error from the device',
    ELOOP: 'a symbolic link that leads back to itself (a loop)',
  };
  return code && words[code] ? `${words[code]} (${code})` : message;
}

/**
 * Replaces `path` with `data` atomically: a temporary file in the same folder, flushed to disk,
 * then renamed over the target. A crash, a full disk or a kill at any moment leaves either the
 * old file or the new one, never half of one.
 */
export async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const file = await open(tmp, 'w');
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new FileWriteError(path, (e as NodeJS.ErrnoException).code, `cannot write ${path}: ${describeFsError(e)}`);
  }
}

/** Appends text (a log line, with its newline) to `path`. */
export async function appendText(path: string, text: string): Promise<void> {
  try {
    await appendFile(path, text);
  } catch (e) {
    throw new FileWriteError(path, (e as NodeJS.ErrnoException).code, `cannot write ${path}: ${describeFsError(e)}`);
  }
}

/**
 * Checks, without creating anything, that `dir` is a writable folder or can be made: its nearest
 * existing ancestor must be a folder this process can write in. Throws a FileWriteError naming the
 * folder and why.
 */
export async function checkDirUsable(dir: string): Promise<void> {
  let existing = dir, missing: string | null = null;
  let found = await stat(existing).catch(() => null);
  while (!found && dirname(existing) !== existing) {
    missing = existing;
    existing = dirname(existing);
    found = await stat(existing).catch(() => null);
  }
  const fail = (code: string | undefined, why: string): never => {
    const what = missing === null ? `cannot use the folder ${dir}` : `cannot create the folder ${dir}${missing === dir ? '' : ` (its parent ${missing} cannot be made)`}`;
    throw new FileWriteError(dir, code, `${what}: ${why}; nothing was written`);
  };
  if (!found) return fail('ENOENT', 'no part of its path exists');
  if (!found.isDirectory()) return fail('ENOTDIR', existing === dir ? 'it is a file, not a folder' : `${existing} is a file, not a folder`);
  try {
    await access(existing, constants.W_OK);
  } catch (e) {
    fail((e as NodeJS.ErrnoException).code, `${describeFsError(e)} in ${existing}`);
  }
}

/**
 * Creates `dir` and its missing parents. On failure the error names the first folder that could
 * not be made and the true cause: Node's recursive mkdir can report ENOENT for a read-only or
 * forbidden parent, so the first missing folder is retried on its own to learn why.
 */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    return;
  } catch (first) {
    let missing = dir;
    while (dirname(missing) !== missing && !(await stat(dirname(missing)).then(() => true, () => false))) missing = dirname(missing);
    const cause = await mkdir(missing).then(() => first, (e: unknown) => e);
    const parent = dirname(missing);
    const where = missing === dir ? '' : ` (its parent ${missing} cannot be made)`;
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' ? `${missing} exists and is a file` : code === 'ENOTDIR' ? `a part of ${parent} is a file, not a folder` : `${describeFsError(cause)} in ${parent}`;
    throw new FileWriteError(dir, code, `cannot create the folder ${dir}${where}: ${why}`);
  }
}
