import os
import sys

from snakemake.utils import min_version

# The package beside this workflow, for the DAG here and for every job's script (installed or not).
# Set here for the jobs, which inherit it (Slurm jobs too), not read from the user: no envvars directive.
sys.path.insert(0, f"{workflow.basedir}/src")
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        filter(None, [f"{workflow.basedir}/src", os.environ.get("PYTHONPATH")])
    )
)

from mnist_oip import settings

min_version("9.0")


settings.validate(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml")

LAYER = config["maps"]["layer"]
MAPS = settings.map_indices(config)
print(
    f"precursor: {settings.check_precursor(config['precursor'])} patterns per map, {len(MAPS)} maps of {LAYER}",
    file=sys.stderr,
)
# Jobs that would run on an accelerator claim one, so `--resources gpu=N` spreads them over N cards;
# on a machine without one they claim none and run side by side on the CPU cores.
GPU = 1 if settings.gpu_count() else 0


wildcard_constraints:
    layer=r"conv\d+",
    map=r"\d+",


def settings_of(section, *keys):
    """A rule's share of a config section, keys sorted: Snakemake compares params as text, so the order of
    keys in config.yaml must not trigger reruns."""
    values = config[section]
    return {key: values[key] for key in sorted(keys or values)}
