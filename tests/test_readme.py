"""The commands the README shows, as written: each snakemake command plans, word for word with `--dry-run`
added, from the root of a copy of the repository, where the README runs them. The mnist-oip commands are
tested in test_cli.py and test_experiments.py, on results of their own; the report and the Slurm profile have
tests of their own (test_report.py, test_slurm.py); the first line (set-up and the whole experiment) is what
CI runs."""

import re
import shlex
import shutil
import subprocess

import pytest
from helpers import ROOT, copy_of_the_workflow

README = (ROOT / "README.md").read_text()
LINES = [line for block in re.findall(r"```bash\n(.*?)```", README, re.DOTALL) for line in block.splitlines()]
# Each command with its comment (after two spaces and #), as the README shows them.
COMMANDS = {line.split("  #")[0].strip(): line.partition("  #")[2].strip() for line in LINES
            if line.startswith(".venv/bin/")}  # fmt: skip
SNAKEMAKE_RUNS = [
    c for c in COMMANDS if c.startswith(".venv/bin/snakemake") and not {"--report", "--profile"} & set(c.split())
]


def test_the_readme_shows_its_commands():
    assert ".venv/bin/python -m pytest -q" in COMMANDS and len(SNAKEMAKE_RUNS) >= 3


@pytest.mark.skipif(not (ROOT / ".venv/bin/snakemake").exists(), reason="no .venv: the README's set-up not run")
@pytest.mark.parametrize("command", SNAKEMAKE_RUNS)
def test_each_snakemake_command_plans_as_written(command, tmp_path):
    checkout = tmp_path / "checkout"
    copy_of_the_workflow(checkout)
    shutil.copytree(ROOT / "docs/configs", checkout / "docs/configs")
    (checkout / ".venv").symlink_to(ROOT / ".venv")
    own_file = re.fullmatch(r"(\S+\.yaml): (.+)", COMMANDS[command])  # "my.yaml: ...": the file the line reads
    if own_file:
        (checkout / own_file[1]).write_text(own_file[2] + "\n")
    done = subprocess.run([*shlex.split(command), "--dry-run"], cwd=checkout, capture_output=True, text=True,
                          check=False, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "score_precursor" in done.stdout
