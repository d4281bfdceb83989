"""Files: atomic writes with the user's permissions, pickle-free loads with named errors, and job logs."""

import contextlib
import json
import logging
import os
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np

LOGGER = logging.getLogger("mnist_oip")
LOGGER.setLevel(logging.INFO)
LOGGER.propagate = False
_UMASK = os.umask(0)  # read once, at import, before any job thread runs: umask cannot be read without setting it
os.umask(_UMASK)
# NumPy reads each array's header with ast.literal_eval, and CPython 3.11's AST builder keeps its recursion
# depth per interpreter: two job threads parsing at once can fail with "AST constructor recursion depth
# mismatch" (python/cpython#106905). Every NumPy file read here takes this lock.
_NUMPY_READ_LOCK = threading.Lock()


class StorageError(ValueError):
    """A file cannot be read as what the workflow wrote there."""


def check_folder(path):
    """Refuse a path the workflow must write a folder at when something else is there (a file, or a link to
    one or to nothing)."""
    path = Path(path)
    if path.is_symlink() and not path.is_dir():
        raise StorageError(
            f"{path} is a link to {os.readlink(path)}, not to a folder; the workflow writes its results in a folder there"
        )
    if path.exists() and not path.is_dir():
        raise StorageError(f"{path.resolve()} is a file; the workflow writes its results in a folder there")


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path beside `path`; move it to `path` only on success, with the mode a plain
    `open` would give. Temporaries left by an earlier writer of `path` that was killed are removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix or path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def reserve(path, size):
    """Allocate `size` bytes of `path` on disk now, so that a full disk is an error here and not a SIGBUS
    in the middle of writing through a memory map."""
    with open(path, "r+b") as f:
        try:
            os.posix_fallocate(f.fileno(), 0, size)
        except OSError as err:
            raise OSError(err.errno, f"cannot reserve {size:,} bytes for {path} ({os.strerror(err.errno)})") from err


def save_npz(path, **arrays):
    with atomic_path(path, ".npz") as tmp:
        np.savez(tmp, **arrays)


def read_npz(path):
    """Every array of the .npz archive at `path`, as a dict, pickled objects refused; a single array is a
    StorageError, an unreadable file NumPy's or zipfile's own error (`load_npz` names them all)."""
    with _NUMPY_READ_LOCK:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise StorageError(f"{path}: a single array, not an .npz archive")
        with data:
            return {key: data[key] for key in data.files}


def load_npz(path, required=()):
    """An .npz written by `save_npz`, as a dict; pickled objects refused, missing `required` arrays named."""
    try:
        arrays = read_npz(path)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        if isinstance(err, StorageError):
            raise
        raise StorageError(f"{path}: cannot be read as an .npz file ({npz_problem(err)})") from err
    missing = [key for key in required if key not in arrays]
    if missing:
        raise StorageError(f"{path}: no array {', '.join(missing)} (has {', '.join(arrays) or 'none'})")
    return arrays


def npz_problem(err):
    """What went wrong reading an .npz, in words: NumPy takes any file that is no archive for a pickle."""
    return "not an .npz archive; gzipped? unpack it first" if "pickle" in str(err) else str(err)


def load_npy(path, mmap_mode=None):
    """One array written by `np.save`, pickle-free, or a named error."""
    try:
        with _NUMPY_READ_LOCK:
            array = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise StorageError(f"{path}: cannot be read as an .npy array ({err})") from err
    if not isinstance(array, np.ndarray):
        raise StorageError(f"{path}: an .npz archive, not a single .npy array")
    return array


def load_json(path):
    """A JSON file's content, or a named error for a file that is missing, unreadable or not JSON."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StorageError(f"{path}: cannot be read as JSON ({err})") from err


def save_json(path, obj, sort_keys=True):
    with atomic_path(path, ".json") as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=sort_keys) + "\n")


def save_text(path, text):
    with atomic_path(path) as tmp:
        tmp.write_text(text)


@contextlib.contextmanager
def job_log(path):
    """Send what this job reports (the `mnist_oip` logger, from this thread) to its log, a line at a time
    so `tail -f` follows it; a failure's traceback ends the log."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w")
    thread = threading.get_ident()
    handler.addFilter(lambda record: record.thread == thread)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    LOGGER.addHandler(handler)
    LOGGER.info(f"job started at {time.time():.3f}")  # epoch seconds: the benchmark reads jobs' intervals
    try:
        yield LOGGER
    except BaseException:
        LOGGER.exception("failed")
        raise
    else:
        LOGGER.info(f"job finished at {time.time():.3f}")
    finally:
        LOGGER.removeHandler(handler)
        handler.close()


def job_interval(log_path):
    """(start, end) epoch seconds of a finished job, from its log; None if it did not finish."""
    times = {}
    for line in Path(log_path).read_text().splitlines():
        for event in ("started", "finished"):
            marker = f"job {event} at "
            if marker in line:
                times[event] = float(line.split(marker)[1])
    return (times["started"], times["finished"]) if len(times) == 2 else None
