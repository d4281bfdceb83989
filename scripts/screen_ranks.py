"""Where the layer's forward screen ranks each map's exhaustive seeds: every pattern of the run's grid goes
through the layer once (no ascent step), each map ranks them by its mean activation, and for each share
of the patterns kept this prints on how many maps that share holds all the exhaustive run's seeds.

    python scripts/screen_ranks.py EXHAUSTIVE_RESULTS MODEL [LAYER]

EXHAUSTIVE_RESULTS: the results folder of a run with `precursor: {strategy: exhaustive}` on MODEL
(scripts/compare_precursor.sh makes one). Both screen precisions are ranked, float32 and bfloat16.
"""

import argparse
import json

import numpy as np

from mnist_oip import ascent, backend, model, paths, patterns, selection, storage
from mnist_oip.results import Scoring, Seeds

SHARES = (0.01, 0.05, 0.1, 0.2)


def ranks(layer_ascent, grid, levels, batch_size=4096):
    """(maps, patterns): every map's patterns best first by the forward screen's mean activation."""
    count = patterns.pattern_count(grid, levels)
    order = selection.ColumnTop(layer_ascent.maps, count)
    for first in range(0, count, batch_size):
        indices = np.arange(first, min(first + batch_size, count))
        post, _ = layer_ascent.screen(patterns.coarse_patterns(indices, grid, levels))
        order.add(indices, post)
    return order.result()[0]


def main(run, model_path, layer="conv3"):
    backend.configure()
    results = paths.Results(run)
    maps = [index for name, index in results.maps() if name == layer]
    scoring = Scoring.load(results(paths.SCORING, layer=layer, map=maps[0]))
    grid, levels = scoring.grid, tuple(scoring.levels)
    seeds = {m: Seeds.load(results(paths.SEEDS, layer=layer, map=m)).indices for m in maps}
    scores = {m: storage.load_npy(results(paths.SCORES, layer=layer, map=m), mmap_mode="r") for m in maps}
    live = [m for m in maps if np.nanmax(scores[m]) > 0]  # a map no pattern activates has arbitrary seeds
    cnn = model.load_model(model_path)
    report = {"maps": len(maps), "live_maps": len(live), "patterns": patterns.pattern_count(grid, levels)}
    for precision in ("float32", "bfloat16"):
        order = ranks(ascent.LayerAscent(cnn, layer, 0.01, precision), grid, levels)
        position = np.empty_like(order)
        np.put_along_axis(position, order, np.arange(order.shape[1])[None, :], axis=1)
        worst = np.array([position[m, seeds[m]].max() + 1 for m in live])  # rank of the worst-ranked seed, 1-based
        report[precision] = {
            "maps_with_all_seeds_in_top": {f"{s:.0%}": int((worst <= s * order.shape[1]).sum()) for s in SHARES},
            "worst_seed_rank_median": float(np.median(worst)),
            "worst_seed_rank_max": int(worst.max()),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    arguments = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    arguments.add_argument("run", metavar="EXHAUSTIVE_RESULTS", help="results folder of an exhaustive run")
    arguments.add_argument("model_path", metavar="MODEL", help="that run's .keras model")
    arguments.add_argument("layer", nargs="?", default="conv3", metavar="LAYER", help="the conv layer (default conv3)")
    given = arguments.parse_args()
    main(given.run, given.model_path, given.layer)
