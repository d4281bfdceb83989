"""Rank robust settings by the faithfulness of their robust strategies' best OIPs (layer summaries written by
scripts/robust_sweep.sh): per measure a rank among the settings (ties share their mean), summed.

The relative activation ranks by its distance from 1 on a log scale (as far beyond the best digit as below
it counts alike); robustness, class agreement and blend wins, higher first. Each figure is the mean of
random_robust's and precursor_robust's.
    python scripts/rank_robust.py SUMMARY.json...
"""

import argparse
from pathlib import Path

import numpy as np
import scipy.stats

from mnist_oip.strategies import ROBUST_SUFFIX, START_KINDS
from mnist_oip.summary import LayerSummary

ROBUST = tuple(kind + ROBUST_SUFFIX for kind in START_KINDS)
HIGHER_FIRST = {"distance_from_best_digit": False, "robustness": True, "class_agreement": True, "blend_wins": True}


def figures(path):
    summary = LayerSummary.load(path)
    faithful = {row["strategy"]: row for row in summary.faithfulness}
    compared = {row["strategy"]: row for row in summary.comparison}
    pair = [faithful[name] for name in ROBUST]
    return {
        "maps_with_oip": np.mean([row["maps_with_oip"] for row in pair]),
        "relative_activation": np.mean([row["median_relative_activation"] for row in pair]),
        "distance_from_best_digit": np.mean([abs(np.log(row["median_relative_activation"])) for row in pair]),
        "robustness": np.mean([row["median_robustness"] for row in pair]),
        "class_agreement": np.mean([row["class_agreement"] for row in pair]),
        "blend_wins": np.mean([row["median_blend_wins"] for row in pair]),
        "median_best_loss": np.mean([compared[name]["median_best_loss"] for name in ROBUST]),
    }


def main(paths):
    found = {Path(path).stem: figures(path) for path in paths}
    names = list(found)
    ranks = dict.fromkeys(names, 0.0)
    for measure, higher in HIGHER_FIRST.items():
        values = np.array([found[name][measure] for name in names])
        for name, rank in zip(names, scipy.stats.rankdata(-values if higher else values)):
            ranks[name] += rank
    print("| settings | maps with an OIP | relative activation | robustness | class agreement | blend wins | "
          "median best loss | rank sum |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name in sorted(names, key=ranks.get):
        f = found[name]
        print(f"| {name} | {f['maps_with_oip']:.0f} | {f['relative_activation']:.1f} | {f['robustness']:.3f} | "
              f"{f['class_agreement']:.1f} | {f['blend_wins']:.3f} | {f['median_best_loss']:.1f} | {ranks[name]:.1f} |")  # fmt: skip


if __name__ == "__main__":
    arguments = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    arguments.add_argument("summaries", nargs="+", metavar="SUMMARY.json", help="a layer summary per setting")
    main(arguments.parse_args().summaries)
