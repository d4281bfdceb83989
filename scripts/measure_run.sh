#!/usr/bin/env bash
# Run the workflow in a new folder as the README's main command does, then print its wall time and the
# jobs' compute and start-up (python -m mnist_oip.benchmark --workflow-only).
#   scripts/measure_run.sh FOLDER [extra snakemake arguments, e.g. --configfile "$PWD/docs/configs/grid4.yaml"]
source "$(dirname "$0")/usage.sh"
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
folder=$1
shift
mkdir -p "$folder"
cd "$folder"
start=$(date +%s.%N)
"$python" -m snakemake -s "$root/Snakefile" --cores 4 --resources gpu=1 "$@" > snakemake.log 2>&1
end=$(date +%s.%N)
echo "snakemake wall time: $("$python" -c "print(round($end - $start, 1))") s ($(nproc) cores, $(uname -m))"
"$python" -m mnist_oip.benchmark --workflow-only --workflow results --out results/benchmark-workflow.json
