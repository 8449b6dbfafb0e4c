"""One run per folder, as src/node/run-lock.ts: a lock file made atomically (O_EXCL) holding the
holder's pid, host, command and start time, the same file ddpm-ts's trainer takes, so the two
trainers exclude each other; a lock whose process is gone is said and taken over. Also the atomic
writes' temporary names (`.NAME.PID.N.tmp`, as src/node/files.ts writeAtomic) and the removal of
those a killed writer left."""

import atexit
import datetime
import itertools
import json
import os
import re
import signal
import socket
import sys

LOCK_FILE = ".ddpm-run.lock"
TEMPORARY = re.compile(r"^\.(.+)\.(\d+)\.(\d+)\.tmp$")
_counter = itertools.count()


class RunFolderError(Exception):
    """The output folder cannot take this run (it holds another run's or a user's files); exit 1."""


class RunLockedError(RunFolderError):
    """Another run holds the folder."""


def temporary_path(path):
    """Where an atomic write of `path` goes first: `.NAME.PID.N.tmp` beside it."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.{os.getpid()}.{next(_counter)}.tmp")


def write_atomic(path, data):
    """run-lock.ts's writeAtomic: a temporary file, flushed, renamed over `path`."""
    tmp = temporary_path(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def process_alive(pid):
    """run-lock.ts processAlive: signal 0 tests for the process without sending anything."""
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _holder(text):
    try:
        h = json.loads(text)
        return h if isinstance(h, dict) and isinstance(h.get("pid"), int) and isinstance(h.get("host"), str) else None
    except ValueError:
        return None


def read_text(path):
    """A file's text, or None when it cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def lock_run_folder(folder, say=print):
    """run-lock.ts lockRunFolder: takes `folder`'s lock (creating the folder); raises RunLockedError
    naming a live holder; says and takes over a dead one's; removes dead writers' temporary files.
    Returns a function that releases the lock, also called at exit and on SIGTERM."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, LOCK_FILE)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv), "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    text = json.dumps(me, separators=(",", ":")) + "\n"
    for attempt in range(6):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if attempt == 5:
                raise RunLockedError(f"cannot lock the run folder {folder}: {path} keeps coming back; nothing was written")
        else:
            with os.fdopen(fd, "w") as f:
                f.write(text)
            break
        found = read_text(path)
        if found is None:
            continue
        holder = _holder(found)
        if holder and (holder["host"] != me["host"] or process_alive(holder["pid"])):
            gone = "" if holder["host"] == me["host"] else f"; if that process is gone, delete {path}"
            raise RunLockedError(f"{folder} is in use by another run: process {holder['pid']} on {holder['host']}, started {holder.get('started', '?')} ({holder.get('command', '?')}). One run per folder at a time: wait for it to end, or choose another folder{gone}. Nothing was written")
        aside = f"{path}.{os.getpid()}.stale"
        try:
            os.rename(path, aside)
        except OSError:
            continue
        if read_text(aside) == found:
            os.remove(aside)
            say(f"{folder}: taking over the lock of process {holder['pid']} (started {holder.get('started', '?')}), which is gone; its run stopped without releasing the folder" if holder else f"{folder}: taking over a lock file that names no process ({path} was cut short); no run holds the folder")
        else:
            try:
                os.link(aside, path)
            except OSError:
                pass
            os.remove(aside)

    def release():
        if read_text(path) == text:
            try:
                os.remove(path)
            except OSError:
                pass

    atexit.register(release)
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        release()
        if callable(previous):
            previous(signum, frame)
        sys.exit(143)

    signal.signal(signal.SIGTERM, on_term)
    remove_debris(folder, say)
    return release


def remove_debris(folder, say=print):
    """run-lock.ts removeDebris: the temporary files of writers that are gone, in the folder and samples/."""
    removed = []
    for d in (folder, os.path.join(folder, "samples")):
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for name in names:
            m = TEMPORARY.match(name)
            if m and not process_alive(int(m.group(2))):
                try:
                    os.remove(os.path.join(d, name))
                    removed.append(os.path.join(d, name))
                except OSError:
                    pass
    if removed:
        say(f"removed {len(removed)} unfinished temporary file(s) left by a writer that is gone (a run killed while it wrote): {', '.join(removed)}")


RUN_FILES = ("config.json", "log.jsonl", "checkpoint.safetensors", "loss.png", "fid.png", "denoising.png")
SAMPLE_GRID = re.compile(r"^step-\d+\.png$")


def run_files(folder):
    """trainer.ts assertNoRunFiles: the files a run would write that the folder holds."""
    log = os.path.join(folder, "log.jsonl")
    started = os.path.isfile(log) and os.path.getsize(log) == 0  # a run that stopped before it logged a step
    found = [os.path.join(folder, n) for n in sorted(RUN_FILES) if os.path.exists(os.path.join(folder, n)) and not (started and n in ("log.jsonl", "config.json"))]
    samples = os.path.join(folder, "samples")
    if os.path.isdir(samples):
        found += [os.path.join(samples, n) for n in sorted(os.listdir(samples)) if SAMPLE_GRID.match(n)]
    return found
