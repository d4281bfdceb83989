#!/usr/bin/env bash
# Score every map of a finished run again with the exhaustive precursor (the blog's: every pattern 10 steps),
# on that run's model, in a new folder; optimize those seeds; compare: seeds kept, best losses, image-steps
# (mnist-oip compare-precursor).
#   scripts/compare_precursor.sh RUN_FOLDER EXHAUSTIVE_FOLDER
source "$(dirname "$0")/usage.sh"
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
run=$(cd "$1" && pwd)
mkdir -p "$2"
cd "$2"
# The finished run's CNN, read where it lies (not copied), and no held-out images: only the precursor runs.
files() {  # the finished run's files named by mnist_oip.paths (one definition of the layout)
    "$python" - "$run" "$@" <<'PYTHON'
import sys
from mnist_oip import paths
from mnist_oip.strategies import PRECURSOR
run = paths.Results(f"{sys.argv[1]}/{paths.RESULTS}")
if sys.argv[2] == "model":
    print(run(paths.CNN))
else:  # every map's precursor result, as the workflow's targets
    print(*(paths.in_results(paths.START_RESULT).format(layer=layer, map=index, start=PRECURSOR) for layer, index in run.maps()))
PYTHON
}
cat > exhaustive.yaml <<YAML
model: {path: $(files model), input_scale: {mean: [0], std: [1]}}  # the blog's CNN takes standardized images
dataset: {source: none, path: null}
precursor: {strategy: exhaustive}
YAML
targets=$(files targets)
"$python" -m snakemake -s "$root/Snakefile" $targets --cores 4 --resources gpu=1 --configfile exhaustive.yaml \
    > snakemake.log 2>&1
"$python" -m mnist_oip.cli compare-precursor results "$run/results" --out compare.json
