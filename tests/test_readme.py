"""The commands the README shows, as written: each snakemake command plans (a dry run, from the repository
root, where the README runs them, in a folder of its own). The mnist-oip commands are tested in
test_cli.py and test_experiments.py, on results of their own; the report and the Slurm profile have
tests of their own (test_report.py, test_slurm.py); the first line (set-up and the whole experiment) is what
CI runs."""

import re
import shlex
import subprocess

import pytest
from helpers import ROOT

README = (ROOT / "README.md").read_text()
COMMANDS = [line.split("  #")[0].strip() for block in re.findall(r"```bash\n(.*?)```", README, re.DOTALL)
            for line in block.splitlines() if line.startswith(".venv/bin/")]  # fmt: skip
SNAKEMAKE_RUNS = [
    c for c in COMMANDS if c.startswith(".venv/bin/snakemake") and not {"--report", "--profile"} & set(c.split())
]


def test_the_readme_shows_its_commands():
    assert ".venv/bin/python -m pytest -q" in COMMANDS and len(SNAKEMAKE_RUNS) >= 3


@pytest.mark.parametrize("command", SNAKEMAKE_RUNS)
def test_each_snakemake_command_plans_as_written(command, tmp_path):
    if "my.yaml" in command:  # the README's own example of an extra config file
        (tmp_path / "my.yaml").write_text("maps: {indices: [3, 17]}\n")
    words = shlex.split(command)
    words[0] = str(ROOT / words[0])
    words = [str(ROOT / w) if w.startswith("docs/") else w for w in words]
    done = subprocess.run([*words, "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path), "--dry-run"],
                          cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "score_precursor" in done.stdout
