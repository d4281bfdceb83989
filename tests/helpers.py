"""Running the workflow from the tests: in a temporary folder, on the tiny config."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from mnist_oip import paths, storage

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests/tiny_config.yaml"
MAPS = yaml.safe_load(TINY.read_text())["maps"]["indices"]
# For the tests of TensorFlow itself, or against it: where only JAX is installed (a GPU machine's build), they skip.
needs_tensorflow = pytest.mark.skipif(os.environ["KERAS_BACKEND"] != "tensorflow", reason="runs on TensorFlow only")


def command(workdir, *args, configs=(TINY,), cores=2):
    """The snakemake command line for this workflow in `workdir` (`--resources` in `args` replaces gpu=1)."""
    resources = [] if "--resources" in args else ["--resources", "gpu=1"]
    return [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), *args,
            "--cores", str(cores), *resources, "--configfile", *map(str, configs)]  # fmt: skip


def snakemake(workdir, *args, configs=(TINY,), cores=2, env=None):
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"} | (env or {})
    return subprocess.run(command(workdir, *args, configs=configs, cores=cores), check=False, capture_output=True,
                          text=True, env=env, timeout=600)  # fmt: skip


def plan(workdir, *args, configs=(TINY,)):
    """Jobs per rule that a dry run would execute."""
    dry = snakemake(workdir, "--dry-run", *args, configs=configs)
    assert dry.returncode == 0, dry.stderr[-3000:]
    table = re.finditer(r"^([a-z_]+)\s+(\d+)$", dry.stdout, re.MULTILINE)  # the "job count" table
    counts = {m[1]: int(m[2]) for m in table if m[1] != "total"}
    return counts


def edited_config(workdir, edit):
    """The tiny config with `edit` (section -> values) laid over it, written to a file."""
    config = yaml.safe_load(TINY.read_text())
    for section, values in edit.items():
        config[section] = config.get(section, {}) | values
    path = workdir / f"edited-{abs(hash(repr(edit)))}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def results_of(workdir):
    """The files of the results folder of a run of the workflow in `workdir`."""
    return paths.Results(workdir / paths.RESULTS)


def files_of(workdirs, template, **wildcards):
    """A template's file in the results of each run in `workdirs`."""
    return [results_of(workdir)(template, **wildcards) for workdir in workdirs]


# The scores, seeds and OIPs of a map, as (template, start kind): what two runs alike agree on.
MAP_ARRAYS = ((paths.SCORES, None), (paths.SEEDS, None), (paths.START_RESULT, "random"),
              (paths.START_RESULT, "precursor"))  # fmt: skip


def assert_same_results(run, other):
    """Two runs of the tiny workflow gave the same scores, seeds and OIPs for every map."""
    for index in MAPS:
        scores, *archives = (files_of((run, other), template, layer="conv3", map=index, start=start)
                             for template, start in MAP_ARRAYS)  # fmt: skip
        np.testing.assert_array_equal(*(np.load(path) for path in scores))
        for a, b in archives:
            name = a.relative_to(run)
            a, b = storage.load_npz(a), storage.load_npz(b)
            for key in a:
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name}:{key}")


def value_and_gradient(forward, total, x):
    """(forward(x), the gradient of total(forward(x)) with respect to x as numpy), on either backend."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        out = forward(x)
        return out, np.asarray(jax.grad(lambda v: total(forward(v)))(x))
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        out = forward(x)
        value = total(out)
    return out, tape.gradient(value, x).numpy()


def copy_of_the_workflow(folder):
    """The workflow and its package copied to `folder`, to be edited there (its Snakefile puts its src first)."""
    folder.mkdir()
    for name in ("workflow", "src", "profiles"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(ROOT / name, folder / name)
    return folder / "Snakefile"


def run_copy(snakefile, workdir, *args, configs=(TINY,)):
    command = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "--directory", str(workdir), "--cores", "2",
               "--resources", "gpu=1", *args, "--configfile", *map(str, configs)]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=600,
                          env=os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"})  # fmt: skip


class Counted:
    """A map's climb that counts the image-steps it is asked for: what scoring really ran."""

    def __init__(self, climb):
        self.climb, self.image_steps = climb, 0

    def run(self, images, steps, *args, **kwargs):
        self.image_steps += len(images) * steps
        return self.climb.run(images, steps, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.climb, name)
