"""Benchmark of the precursor and the optimization against a naive reference, in one run.

    python -m mnist_oip.benchmark [--model results/model/cnn.keras] [--workflow results] [--out FILE]

Prints the figures and writes them as JSON. The naive reference is what one writes first: the whole body
up to the target layer with all its channels, one compiled gradient step called from a Python loop.
"""

import argparse
import csv
import json
import platform
import statistics
import time
from pathlib import Path

import keras
import numpy as np

from . import ascent, model, patterns, storage


def conv_flops(map_model):
    """Multiply-adds x 2 of the convolutions in one forward pass of one image."""
    total = 0
    for layer in map_model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, channels = layer.output.shape
            total += 2 * height * width * channels * int(np.prod(layer.kernel_size)) * layer.input.shape[-1]
    return total


def naive_map_model(cnn, layer, index):
    body = keras.Model(cnn.input, cnn.get_layer(layer).output)
    inputs = keras.Input((28, 28, 1))
    return keras.Model(inputs, body(inputs)[..., index : index + 1])


def time_precursor(climb, count, grid, levels, steps, batch_size, step_by_step=False):
    """Seconds to score `count` patterns (generation included)."""
    start = time.perf_counter()
    for first in range(0, count, batch_size):
        images = patterns.upscale(
            patterns.coarse_patterns(np.arange(first, min(first + batch_size, count)), grid, levels)
        )
        if step_by_step:
            for _ in range(steps):
                images, _, _ = climb.run(images, 1)
        else:
            climb.run(images, steps)
    return time.perf_counter() - start


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
    parser.add_argument("--patterns", type=int, default=19683, help="patterns per map (default: 3 levels, 3x3)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--oip-steps", type=int, default=1200)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--workflow", default="results", help="a finished run's results folder, for job times")
    parser.add_argument("--out", default="results/benchmark.json")
    args = parser.parse_args(argv)

    cnn = model.load_model(args.model)
    levels, grid = [0.2, 0.5, 0.8], 3
    figures = {
        "device": f"{platform.processor() or platform.machine()}, backend {keras.backend.backend()}",
        "patterns": args.patterns,
        "steps": args.steps,
        "batch_size": args.batch_size,
    }
    runs = {"project": [], "naive": []}
    for index in args.maps:
        fast = ascent.Ascent(model.map_model(cnn, args.layer, index), 0.01)
        slow = ascent.Ascent(naive_map_model(cnn, args.layer, index), 0.01)
        time_precursor(fast, args.batch_size, grid, levels, args.steps, args.batch_size)  # compile
        time_precursor(slow, args.batch_size, grid, levels, args.steps, args.batch_size, step_by_step=True)
        runs["project"].append(time_precursor(fast, args.patterns, grid, levels, args.steps, args.batch_size))
        runs["naive"].append(time_precursor(slow, args.patterns, grid, levels, args.steps, args.batch_size, True))
    peak = matmul_rate()
    image_steps = args.patterns * args.steps
    for name, seconds in runs.items():
        median = statistics.median(seconds)
        climb_model = (
            model.map_model(cnn, args.layer, args.maps[0])
            if name == "project"
            else naive_map_model(cnn, args.layer, args.maps[0])
        )
        flops = 2 * conv_flops(climb_model)  # forward and input gradient
        figures[name] = {
            "seconds_per_map": median,
            "image_steps_per_s": image_steps / median,
            "mflop_per_image_step": flops / 1e6,
            "fraction_of_matmul_peak": flops * image_steps / median / peak,
        }
    figures["speedup"] = figures["naive"]["seconds_per_map"] / figures["project"]["seconds_per_map"]
    figures["matmul_peak_gflops"] = peak / 1e9

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
