"""The machine and the Keras backend: which backend, which devices, how many CPU threads.

Nothing here imports a framework before it is needed, so the workflow's planning stays light.

Jobs run as threads of one process. Where the framework sees several devices (GPUs; or, to rehearse them on
the CPU, the host devices that JAX makes with XLA_FLAGS=--xla_force_host_platform_device_count=N), each job
that runs the CNN takes one from a pool for its whole run (`job_device`) and gives it back when it ends, so
`--resources gpu=N` runs N of them at once, each on its own device.
"""

import contextlib
import importlib.util
import json
import os
import queue
import sys
import threading
from pathlib import Path

SUPPORTED = ("tensorflow", "jax")
DETERMINISTIC_XLA = "--xla_gpu_deterministic_ops=true"  # XLA's GPU ops: no atomics, no autotuning by speed
_configured = threading.Lock()
_threads = None
_pool = None  # the process's devices, a queue; False where there are none to choose from
_job = threading.local()  # the device of the job running in this thread


class BackendError(RuntimeError):
    """KERAS_BACKEND names a backend this project cannot run on."""


def check_keras_backend():
    """The backend Keras will use, refused unless the ascent supports it: KERAS_BACKEND, else the backend of
    Keras' own settings file (keras.json), else tensorflow."""
    name, origin = os.environ.get("KERAS_BACKEND"), "KERAS_BACKEND"
    if name is None:
        settings = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
        try:
            name, origin = json.loads(settings.read_text()).get("backend", "tensorflow"), f"{settings} (backend)"
        except (OSError, ValueError, AttributeError):
            name = "tensorflow"
    if name not in SUPPORTED:
        raise BackendError(f"{origin}={name!r} is not supported; use one of: {', '.join(SUPPORTED)}")
    if importlib.util.find_spec(name) is None:
        raise BackendError(f"{origin}={name}, but {name} is not installed in this Python ({sys.executable})")
    return name


def gpu_count():
    """How many NVIDIA GPUs this machine shows (device files, so no framework is imported to ask)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    return len(list(Path("/dev").glob("nvidia[0-9]*")))


def cpu_count():
    """The CPUs this process may run on: its CPU affinity, which `taskset`, a cluster's allocation or a
    container's cpuset limit."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


GPU_BUILDS = {  # per backend: the installed distributions that compute on NVIDIA GPUs
    "tensorflow": ("tensorflow",),
    "jax": ("jax-cuda12-plugin", "jax-cuda13-plugin", "jax-cuda12-pjrt", "jax-cuda13-pjrt"),
}


def platform():
    """'gpu' where the CNN jobs will compute on NVIDIA GPUs (some visible, and the backend built for them and
    not held to the CPU), else 'cpu'; read without importing the framework."""
    import importlib.metadata

    name = check_keras_backend()
    platforms = os.environ.get("JAX_PLATFORMS", "").replace(" ", "").split(",")
    if not gpu_count() or (name == "jax" and platforms != [""] and not {"cuda", "gpu"} & set(platforms)):
        return "cpu"
    for distribution in GPU_BUILDS[name]:
        try:
            importlib.metadata.version(distribution)
            return "gpu"
        except importlib.metadata.PackageNotFoundError:
            pass
    return "cpu"


def machine():
    """The processor the jobs compute on, in words: the CPU's model, and the GPU's where they use one."""
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), os.uname().machine)  # fmt: skip
    if platform() == "cpu":
        return cpu
    gpus = [line.split(":", 1)[1].strip() for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information"))
            for line in _read(info).splitlines() if line.startswith("Model:")]  # fmt: skip
    return f"{', '.join(dict.fromkeys(gpus)) or 'an NVIDIA GPU'} (with {cpu})"


def _read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def devices():
    """The devices the CNN jobs spread over: the framework's GPUs, or JAX's host devices where XLA_FLAGS makes
    several; empty where the framework has the CPU alone, and jobs run where it puts them."""
    if check_keras_backend() == "tensorflow":
        import tensorflow as tf

        return [device.name for device in tf.config.list_logical_devices("GPU")]
    import jax

    found = jax.devices()
    return found if len(found) > 1 or found[0].platform != "cpu" else []


def device_name(device):
    return device if isinstance(device, str) else f"{device.platform}:{device.id}"


@contextlib.contextmanager
def job_device():
    """Run the enclosed job on a device of the process's pool, taken for the job and given back after it
    (also when it fails); yields the device's name, or None where there are no devices to choose from. A
    job inside another in the same thread runs on the outer one's device."""
    global _pool
    with _configured:
        if _pool is None:
            found = devices()
            _pool = queue.Queue() if found else False
            for device in found:
                _pool.put(device)
    if _pool is False or current_device() is not None:
        yield current_device()
        return
    device = _pool.get()
    _job.device = device_name(device)
    try:
        with _placed_on(device):
            yield _job.device
    finally:
        _job.device = None
        _pool.put(device)


def current_device():
    """The name of the device the job in this thread runs on, or None."""
    return getattr(_job, "device", None)


def _placed_on(device):
    if check_keras_backend() == "tensorflow":
        import tensorflow as tf

        return tf.device(device)
    import jax

    return jax.default_device(device)


def deterministic():
    """Whether TensorFlow is asked for deterministic ops: on the CPU, where every op has such a kernel; not
    with GPUs, where some ops have none and would fail the job."""
    return check_keras_backend() != "tensorflow" or not devices()


def configure():
    """Set the backend up once per process, for every job of it: its CPU thread pools sized to the cores this
    process may run on (its CPU affinity, which a cluster's allocation sets); deterministic ops (TensorFlow:
    without GPUs, where every op has such a kernel; JAX: on GPUs too, unless XLA_FLAGS names
    xla_gpu_deterministic_ops itself); and float32 sums in full on GPUs, not in TensorFloat-32, whose 10-bit
    mantissa the GPUs' matrix units use for float32 by default. Returns the thread count.

    The pools do not follow Snakemake's `--cores`, which sets how many jobs run at once: TensorFlow's training
    splits its sums by thread, so a model trained under another pool size differs in its last bits, and every
    OIP after it. Later calls keep the first size (TensorFlow cannot change it once it has run).
    """
    global _threads
    with _configured:
        if _threads is not None:
            return _threads
        if check_keras_backend() == "jax" and "xla_gpu_deterministic_ops" not in os.environ.get("XLA_FLAGS", ""):
            os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {DETERMINISTIC_XLA}".strip()
        import keras

        _threads = cpu_count()
        if keras.backend.backend() == "jax":
            import jax

            jax.config.update("jax_default_matmul_precision", "highest")
            return _threads
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(_threads)
            tf.config.threading.set_inter_op_parallelism_threads(_threads)
        except RuntimeError:  # the process ran TensorFlow before the first job: its pools stay
            _threads = tf.config.threading.get_intra_op_parallelism_threads() or _threads
        tf.config.experimental.enable_tensor_float_32_execution(False)
        if deterministic():
            tf.config.experimental.enable_op_determinism()  # same inputs, same bits, for every job
        return _threads
