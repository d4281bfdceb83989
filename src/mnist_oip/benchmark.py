"""Benchmark of the precursor and the optimization against a naive reference, in one run.

    python -m mnist_oip.benchmark [--model results/model/cnn.keras] [--workflow results] [--out FILE]

Prints the figures and writes them as JSON. The naive reference is what one writes first: the whole body
up to the target layer with all its channels, one compiled gradient step called from a Python loop.
"""

import argparse
import csv
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from . import ascent, model, patterns, precursor, selection, storage


def conv_flops(map_model):
    """Multiply-adds x 2 of the convolutions in one forward pass of one image."""
    total = 0
    for layer in map_model.layers:
        if isinstance(layer, keras.Model):  # a nested model, like the naive reference's body
            total += conv_flops(layer)
        elif isinstance(layer, keras.layers.Conv2D):
            _, height, width, channels = layer.output.shape
            total += 2 * height * width * channels * int(np.prod(layer.kernel_size)) * layer.input.shape[-1]
    return total


def naive_map_model(cnn, layer, index):
    body = keras.Model(cnn.input, cnn.get_layer(layer).output)
    inputs = keras.Input((28, 28, 1))
    return keras.Model(inputs, body(inputs)[..., index : index + 1])


def naive_precursor(climb, count, grid, levels, steps, batch_size):
    """Seconds to score `count` patterns the naive way: one compiled step at a time, from Python."""
    start = time.perf_counter()
    for first in range(0, count, batch_size):
        indices = np.arange(first, min(first + batch_size, count))
        images = patterns.upscale(patterns.coarse_patterns(indices, grid, levels))
        for _ in range(steps):
            images, _, _ = climb.run(images, 1)
    return time.perf_counter() - start


def project_precursor(cnn, layer, index, settings, batch_size, folder):
    """Seconds and scores of the project's precursor (the workflow's own code path)."""
    climb = ascent.Ascent(model.map_model(cnn, layer, index, precision=settings["precision"]), 0.01)
    first = patterns.coarse_patterns(np.arange(batch_size), settings["grid"], settings["levels"])
    climb.run(patterns.upscale(first), 1)  # compile
    path = Path(folder, f"{index}-{settings['precision']}.npy")
    seconds = precursor.score_patterns(climb, settings, batch_size, path, log=lambda _: None)
    return seconds, np.load(path)


def matmul_rate(size=2048, repeats=5):
    """FP32 FLOP/s of a large matrix product in numpy: the machine's practical peak."""
    a = np.random.default_rng(0).random((size, size), np.float32)
    a @ a
    start = time.perf_counter()
    for _ in range(repeats):
        a @ a
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def workflow_overhead(results):
    """Whole-workflow wall time against the sum of its jobs' own times, from Snakemake's benchmark files."""
    job_seconds = {}
    for tsv in Path(results, "benchmarks").rglob("*.tsv"):
        rule = tsv.relative_to(Path(results, "benchmarks")).parts[0]
        with open(tsv) as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        job_seconds.setdefault(rule, []).extend(float(r["s"]) for r in rows)
    return {
        rule: {"jobs": len(s), "seconds_sum": sum(s), "seconds_median": statistics.median(s)}
        for rule, s in sorted(job_seconds.items())
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="results/model/cnn.keras", help="a trained .keras model")
    parser.add_argument("--layer", default="conv3")
    parser.add_argument("--maps", type=int, nargs="+", default=[0, 1, 2], help="maps to time (median over them)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--oip-steps", type=int, default=1200)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--workflow", default="results", help="a finished run's results folder, for job times")
    parser.add_argument("--out", default="results/benchmark.json")
    args = parser.parse_args(argv)

    cnn = model.load_model(args.model)
    levels, grid = [0.2, 0.5, 0.8], 3
    settings = {"grid": grid, "levels": levels, "steps": args.steps, "strategy": "exhaustive", "keep": 8}
    count = patterns.pattern_count(grid, levels)
    figures = {
        "device": f"{platform.machine()}, {os.cpu_count()} cores, Keras backend {keras.backend.backend()}",
        "patterns": count,
        "steps": args.steps,
        "batch_size": args.batch_size,
    }
    seconds = {"naive": [], "float32": [], "bfloat16": []}
    seeds_agree = []
    with tempfile.TemporaryDirectory() as folder:
        for index in args.maps:
            naive = ascent.Ascent(naive_map_model(cnn, args.layer, index), 0.01)
            naive_precursor(naive, args.batch_size, grid, levels, 1, args.batch_size)  # compile
            seconds["naive"].append(naive_precursor(naive, count, grid, levels, args.steps, args.batch_size))
            scores = {}
            for precision in ("float32", "bfloat16"):
                run = settings | {"precision": precision}
                took, scores[precision] = project_precursor(cnn, args.layer, index, run, args.batch_size, folder)
                seconds[precision].append(took)
            top = [set(selection.top_patterns(scores[p], 8).tolist()) for p in ("float32", "bfloat16")]
            seeds_agree.append(len(top[0] & top[1]))
    peak = matmul_rate()
    image_steps = count * args.steps
    flops = {
        "naive": 2 * conv_flops(naive_map_model(cnn, args.layer, args.maps[0])),  # forward and input gradient
        "float32": 2 * conv_flops(model.map_model(cnn, args.layer, args.maps[0])),
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
    figures["bfloat16_seeds_in_float32_top8"] = seeds_agree
    figures["fp32_matmul_peak_gflops"] = peak / 1e9

    climb = ascent.Ascent(model.map_model(cnn, args.layer, args.maps[0]), 0.01)
    seeds = patterns.upscale(patterns.coarse_patterns(np.arange(args.seeds), grid, levels))
    climb.run(seeds, 2)
    start = time.perf_counter()
    climb.run(seeds, args.oip_steps)
    figures["optimization_seconds_per_map"] = time.perf_counter() - start
    if Path(args.workflow, "benchmarks").is_dir():
        figures["workflow_jobs"] = workflow_overhead(args.workflow)

    storage.save_json(args.out, figures)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
