import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One finished run of the whole workflow on the tiny config, shared by the tests that only read it."""
    from helpers import snakemake

    workdir = tmp_path_factory.mktemp("tiny")
    done = snakemake(workdir)
    assert done.returncode == 0, done.stderr[-4000:]
    return workdir
