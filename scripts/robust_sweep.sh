#!/usr/bin/env bash
# The robust strategies' settings compared on 16 maps spread over conv2 (maps 0, 4, ..., 60), not on the
# conv3 maps the docs report: one workflow folder, each variant's robust jobs rerun in it and its layer summary
# kept, then ranked by the faithfulness measures (scripts/rank_robust.py). The plain strategies run once and
# are shared by every variant.
#   scripts/robust_sweep.sh FOLDER
source "$(dirname "$0")/usage.sh"
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
folder=$(mkdir -p "$1" && cd "$1" && pwd)
cat > "$folder/maps.yaml" <<'YAML'
maps:
  layer: conv2
  indices: [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60]
YAML
variant() {  # a name, then key=value settings laid over the base below
  local name=$1 key
  shift
  declare -A robust=([jitter]=2 [scale]=0.1 [rotate]=10 [total_variation]=0 [l2]=0 [diversity]=0
    [parameterization]=pixels [seed]=0)
  for setting in "$@"; do robust[${setting%%=*}]=${setting#*=}; done
  printf 'robust:\n  enabled: true\n' > "$folder/$name.yaml"
  for key in "${!robust[@]}"; do printf '  %s: %s\n' "$key" "${robust[$key]}" >> "$folder/$name.yaml"; done
  "$python" -m snakemake -s "$root/Snakefile" --cores 2 --resources gpu=1 --directory "$folder/work" \
    --configfile "$folder/maps.yaml" "$folder/$name.yaml" > "$folder/$name.log" 2>&1
  cp "$(layer_file LAYER_SUMMARY)" "$folder/$name.json"
  cp "$(layer_file STRATEGY_GALLERY)" "$folder/$name.png"
}
layer_file() {  # a file of conv2 in the workflow folder, as mnist_oip.paths names it
  "$python" -c 'import sys; from mnist_oip import paths; print(paths.Results(sys.argv[1])(getattr(paths, sys.argv[2]), layer="conv2"))' \
    "$folder/work/results" "$1"
}
variant transforms
variant jitter1 jitter=1 scale=0.05 rotate=5
variant tv1 total_variation=1.0
variant tv2 total_variation=2.0
variant tv4 total_variation=4.0
variant l2 l2=1.0
variant fourier parameterization=fourier
variant fourier_tv4 total_variation=4.0 parameterization=fourier
variant tv4_diverse total_variation=4.0 diversity=10.0
variant bounded parameterization=bounded
variant bounded_tv1 total_variation=1.0 parameterization=bounded
variant bounded_tv4_diverse total_variation=4.0 diversity=10.0 parameterization=bounded
"$python" "$root/scripts/rank_robust.py" "$folder"/{transforms,jitter1,tv1,tv2,tv4,l2,fourier,fourier_tv4,tv4_diverse,bounded,bounded_tv1,bounded_tv4_diverse}.json
