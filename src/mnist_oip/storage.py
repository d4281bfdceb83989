"""Atomic file output: write to a temporary name, then move into place."""

import contextlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path beside `path`; rename it to `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix or path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def save_npz(path, **arrays):
    with atomic_path(path, ".npz") as tmp:
        np.savez(tmp, **arrays)


def load_npz(path):
    """Load an .npz written by `save_npz` into a dict, refusing pickled objects."""
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def load_json(path):
    return json.loads(Path(path).read_text())


def save_json(path, obj):
    with atomic_path(path, ".json") as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_text(path, text):
    with atomic_path(path) as tmp:
        tmp.write_text(text)
