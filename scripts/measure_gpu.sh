#!/usr/bin/env bash
# The workflow measured on a machine with an NVIDIA GPU: each stage named writes under FOLDER (all of them, in
# this order, where none is named).
#   devices     machine.txt (the GPU, the CPU, the framework's versions) and devices.json: `mnist-oip devices`,
#               one map's scoring on each device (devices-nondeterministic.json: without deterministic GPU ops)
#   default     the README's command on the default config in a new folder, default/ (scripts/measure_run.sh:
#               wall time, the jobs' compute and start-up), the GPU's memory sampled all along (memory.csv)
#   grid4       grid4.json: the 4x4 grid's screen (docs/configs/grid4.yaml) and one map's scoring after it, on
#               the default run's CNN
#   same_cnn=R  a CPU run's results folder R: its CNN explained on the GPU for the maps R has (same_cnn/), each
#               map's seeds and best losses beside R's (same_cnn.json)
#   scripts/measure_gpu.sh FOLDER [devices] [default] [grid4] [same_cnn=CPU_RESULTS]
source "$(dirname "$0")/usage.sh"
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$root/.venv/bin}
folder=$1
shift
stages=("${@:-devices default grid4}")
mkdir -p "$folder"
cd "$folder"

devices() {
    {
        nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
        lscpu | grep 'Model name'
        echo "$(nproc) cores"
        "$bin/python" -c 'import jax, keras; print("jax", jax.__version__, "keras", keras.__version__, jax.devices())'
    } > machine.txt 2>&1
    "$bin/mnist-oip" devices > devices.json 2> devices.log
    XLA_FLAGS=--xla_gpu_deterministic_ops=false "$bin/mnist-oip" devices > devices-nondeterministic.json \
        2>> devices.log
}

default() {
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 250 > memory.csv &
    local sampler=$!
    PYTHON=$bin/python "$root/scripts/measure_run.sh" default > default.txt 2>&1
    kill "$sampler"
    echo "peak GPU memory used: $(sort -n memory.csv | tail -1) MiB (nvidia-smi every 0.25 s)" >> default.txt
}

grid4() {
    "$bin/mnist-oip" --config "$root/docs/configs/grid4.yaml" devices --model default/results/model/cnn.keras \
        > grid4.json 2> grid4.log
}

same_cnn() {
    local cpu_results
    cpu_results=$(cd "$1" && pwd)
    mkdir -p same_cnn
    "$bin/python" - "$cpu_results" same_cnn <<'PYTHON'
import sys

import numpy as np
import yaml

from mnist_oip import data, paths, storage
from mnist_oip.results import Provenance

cpu, folder = paths.Results(sys.argv[1]), sys.argv[2]
stats = Provenance.load(cpu(paths.PROVENANCE))
split = storage.load_npz(cpu(paths.ARRAYS))
np.savez(f"{folder}/held_out.npz", x=data.standardize(split["x_test"], stats.mean, stats.std), y=split["y_test"])
config = {
    "model": {"path": str(cpu(paths.CNN)), "input_scale": {"mean": [0.0], "std": [1.0]}},
    "dataset": {"source": "npz", "path": "held_out.npz"},
    "maps": {"indices": sorted({index for _, index in cpu.maps()})},
}
open(f"{folder}/config.yaml", "w").write(yaml.safe_dump(config))
PYTHON
    (cd same_cnn && "$bin/snakemake" -s "$root/Snakefile" --cores 4 --resources gpu=1 --configfile config.yaml \
        > snakemake.log 2>&1)
    "$bin/python" - "$cpu_results" same_cnn/results > same_cnn.json <<'PYTHON'
import json
import sys

import numpy as np

from mnist_oip import paths
from mnist_oip.results import MapResult, Seeds
from mnist_oip.strategies import START_KINDS

cpu, gpu = paths.Results(sys.argv[1]), paths.Results(sys.argv[2])
rows = []
for layer, index in gpu.maps():
    where = {"layer": layer, "map": index}
    seeds = [Seeds.load(run(paths.SEEDS, **where)) for run in (cpu, gpu)]
    results = [MapResult.load([run(paths.START_RESULT, start=s, **where) for s in START_KINDS]) for run in (cpu, gpu)]
    rows.append({
        "map": index,
        "same_seeds": seeds[0].indices.tolist() == seeds[1].indices.tolist(),
        "seed_scores_largest_difference": float(np.abs(seeds[0].scores - seeds[1].scores).max()),
        "best_loss_cpu_gpu": {name: [s.best_loss, results[1].strategies[name].best_loss]
                              for name, s in results[0].strategies.items()},
    })
worst = max(abs(a - b) / max(abs(a), 1e-6) for r in rows for a, b in r["best_loss_cpu_gpu"].values())
print(json.dumps({"maps": len(rows), "maps_with_the_same_seeds": sum(r["same_seeds"] for r in rows),
                  "best_loss_largest_relative_difference": worst, "per_map": rows}, indent=1))
PYTHON
}

for stage in ${stages[@]}; do
    began=$SECONDS
    case $stage in
        same_cnn=*) same_cnn "${stage#same_cnn=}" ;;
        devices | default | grid4) $stage ;;
        *) echo "unknown stage $stage" >&2; exit 2 ;;
    esac
    echo "stage $stage: $((SECONDS - began)) s"
done
