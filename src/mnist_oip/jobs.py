"""One function per workflow stage, taking paths and config values: what the Snakemake scripts call."""

import contextlib
import json
import logging
import sys
import time

import numpy as np

from . import data, storage


@contextlib.contextmanager
def logged(log_path):
    """Send the job's prints and warnings to its log, line-buffered so `tail -f` follows it."""
    with open(log_path, "w", buffering=1) as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        logging.basicConfig(stream=log, level=logging.INFO, force=True)
        yield


def prepare_dataset(dataset, out_arrays, out_info):
    x_train, y_train, x_test, y_test = data.load(dataset["source"], dataset.get("path"),
                                                 dataset["test_fraction"], dataset["seed"])
    info = data.describe(dataset["source"], x_train, y_train, x_test, y_test)
    storage.save_npz(out_arrays, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    storage.save_json(out_info, info)
    print(json.dumps(info, indent=2))


def train_cnn(arrays, info, architecture, training, out_model, out_history, threads=1):
    from . import ascent, model

    ascent.configure_threads(threads)
    stats = json.loads(open(info).read())
    split = storage.load_npz(arrays)
    x_train, x_test = (data.standardize(split[k], stats["mean"], stats["std"]) for k in ("x_train", "x_test"))
    cnn = model.build_cnn(architecture["filters"], architecture["dense_units"], architecture["l2"])
    cnn.summary()
    history, accuracy = model.train(cnn, x_train, split["y_train"], x_test, split["y_test"], **training)
    print(f"test accuracy {accuracy:.4f}")
    with storage.atomic_path(out_model, ".keras") as tmp:
        cnn.save(tmp)
    storage.save_json(out_history, {"history": history, "test_accuracy": accuracy})


def _map_ascent(model_path, layer, map_index, step_size, pre_activation=False):
    from . import ascent, model

    cnn = model.load_model(model_path)
    model.check_architecture(cnn)
    label = f"map {map_index} of {layer}" + (" (pre-activation)" if pre_activation else "")
    return ascent.Ascent(model.map_model(cnn, layer, map_index, pre_activation), step_size, label)


def score_precursor(model_path, layer, map_index, precursor, step_size, batch_size, out_scores, threads=1):
    from . import ascent, precursor as run

    ascent.configure_threads(threads)
    climb = _map_ascent(model_path, layer, map_index, step_size)
    seconds = run.score_patterns(climb, precursor["grid"], precursor["levels"], precursor["steps"],
                                 batch_size, out_scores)
    print(f"done in {seconds:.1f} s")


def select_seeds(scores_path, precursor, out_seeds):
    from . import patterns, selection

    scores = np.load(scores_path, mmap_mode="r", allow_pickle=False)
    best = selection.top_patterns(scores, precursor["keep"])
    coarse = patterns.coarse_patterns(best, precursor["grid"], precursor["levels"])
    storage.save_npz(out_seeds, indices=best, scores=np.asarray(scores[best]), coarse=coarse)
    print("\n".join(f"pattern {i}: loss {scores[i]:.4g}" for i in best))


def optimize_map(model_path, layer, map_index, seeds_path, oip, step_size, out_result, out_summary, threads=1):
    """Full ascent from the precursor seeds and from random multi-scale starts (the baseline)."""
    from . import ascent, patterns

    ascent.configure_threads(threads)
    climb = _map_ascent(model_path, layer, map_index, step_size)
    seeds = storage.load_npz(seeds_path)
    starts = {
        "precursor": patterns.upscale(seeds["coarse"]),
        "random": patterns.random_starts(oip["random_starts"], oip["scales"], [oip["seed"], map_index]),
    }
    result, summary = {}, {"map": map_index, "layer": layer, "steps": oip["steps"]}
    for name, images in starts.items():
        began = time.perf_counter()
        oips, curve, losses = climb.run(images, oip["steps"])
        result |= {f"{name}_starts": np.asarray(images), f"{name}_oips": oips, f"{name}_curves": curve,
                   f"{name}_losses": losses}
        best = float(losses.max())
        summary |= {f"{name}_best_loss": best, f"{name}_found": best > 0,
                    f"{name}_seconds": time.perf_counter() - began}
        print(f"{climb.label}: {name} starts, best loss {best:.4g}", flush=True)
    storage.save_npz(out_result, **result)
    storage.save_json(out_summary, summary)


def plot_map(result_path, map_index, figures, out_png):
    from . import figures as fig

    fig.map_figure(storage.load_npz(result_path), map_index, out_png, figures["contrast"])


def plot_training(history_path, out_png):
    from . import figures as fig

    fig.training_curves(json.loads(open(history_path).read())["history"], out_png)


def summarize(result_paths, summary_paths, figures, out_gallery, out_csv, out_markdown):
    """The gallery of best OIPs, and the per-map table with the blog's count line."""
    from . import figures as fig

    rows, best = [], []
    for result_path, summary_path in zip(result_paths, summary_paths):
        summary = json.loads(open(summary_path).read())
        result = storage.load_npz(result_path)
        winner = max(("precursor", "random"), key=lambda name: summary[f"{name}_best_loss"])
        index = int(np.argmax(result[f"{winner}_losses"]))
        loss = float(result[f"{winner}_losses"][index])
        best.append((summary["map"], result[f"{winner}_oips"][index], loss, loss > 0))
        rows.append({
            "map": summary["map"],
            "random_best_loss": summary["random_best_loss"],
            "precursor_best_loss": summary["precursor_best_loss"],
            "random_found": summary["random_found"],
            "precursor_found": summary["precursor_found"],
            "found": loss > 0,
        })
    missed = [r["map"] for r in rows if not r["random_found"]]
    recovered = [m for m in missed if next(r for r in rows if r["map"] == m)["precursor_found"]]
    line = (f"{len(missed)} of {len(rows)} maps had no OIP from random starts; "
            f"the precursor recovered {len(recovered)} of them"
            + (f" ({', '.join(map(str, recovered))})" if recovered else "") + ".")
    print(line)
    fig.gallery(best, out_gallery, figures["contrast"], figures["gallery_columns"])
    fig.write_table(rows, out_csv, out_markdown, preamble=f"# OIP summary\n\n{line}")
    print(f"summary written to {out_csv} and {out_markdown}", file=sys.stderr)
