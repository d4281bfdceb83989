import importlib.util
import os
import shutil
import tempfile

import pytest

# The settings and caches that Keras, Matplotlib and Snakemake write under the user's home go to a folder of
# the test session's own, removed at its end; the tests' processes inherit it.
HOME_FOLDERS = tempfile.mkdtemp(prefix="mnist-oip-tests-home-")
for variable, folder in (("KERAS_HOME", "keras"), ("MPLCONFIGDIR", "matplotlib"), ("XDG_CACHE_HOME", "cache"),
                         ("XDG_CONFIG_HOME", "config")):  # fmt: skip
    os.environ[variable] = os.path.join(HOME_FOLDERS, folder)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow where it is installed, as the README installs it; JAX elsewhere (a GPU machine's JAX build).
os.environ.setdefault("KERAS_BACKEND", "tensorflow" if importlib.util.find_spec("tensorflow") else "jax")
# Many test processes share a GPU where there is one: each takes the memory it uses, not 75 % of the card.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")


from mnist_oip import backend

backend.configure()  # as every job that runs the CNN does first: threads, determinism, float32 in full


def pytest_unconfigure(config):
    shutil.rmtree(HOME_FOLDERS, ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One finished run of the whole workflow on the tiny config, shared by the tests that only read it."""
    from helpers import snakemake

    workdir = tmp_path_factory.mktemp("tiny")
    done = snakemake(workdir)
    assert done.returncode == 0, done.stderr[-4000:]
    return workdir
