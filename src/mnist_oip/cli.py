"""Stages of one map, and analyses across runs, without Snakemake, with the settings of the default config
(or --config over it).

mnist-oip score    --model results/model/cnn.keras --map 5 --out scores.npy   (its record: scoring.json beside)
mnist-oip select   --scores scores.npy --out seeds.npz
mnist-oip optimize --model results/model/cnn.keras --map 5 --seeds seeds.npz --out oips/
mnist-oip compare-precursor exhaustive/results/ results/
mnist-oip compare-searches results/ levels5/results/ grid4/results/ --out searches.json --figure searches.png
mnist-oip score-prediction exhaustive/results/ --maps 0 17 42 --out prediction.json
mnist-oip devices    (the backend, the devices the workflow will use, one map's scoring timed on each)
"""

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from . import backend, experiments, jobs, lineage, paths, settings, storage
from .results import Scoring, Screen
from .strategies import START_KINDS

RECORD = paths.file_name(paths.SCORING)  # the scoring's record, beside the scores file it describes
ERRORS = (settings.ConfigError, storage.StorageError, backend.BackendError, OSError, ValueError, RuntimeError)


def whole(low):
    """An argparse type: a whole number of at least `low`."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is below {low}")
        return value

    return parse


def common_options(parser, inner=False):
    """The options every command takes, before the command or after it (`inner`: a command's own parser,
    where an option given overrides the one before the command)."""
    default = {"default": argparse.SUPPRESS} if inner else {}
    parser.add_argument("--config", help="YAML merged over the default config.yaml (default: that alone)", **default)
    parser.add_argument("--layer", help="the layer of the maps (default: the config's maps.layer, if one)", **default)
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an error", **default)


def parser():
    main = argparse.ArgumentParser(
        prog="mnist-oip", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common_options(main)
    commands = main.add_subparsers(dest="command", required=True)

    def command(name, **kwargs):
        added = commands.add_parser(name, **kwargs)
        common_options(added, inner=True)
        return added

    score = command("score", help="score every precursor pattern for one map")
    score.add_argument("--model", required=True, help="a trained .keras model")
    score.add_argument("--map", type=whole(0), required=True, help="map index in the layer")
    score.add_argument("--out", required=True, help="scores file to write (.npy); scoring.json goes beside it, "
                       "and the layer's screen.npz where halving starts with the forward screen")  # fmt: skip

    select = command("select", help="pick the best patterns of a scores file as seeds")
    select.add_argument("--scores", required=True, help="a scores file from `score`; scoring.json beside it")
    select.add_argument("--out", required=True, help="seeds file to write (.npz)")
    select.add_argument("--map", type=whole(0), help="with strategy: guided, the map the scores are of (the "
                        "patterns are the search's for that map, in screen.npz beside the scores)")  # fmt: skip

    optimize = command("optimize", help="full ascent from random starts and seeds for one map")
    optimize.add_argument("--model", required=True, help="a trained .keras model")
    optimize.add_argument("--map", type=whole(0), required=True, help="map index in the layer")
    optimize.add_argument("--seeds", required=True, help="a seeds file from `select`; scoring.json beside it")
    optimize.add_argument("--held-out", help="held-out images (.npz: x as the model takes them, y labels), whose "
                          "range bounds the robust strategies' images (robust.parameterization: bounded)")  # fmt: skip
    optimize.add_argument(
        "--out",
        required=True,
        help="folder for random.npz/.json and precursor.npz/.json (and "
        "their _robust twins where the config enables the robust strategies)",
    )

    across = {"action": "append", "choices": experiments.ACROSS, "default": [], "help": "compare runs that differ in "
              "this on purpose, once per thing (default: refuse runs made with another CNN, framework, code or steps)"}  # fmt: skip
    compare = command("compare-precursor", help="compare two runs' precursor seeds and best losses")
    compare.add_argument("exhaustive", help="results folder of the reference run")
    compare.add_argument("other", help="results folder of the run to compare, e.g. with strategy halving")
    compare.add_argument("--out", help="also write the comparison here (.json)")
    compare.add_argument("--across", **across)

    searches = command("compare-searches", help="compare the precursor's OIPs of finer searches")
    searches.add_argument("runs", nargs="+", help="results folders: the default search first, then finer ones")
    searches.add_argument("--out", help="also write the comparison here (.json)")
    searches.add_argument(
        "--figure", help=f"draw the maps each finer search recovers or improves ({', '.join(FIGURES)})"
    )
    searches.add_argument("--across", **across)

    devices = command(
        "devices", help="the backend, the devices the workflow will use, and one map's scoring timed on each"
    )
    devices.add_argument("--model", help="a .keras model (default: the blog's CNN, untrained)")
    devices.add_argument("--map", type=whole(0), default=0, help="map index in the layer (default 0)")

    prediction = command(
        "score-prediction", help="how well the precursor's score predicts a pattern's loss after the full ascent"
    )
    prediction.add_argument("run", help="results folder of a run with exhaustive scoring (every pattern scored)")
    prediction.add_argument("--maps", type=whole(0), nargs="+", required=True, help="map indices to study")
    prediction.add_argument("--sample", type=whole(1), default=200, help="patterns across the score range per map")
    prediction.add_argument("--model", help="the run's .keras model (default: the one the run trained)")
    prediction.add_argument("--out", help="also write the figures here (.json)")
    return main


def run(args):
    if getattr(args, "out", None) and args.command in ("compare-precursor", "compare-searches", "score-prediction"):
        check_outputs({"--out": (args.out, (".json",))}, [])
    if getattr(args, "figure", None):
        check_outputs({"--figure": (args.figure, FIGURES)}, [])
    if args.command == "compare-precursor":
        return report(experiments.compare_precursor(args.exhaustive, args.other, args.across), args.out)
    if args.command == "compare-searches":
        found, images = experiments.compare_searches(args.runs, args.across)
        if args.figure:
            from . import figures

            figures.search_comparison(found, images, args.figure)
        return report(found, args.out)
    config = settings.load(settings.read_config(args.config))
    layer = args.layer or config.maps.layers[0]
    if args.layer is None and len(config.maps.layers) > 1:
        raise settings.ConfigError(f"maps.layer lists {', '.join(config.maps.layers)}: choose one with --layer")
    if args.command == "devices":
        return report(time_devices(args, config, layer), None)
    if args.command == "score-prediction":
        return report(score_prediction(args, config, layer), args.out, hide=("scores_sample", "losses_sample"))
    if args.command == "score":
        screen = Path(args.out).with_name(paths.file_name(paths.SCREEN)) if config.precursor.screens else None
        check_outputs({"--out": (args.out, (".npy",))}, [args.model], screen, Path(args.out).with_name(RECORD))
        model_code = config.model.custom_objects or ()
        if screen:
            jobs.screen_patterns(cnn=args.model, layer=layer, precursor=config.precursor, ascent=config.ascent,
                                 compute=config.compute, scale=config.input_scale, out_screen=screen,
                                 made_by=lineage.of_job("screen_patterns", [args.model], model_code))  # fmt: skip
        jobs.score_precursor(
            made_by=lineage.of_job("score_precursor", [args.model, *filter(None, [screen])], model_code),
            cnn=args.model,
            layer=layer,
            map_index=args.map,
            precursor=config.precursor,
            ascent=config.ascent,
            scale=config.input_scale,
            out_scores=args.out,
            out_scoring=Path(args.out).with_name(RECORD),
            screen=screen,
        )
    elif args.command == "select":
        scoring = Path(args.scores).with_name(RECORD)
        check_outputs({"--out": (args.out, (".npz",))}, [args.scores, scoring])
        if not scoring.is_file():
            raise storage.StorageError(f"{scoring}: no such file (select reads the scoring's record beside the scores, "
                                       "as `score` writes it)")  # fmt: skip
        screen = Path(args.scores).with_name(paths.file_name(paths.SCREEN)) if config.precursor.guided else None
        if screen and (args.map is None or not screen.is_file()):
            raise settings.ConfigError(
                f"precursor.strategy: guided scores the search's own patterns for each map: select needs --map and "
                f"the layer's {screen.name} beside the scores (as `score` writes it)"
            )
        read = [args.scores, scoring, *filter(None, [screen])]
        jobs.select_seeds(scores=args.scores, scoring=scoring, precursor=config.precursor, out_seeds=args.out,
                          layer=layer, map_index=args.map, screen=screen,
                          made_by=lineage.of_job("select_seeds", read))  # fmt: skip
    else:
        scoring = Path(args.seeds).with_name(RECORD)
        bounded = config.robust.enabled and config.robust.bounded
        if bounded and args.held_out is None:
            raise settings.ConfigError(
                "robust.parameterization: bounded keeps the robust strategies' images within the held-out images' "
                "range: give optimize --held-out FILE.npz (x: images as the model takes them, y: labels), or set "
                "robust.parameterization: pixels"
            )
        held_out = [args.held_out] if bounded else []
        for given in (args.model, args.seeds, scoring, *held_out):
            if not Path(given).is_file():
                raise storage.StorageError(f"{given}: no such file (optimize needs the model, the seeds and {RECORD} "
                                           "beside them, as `score` and `select` write them)")  # fmt: skip
        kinds = [(*paths.OPTIMIZE_FILES["optimize_oips"], None)]
        if config.robust.enabled:
            kinds.append((*paths.OPTIMIZE_FILES["optimize_robust"], config.robust))
        results = [Path(args.out, paths.file_name(t, start=s)) for s in START_KINDS for k in kinds for t in k[:2]]
        if Path(args.out).is_file():
            raise storage.StorageError(f"--out {args.out}: a file; optimize writes a folder of results")
        check_outputs({}, [args.model, args.seeds, scoring, *held_out], *results)
        jobs.check_scoring(scoring, config.precursor)  # before any work
        jobs.checked_seeds(args.seeds, scoring)
        if bounded:
            jobs.data_range(jobs.loaded_model(args.model), config.input_scale, held_out=args.held_out)
        for start in START_KINDS:
            for result, summary, robust in kinds:
                jobs.optimize_oips(
                    made_by=lineage.of_job(
                        "optimize_oips", [args.model, args.seeds, scoring, *held_out], config.model.custom_objects or ()
                    ),
                    cnn=args.model,
                    layer=layer,
                    map_index=args.map,
                    start=start,
                    oip=config.oip,
                    robust=robust,
                    ascent=config.ascent,
                    scale=config.input_scale,
                    seeds=args.seeds,
                    scoring=scoring,
                    held_out=args.held_out if robust else None,
                    out_result=Path(args.out, paths.file_name(result, start=start)),
                    out_summary=Path(args.out, paths.file_name(summary, start=start)),
                )


FIGURES = (".png", ".pdf", ".svg")  # the formats a figure is written in, by its file's suffix


def check_outputs(named, inputs, *beside):
    """Refuse, before any work, an output with another suffix than it may have (`named`: option -> (path,
    suffixes)), a folder where a file goes, or an output that would overwrite an input (the outputs: those and
    the files written `beside` them)."""
    for option, (path, suffixes) in named.items():
        if Path(path).suffix.lower() not in suffixes:
            raise storage.StorageError(f"{option} {path}: must end in {' or '.join(suffixes)}")
    read = {Path(p).resolve() for p in inputs}
    for path in [*(path for path, _ in named.values()), *filter(None, beside)]:
        if Path(path).is_dir():
            raise storage.StorageError(f"{path}: a folder, where a file goes; give a file's path")
        if Path(path).resolve() in read:
            raise storage.StorageError(f"{path}: an output here, but also an input; write it elsewhere")


def score_prediction(args, config, layer):
    """`experiments.score_prediction` for each map asked for, on the run's model and exhaustive scores."""
    run = paths.Results(args.run)
    climb = jobs.layer_ascent(args.model or run(paths.CNN), layer, config.ascent.step_size, scale=config.input_scale)
    found = {}
    for index in args.maps:
        scores = storage.load_npy(run(paths.SCORES, layer=layer, map=index))
        recorded = Scoring.load(run(paths.SCORING, layer=layer, map=index))
        scoring = experiments.search_label(recorded)
        same_patterns = (recorded.grid, tuple(recorded.levels or ()), bool(recorded.distinct)) == (
            config.precursor.grid,
            config.precursor.levels,
            config.precursor.distinct,
        )
        every = scores.shape == (config.precursor.count,) and np.isfinite(scores).sum() == config.precursor.searched
        if not same_patterns or not every:
            raise storage.StorageError(
                f"{run(paths.SCORES, layer=layer, map=index)}: needs every pattern's score of the config's "
                f"precursor ({config.precursor.searched} patterns: {len(config.precursor.levels)} levels "
                f"{list(config.precursor.levels)} on a {config.precursor.grid}x{config.precursor.grid} grid, "
                f"exhaustive scoring); the run scored {scoring}"
            )
        found[index] = experiments.score_prediction(climb.map(index), config.precursor, scores,
                                                    args.sample, steps=config.oip.steps)  # fmt: skip
    return found


def time_devices(args, config, layer):
    """The backend and its devices, and the config's precursor scoring of one map timed on each device in
    turn (the layer's screen first, where halving starts with it), twice: the first time with the compilation
    of its functions, then as a workflow's later maps run. What to compare with docs/performance.md."""
    import os
    import platform
    import tempfile

    backend.configure()  # before anything starts the framework's runtime
    names = [backend.device_name(d) for d in backend.devices()]
    found = {"backend": backend.check_keras_backend(), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
             "devices": names or ["the CPU, no devices to choose from"], "scoring": {}}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        cnn = args.model
        if cnn is None:
            from . import blog_cnn

            cnn = Path(folder, "cnn.keras")
            blog_cnn.build_cnn(config.model.filters, config.model.dense_units, config.model.l2).save(cnn)
        settings_of = {"cnn": cnn, "layer": layer, "precursor": config.precursor, "ascent": config.ascent,
                       "scale": config.input_scale}  # fmt: skip
        screen = Path(folder, paths.file_name(paths.SCREEN)) if config.precursor.screens else None
        scoring = Path(folder, RECORD)
        for _ in names or [None]:  # the pool hands out its devices in turn
            timed = {}
            with backend.job_device() as device:
                for run in ("first_", ""):
                    if screen:
                        jobs.screen_patterns(**settings_of, compute=config.compute, out_screen=screen)
                        timed[f"{run}screen_seconds"] = Screen.load(screen).seconds
                    jobs.score_precursor(**settings_of, map_index=args.map, out_scores=Path(folder, paths.file_name(paths.SCORES)),
                                         out_scoring=scoring, screen=screen)  # fmt: skip
                    timed[f"{run}scoring_seconds"] = Scoring.load(scoring).seconds
            timed["image_steps_per_second"] = Scoring.load(scoring).image_steps / timed["scoring_seconds"]
            found["scoring"][device or "CPU"] = timed
    return found


def report(found, out, hide=("per_map",)):
    """Write `found` to `out` where given; print it without the long `hide` parts."""
    if out:
        storage.save_json(out, found)
    shown = {k: ({kk: vv for kk, vv in v.items() if kk not in hide} if isinstance(v, dict) else v)
             for k, v in found.items() if k not in hide}  # fmt: skip
    print(json.dumps(shown, indent=2))


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
