"""The machine and the Keras backend: which backend, how many GPUs, how many CPU threads.

Nothing here imports a framework before it is needed, so the workflow's planning stays light.
"""

import os
import threading
from pathlib import Path

SUPPORTED = ("tensorflow", "jax")
_configured = threading.Lock()
_threads = None


class BackendError(RuntimeError):
    """KERAS_BACKEND names a backend this project cannot run on."""


def check_keras_backend():
    """The backend KERAS_BACKEND asks for (tensorflow when unset), refused unless the ascent supports it."""
    name = os.environ.get("KERAS_BACKEND", "tensorflow")
    if name not in SUPPORTED:
        raise BackendError(f"KERAS_BACKEND={name!r} is not supported; use one of: {', '.join(SUPPORTED)}")
    return name


def gpu_count():
    """How many NVIDIA GPUs this machine shows (device files, so no framework is imported to ask)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    return len(list(Path("/dev").glob("nvidia[0-9]*")))


def configure_threads(threads):
    """Size the backend's CPU thread pools once per process, and ask it for deterministic ops: every job of
    the process shares them.

    Jobs run as threads of one process, so `threads` is the whole process's share of the CPU: the
    workflow's `--cores`, at most the machine's cores. Later calls keep the first size (TensorFlow
    cannot change it once it has run).
    """
    global _threads
    with _configured:
        if _threads is not None:
            return _threads
        check_keras_backend()
        import keras

        _threads = max(1, min(int(threads), os.cpu_count() or 1))
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            try:
                tf.config.threading.set_intra_op_parallelism_threads(_threads)
                tf.config.threading.set_inter_op_parallelism_threads(_threads)
            except RuntimeError:  # the process ran TensorFlow before the first job: its pools stay
                _threads = tf.config.threading.get_intra_op_parallelism_threads() or _threads
            tf.config.experimental.enable_op_determinism()  # same inputs, same bits, for every job
        return _threads
