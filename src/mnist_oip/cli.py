"""Run one stage for one map without Snakemake, with the settings of a config file.

mnist-oip score    --model results/model/cnn.keras --map 5 --out scores.npy
mnist-oip select   --scores scores.npy --out seeds.npz
mnist-oip optimize --model results/model/cnn.keras --map 5 --seeds seeds.npz --out oips.npz
mnist-oip compare-precursor results/ halving/results/
"""

import argparse
import json
from pathlib import Path

import numpy as np
import yaml

from . import jobs, settings, storage

ROOT = Path(__file__).resolve().parents[2]


def load_config(path):
    """A config file merged over the repository's config.yaml, then validated."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    if path:
        for section, values in (yaml.safe_load(Path(path).read_text()) or {}).items():
            config[section] = config.get(section, {}) | values if isinstance(values, dict) else values
    settings.validate(config, ROOT / "workflow/schemas/config.schema.yaml")
    settings.check_precursor(config["precursor"])
    return config


def compare_precursor(exhaustive, other):
    """Per map, how many of the exhaustive run's seeds the other run kept, its best loss after full
    optimization from its seeds against the exhaustive one's, and the image-steps each spent: in all (the
    scoring and the seeds' ascent) and in the scoring alone."""
    rows = []
    for summary_path in sorted(Path(exhaustive, "maps").glob("*/*/summary.json")):
        relative = summary_path.parent.relative_to(exhaustive)
        if not (Path(other) / relative / "summary.json").exists():
            continue
        a, b = storage.load_json(summary_path), storage.load_json(Path(other) / relative / "summary.json")
        seeds_a = storage.load_npz(summary_path.parent / "seeds.npz")
        seeds_b = storage.load_npz(Path(other) / relative / "seeds.npz")
        rows.append(
            {
                "map": a["map"],
                "seeds_kept": len(set(seeds_a["indices"].tolist()) & set(seeds_b["indices"].tolist())),
                "best_loss_exhaustive": a["precursor"]["best_loss"],
                "best_loss_other": b["precursor"]["best_loss"],
                "image_steps_ratio": b["precursor"]["image_steps"] / a["precursor"]["image_steps"],
                "scoring_image_steps_ratio": int(seeds_b["scoring_image_steps"]) / int(seeds_a["scoring_image_steps"]),
            }
        )
    if not rows:
        raise SystemExit(f"compare-precursor: no map has a summary.json under both {exhaustive}/maps and {other}/maps")
    kept = [r["seeds_kept"] for r in rows]
    diff = [r["best_loss_other"] - r["best_loss_exhaustive"] for r in rows]
    return {
        "maps": len(rows),
        "median_seeds_kept": float(np.median(kept)),
        "min_seeds_kept": int(min(kept)),
        "maps_best_loss_lower": int(sum(d < -1e-6 for d in diff)),
        "median_best_loss_difference": float(np.median(diff)),
        "image_steps_ratio": float(np.median([r["image_steps_ratio"] for r in rows])),
        "scoring_image_steps_ratio": float(np.median([r["scoring_image_steps_ratio"] for r in rows])),
        "per_map": rows,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="mnist-oip", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", help="YAML merged over the repository's config.yaml (default: that alone)")
    commands = parser.add_subparsers(dest="command", required=True)

    score = commands.add_parser("score", help="score every precursor pattern for one map")
    score.add_argument("--model", required=True, help="a trained .keras model")
    score.add_argument("--map", type=int, required=True, help="map index in the config's maps.layer")
    score.add_argument("--out", required=True, help="scores file to write (.npy)")

    select = commands.add_parser("select", help="pick the best patterns of a scores file as seeds")
    select.add_argument("--scores", required=True, help="a scores file from `score`")
    select.add_argument("--out", required=True, help="seeds file to write (.npz)")

    optimize = commands.add_parser("optimize", help="full ascent from seeds and random starts for one map")
    optimize.add_argument("--model", required=True, help="a trained .keras model")
    optimize.add_argument("--map", type=int, required=True, help="map index in the config's maps.layer")
    optimize.add_argument("--seeds", required=True, help="a seeds file from `select`")
    optimize.add_argument("--out", required=True, help="OIPs file to write (.npz); its summary goes beside it (.json)")

    compare = commands.add_parser("compare-precursor", help="compare two runs' precursor seeds and best losses")
    compare.add_argument("exhaustive", help="results folder of the reference run")
    compare.add_argument("other", help="results folder of the run to compare, e.g. with strategy halving")
    compare.add_argument("--out", help="also write the comparison here (.json)")

    args = parser.parse_args(argv)
    if args.command == "compare-precursor":
        report = compare_precursor(args.exhaustive, args.other)
        if args.out:
            storage.save_json(args.out, report)
        print(json.dumps({k: v for k, v in report.items() if k != "per_map"}, indent=2))
        return
    config = load_config(args.config)
    layer, step_size = config["maps"]["layer"], config["ascent"]["step_size"]
    if args.command == "score":
        jobs.score_precursor(
            args.model, layer, args.map, config["precursor"], step_size, config["ascent"]["batch_size"], args.out
        )
    elif args.command == "select":
        jobs.select_seeds(args.scores, config["precursor"], args.out)
    else:
        jobs.optimize_map(
            args.model,
            layer,
            args.map,
            args.seeds,
            config["oip"],
            step_size,
            args.out,
            Path(args.out).with_suffix(".json"),
        )


if __name__ == "__main__":
    main()
