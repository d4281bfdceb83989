"""The backend: a named error for one the ascent cannot run on, the GPU count without a framework, and a
model trained under TensorFlow climbing the same under JAX (the GPU machine's backend)."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from helpers import needs_tensorflow

from mnist_oip import ascent, backend, blog_cnn, patterns


@pytest.mark.parametrize("name", ["torch", "openvino", "tensorflw"])
def test_an_unsupported_backend_is_named_before_keras_loads(monkeypatch, name):
    monkeypatch.setenv("KERAS_BACKEND", name)
    with pytest.raises(
        backend.BackendError, match=rf"KERAS_BACKEND='{name}' is not supported; use one of: tensorflow, jax"
    ):
        backend.check_keras_backend()


def test_gpu_count_follows_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert backend.gpu_count() == 2
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert backend.gpu_count() == 0


ON_JAX = """
import json, sys
import numpy as np
from mnist_oip import ascent, model
layer = ascent.LayerAscent(model.load_model(sys.argv[1]), "conv3", 0.05)
images = np.load(sys.argv[2])
result = {}
for pre in (False, True):
    oips, curve, final = layer.map(5, pre_activation=pre).run(images, 15)
    result[str(pre)] = {"curve": curve.tolist(), "final": final.tolist()}
robust = ascent.LayerAscent(model.load_model(sys.argv[1]), "conv3", 0.05, style=ascent.Style(**json.loads(sys.argv[3])))
oips, curve, final = robust.map(5).run(images, 15, np.random.default_rng(0))
rows = robust.transforms.draw(np.random.default_rng(0), 1, len(images))[0]
moved = np.asarray(ascent.Transforms.apply(images, rows))
result["robust"] = {"curve": curve.tolist(), "final": final.tolist(), "moved": moved.tolist()}
print(json.dumps(result))
"""
ROBUST = {"jitter": 2, "scale": 0.1, "rotate": 10, "total_variation": 0.5, "l2": 0.1, "parameterization": "fourier"}


@needs_tensorflow
def test_tensorflow_model_ascends_the_same_on_jax(tmp_path):
    keras.utils.set_random_seed(4)
    cnn = blog_cnn.build_cnn()
    cnn.save(tmp_path / "cnn.keras")
    images = keras.ops.convert_to_numpy(patterns.random_starts(4, [28, 7], seed=3))
    np.save(tmp_path / "images.npy", images)
    env = os.environ | {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", ON_JAX, str(tmp_path / "cnn.keras"), str(tmp_path / "images.npy"),
                           json.dumps(ROBUST)],
                          capture_output=True, text=True, env=env, check=False, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    on_jax = json.loads(done.stdout.strip().splitlines()[-1])
    layer = ascent.LayerAscent(cnn, "conv3", 0.05)
    for pre in (False, True):
        _, curve, final = layer.map(5, pre_activation=pre).run(images, 15)
        theirs = on_jax[str(pre)]
        # Same start, same model: the same losses; later steps drift apart slowly, as ReLU and max-pool
        # switch on float round-off, but climb alike.
        np.testing.assert_allclose(np.array(theirs["curve"])[:2], curve[:2], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(theirs["final"], final, rtol=0.1, atol=0.01 * np.abs(final).max())
    assert final.max() > curve[0].max(), "the ascent moved"
    # The robust style, every part on: the same transforms drawn, interpolated alike by both backends (to
    # 0.5 % of the image's values: their bilinear kernels round differently), and both climb alike.
    robust = ascent.LayerAscent(cnn, "conv3", 0.05, style=ascent.Style(**ROBUST))
    _, curve, final = robust.map(5).run(images, 15, np.random.default_rng(0))
    theirs = on_jax["robust"]
    rows = robust.transforms.draw(np.random.default_rng(0), 1, len(images))[0]
    moved = keras.ops.convert_to_numpy(ascent.Transforms.apply(images, rows))
    np.testing.assert_allclose(theirs["moved"], moved, atol=0.005 * np.abs(images).max())
    assert final.mean() > curve[0].mean() and np.mean(theirs["final"]) > np.mean(theirs["curve"][0])
    np.testing.assert_allclose(np.mean(theirs["final"]), final.mean(), rtol=0.2)


TWO_JOBS = """
import json, threading
from mnist_oip import backend
seen, both_held = [], threading.Barrier(2, timeout=60)
def job():
    with backend.job_device() as device:
        both_held.wait()  # two jobs hold a device at the same time
        with backend.job_device() as inner:
            seen.append((device, inner))
threads = [threading.Thread(target=job) for _ in range(2)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
try:
    with backend.job_device():
        raise RuntimeError("a job fails")
except RuntimeError:
    pass
print(json.dumps({"seen": sorted(seen), "free": backend._pool.qsize(), "after": backend.current_device()}))
"""


def test_jobs_take_distinct_devices_of_the_pool_and_give_them_back():
    env = os.environ | {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
                        "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", TWO_JOBS], capture_output=True, text=True, env=env, check=False,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["seen"] == [["cpu:0", "cpu:0"], ["cpu:1", "cpu:1"]], "distinct devices; a nested job stays on its own"
    assert found["free"] == 2 and found["after"] is None, "every device back in the pool, the failed job's too"


ALONE = """
import json
from mnist_oip import backend
with backend.job_device() as device:
    print(json.dumps([backend.devices(), backend.deterministic(), device]))
"""


def test_on_the_cpu_alone_jobs_run_where_the_framework_puts_them():
    env = os.environ | {"CUDA_VISIBLE_DEVICES": "-1", "JAX_PLATFORMS": "cpu"}  # a GPU machine's GPUs hidden
    done = subprocess.run([sys.executable, "-c", ALONE], capture_output=True, text=True, env=env, check=False,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [[], True, None]


CONFIGURED = """
import json, os
import jax
from mnist_oip import backend
backend.configure()
print(json.dumps([os.environ["XLA_FLAGS"], jax.config.jax_default_matmul_precision]))
"""


def test_jax_is_asked_for_deterministic_gpu_ops_and_full_float32_sums():
    # On a GPU, JAX sums float32 products in TensorFloat-32 by default: an image gradient 1e-3 off, seen on an H200.
    for given, expected in (("", backend.DETERMINISTIC_XLA),
                            ("--xla_gpu_deterministic_ops=false", "--xla_gpu_deterministic_ops=false")):  # fmt: skip
        env = os.environ | {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "XLA_FLAGS": given}
        done = subprocess.run([sys.executable, "-c", CONFIGURED], capture_output=True, text=True, env=env,
                              check=False, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout.strip().splitlines()[-1]) == [expected, "highest"]


@needs_tensorflow
def test_tensorflow_sums_float32_in_full():
    import tensorflow as tf

    backend.configure()
    assert not tf.config.experimental.tensor_float_32_execution_enabled()


def test_a_backend_that_is_not_installed_is_named_before_anything(monkeypatch):
    import importlib.util

    installed = importlib.util.find_spec
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "jax" else installed(name))
    with pytest.raises(backend.BackendError, match=r"KERAS_BACKEND=jax, but jax is not installed in this Python"):
        backend.check_keras_backend()


def test_the_backend_of_keras_own_settings_file_is_checked_too(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_BACKEND")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "torch"}))
    with pytest.raises(backend.BackendError, match=r"keras.json \(backend\)='torch' is not supported"):
        backend.check_keras_backend()
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    assert backend.check_keras_backend() == "jax"
