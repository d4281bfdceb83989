"""`mnist-oip` from a normal install of the wheel, away from the source checkout: the default config and
the schema come with the package."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT

from mnist_oip import patterns
from mnist_oip.results import Scoring


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheel")
    source = folder / "source"  # a copy, so that building leaves nothing in the checkout
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
                            str(folder / "dist"), str(source)], capture_output=True, text=True, check=False)  # fmt: skip
    if built.returncode:
        pytest.skip(f"cannot build the wheel here: {built.stderr[-500:]}")
    wheel = next((folder / "dist").glob("mnist_oip-*.whl"))
    target = folder / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
                   capture_output=True, check=True)  # fmt: skip
    return target


AWAY_FROM_HOME = {key: os.environ[key] for key in ("KERAS_HOME", "MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")}


def run_installed(target, cwd, *args):
    """The installed package first on the path (before the checkout's editable install), run elsewhere."""
    code = "import sys, mnist_oip; assert 'site' in mnist_oip.__file__, mnist_oip.__file__; " \
           "from mnist_oip.cli import main; sys.argv[0] = 'mnist-oip'; main()"  # fmt: skip
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                          env=dict(AWAY_FROM_HOME, PYTHONPATH=str(target), PATH="/usr/bin:/bin"), check=False, timeout=300)  # fmt: skip


def test_the_wheel_ships_config_and_schema_and_runs_a_stage(installed, tmp_path):
    assert (installed / "mnist_oip/resources/config.yaml").is_file()
    assert (installed / "mnist_oip/resources/config.schema.yaml").is_file()
    done = run_installed(installed, tmp_path, "--help")
    assert done.returncode == 0 and "compare-precursor" in done.stdout, done.stderr[-2000:]
    levels = [0.2, 0.5, 0.8]  # the default config's 19683 patterns, of which the distinct images are scored
    distinct = np.concatenate(list(patterns.distinct_indices(3**9, 3, levels, 4096)))
    scores = np.full(3**9, np.nan, np.float32)
    scores[distinct] = distinct
    np.save(tmp_path / "scores.npy", scores)
    Scoring("halving", len(distinct), 10398, 1.0, "activation", 3, levels, 10, True).save(tmp_path / "scoring.json")
    done = run_installed(installed, tmp_path, "select", "--scores", "scores.npy", "--out", "seeds.npz")
    assert done.returncode == 0, done.stderr[-2000:]
    assert np.load(tmp_path / "seeds.npz")["indices"].tolist() == distinct[::-1][:8].tolist()


def test_the_conda_environment_installs_the_requirements_and_the_package(tmp_path):
    """conda runs the environment's pip list as a requirements file beside it; pip, dry, does the same here."""
    import yaml

    for name in ("envs", "src"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("requirements.txt", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    env = yaml.safe_load((tmp_path / "envs/oip.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    (tmp_path / "envs/requirements.txt").write_text("\n".join(pip) + "\n")
    dry = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--no-build-isolation",
                          "-r", "requirements.txt"], cwd=tmp_path / "envs", capture_output=True, text=True,
                         check=False)  # fmt: skip
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "Would install mnist-oip" in dry.stdout
    pinned = [line.split("==")[0] for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line]
    assert all(name in dry.stdout for name in pinned), "every pin of requirements.txt"
