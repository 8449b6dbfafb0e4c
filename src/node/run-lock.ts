// One run per folder (Node). A trainer holds a lock file in its output folder for as long as it
// runs: made atomically (open with O_EXCL, so of two trainers started at the same moment exactly
// one gets it), holding the pid, host, command and start time of its holder. A second trainer is
// refused, naming the holder. A lock whose process is gone (same host, no such pid: a kill -9, a
// power cut) is said and taken over. examples/torch/ddpm_torch/run_folder.py takes the same
// lock in the same way, so ddpm-ts and PyTorch runs exclude each other too.
//
// The same start also clears the debris a killed writer leaves: the temporary files of atomic
// writes (src/node/files.ts writeAtomic names them `.NAME.PID.N.tmp`) whose process is gone.

import { readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { describeFsError, FileWriteError } from './files.js';

/** The lock's name in a run's folder (a dot file, so an image folder reader skips it). */
export const LOCK_FILE = '.ddpm-run.lock';

/** Who holds a lock: enough to find the process and tell the user what it is. */
export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  started: string;
}

/** The folder is in use by another run; nothing was written. */
export class RunLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunLockedError';
  }
}

/** Whether a process of this host is running (signal 0 tests for it without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // it exists, and belongs to another user
  }
}

/** The holder a lock file names, or null when its text is not one (a lock cut short by a crash while it was written). */
function parseHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    return Number.isInteger(h.pid) && typeof h.host === 'string' ? { pid: h.pid!, host: h.host, command: String(h.command ?? '?'), started: String(h.started ?? '?') } : null;
  } catch {
    return null;
  }
}

/** Locks held by this process, released on exit (a thrown error or process.exit skips the finally blocks that would). */
const held = new Map<string, string>();
process.on('exit', () => {
  for (const [path, text] of held) {
    try {
      if (readFileSync(path, 'utf8') === text) unlinkSync(path);
    } catch {
      // already gone
    }
  }
});

export interface RunLock {
  /** Removes the lock (if it is still ours) and the folders the claim made, when they are still empty. */
  release(): Promise<void>;
}

/**
 * Takes `dir`'s lock, creating the folder (and its parents) when missing. Throws RunLockedError
 * naming the holder when a live process holds it; says (`log`) and takes over a lock whose
 * process is gone; then removes the temporary files of writers that are gone.
 */
export async function lockRunFolder(dir: string, { log, command = process.argv.slice(1).join(' ') }: { log?: (message: string) => void; command?: string } = {}): Promise<RunLock> {
  const made = await makeFolders(dir);
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), command, started: new Date().toISOString() };
  const text = JSON.stringify(me) + '\n';
  const undo = async () => {
    for (const folder of made.reverse()) await rmdir(folder).catch(() => undefined);
  };
  for (let attempt = 0; ; attempt++) {
    try {
      const file = await open(path, 'wx');
      try {
        await file.writeFile(text);
      } finally {
        await file.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) {
        await undo();
        throw new FileWriteError(path, (e as NodeJS.ErrnoException).code, `cannot lock the run folder ${dir} (${path}): ${describeFsError(e)}; nothing was written`);
      }
    }
    const found = await readFile(path, 'utf8').catch(() => null);
    if (found === null) continue; // released between our two calls: try again
    const holder = parseHolder(found);
    if (holder && (holder.host !== me.host || processAlive(holder.pid))) {
      await undo();
      const who = holder.pid === process.pid && holder.host === me.host ? 'this process (a Trainer that was not closed: call trainer.close())' : `process ${holder.pid} on ${holder.host}, started ${holder.started} (${holder.command})`;
      const gone = holder.host === me.host ? '' : `; if that process is gone, delete ${path}`;
      throw new RunLockedError(`${dir} is in use by another run: ${who}. One run per folder at a time: wait for it to end, or choose another folder${gone}. Nothing was written`);
    }
    if (await takeOver(path, found)) {
      log?.(holder
        ? `${dir}: taking over the lock of process ${holder.pid} (started ${holder.started}), which is gone; its run stopped without releasing the folder`
        : `${dir}: taking over a lock file that names no process (${path} was cut short); no run holds the folder`);
    }
  }
  held.set(path, text);
  await removeDebris(dir, log);
  return {
    release: async () => {
      held.delete(path);
      if ((await readFile(path, 'utf8').catch(() => null)) === text) await unlink(path).catch(() => undefined);
      await undo();
    },
  };
}

/**
 * Removes a stale lock whose text is `stale`. It is moved aside first (rename is atomic), then
 * checked: when two trainers take over the same stale lock at once, the second may have moved
 * the first's new lock instead, and puts it back (link fails rather than replace a newer one).
 */
async function takeOver(path: string, stale: string): Promise<boolean> {
  const aside = `${path}.${process.pid}.stale`;
  try {
    await rename(path, aside);
  } catch {
    return false; // someone else moved it: try again
  }
  const moved = await readFile(aside, 'utf8').catch(() => null);
  if (moved === stale) {
    await rm(aside, { force: true });
    return true;
  }
  await link(aside, path).catch(() => undefined);
  await rm(aside, { force: true });
  return false;
}

/** Creates `dir` and its missing parents; returns the folders it made, outermost first. */
async function makeFolders(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let d = dir; !(await stat(d).then(() => true, () => false)) && dirname(d) !== d; d = dirname(d)) missing.unshift(d);
  for (const folder of missing) {
    try {
      await mkdir(folder);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new FileWriteError(folder, (e as NodeJS.ErrnoException).code, `cannot create the folder ${dir}: ${describeFsError(e)} in ${dirname(folder)}; nothing was written`);
      }
    }
  }
  return missing;
}

/** The temporary file of an atomic write (writeAtomic here, the PyTorch side's too): `.NAME.PID.N.tmp`. */
const TEMPORARY = /^\.(.+)\.(\d+)\.(\d+)\.tmp$/;

/** Removes, in `dir` and its samples/, the temporary files whose writer is gone, and says which. */
async function removeDebris(dir: string, log?: (message: string) => void): Promise<void> {
  const removed: string[] = [];
  for (const folder of [dir, join(dir, 'samples')]) {
    for (const name of await readdir(folder).catch(() => [] as string[])) {
      const match = TEMPORARY.exec(name);
      if (!match || processAlive(Number(match[2]))) continue;
      await rm(join(folder, name), { force: true });
      removed.push(join(folder, name));
    }
  }
  if (removed.length) log?.(`removed ${removed.length} unfinished temporary file(s) left by a writer that is gone (a run killed while it wrote): ${removed.join(', ')}`);
}
