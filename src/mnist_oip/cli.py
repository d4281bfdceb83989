"""Run one stage for one map without Snakemake, with the settings of the default config (or --config over it).

mnist-oip score    --model results/model/cnn.keras --map 5 --out scores.npy   (its record: scoring.json beside)
mnist-oip select   --scores scores.npy --out seeds.npz
mnist-oip optimize --model results/model/cnn.keras --map 5 --seeds seeds.npz --out oips/
mnist-oip compare-precursor results/ halving/results/
"""

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from . import backend, jobs, settings, storage
from .results import START_KINDS, Scoring, StartResult

ERRORS = (settings.ConfigError, storage.StorageError, backend.BackendError, OSError, ValueError, RuntimeError)


def compare_precursor(exhaustive, other):
    """Per map, how many of the exhaustive run's seeds the other run kept, its best loss after full
    optimization from its seeds against the exhaustive one's, and the image-steps each spent: in all (the
    scoring and the seeds' ascent) and in the scoring alone."""
    rows = []
    for result_path in sorted(Path(exhaustive, "maps").glob("*/*/precursor.json")):
        folder = result_path.parent.relative_to(exhaustive)
        theirs = Path(other) / folder
        if not (theirs / "precursor.json").exists():
            continue
        a, b = (StartResult.load(f / "precursor.npz") for f in (result_path.parent, theirs))
        seeds_a, seeds_b = (
            storage.load_npz(f / "seeds.npz", required=("indices",)) for f in (result_path.parent, theirs)
        )
        scoring_a, scoring_b = (Scoring.load(f / "scoring.json") for f in (result_path.parent, theirs))
        plain_a, plain_b = a.strategies["precursor"], b.strategies["precursor"]
        rows.append(
            {
                "map": a.map,
                "seeds": len(seeds_a["indices"]),
                "seeds_kept": len(set(seeds_a["indices"].tolist()) & set(seeds_b["indices"].tolist())),
                "best_loss_exhaustive": plain_a.best_loss,
                "best_loss_other": plain_b.best_loss,
                "image_steps_ratio": plain_b.image_steps / plain_a.image_steps,
                "scoring_image_steps_ratio": scoring_b.image_steps / scoring_a.image_steps,
            }
        )
    if not rows:
        raise storage.StorageError(
            f"compare-precursor: no map has results under both {exhaustive}/maps and {other}/maps"
        )
    kept = [r["seeds_kept"] for r in rows]
    diff = [r["best_loss_other"] - r["best_loss_exhaustive"] for r in rows]
    return {
        "maps": len(rows),
        "median_seeds_kept": float(np.median(kept)),
        "min_seeds_kept": int(min(kept)),
        "maps_with_all_seeds_kept": int(sum(r["seeds_kept"] == r["seeds"] for r in rows)),
        "maps_best_loss_lower": int(sum(d < -1e-6 for d in diff)),
        "median_best_loss_difference": float(np.median(diff)),
        "image_steps_ratio": float(np.median([r["image_steps_ratio"] for r in rows])),
        "scoring_image_steps_ratio": float(np.median([r["scoring_image_steps_ratio"] for r in rows])),
        "per_map": rows,
    }


def parser():
    main = argparse.ArgumentParser(
        prog="mnist-oip", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    main.add_argument("--config", help="YAML merged over the default config.yaml (default: that alone)")
    main.add_argument("--layer", help="the conv layer of the maps (default: the config's maps.layer, if one)")
    main.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
    commands = main.add_subparsers(dest="command", required=True)

    score = commands.add_parser("score", help="score every precursor pattern for one map")
    score.add_argument("--model", required=True, help="a trained .keras model")
    score.add_argument("--map", type=int, required=True, help="map index in the layer")
    score.add_argument("--out", required=True, help="scores file to write (.npy); scoring.json goes beside it")

    select = commands.add_parser("select", help="pick the best patterns of a scores file as seeds")
    select.add_argument("--scores", required=True, help="a scores file from `score`")
    select.add_argument("--out", required=True, help="seeds file to write (.npz)")

    optimize = commands.add_parser("optimize", help="full ascent from random starts and seeds for one map")
    optimize.add_argument("--model", required=True, help="a trained .keras model")
    optimize.add_argument("--map", type=int, required=True, help="map index in the layer")
    optimize.add_argument("--seeds", required=True, help="a seeds file from `select`; scoring.json beside it")
    optimize.add_argument("--out", required=True, help="folder for random.npz/.json and precursor.npz/.json")

    compare = commands.add_parser("compare-precursor", help="compare two runs' precursor seeds and best losses")
    compare.add_argument("exhaustive", help="results folder of the reference run")
    compare.add_argument("other", help="results folder of the run to compare, e.g. with strategy halving")
    compare.add_argument("--out", help="also write the comparison here (.json)")
    return main


def run(args):
    if args.command == "compare-precursor":
        report = compare_precursor(args.exhaustive, args.other)
        if args.out:
            storage.save_json(args.out, report)
        print(json.dumps({k: v for k, v in report.items() if k != "per_map"}, indent=2))
        return
    config = settings.load(settings.read_config(args.config))
    layer = args.layer or config.maps.layers[0]
    if args.layer is None and len(config.maps.layers) > 1:
        raise settings.ConfigError(f"maps.layer lists {', '.join(config.maps.layers)}: choose one with --layer")
    if args.command == "score":
        jobs.score_precursor(
            cnn=args.model,
            layer=layer,
            map_index=args.map,
            precursor=config.precursor,
            ascent=config.ascent,
            out_scores=args.out,
            out_scoring=Path(args.out).parent / "scoring.json",
        )
    elif args.command == "select":
        jobs.select_seeds(scores=args.scores, precursor=config.precursor, out_seeds=args.out)
    else:
        for start in START_KINDS:
            jobs.optimize_oips(
                cnn=args.model,
                layer=layer,
                map_index=args.map,
                start=start,
                oip=config.oip,
                ascent=config.ascent,
                seeds=args.seeds,
                scoring=Path(args.seeds).parent / "scoring.json",
                out_result=Path(args.out, f"{start}.npz"),
                out_summary=Path(args.out, f"{start}.json"),
            )


def main(argv=None):
    args = parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    storage.LOGGER.addHandler(handler)
    try:
        run(args)
    except ERRORS as err:
        if args.debug:
            raise
        sys.exit(f"mnist-oip {args.command}: {err}")
    finally:
        storage.LOGGER.removeHandler(handler)


if __name__ == "__main__":
    main()
