import importlib.util
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow where it is installed, as the README installs it; JAX elsewhere (a GPU machine's JAX build).
os.environ.setdefault("KERAS_BACKEND", "tensorflow" if importlib.util.find_spec("tensorflow") else "jax")
# Many test processes share a GPU where there is one: each takes the memory it uses, not 75 % of the card.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")


from mnist_oip import backend

backend.configure()  # as every job that runs the CNN does first: threads, determinism, float32 in full


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One finished run of the whole workflow on the tiny config, shared by the tests that only read it."""
    from helpers import snakemake

    workdir = tmp_path_factory.mktemp("tiny")
    done = snakemake(workdir)
    assert done.returncode == 0, done.stderr[-4000:]
    return workdir
