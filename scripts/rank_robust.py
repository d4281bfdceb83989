"""Rank robust settings by the faithfulness of their robust strategies' best OIPs (layer summaries written by
scripts/robust_sweep.sh): per measure, the median over the maps of random_robust's and precursor_robust's
mean, ranked among the settings (higher first; ties share their mean rank), the ranks summed.

The measures ranked are those a contrast knob or an adversarial pattern cannot meet (docs/method.md):
activation at the data's scale, robustness under novel transforms, predictive power (AUC), occlusion
prediction and path similarity; the top digits' medians are printed beside them.
    python scripts/rank_robust.py SUMMARY.json...
"""

import argparse
from pathlib import Path

import numpy as np
import scipy.stats

from mnist_oip.strategies import ROBUST_SUFFIX, START_KINDS
from mnist_oip.summary import LayerSummary

ROBUST = tuple(kind + ROBUST_SUFFIX for kind in START_KINDS)
RANKED = ("data_scale", "novel_robustness", "predicts_auc", "occlusion", "path")


def figures(path):
    """{measure: the median over maps of the robust strategies' mean} and the digits' medians, of a summary."""
    summary = LayerSummary.load(path)
    compared = {row["strategy"]: row for row in summary.comparison}
    found = {"median_best_loss": np.mean([compared[name]["median_best_loss"] for name in ROBUST])}
    for measure in RANKED:
        robust = [np.nanmean([_number(m.get(f"{name}_{measure}")) for name in ROBUST]) for m in summary.measures]
        found[measure] = float(np.nanmedian(robust))
        found[f"digits {measure}"] = float(
            np.nanmedian([_number(m.get(f"digits_{measure}")) for m in summary.measures])
        )
    return found


def _number(value):
    return np.nan if value is None else value


def main(paths):
    found = {Path(path).stem: figures(path) for path in paths}
    names = list(found)
    ranks = dict.fromkeys(names, 0.0)
    for measure in RANKED:
        values = np.array([found[name][measure] for name in names])
        for name, rank in zip(names, scipy.stats.rankdata(-values)):
            ranks[name] += rank
    print("| settings | " + " | ".join(RANKED) + " | median best loss | rank sum |")
    print("|---" * (len(RANKED) + 3) + "|")
    for name in sorted(names, key=ranks.get):
        f = found[name]
        print(
            f"| {name} | "
            + " | ".join(f"{f[m]:.3f}" for m in RANKED)
            + f" | {f['median_best_loss']:.1f} | {ranks[name]:.1f} |"
        )
    digits = found[names[0]]
    print("| top digits | " + " | ".join(f"{digits['digits ' + m]:.3f}" for m in RANKED) + " | | |")


if __name__ == "__main__":
    arguments = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    arguments.add_argument("summaries", nargs="+", metavar="SUMMARY.json", help="a layer summary per setting")
    main(arguments.parse_args().summaries)
