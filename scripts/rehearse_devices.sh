#!/usr/bin/env bash
# The device pool rehearsed on the CPU: 16 maps of conv3 on JAX with 1, then 2 virtual host devices
# (XLA_FLAGS=--xla_force_host_platform_device_count), `compute.gpu: true` and --resources gpu=N, each in a
# folder of its own under FOLDER; prints each run's wall time, CNN compute and most CNN jobs at once
# (python -m mnist_oip.benchmark --workflow-only), and whether both runs' results are the same bits.
#   scripts/rehearse_devices.sh FOLDER
source "$(dirname "$0")/usage.sh"
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
mkdir -p "$1"
cd "$1"
cat > rehearsal.yaml <<YAML
compute: {gpu: true}
maps: {indices: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]}
YAML
for devices in 1 2; do
    KERAS_BACKEND=jax JAX_PLATFORMS=cpu XLA_FLAGS="--xla_force_host_platform_device_count=$devices" \
        "$python" -m snakemake -s "$root/Snakefile" --directory "devices$devices" --cores 4 \
        --resources "gpu=$devices" --configfile rehearsal.yaml > "snakemake-$devices.log" 2>&1
    "$python" -m mnist_oip.benchmark --workflow-only --workflow "devices$devices/results" \
        --out "benchmark-$devices.json" > /dev/null
done
"$python" - <<'PYTHON'
import json

import numpy as np

from mnist_oip import paths
from mnist_oip.strategies import PRECURSOR, RANDOM

for devices in (1, 2):
    figures = json.load(open(f"benchmark-{devices}.json"))
    print(f"{devices} device(s): wall {figures['wall_seconds']:.1f} s, CNN compute "
          f"{figures['cnn_compute_seconds_sum']:.1f} s, CNN jobs at once at most {figures['cnn_jobs_at_once_max']}")


def arrays(run, template, start):
    """Every array of every map's file `template` in a run."""
    found = []
    for layer, index in run.maps():
        loaded = np.load(run(template, layer=layer, map=index, start=start))
        found += list(loaded.values()) if template.endswith(".npz") else [loaded]
    return found


one, two = paths.Results("devices1/results"), paths.Results("devices2/results")
files = [(paths.SCORES, PRECURSOR), (paths.START_RESULT, PRECURSOR), (paths.START_RESULT, RANDOM)]
pairs = [pair for t, s in files for pair in zip(arrays(one, t, s), arrays(two, t, s))]
same = all(np.array_equal(a, b, equal_nan=True) for a, b in pairs)  # NaN: a pattern halving dropped
print("scores, starts and OIPs the same bits on 1 and 2 devices:", same)
PYTHON
