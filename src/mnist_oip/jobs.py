"""One function per workflow stage, taking paths and config values: what the Snakemake scripts call."""

import contextlib
import json
import logging
import os
import sys
import time
import traceback

import numpy as np

from . import data, storage


@contextlib.contextmanager
def logged(log_path):
    """Send everything the job prints to its log, line-buffered so `tail -f` follows it.

    File descriptors 1 and 2 are redirected too, so messages of compiled libraries land there as well.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "w", buffering=1) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                logging.basicConfig(stream=log, level=logging.INFO, force=True)
                try:
                    yield
                except Exception:
                    traceback.print_exc(file=log)  # the reason the job failed, in its log
                    raise
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)


def prepare_dataset(dataset, out_arrays, out_info):
    x_train, y_train, x_test, y_test = data.load(
        dataset["source"], dataset.get("path"), dataset["test_fraction"], dataset["seed"]
    )
    info = data.describe(dataset["source"], x_train, y_train, x_test, y_test)
    storage.save_npz(out_arrays, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    storage.save_json(out_info, info)
    print(json.dumps(info, indent=2))


def train_cnn(arrays, info, architecture, training, out_model, out_history, threads=1):
    from . import ascent, model

    ascent.configure_threads(threads)
    stats = storage.load_json(info)
    split = storage.load_npz(arrays)
    x_train, x_test = (data.standardize(split[k], stats["mean"], stats["std"]) for k in ("x_train", "x_test"))
    training = dict(training)
    model.seed_everything(training.pop("seed"))
    cnn = model.build_cnn(architecture["filters"], architecture["dense_units"], architecture["l2"])
    cnn.summary()
    history, accuracy = model.train(cnn, x_train, split["y_train"], x_test, split["y_test"], **training)
    print(f"test accuracy {accuracy:.4f}")
    with storage.atomic_path(out_model, ".keras") as tmp:
        cnn.save(tmp)
    storage.save_json(out_history, {"history": history, "test_accuracy": accuracy})


def _map_ascent(model_path, layer, map_index, step_size, pre_activation=(False,), precision="float32"):
    """Ascent objects for one map of a saved model: post-ReLU, and pre-activation where asked."""
    from . import ascent, model

    cnn = model.load_model(model_path)
    model.check_architecture(cnn)
    label = f"map {map_index} of {layer}"
    climbs = [
        ascent.Ascent(
            model.map_model(cnn, layer, map_index, pre, precision),
            step_size,
            label + (" (pre-activation)" if pre else ""),
        )
        for pre in pre_activation
    ]
    return climbs if len(climbs) > 1 else climbs[0]


FAULT_VARIABLE = "MNIST_OIP_FAIL_MAPS"


def _injected_fault(map_index):
    """Fail on purpose for the maps listed in $MNIST_OIP_FAIL_MAPS: the tests' way to break one job."""
    if str(map_index) in os.environ.get(FAULT_VARIABLE, "").split(","):
        raise RuntimeError(f"map {map_index}: fault injected through {FAULT_VARIABLE}")


def score_precursor(model_path, layer, map_index, precursor, step_size, batch_size, out_scores, threads=1):
    from . import ascent
    from . import precursor as run

    ascent.configure_threads(threads)
    _injected_fault(map_index)
    climb = _map_ascent(model_path, layer, map_index, step_size, precision=precursor["precision"])
    seconds = run.score_patterns(climb, precursor, batch_size, out_scores)
    print(f"done in {seconds:.1f} s")


def select_seeds(scores_path, precursor, out_seeds):
    from . import patterns, selection
    from .precursor import image_steps

    scores = np.load(scores_path, mmap_mode="r", allow_pickle=False)
    best = selection.top_patterns(scores, precursor["keep"])
    storage.save_npz(
        out_seeds,
        indices=best,
        scores=np.asarray(scores[best]),
        coarse=patterns.coarse_patterns(best, precursor["grid"], precursor["levels"]),
        scoring_image_steps=image_steps(len(scores), precursor),
    )
    print("\n".join(f"pattern {i}: loss {scores[i]:.4g}" for i in best))


STRATEGIES = ("random", "precursor", "random_warm", "precursor_warm")


def strategies(oip):
    """The start strategies an `oip` config asks for: random starts and precursor seeds, each also with a
    pre-ReLU warm start where `warm_start` is pre_relu."""
    return STRATEGIES if oip["warm_start"] == "pre_relu" else STRATEGIES[:2]


def optimize_map(model_path, layer, map_index, seeds_path, oip, step_size, out_result, out_summary, threads=1):
    """Full ascent from random multi-scale starts (the blog's baseline) and from the precursor seeds.

    With a warm start, the map's pre-activation is ascended for `warm_steps` first: its gradient does not
    vanish where the ReLU output is 0 everywhere, so starts that random ascent cannot move get going.
    """
    from . import ascent, patterns

    ascent.configure_threads(threads)
    post, pre = _map_ascent(model_path, layer, map_index, step_size, pre_activation=(False, True))
    seeds = storage.load_npz(seeds_path)
    starts = {
        "random": patterns.random_starts(oip["random_starts"], oip["scales"], [oip["seed"], map_index]),
        "precursor": patterns.upscale(seeds["coarse"]),
    }
    result, summary = {}, {"map": map_index, "layer": layer, "steps": oip["steps"]}
    for name in strategies(oip):
        images = starts[name.removesuffix("_warm")]
        began = time.perf_counter()
        warm = oip["warm_steps"] if name.endswith("_warm") else 0
        oips, warm_curve, curve, losses = ascent.ascend(post, pre, images, oip["steps"], warm)
        best = float(losses.max())
        result |= {
            f"{name}_starts": np.asarray(images),
            f"{name}_oips": oips,
            f"{name}_curves": curve,
            f"{name}_warm_curves": warm_curve,
            f"{name}_losses": losses,
        }
        summary[name] = {
            "best_loss": best,
            "found": best > 0,
            "seconds": time.perf_counter() - began,
            "image_steps": len(losses) * (warm + oip["steps"])
            + (int(seeds["scoring_image_steps"]) if name.startswith("precursor") else 0),
        }
        print(
            f"{post.label}: {name} starts, {len(losses)} x {warm + oip['steps']} steps done, best loss {best:.4g}, "
            f"{summary[name]['seconds']:.1f} s",
            flush=True,
        )
    storage.save_npz(out_result, **result)
    storage.save_json(out_summary, summary)


def compare_oips(result_path, comparison, out_json):
    """Group the map's OIPs (loss > 0, every strategy) into patterns that are the same up to a shift."""
    from . import uniqueness

    result = storage.load_npz(result_path)
    found = [
        (name, i, float(loss))
        for name in STRATEGIES
        if f"{name}_losses" in result
        for i, loss in enumerate(result[f"{name}_losses"])
        if loss > 0
    ]
    images = [result[f"{name}_oips"][i] for name, i, _ in found]
    labels, similarity = uniqueness.group(images, comparison["threshold"], comparison["max_shift"])
    oips = [{"strategy": n, "index": i, "loss": loss, "group": int(g)} for (n, i, loss), g in zip(found, labels)]
    storage.save_json(
        out_json, {"distinct": len(set(labels.tolist())), "oips": oips, "similarity": similarity.tolist()}
    )
    print(f"{len(found)} OIPs with loss > 0 form {len(set(labels.tolist()))} distinct patterns")


def plot_map(result_path, uniqueness_path, map_index, figures, out_png):
    from . import figures as fig

    groups = {(o["strategy"], o["index"]): o["group"] for o in storage.load_json(uniqueness_path)["oips"]}
    fig.map_figure(storage.load_npz(result_path), groups, map_index, out_png, figures["contrast"])


def plot_training(history_path, out_png):
    from . import figures as fig

    fig.training_curves(storage.load_json(history_path)["history"], out_png)


def summarize(result_paths, summary_paths, uniqueness_paths, figures, out_gallery, out_csv, out_markdown, out_html):
    """The gallery of best OIPs, the per-map table with the blog's count line, and the strategy comparison."""
    from . import figures as fig

    summaries = [storage.load_json(path) for path in summary_paths]
    names = [name for name in STRATEGIES if name in summaries[0]]
    rows, best = [], []
    distinct = [storage.load_json(path)["distinct"] for path in uniqueness_paths]
    for result_path, summary, distinct_oips in zip(result_paths, summaries, distinct):
        result = storage.load_npz(result_path)
        winner = max(names, key=lambda name: summary[name]["best_loss"])
        index = int(np.argmax(result[f"{winner}_losses"]))
        loss = float(result[f"{winner}_losses"][index])
        best.append((summary["map"], result[f"{winner}_oips"][index], loss, loss > 0))
        rows.append(
            {"map": summary["map"]}
            | {f"{name}_best_loss": summary[name]["best_loss"] for name in names}
            | {f"{name}_found": summary[name]["found"] for name in names}
            | {"found": loss > 0, "best_strategy": winner if loss > 0 else "", "distinct_oips": distinct_oips}
        )
    missed = [row for row in rows if not row["random_found"]]
    recovered = [row["map"] for row in missed if row["precursor_found"]]
    line = (
        f"{len(missed)} of {len(rows)} maps had no OIP from random starts; "
        f"the precursor recovered {len(recovered)} of them"
        + (f" ({', '.join(map(str, recovered))})" if recovered else "")
        + "."
    )
    print(line)
    comparison = strategy_comparison(summaries, names)
    none = [row["map"] for row in rows if not row["found"]]
    fig.gallery(best, out_gallery, figures["contrast"], figures["gallery_columns"])
    blocks = [
        ("text", line),
        ("heading", "Strategies"),
        ("table", comparison),
        ("text", f"Maps that no strategy activates: {', '.join(map(str, none)) or 'none'}."),
        ("heading", "Maps"),
        ("table", rows),
    ]
    fig.write_summary("OIP summary", blocks, rows, out_csv, out_markdown, out_html)


def strategy_comparison(summaries, names):
    """Per strategy: maps with an OIP, median and minimum best loss, compute per map."""
    table = []
    for name in names:
        losses = [s[name]["best_loss"] for s in summaries]
        table.append(
            {
                "strategy": name,
                "maps_with_oip": sum(s[name]["found"] for s in summaries),
                "median_best_loss": float(np.median(losses)),
                "min_best_loss": float(np.min(losses)),
                "image_steps_per_map": int(np.median([s[name]["image_steps"] for s in summaries])),
                "ascent_seconds_per_map": float(np.median([s[name]["seconds"] for s in summaries])),
            }
        )
    return table
