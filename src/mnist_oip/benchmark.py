"""Benchmark of the precursor and the optimization against a naive reference, in one run.

    python -m mnist_oip.benchmark [--config FILE] [--model results/model/cnn.keras] [--workflow results]
    python -m mnist_oip.benchmark --workflow-only --workflow results    (a finished run's job times)
    python -m mnist_oip.benchmark --explanations --workflow results     (what the dataset examples and the
                                                                          OIPs' classes add to that run)

Prints the figures and writes them as JSON (--out). The precursor is timed as the config sets it (grid,
levels, steps, batch size), exhaustive. The naive reference is what one writes first: the whole body up to
the target layer with all its channels, one compiled gradient step called from a Python loop, same batch.
"""

import argparse
import csv
import dataclasses
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from . import ascent, image_conv, jobs, map_units, model, paths, patterns, precursor, selection, settings, storage
from .results import Scoring, Screen, StartResult
from .strategies import PRECURSOR


def conv_flops(chain, shape=None):
    """Multiply-adds x 2 of the convolutions in one forward pass of one image, with the shapes this chain
    of layers really computes (a cropped input makes every later layer smaller)."""
    shape = shape or (None, *chain.input_shape[1:])
    total = 0
    for layer in chain.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):  # a nested model, like the naive reference's body
            total += conv_flops(layer, shape)
        output = layer.compute_output_shape(shape)
        if isinstance(layer, keras.layers.Conv2D | image_conv.ImageConv):
            _, height, width, _ = output
            kernel = layer.kernel_values if isinstance(layer, image_conv.ImageConv) else layer.kernel
            total += 2 * height * width * int(np.prod(kernel.shape))
        shape = output
    return total


def naive_map_model(cnn, layer, index):
    body = keras.Model(cnn.input, cnn.get_layer(layer).output)
    inputs = keras.Input(cnn.input_shape[1:])
    return keras.Model(inputs, body(inputs)[..., index : index + 1])


class NaiveAscent:
    """What one writes first: the whole body up to the layer, all its channels, one compiled step per call;
    `losses` scores the images it ends with, as the precursor does."""

    def __init__(self, cnn, layer, index, step_size):
        net = naive_map_model(cnn, layer, index)
        self.input_shape = net.input_shape[1:]
        if keras.backend.backend() == "jax":
            import jax
            import jax.numpy as jnp

            weights = [v.value for v in net.trainable_variables], [v.value for v in net.non_trainable_variables]

            def losses(x):
                return jnp.mean(net.stateless_call(*weights, x, training=False)[0], axis=(1, 2, 3))

            gradient = jax.grad(lambda x: jnp.sum(losses(x)))
            self.step = jax.jit(lambda x: ascent.normalized_step(x, gradient(x), step_size))
            self.losses = jax.jit(losses)
        else:
            import tensorflow as tf

            def losses(x):
                return tf.reduce_mean(net(x, training=False), axis=[1, 2, 3])

            @tf.function
            def step(x):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    total = tf.reduce_sum(losses(x))
                return ascent.normalized_step(x, tape.gradient(total, x), step_size)

            self.step, self.losses = step, tf.function(losses)


def naive_climb(naive, images, steps):
    """The images after `steps` naive steps, one compiled step at a time, from Python."""
    for _ in range(steps):
        images = naive.step(images)
    return np.asarray(images)


def naive_precursor(naive, precursor, batch_size, steps=None):
    """Seconds and scores of scoring, the naive way, the patterns the project's exhaustive scoring scores
    (each distinct image once, or all of them): each one's loss after `steps` (the scoring's) steps, NaN
    for patterns not scored."""
    shape, steps = naive.input_shape, precursor.steps if steps is None else steps
    scores = np.full(precursor.count, np.nan, np.float32)
    batches = patterns.distinct_indices(precursor.count, precursor.grid, precursor.levels, batch_size,
                                        precursor.distinct)  # fmt: skip
    start = time.perf_counter()
    for indices in batches:
        climbed = naive_climb(naive, patterns.upscale(patterns.coarse_patterns(indices, precursor.grid,
                                                                               precursor.levels), shape), steps)  # fmt: skip
        scores[indices] = np.asarray(naive.losses(climbed))
    return time.perf_counter() - start, scores


def project_precursor(cnn, layer, index, precursor_settings, step_size, batch_size, folder):
    """Seconds and scores of the project's precursor (the workflow's own code path)."""
    climb = ascent.LayerAscent(cnn, layer, step_size, precursor_settings.precision).map(index)
    first = patterns.coarse_patterns(np.arange(batch_size), precursor_settings.grid, precursor_settings.levels)
    climb.run(patterns.upscale(first, climb.input_shape), precursor_settings.steps)  # compile (JAX: per step count)
    path = Path(folder, f"{index}-{precursor_settings.precision}.npy")
    done = precursor.score_patterns(climb, precursor_settings, batch_size, path)
    return done.seconds, np.load(path)


def matmul_rate(size=2048, repeats=5):
    """FP32 FLOP/s of a large matrix product in numpy: the machine's practical peak."""
    a = np.random.default_rng(0).random((size, size), np.float32)
    a @ a
    start = time.perf_counter()
    for _ in range(repeats):
        a @ a
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def workflow_times(results):
    """A finished run's wall time against its jobs: per rule the jobs' wall time (Snakemake's benchmark
    files) and its share of all jobs', the compute inside them and its image-steps (what the jobs recorded),
    and the rest, start-up;
    for the jobs that run the CNN, the run's wall time over their summed compute, their start-up per map,
    and the most of them that ran at once (from the jobs' logs)."""
    run = paths.Results(results)
    rules, intervals = {}, []
    logs = {(rule, tuple(wildcards.items())): path for rule, wildcards, path in run.jobs(paths.LOGS)}
    for name, wildcards, tsv in run.jobs(paths.BENCHMARKS):
        with open(tsv) as f:
            seconds = sum(float(row["s"]) for row in csv.DictReader(f, delimiter="\t"))
        rule = rules.setdefault(name, {"job_seconds": [], "compute_seconds": [], "image_steps": 0})
        compute, image_steps = _job_compute(run, name, wildcards, seconds)
        rule["job_seconds"].append(seconds)
        rule["compute_seconds"].append(compute)
        rule["image_steps"] += image_steps
        log = logs.get((name, tuple(wildcards.items())))
        interval = storage.job_interval(log) if log else None
        if interval:
            intervals.append((name, *interval))
    figures = {"wall_seconds": max(i[2] for i in intervals) - min(i[1] for i in intervals)}
    all_jobs = sum(sum(rule["job_seconds"]) for rule in rules.values())
    for name, rule in sorted(rules.items()):
        seconds, compute = rule["job_seconds"], rule["compute_seconds"]
        figures[name] = {
            "jobs": len(seconds),
            "job_seconds_sum": sum(seconds),
            "share_of_job_seconds": sum(seconds) / all_jobs,
            "job_seconds_median": statistics.median(seconds),
            "compute_seconds_sum": sum(compute),
            "startup_seconds_median": statistics.median(j - c for j, c in zip(seconds, compute)),
        }
        if rule["image_steps"]:
            figures[name]["image_steps_per_compute_second"] = rule["image_steps"] / sum(compute)
    cnn = [rules[name] for name in jobs.CNN_RULES if name in rules]
    compute = sum(sum(rule["compute_seconds"]) for rule in cnn)
    maps = len(rules.get("score_precursor", {}).get("job_seconds", [])) or 1
    figures["cnn_compute_seconds_sum"] = compute
    figures["wall_over_cnn_compute"] = figures["wall_seconds"] / compute
    startup = [j - c for rule in cnn for j, c in zip(rule["job_seconds"], rule["compute_seconds"])]
    figures["cnn_startup_seconds_per_map"] = sum(startup) / maps
    cnn_intervals = sorted((start, end) for name, start, end in intervals if name in jobs.CNN_RULES)
    figures["cnn_jobs_at_once_max"] = max_overlap(cnn_intervals)
    if {"score_precursor", "optimize_oips"} <= set(figures) and "image_steps_per_compute_second" in figures.get(
        "score_precursor", {}
    ):
        figures["optimize_over_scoring_rate"] = (
            figures["optimize_oips"]["image_steps_per_compute_second"]
            / figures["score_precursor"]["image_steps_per_compute_second"]
        )
    return figures


def explanation_seconds(results, wall_seconds, examples, sample=8):
    """Seconds that the dataset examples and the OIPs' classes add to a finished default run, each step
    redone and timed on its files, one after another: the layer's forward pass over the held-out images
    (`find_examples`), the whole CNN reading every OIP, the examples' row in the map figures (drawn with and
    without it for `sample` maps, scaled to all), and the class-profile heat map. Against the run's wall time.
    `examples`: the config's examples section."""
    from . import figures as fig
    from .results import LayerExamples, MapResult
    from .strategies import START_KINDS

    run = paths.Results(results)
    cnn = model.load_model(run(paths.CNN))
    maps = run.maps()
    with_examples = sorted({layer for layer, _ in maps if run(paths.EXAMPLES, layer=layer).exists()})
    timed = {}
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        for layer in with_examples:
            jobs.find_examples(cnn=run(paths.CNN), layer=layer, examples=examples, out_examples=Path(folder, "examples.npz"),
                               arrays=run(paths.ARRAYS), info=run(paths.PROVENANCE))  # fmt: skip
        timed["find_examples"] = time.perf_counter() - start
        loaded = [MapResult.load([run(paths.START_RESULT, layer=layer, map=m, start=start) for start in START_KINDS])
                  for layer, m in maps]  # fmt: skip
        start = time.perf_counter()
        for result in loaded:
            for strategy in result.strategies.values():
                model.class_probabilities(cnn, strategy.oips)
        timed["read_oip_classes"] = time.perf_counter() - start
        layers = {layer: LayerExamples.load(run(paths.EXAMPLES, layer=layer)) for layer in with_examples}
        explained = [result for result in loaded if result.layer in layers]
        drawn = {True: 0.0, False: 0.0}
        for result in explained[:sample]:
            for shown in (False, True):
                start = time.perf_counter()
                fig.map_figure(result, {}, Path(folder, "map.png"), examples=layers[result.layer] if shown else None)
                drawn[shown] += time.perf_counter() - start
        drawn_maps = min(sample, len(explained)) or 1
        timed["examples_in_map_figures"] = (drawn[True] - drawn[False]) * len(explained) / drawn_maps
        start = time.perf_counter()
        for found in layers.values():
            fig.class_profiles(found, {}, Path(folder, "classes.png"))
        timed["class_profile_heat_maps"] = time.perf_counter() - start
    added = sum(timed.values())
    return {"seconds": timed, "added_seconds": added, "run_wall_seconds": wall_seconds,
            "added_share_of_run": added / wall_seconds}  # fmt: skip


def max_overlap(intervals):
    """The most intervals (start, end) that are open at one time."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = now = 0
    for _, change in events:
        now += change
        most = max(most, now)
    return most


def _job_compute(run, rule, wildcards, job_seconds):
    """(seconds of compute, image-steps) inside one job of `rule` in the results `run` (a `paths.Results`):
    the scoring's record, the strategies' ascent (without the scoring that precursor strategies count too),
    the screen's record, or, for training, the dataset examples' forward pass and the faithfulness measures,
    the whole job."""
    if rule == "score_precursor":
        scoring = Scoring.load(run(paths.SCORING, **wildcards))
        return scoring.seconds, scoring.image_steps
    if rule in paths.OPTIMIZE_FILES:
        figures = StartResult.load_figures(run(paths.OPTIMIZE_FILES[rule][1], **wildcards))
        scoring = Scoring.load(run(paths.SCORING, **wildcards)).image_steps if wildcards["start"] == PRECURSOR else 0
        return sum(f["seconds"] for f in figures.values()), sum(f["image_steps"] - scoring for f in figures.values())
    if rule == "screen_patterns":
        return Screen.load(run(paths.SCREEN, **wildcards)).seconds, 0
    if rule in ("train_cnn", "find_examples", "measure_oips"):
        return job_seconds, 0
    return 0.0, 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML merged over the default config.yaml: the precursor, batch, examples")
    parser.add_argument("--model", default=paths.in_results(paths.CNN), help="a trained .keras model")
    parser.add_argument("--maps", type=int, nargs="+", default=[0, 1, 2], help="maps to time (median over them)")
    parser.add_argument("--workflow", default=paths.RESULTS, help="a finished run's results folder, for job times")
    parser.add_argument("--workflow-only", action="store_true", help="only the finished run's job times")
    parser.add_argument("--explanations", action="store_true", help="time the dataset examples and OIP classes")
    parser.add_argument("--out", default=paths.in_results(paths.BENCHMARK))
    args = parser.parse_args(argv)
    config = settings.load(settings.read_config(args.config))
    if args.workflow_only or args.explanations:
        figures = workflow_times(args.workflow)
        if args.explanations:
            figures = explanation_seconds(args.workflow, figures["wall_seconds"], config.examples)
        storage.save_json(args.out, figures)
        print(json.dumps(figures, indent=2))
        return

    layer, batch_size, step_size = config.maps.layers[0], config.ascent.batch_size, config.ascent.step_size
    scoring = dataclasses.replace(config.precursor, strategy="exhaustive")
    steps, count = scoring.steps, scoring.searched
    first = patterns.coarse_patterns(np.arange(batch_size), scoring.grid, scoring.levels)
    cnn = model.load_model(args.model)
    figures = {
        "device": f"{platform.machine()}, {os.cpu_count()} cores, Keras backend {keras.backend.backend()}",
        "patterns": count,
        "steps": steps,
        "batch_size": batch_size,
    }
    seconds = {"naive": [], "float32": [], "bfloat16": []}
    seeds_agree = {"naive": [], "bfloat16": []}  # per map, how many of float32's top seeds each also finds
    with tempfile.TemporaryDirectory() as folder:
        for index in args.maps:
            naive = NaiveAscent(cnn, layer, index, step_size)
            naive_climb(naive, patterns.upscale(first, naive.input_shape), 1)  # compile
            took, naive_scores = naive_precursor(naive, scoring, batch_size)
            seconds["naive"].append(took)
            scores = {"naive": naive_scores}
            for precision in ("float32", "bfloat16"):
                run = dataclasses.replace(scoring, precision=precision)
                took, scores[precision] = project_precursor(cnn, layer, index, run, step_size, batch_size, folder)
                seconds[precision].append(took)
            top = {name: set(selection.top_patterns(found, scoring.keep).tolist()) for name, found in scores.items()}
            for name, agree in seeds_agree.items():
                agree.append(len(top[name] & top["float32"]))
    peak = matmul_rate()
    image_steps = count * steps
    project = ascent.LayerAscent(cnn, layer, step_size)
    flops = {  # forward and input gradient: twice the forward's convolutions, the map's filter alone at the end
        "naive": 2 * conv_flops(naive_map_model(cnn, layer, args.maps[0])),
        "float32": 2 * (conv_flops(map_units.layer_body(cnn, layer)) + map_flops(project)),
    }
    flops["bfloat16"] = flops["float32"]
    for name, times in seconds.items():
        median = statistics.median(times)
        figures[name] = {
            "seconds_per_map": median,
            "image_steps_per_s": image_steps / median,
            "mflop_per_image_step": flops[name] / 1e6,
            "fraction_of_fp32_matmul_peak": flops[name] * image_steps / median / peak,
        }
    for precision in ("float32", "bfloat16"):
        figures[f"speedup_{precision}_over_naive"] = (
            figures["naive"]["seconds_per_map"] / figures[precision]["seconds_per_map"]
        )
    for name, agree in seeds_agree.items():
        figures[f"{name}_seeds_in_float32_top"] = agree
    figures["fp32_matmul_peak_gflops"] = peak / 1e9
    figures["float32_seconds_per_map_at_matmul_peak"] = flops["float32"] * image_steps / peak
    figures["optimization"] = optimization_rate(project, cnn, layer, args.maps[0], config, figures["float32"])
    if Path(args.workflow, paths.BENCHMARKS).is_dir():
        figures["workflow"] = workflow_times(args.workflow)

    storage.save_json(args.out, figures)
    print(json.dumps(figures, indent=2))


def map_flops(layer_ascent):
    """2 x multiply-adds of the one filter of the target layer, at the output size the body feeds it."""
    conv = layer_ascent.unit.conv
    height, width = conv.output.shape[1:3]
    return 2 * height * width * int(np.prod(conv.kernel_size)) * conv.kernel.shape[2]


def optimization_rate(project, cnn, layer, index, config, scoring, repeats=3):
    """Image-steps per second of one `optimize_oips` job's batch (a start kind's images with and without the
    warm start, as the job climbs them), against the naive step on the same batch (the two timed in turns,
    medians of `repeats`) and against the scoring's rate."""
    oip = config.oip
    batch = 2 * oip.random_starts if oip.warm_start == "pre_relu" else oip.random_starts
    images = patterns.random_starts(batch, oip.scales, [oip.seed, index], project.input_shape)
    climb, naive = project.map(index), NaiveAscent(cnn, layer, index, config.ascent.step_size)
    climbs = {"float32": lambda: climb.run(images, oip.steps), "naive": lambda: naive_climb(naive, images, oip.steps)}
    seconds = {name: [] for name in climbs}
    for number in range(repeats + 1):  # the first turn compiles
        for name, run in climbs.items():
            start = time.perf_counter()
            run()
            if number:
                seconds[name].append(time.perf_counter() - start)
    rate, naive_rate = (batch * oip.steps / statistics.median(seconds[name]) for name in ("float32", "naive"))
    return {"batch": batch, "image_steps_per_s": rate, "naive_image_steps_per_s": naive_rate,
            "speedup_float32_over_naive": rate / naive_rate,
            "fraction_of_scoring_rate": rate / scoring["image_steps_per_s"]}  # fmt: skip


if __name__ == "__main__":
    main()
