"""One function per workflow stage, from files to the library and back: what the rules and `mnist-oip` call.

Jobs run as threads of one long-lived process (the Snakemake process, or `mnist-oip`), so the framework,
the trained model and each layer's compiled ascent are loaded once per device and shared by every map's
job; a job that runs the CNN (`cnn_job`) takes a device of the process's pool for its run.
"""

import dataclasses
import functools
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import backend, data, faults, lineage, paths, storage
from .results import (
    Faithfulness,
    LayerExamples,
    MapResult,
    Provenance,
    Scoring,
    Screen,
    Seeds,
    StartResult,
    StrategyResult,
    Training,
    Uniqueness,
)
from .strategies import PRECURSOR, RANDOM, ROBUST_SUFFIX

log = storage.LOGGER.info
_cache_lock = threading.Lock()
_models = {}  # (resolved path, device) -> (mtime, model)
_ascents = {}  # (path, device, mtime, layer, step size, precision, scale, style) -> LayerAscent


def cnn_job(job):
    """A job that runs the CNN: the framework set up once for the process, then a device of the pool taken for
    the job's run, named in its log; its `made_by` completed with the machine, the threads and the CNN file's
    content (`lineage.at_run`)."""

    @functools.wraps(job)
    def on_device(*args, **kwargs):
        backend.configure()
        with backend.job_device() as device:
            if device is not None:
                log(f"on device {device}")
            kwargs["made_by"] = lineage.at_run(kwargs.get("made_by"), kwargs.get("cnn"))
            return job(*args, **kwargs)

    on_device.runs_cnn = True
    return on_device


def prepare_dataset(*, dataset, out_arrays, out_info, files=(), made_by=None):
    """The data set split, checked and summarized; `files`: those it reads (the rule's inputs, so that a
    replaced file reruns it), read again here through `dataset`."""
    split = data.load(dataset.source, dataset.path, dataset.test_fraction, dataset.seed)
    info = dataclasses.replace(data.describe(dataset.source, *split), made_by=made_by)
    storage.save_npz(out_arrays, **dict(zip(data.SPLIT, split)))
    info.save(out_info)
    log(f"{info.train_count} training and {info.test_count} test images from {info.source}")


@cnn_job
def train_cnn(*, arrays, info, model, training, out_cnn, out_history, made_by=None):
    from . import blog_cnn

    stats = Provenance.load(info)
    split = storage.load_npz(arrays, required=data.SPLIT)
    if len(split["y_train"]) < training.batch_size:
        raise blog_cnn.TrainingError(
            f"training.batch_size: {training.batch_size} is more than the {len(split['y_train'])} training images"
        )
    x_train, x_test = (data.standardize(split[k], stats.mean, stats.std) for k in ("x_train", "x_test"))
    blog_cnn.seed_everything(training.seed)
    cnn = blog_cnn.build_cnn(model.filters, model.dense_units, model.l2)
    cnn.summary(print_fn=log)
    history, accuracy = blog_cnn.train(
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
    Training(history, accuracy, made_by | {"cnn": lineage.file_digest(out_cnn)}).save(out_history)


def loaded_model(cnn_path):
    """A saved model, loaded and checked once per process (again when its file changes)."""
    with _cache_lock:
        return _loaded_model(cnn_path)[3]


def _loaded_model(cnn_path):
    """(resolved path, the job's device, the file's modification time, the model on that device); the
    caller holds the cache lock."""
    from . import model

    path, device = str(Path(cnn_path).resolve()), backend.current_device()
    mtime = os.stat(path).st_mtime_ns
    if _models.get((path, device), (None,))[0] != mtime:  # a new model file: forget the old one's ascents
        cnn = model.load_model(path)
        model.check_image_model(cnn, cnn_path)
        _models[(path, device)] = (mtime, cnn)
        for old in [k for k in _ascents if k[:2] == (path, device)]:
            del _ascents[old]
    return path, device, mtime, _models[(path, device)][1]


def layer_ascent(cnn_path, layer, step_size, precision="float32", scale=None, style=None):
    """The compiled ascent of a layer of a saved model (its inputs as the `InputScale` `scale` says) in an
    `ascent.Style` (None: plain), built once per process and device and shared by the jobs that run there."""
    from . import ascent

    with _cache_lock:
        path, device, mtime, cnn = _loaded_model(cnn_path)
        style = style or ascent.PLAIN
        key = (path, device, mtime, layer, float(step_size), precision, scale, style)
        if key not in _ascents:
            _ascents[key] = ascent.LayerAscent(cnn, layer, step_size, precision, scale, style)
        return _ascents[key]


def data_range(network, scale, arrays=None, info=None, held_out=None):
    """(low, high): the range of the data's pixels in standardized units, the bounded parameterization's: the
    bytes 0 and 255 standardized, for the prepared data set; the held-out images' least and largest value,
    standardized, for a user's."""
    if held_out is None:
        stats = Provenance.load(info)
        return (0 - stats.mean) / stats.std, (1 - stats.mean) / stats.std
    images = scale.from_model(held_out_images(network, held_out=held_out)[0])
    return float(images.min()), float(images.max())


def held_out_images(network, arrays=None, info=None, held_out=None):
    """(images as the model takes them, labels): the test split of the prepared data set (`arrays`, `info`),
    or a user's `held_out` .npz."""
    if held_out is None:
        stats = Provenance.load(info)
        split = storage.load_npz(arrays, required=("x_test", "y_test"))
        return data.standardize(split["x_test"], stats.mean, stats.std), split["y_test"]
    return data.load_examples(held_out, network.input_shape[1:], network.output_shape[-1])


@cnn_job
def find_examples(*, cnn, layer, examples, out_examples, arrays=None, info=None, held_out=None, made_by=None):
    """The held-out images that drive each map of `layer` most, and its class profile, from one forward
    pass over the held-out images (`held_out_images`)."""
    from . import examples as dataset_examples
    from . import map_units

    with _cache_lock:  # it builds on the shared model, as the ascents do
        network = _loaded_model(cnn)[3]
        activations_of = map_units.map_activations(network, layer)
    images, labels = held_out_images(network, arrays, info, held_out)
    began = time.perf_counter()
    activations = activations_of(images)
    found = dataset_examples.layer_examples(layer, activations, images, labels, examples.top)
    dataclasses.replace(found, made_by=made_by).save(out_examples)
    log(
        f"{layer}: {len(labels)} held-out images through {activations.shape[1]} maps in "
        f"{time.perf_counter() - began:.2f} s; classes {found.classes.tolist()}"
    )


@cnn_job
def screen_patterns(*, cnn, layer, precursor, ascent, compute, scale, out_screen, made_by=None):
    """The forward screen of the precursor's patterns for every map of `layer`: halving's first round, or the
    guided search."""
    from . import guided
    from . import precursor as scoring

    climb = layer_ascent(cnn, layer, ascent.step_size, precursor.screen_precision, scale)
    search = guided.search_patterns if precursor.guided else scoring.screen_patterns
    done = search(climb, precursor, compute.screen_batch_size)
    dataclasses.replace(done, made_by=made_by).save(out_screen)
    log(f"screen done: {done.patterns} patterns through {len(done.indices)} maps in {done.seconds:.1f} s")


def screened(screen, precursor, layer, map_index):
    """The patterns the layer's screen (a `screen.npz`) passes on to map `map_index`, whether the map is
    climbed by its pre-activation, and the guided search's candidates (grid patterns, or None); checked
    against the settings the scoring runs with."""
    from . import patterns
    from .precursor import rounds

    found = Screen.load(screen)
    keep = rounds(precursor.searched, precursor)[1][0]
    if precursor.guided:
        kind, asked = ("guided", found.digits.shape[2:]), ("guided", (precursor.grid**2,))
    else:
        kind, asked = ("enumerated", found.patterns), ("enumerated", precursor.searched)
    if (found.layer, found.guided, found.indices.shape[1], kind) != (layer, precursor.guided, keep, asked):
        raise storage.StorageError(
            f"{screen}: a screen of {found.patterns} patterns for {found.layer} passing {found.indices.shape[1]} "
            f"on ({kind[0]}), but the precursor settings ask for {layer} passing {keep} on ({asked[0]}, "
            f"{precursor.searched} patterns on a {precursor.grid}x{precursor.grid} grid)"
        )
    if not 0 <= map_index < len(found.indices):
        raise storage.StorageError(f"{screen}: no map {map_index}; the screen covers maps 0..{len(found.indices) - 1}")
    candidates = None
    if precursor.guided:
        if found.digits.max() >= len(precursor.levels):
            raise storage.StorageError(
                f"{screen}: level numbers up to {found.digits.max()}, but {len(precursor.levels)} levels"
            )
        candidates = patterns.grey_of(found.digits[map_index], precursor.grid, precursor.levels)
    return found.survivors(map_index), bool(found.pre_activation[map_index]), candidates


@cnn_job
def score_precursor(
    *, cnn, layer, map_index, precursor, ascent, scale, out_scores, out_scoring, screen=None, made_by=None
):
    """Score the precursor's patterns for one map; where halving starts with the layer's screen, the patterns
    it passes on to the map from `screen`."""
    from . import precursor as scoring

    faults.inject(map_index)
    layer_climb = layer_ascent(cnn, layer, ascent.step_size, precursor.precision, scale)
    found = screened(screen, precursor, layer, map_index) if precursor.screens else (None, False, None)
    survivors, pre_activation, candidates = found
    climb = layer_climb.map(map_index, pre_activation)
    done = scoring.score_patterns(climb, precursor, ascent.batch_size, out_scores, survivors, candidates)
    faults.stall(map_index)
    dataclasses.replace(done, made_by=made_by).save(out_scoring)
    log(f"scoring done: {done.image_steps} image-steps in {done.seconds:.1f} s ({done.objective})")


def select_seeds(*, scores, scoring, precursor, out_seeds, layer=None, map_index=None, screen=None, made_by=None):
    """The best `keep` patterns of a scores file, checked, with its scoring's record, against the settings it
    must have come from. The guided search's scores are those of its candidates, read from its `screen`."""
    from . import patterns, selection

    check_scoring(scoring, precursor)
    values = storage.load_npy(scores, mmap_mode="r")
    candidates = screened(screen, precursor, layer, map_index)[2] if precursor.guided else None
    count, made = (precursor.count, "make") if candidates is None else (len(candidates), "passed on")
    if values.shape != (count,):
        raise storage.StorageError(
            f"{scores}: {values.shape} scores, but {len(precursor.levels)} levels on a {precursor.grid}x"
            f"{precursor.grid} grid {made} {count} patterns; score with the same precursor settings"
        )
    best = selection.top_patterns(values, precursor.keep)
    if candidates is None:
        coarse = patterns.coarse_patterns(best, precursor.grid, precursor.levels)
    else:
        coarse = candidates[best]
    indices = patterns.index_of(coarse, precursor.levels)
    Seeds(indices, np.asarray(values[best]), coarse, made_by).save(out_seeds)
    log("\n".join(f"pattern {i}: loss {v:.4g}" for i, v in zip(indices, values[best], strict=True)))


def check_scoring(scoring, precursor):
    """A scoring's record (`scoring.json`), refused unless it scored the patterns and steps of `precursor`."""
    done = Scoring.load(scoring)
    recorded = (done.grid, done.levels and [float(v) for v in done.levels], done.steps, bool(done.distinct))
    if recorded != (precursor.grid, [float(v) for v in precursor.levels], precursor.steps, precursor.distinct):
        raise storage.StorageError(
            f"{scoring}: scored levels {done.levels} on a {done.grid}x{done.grid} grid after {done.steps} steps "
            f"({_which(done.distinct)}), but the settings ask for levels {list(precursor.levels)} on a "
            f"{precursor.grid}x{precursor.grid} grid after {precursor.steps} ({_which(precursor.distinct)}); score "
            f"again with these settings"
        )
    return done


def _which(distinct):
    return "each distinct image once" if distinct else "every pattern"


def checked_seeds(seeds, scoring):
    """A seeds file (`Seeds`), refused unless its patterns are of the grid and levels that its scoring's record
    (`scoring.json`) says were scored."""
    done, found = Scoring.load(scoring), Seeds.load(seeds)
    levels = np.asarray(done.levels or [], np.float32)  # as the patterns hold them
    if found.coarse.shape[1:] != (done.grid, done.grid) or not np.isin(found.coarse, levels).all():
        seen = [round(float(v), 6) for v in np.unique(found.coarse)]
        raise storage.StorageError(
            f"{seeds}: seeds of shape {found.coarse.shape} with levels {seen}, not patterns of {scoring}: levels "
            f"{done.levels} on a {done.grid}x{done.grid} grid"
        )
    return found


def starts_of(start, *, map_index, oip, shape, seeds=None, scoring=None):
    """The start images of a start kind: random multi-scale starts, or the precursor's seeds upscaled."""
    from . import patterns

    if start == RANDOM:
        return patterns.random_starts(oip.random_starts, oip.scales, [oip.seed, map_index], shape)
    return patterns.upscale(checked_seeds(seeds, scoring).coarse, shape)


@cnn_job
def optimize_oips(
    *, cnn, layer, map_index, start, oip, ascent, scale, out_result, out_summary, seeds=None, scoring=None,
    robust=None, made_by=None, arrays=None, info=None, held_out=None,
):  # fmt: skip
    """Full ascent of one start kind's images for one map: its plain strategies, or with the `settings.Robust`
    `robust` its robust one (`strategies.of_job`).

    Warm-started copies first get `warm_steps` on the map's pre-activation, whose gradient does not vanish
    where the ReLU output is 0 everywhere; then all climb `steps` on the map together (`strategies.climb`).
    The whole CNN then reads each OIP: its class and that class's probability. Starts and OIPs are stored as
    the model takes them (the `InputScale` `scale` applied).
    """
    import keras

    from . import model, strategies

    def map_ascent(pre_activation, style=None):
        return layer_ascent(cnn, layer, ascent.step_size, scale=scale, style=style).map(map_index, pre_activation)

    plain = layer_ascent(cnn, layer, ascent.step_size, scale=scale)  # the one map_ascent(False) climbs with
    log(f"map {map_index} of {layer}: its activation is the output of {' -> '.join(plain.unit.layers)}")
    shape = plain.input_shape
    images = keras.ops.convert_to_numpy(
        starts_of(start, map_index=map_index, oip=oip, shape=shape, seeds=seeds, scoring=scoring)
    )
    bounds = data_range(loaded_model(cnn), scale, arrays, info, held_out) if robust and robust.bounded else None
    chosen = strategies.of_job(start, oip, robust, bounds)
    rng = np.random.default_rng([robust.seed, map_index, strategies.START_KINDS.index(start)]) if robust else None
    climbed = strategies.climb(chosen, images, map_ascent, rng)
    scoring_steps = Scoring.load(scoring).image_steps if start == PRECURSOR else 0
    n = len(images)
    starts, oips = scale.to_model(images), scale.to_model(np.concatenate([climbed[s.name].images for s in chosen]))
    probabilities = model.class_probabilities(loaded_model(cnn), oips)  # every strategy's OIPs in one call
    results = {}
    for k, strategy in enumerate(chosen):
        done, part = climbed[strategy.name], slice(k * n, (k + 1) * n)
        result = StrategyResult(strategy.name, starts, oips[part], done.curve, done.warm_curve,
                                done.losses, probabilities[part].argmax(axis=1), probabilities[part].max(axis=1),
                                done.seconds, n * strategy.steps + scoring_steps)  # fmt: skip
        results[strategy.name] = result
        log(
            f"map {map_index} of {layer}: {strategy.name} starts, {n} x {strategy.steps} steps, best loss "
            f"{result.best_loss:.4g}, read as class {result.classes[result.best]} ({result.confidences[result.best]:.2f})"
        )
    unit = {"layers": list(plain.unit.layers), "linear": plain.unit.linear}
    StartResult(layer, map_index, start, oip.steps, results, made_by, unit).save(out_result, out_summary)


@cnn_job
def measure_oips(
    *, cnn, layer, map_index, results, ascent, scale, out_faithfulness, arrays=None, info=None, held_out=None,
    made_by=None,
):  # fmt: skip
    """The `faithfulness` measures of each strategy's best OIP of a map, and of its top digits and its starts,
    against the held-out images (`held_out_images`)."""
    from . import faithfulness

    result = MapResult.load(results)
    network = loaded_model(cnn)
    losses = layer_ascent(cnn, layer, ascent.step_size, scale=scale).map(map_index).losses
    images, _ = held_out_images(network, arrays, info, held_out)
    below = lower_layers(cnn, layer)

    def channel_means(standardized):
        return [means(scale.to_model(standardized)) for means in below]

    target = faithfulness.Map(losses, channel_means if below else None, scale.from_model(images), map_index)
    kinds = {s.starts.tobytes(): s.starts for s in result.strategies.values()}  # each start kind's starts once
    starts = np.concatenate([kind[: faithfulness.STARTS] for kind in kinds.values()])
    best = {name: scale.from_model(s.oips[s.best]) for name, s in result.strategies.items() if s.found}
    measured = faithfulness.measure(target, best, scale.from_model(starts))
    for name, values in measured.items():
        log(
            f"{name}: "
            + ", ".join(f"{key} {value if value is None else round(value, 4)}" for key, value in values.items())
        )
    Faithfulness(layer, map_index, measured, made_by).save(out_faithfulness)


def lower_layers(cnn_path, layer):
    """Functions images -> (images, channels), the mean activation of each map of each layer whose maps can be
    explained below `layer` in the saved model, built once per process and device under the cache lock."""
    from . import map_units, model

    with _cache_lock:
        path, device, mtime, network = _loaded_model(cnn_path)
        key = (path, device, mtime, "below", layer)
        if key not in _ascents:
            names = model.map_layers(network)
            _ascents[key] = [map_units.map_activations(network, name) for name in names[: names.index(layer)]]
        return _ascents[key]


def compare_oips(*, results, uniqueness, out_uniqueness, made_by=None):
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
    Uniqueness(distinct, oips, similarity.tolist(), made_by).save(out_uniqueness)
    log(f"{len(found)} OIPs with loss > 0 form {distinct} distinct patterns")


def plot_map(*, results, groups, figures, out_png, examples=None, made_by=None):
    """A map's start images and OIPs per strategy, with the held-out images that drive it most where given."""
    from . import figures as fig

    letters = Uniqueness.load(groups).groups()
    result = MapResult.load(results)
    found = None if examples is None else LayerExamples.load(examples)
    fig.map_figure(result, letters, out_png, figures.contrast, found)


def plot_training(*, history, out_png, made_by=None):
    from . import figures as fig

    fig.training_curves(Training.load(history).history, out_png)


def summarize_layer(
    *, layer, results, groups, scorings, figures, out_gallery, out_strategies, out_summary, examples=None,
    measured=None, out_classes=None, made_by=None,
):  # fmt: skip
    """A layer's gallery of best OIPs, the strategies side by side, its `LayerSummary`, and (with a data set)
    the heat map of its maps' class profiles. `results`: every map's optimize jobs' result files, map by map;
    `groups`, `measured` (its `Faithfulness` files, with a data set): each map's."""
    from . import figures as fig
    from . import summary

    by_map = {}
    for path in results:
        by_map.setdefault(Path(path).parent, []).append(path)
    maps = [MapResult.load(paths) for paths in by_map.values()]
    uniqueness = {Path(path).parent: Uniqueness.load(path) for path in groups}
    found = None if examples is None else LayerExamples.load(examples)
    faithful = None if measured is None else {Path(path).parent: Faithfulness.load(path) for path in measured}
    scored = [Scoring.load(path) for path in scorings]
    scoring = ", ".join(sorted({record.strategy for record in scored}))
    done, best = summary.summarize(layer, maps, [uniqueness[folder].distinct for folder in by_map], scoring, found,
                                   faithful and [faithful[folder] for folder in by_map])  # fmt: skip
    kinds = {f"{start} OIPs": [(m.map, m.made_by[start]) for m in maps] for start in maps[0].made_by}
    kinds["precursor scores"] = [(m.map, record.made_by) for m, record in zip(maps, scored)]
    kinds["OIP groups"] = [(m.map, uniqueness[folder].made_by) for m, folder in zip(maps, by_map)]
    if faithful:
        kinds["faithfulness measures"] = [(m.map, faithful[folder].made_by) for m, folder in zip(maps, by_map)]
    mixed = [line for kind, records in kinds.items() for line in lineage.mixed(f"{layer} {kind}", records)]
    done = dataclasses.replace(done, made_by=maps[0].made_by[next(iter(maps[0].made_by))], mixed=mixed,
                               unit_note=summary.unit_note(layer, maps[0].unit))  # fmt: skip
    for line in mixed:
        log(f"mixed: {line}")
    fig.gallery(layer, best, out_gallery, figures.contrast, figures.gallery_columns)
    fig.strategy_gallery(layer, maps, out_strategies, figures.contrast, figures.gallery_columns)
    if found is not None:
        fig.class_profiles(
            found, {oip.map: oip.read_as for oip in best if oip.found}, out_classes, [m.map for m in maps]
        )
    done.save(out_summary)
    log(f"{done.count_line}\n{done.class_line}")


FAITHFULNESS = (
    "How far to trust each strategy's best OIP, against the map's own top held-out digits (the ceiling) and the "
    "starts the ascent began from (the floor), over all maps (docs/method.md): the median of each measure with "
    "its 95 % bootstrap interval. data_scale: the percentile among the digits of the activation at a digit's "
    "contrast and range; novel_robustness: the activation kept under transforms no strategy climbs under; "
    "predicts: how well likeness to the image ranks unseen digits by activation (AUC, rank correlation); "
    "occlusion: how well it predicts which covered patches lower the map; path: how alike it drives the layers "
    "below."
)
PAIRED = (
    "Each strategy against the top digits, map by map: the median difference with its interval, and on how many "
    "maps the OIP is above the digits; fails: maps without an OIP or with its data-scale activation below the "
    "starts'."
)


def summarize(
    *, layers, scale, out_csv, out_markdown, out_html, out_report_page, history=None, provenance=None, made_by=None
):
    """The run's summary over its layers' summaries: per layer the blog's count line, the class agreement,
    the strategies compared and the per-map table; every map's row in one CSV; the report's front page. `scale`:
    the model's `InputScale`, stated."""
    from . import figures as fig
    from .summary import LayerSummary

    summaries = [LayerSummary.load(path) for path in layers]
    accuracy = Training.load(history).test_accuracy if history else None
    blocks, rows = [], []
    for done in summaries:
        blocks += [
            ("heading", f"Layer {done.layer}"),
            ("text", done.count_line),
            *([("text", done.unit_note)] if done.unit_note else []),
            ("text", done.class_line),
            ("table", done.comparison),
            *(
                [
                    ("text", FAITHFULNESS),
                    ("table", done.faithfulness),
                    ("text", PAIRED),
                    ("table", done.faithfulness_paired),
                ]
                if done.faithfulness
                else []
            ),
            ("text", f"Maps that no strategy activates: {', '.join(map(str, done.unreached)) or 'none'}."),
            ("table", done.rows),
        ]
        measures = {row["map"]: row for row in done.measures}
        rows += [{"layer": done.layer} | row | measures.get(row["map"], {}) for row in done.rows]
    if accuracy is None:
        network = "a given model (not trained by this run)"
    else:
        info = Provenance.load(provenance)
        network = (
            f"the blog's CNN, trained on {info.train_count} MNIST digits ({info.source} data set) and "
            f"tested on {info.test_count} (accuracy {accuracy:.3f})"
        )
    names = {row["strategy"] for done in summaries for row in done.comparison}
    robust, measured = any(name.endswith(ROBUST_SUFFIX) for name in names), any(d.faithfulness for d in summaries)
    subject = f"{'; '.join(f'{len(done.rows)} maps of {done.layer}' for done in summaries)} of {network}"
    scoring = ", ".join(sorted({done.scoring for done in summaries}))
    about = f"OIPs of {subject}; precursor scoring: {scoring}; {scale.describe()}."
    made = f"Made by {lineage.describe(summaries[0].made_by)}."
    mixed = [line for done in summaries for line in done.mixed]
    mixed += lineage.mixed("OIPs of the layers", [(done.layer, done.made_by) for done in summaries])
    warning = f"Mixed results, made otherwise from map to map or layer to layer: {'; '.join(mixed)}." if mixed else ""
    head = [("text", about), ("text", made), *([("text", warning)] if warning else [])]
    fig.write_summary("OIP summary", [*head, *blocks], rows, out_csv, out_markdown, out_html)
    did = (
        f"For {subject}, the workflow searched OIPs, the input images that drive a map most: from random "
        f"starts and from the best patterns of the precursor run ({scoring} scoring), each also with a pre-ReLU "
        "warm start where the config asks for it"
        + (", and with the robust strategies (transforms and penalties at each step)" if robust else "")
        + ". The whole CNN then read each OIP as a class"
        + (", and each OIP's faithfulness to the held-out images was measured." if measured else ".")
    )
    lines = [line for done in summaries for line in (f"{done.layer}: {done.count_line}", done.class_line)]
    storage.save_text(out_report_page, fig.report_page(did, *lines, made, *([warning] if warning else [])))


@dataclasses.dataclass(frozen=True)
class Rule:
    """What the workflow's rule of a name runs (`job`), and per what: None (once), "layer", "map" or "start"
    (a job per start kind of a map), which names its wildcards, log and benchmark (`paths.log`)."""

    job: Callable
    per: str | None = None

    @property
    def runs_cnn(self):
        return getattr(self.job, "runs_cnn", False)

    def problems(self, name, wildcard_names, claims_gpu):
        """Where the workflow's rule `name` declares otherwise: wildcards other than those of what it runs per,
        a `gpu` claim where its job does not run the CNN, or none where it does."""
        per = paths.WILDCARDS[: paths.WILDCARDS.index(self.per) + 1] if self.per else ()
        found = []
        if set(wildcard_names) != set(per):
            found.append(f"rule {name}: has wildcards {sorted(wildcard_names)}, runs per {self.per} {list(per)}")
        if claims_gpu != self.runs_cnn:
            found.append(
                f"rule {name}: " + ("runs the CNN, claims no gpu" if self.runs_cnn else "claims gpu, runs no CNN")
            )
        return found


RULES = {  # every rule of the workflow; the rules and the Slurm profile are checked against it
    "prepare_dataset": Rule(prepare_dataset),
    "train_cnn": Rule(train_cnn),
    "plot_training": Rule(plot_training),
    "find_examples": Rule(find_examples, "layer"),
    "screen_patterns": Rule(screen_patterns, "layer"),
    "score_precursor": Rule(score_precursor, "map"),
    "select_seeds": Rule(select_seeds, "map"),
    "optimize_oips": Rule(optimize_oips, "start"),
    "optimize_robust": Rule(optimize_oips, "start"),
    "compare_oips": Rule(compare_oips, "map"),
    "measure_oips": Rule(measure_oips, "map"),
    "plot_map": Rule(plot_map, "map"),
    "summarize_layer": Rule(summarize_layer, "layer"),
    "summarize": Rule(summarize),
}
CNN_RULES = tuple(name for name, rule in RULES.items() if rule.runs_cnn)  # they claim the `gpu` resource
PER_MAP_RULES = tuple(name for name, rule in RULES.items() if rule.per in ("map", "start"))
