#!/usr/bin/env bash
# Score every map of a finished run again with the exhaustive precursor (same data and model, in a new
# folder), optimize its seeds, and compare: seeds kept, best losses, image-steps (mnist-oip compare-precursor).
#   scripts/compare_halving.sh RUN_FOLDER EXHAUSTIVE_FOLDER
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
run=$(cd "$1" && pwd)
mkdir -p "$2/results"
cd "$2"
cp -a "$run/results/data" "$run/results/model" results/
targets=$(cd "$run/results/maps" && ls -d */* | sed 's|$|/precursor.npz|; s|^|results/maps/|')
"$python" -m snakemake -s "$root/Snakefile" $targets --cores 4 --resources gpu=1 --rerun-triggers mtime \
    --config 'precursor={strategy: exhaustive}' > snakemake.log 2>&1
"$python" -m mnist_oip.cli compare-precursor results "$run/results" --out compare.json
