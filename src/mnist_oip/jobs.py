"""One function per workflow stage, from files to the library and back: what the rules and `mnist-oip` call.

Jobs run as threads of one long-lived process (the Snakemake process, or `mnist-oip`), so the framework,
the trained model and each layer's compiled ascent are loaded once and shared by every map's job.
"""

import os
import threading
import time
from pathlib import Path

import numpy as np

from . import backend, data, faults, storage
from .results import MapResult, Scoring, StartResult, StrategyResult, strategy_names
from .settings import CONV_LAYERS

log = storage.LOGGER.info
_cache_lock = threading.Lock()
_models = {}  # resolved path -> (mtime, model)
_ascents = {}  # (path, mtime, layer, step size, precision) -> LayerAscent


def prepare_dataset(*, dataset, out_arrays, out_info):
    x_train, y_train, x_test, y_test = data.load(dataset.source, dataset.path, dataset.test_fraction, dataset.seed)
    info = data.describe(dataset.source, x_train, y_train, x_test, y_test)
    storage.save_npz(out_arrays, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    storage.save_json(out_info, info)
    log(f"{info['train_count']} training and {info['test_count']} test images from {info['source']}")


def train_cnn(*, arrays, info, model, training, out_cnn, out_history, cores=1):
    from . import model as cnn_model

    backend.configure_threads(cores)
    stats = storage.load_json(info)
    split = storage.load_npz(arrays, required=("x_train", "y_train", "x_test", "y_test"))
    if len(split["y_train"]) < training.batch_size:
        raise cnn_model.TrainingError(
            f"training.batch_size: {training.batch_size} is more than the {len(split['y_train'])} training images"
        )
    x_train, x_test = (data.standardize(split[k], stats["mean"], stats["std"]) for k in ("x_train", "x_test"))
    cnn_model.seed_everything(training.seed)
    cnn = cnn_model.build_cnn(model.filters, model.dense_units, model.l2)
    cnn.summary(print_fn=log)
    history, accuracy = cnn_model.train(
        cnn,
        x_train,
        split["y_train"],
        x_test,
        split["y_test"],
        epochs=training.epochs,
        batch_size=training.batch_size,
        learning_rate=training.learning_rate,
        momentum=training.momentum,
        lr_decay=training.lr_decay,
    )
    log(f"test accuracy {accuracy:.4f}")
    with storage.atomic_path(out_cnn, ".keras") as tmp:
        cnn.save(tmp)
    storage.save_json(out_history, {"history": history, "test_accuracy": accuracy})


def layer_ascent(cnn_path, layer, step_size, precision="float32"):
    """The compiled ascent of a layer of a saved model, built once per process and shared by its jobs."""
    from . import ascent, model

    path = str(Path(cnn_path).resolve())
    mtime = os.stat(path).st_mtime_ns
    key = (path, mtime, layer, float(step_size), precision)
    with _cache_lock:
        if key not in _ascents:
            if _models.get(path, (None,))[0] != mtime:  # a new model file: forget the old one's
                _models[path] = (mtime, model.load_model(path))
                for old in [k for k in _ascents if k[0] == path]:
                    del _ascents[old]
            cnn = _models[path][1]
            model.check_architecture(cnn)
            _ascents[key] = ascent.LayerAscent(cnn, layer, step_size, precision)
        return _ascents[key]


def score_precursor(*, cnn, layer, map_index, precursor, ascent, out_scores, out_scoring, cores=1):
    from . import precursor as scoring

    backend.configure_threads(cores)
    faults.inject(map_index)
    climb = layer_ascent(cnn, layer, ascent.step_size, precursor.precision).map(map_index)
    done = scoring.score_patterns(climb, precursor, ascent.batch_size, out_scores)
    faults.stall(map_index)
    done.save(out_scoring)
    log(f"scoring done: {done.image_steps} image-steps in {done.seconds:.1f} s")


def select_seeds(*, scores, precursor, out_seeds):
    """The best `keep` patterns of a scores file, checked against the settings it must have come from."""
    from . import patterns, selection

    values = storage.load_npy(scores, mmap_mode="r")
    if values.shape != (precursor.count,):
        raise storage.StorageError(
            f"{scores}: {values.shape} scores, but {len(precursor.levels)} levels on a {precursor.grid}x"
            f"{precursor.grid} grid make {precursor.count} patterns; score with the same precursor settings"
        )
    best = selection.top_patterns(values, precursor.keep)
    coarse = patterns.coarse_patterns(best, precursor.grid, precursor.levels)
    storage.save_npz(out_seeds, indices=best, scores=np.asarray(values[best]), coarse=coarse)
    log("\n".join(f"pattern {i}: loss {values[i]:.4g}" for i in best))


def starts_of(start, *, map_index, oip, seeds=None):
    """The start images of a start kind: random multi-scale starts, or the precursor's seeds upscaled."""
    from . import patterns

    if start == "random":
        return patterns.random_starts(oip.random_starts, oip.scales, [oip.seed, map_index])
    return patterns.upscale(storage.load_npz(seeds, required=("coarse",))["coarse"])


def optimize_oips(
    *, cnn, layer, map_index, start, oip, ascent, out_result, out_summary, seeds=None, scoring=None, cores=1
):
    """Full ascent of one start kind's images for one map, with and (where asked) without the warm start.

    Every image of the job climbs in one batch: the warm-started copies first get `warm_steps` on the map's
    pre-activation, whose gradient does not vanish where the ReLU output is 0 everywhere, then all climb
    `steps` on the map together. Each image's step is normalized on its own, so batching changes no path (up to float round-off).
    """
    import keras

    backend.configure_threads(cores)
    layer_climb = layer_ascent(cnn, layer, ascent.step_size)
    post, pre = layer_climb.map(map_index), layer_climb.map(map_index, pre_activation=True)
    images = keras.ops.convert_to_numpy(starts_of(start, map_index=map_index, oip=oip, seeds=seeds))
    names = strategy_names(start, oip.warm_start)
    scoring_steps = Scoring.load(scoring).image_steps if start == "precursor" else 0
    n = len(images)
    began = time.perf_counter()
    batch, warm_curve = images, np.zeros((0, n), np.float32)
    if len(names) > 1:
        warmed, warm_curve, _ = pre.run(images, oip.warm_steps)
        batch = np.concatenate([images, warmed])
    warm_seconds = time.perf_counter() - began
    oips, curve, losses = post.run(batch, oip.steps)
    shared_seconds = (time.perf_counter() - began - warm_seconds) / len(names)
    strategies = {}
    for k, name in enumerate(names):
        part = slice(k * n, (k + 1) * n)
        warm = k > 0
        strategies[name] = StrategyResult(
            name,
            images,
            oips[part],
            curve[:, part],
            warm_curve if warm else np.zeros((0, n), np.float32),
            losses[part],
            shared_seconds + (warm_seconds if warm else 0.0),
            n * (oip.steps + (oip.warm_steps if warm else 0)) + scoring_steps,
        )
        log(
            f"{post.label}: {name} starts, {n} x {oip.steps + (oip.warm_steps if warm else 0)} steps, "
            f"best loss {strategies[name].best_loss:.4g}"
        )
    StartResult(layer, map_index, start, oip.steps, strategies).save(out_result, out_summary)


def compare_oips(*, results, uniqueness, out_uniqueness):
    """Group the map's OIPs (loss > 0, every strategy) into patterns that are the same up to a shift."""
    from . import uniqueness as compare

    result = MapResult.load(results)
    found = [
        (s.name, i, float(loss)) for s in result.strategies.values() for i, loss in enumerate(s.losses) if loss > 0
    ]
    images = [result.strategies[name].oips[i] for name, i, _ in found]
    labels, similarity = compare.group(images, uniqueness.threshold, uniqueness.max_shift)
    oips = [{"strategy": n, "index": i, "loss": loss, "group": int(g)} for (n, i, loss), g in zip(found, labels)]
    distinct = len(set(labels.tolist()))
    storage.save_json(out_uniqueness, {"distinct": distinct, "oips": oips, "similarity": similarity.tolist()})
    log(f"{len(found)} OIPs with loss > 0 form {distinct} distinct patterns")


def plot_map(*, results, groups, figures, out_png):
    from . import figures as fig

    letters = {(o["strategy"], o["index"]): o["group"] for o in storage.load_json(groups)["oips"]}
    fig.map_figure(MapResult.load(results), letters, out_png, figures.contrast)


def plot_training(*, history, out_png):
    from . import figures as fig

    fig.training_curves(storage.load_json(history)["history"], out_png)


def summarize(
    *,
    results,
    groups,
    scorings,
    history,
    provenance,
    figures,
    out_gallery,
    out_csv,
    out_markdown,
    out_html,
    out_report_page,
):
    """The gallery of best OIPs, the per-map table with the blog's count line, and the strategy comparison.

    `results`: every map's start kinds' result files, map by map; `groups` (its OIPs up to translation) and
    `scorings`: each map's.
    """
    from . import figures as fig
    from . import summary

    by_map = {}
    for path in results:
        by_map.setdefault(Path(path).parent, []).append(path)
    maps = [MapResult.load(paths) for paths in by_map.values()]
    distinct = {Path(path).parent: storage.load_json(path)["distinct"] for path in groups}
    done = summary.summarize(maps, [distinct[folder] for folder in by_map])
    strategy = {Scoring.load(path).strategy for path in scorings}
    accuracy = storage.load_json(history)["test_accuracy"]
    log(done.count_line)
    fig.gallery(done.best, out_gallery, figures.contrast, figures.gallery_columns)
    layer = maps[0].layer
    about = (
        f"{len(maps)} maps of {layer} (of the CNN's {', '.join(CONV_LAYERS)}), CNN test accuracy {accuracy:.3f}; "
        f"precursor scoring: {', '.join(sorted(strategy))}."
    )
    blocks = [
        ("text", done.count_line),
        ("text", about),
        ("heading", "Strategies"),
        ("table", done.comparison),
        ("text", f"Maps that no strategy activates: {', '.join(map(str, done.unreached)) or 'none'}."),
        ("heading", "Maps"),
        ("table", done.rows),
    ]
    fig.write_summary("OIP summary", blocks, done.rows, out_csv, out_markdown, out_html)
    data_info = storage.load_json(provenance)
    did = (
        f"The workflow trained the blog's CNN on {data_info['train_count']} MNIST digits ({data_info['source']} "
        f"data set) and tested it on {data_info['test_count']} (accuracy {accuracy:.3f}). For {len(maps)} maps of "
        f"{layer} it searched OIPs, the input images that drive a map most: from random starts, from the best "
        f"patterns of the precursor run ({', '.join(sorted(strategy))} scoring), each also with a pre-ReLU warm "
        "start where the config asks for it."
    )
    storage.save_text(out_report_page, fig.report_page(did, done.count_line))
