"""Benchmark of the precursor and the optimization against a naive reference, in one run.

    python -m mnist_oip.benchmark [--config FILE] [--model results/model/cnn.keras] [--workflow results]

Prints the figures and writes them as JSON (--out). The precursor is timed as the config sets it (grid,
levels, steps, batch size), exhaustive. The naive reference is what one writes first: the whole body up to
the target layer with all its channels, one compiled gradient step called from a Python loop, same batch.
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
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, channels = output
            total += 2 * height * width * channels * int(np.prod(layer.kernel_size)) * shape[-1]
        shape = output
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


def project_precursor(cnn, layer, index, settings, step_size, batch_size, folder):
    """Seconds and scores of the project's precursor (the workflow's own code path)."""
    climb = ascent.Ascent(model.map_model(cnn, layer, index, precision=settings["precision"]), step_size)
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


def workflow_times(results):
    """The finished workflow's wall time against its jobs' times and, where the job reports it, the compute
    inside them; from Snakemake's per-job benchmark files (written as each job ends) and the jobs' logs."""
    rules, first_start, last_end = {}, float("inf"), 0.0
    for tsv in Path(results, "benchmarks").rglob("*.tsv"):
        relative = tsv.relative_to(Path(results, "benchmarks")).with_suffix("")
        with open(tsv) as f:
            seconds = sum(float(row["s"]) for row in csv.DictReader(f, delimiter="\t"))
        first_start = min(first_start, tsv.stat().st_mtime - seconds)
        last_end = max(last_end, tsv.stat().st_mtime)
        rule = rules.setdefault(relative.parts[0], {"job_seconds": [], "compute_seconds": []})
        rule["job_seconds"].append(seconds)
        compute = _job_compute(results, relative)
        if compute is not None:
            rule["compute_seconds"].append(compute)
    figures = {"wall_seconds": last_end - first_start, "job_seconds_sum": 0.0}
    for name, rule in sorted(rules.items()):
        jobs, compute = rule["job_seconds"], rule["compute_seconds"]
        figures[name] = {"jobs": len(jobs), "job_seconds_sum": sum(jobs), "job_seconds_median": statistics.median(jobs)}
        if len(compute) == len(jobs):
            figures[name]["compute_seconds_sum"] = sum(compute)
            figures[name]["compute_seconds_median"] = statistics.median(compute)
            figures[name]["startup_seconds_median"] = statistics.median(j - c for j, c in zip(jobs, compute))
        figures["job_seconds_sum"] += sum(jobs)
    return figures


def _job_compute(results, relative):
    """Seconds of ascent inside one per-map job: the scoring time its log ends with, or the strategies'
    times in its map's summary."""
    rule, *wildcards = relative.parts
    if rule == "score_precursor":
        log = Path(results, "logs", relative).with_suffix(".log")
        lines = log.read_text().split("\n") if log.exists() else []
        done = [line for line in lines if line.startswith("done in ")]
        return float(done[-1].split()[2]) if done else None
    if rule == "optimize_oips":
        summary = Path(results, "maps", *wildcards, "summary.json")
        if summary.exists():
            return sum(v["seconds"] for v in storage.load_json(summary).values() if isinstance(v, dict))
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML merged over the repository's config.yaml: the precursor and batch")
    parser.add_argument("--model", default="results/model/cnn.keras", help="a trained .keras model")
    parser.add_argument("--maps", type=int, nargs="+", default=[0, 1, 2], help="maps to time (median over them)")
    parser.add_argument("--seeds", type=int, default=8, help="seeds of the timed full ascent")
    parser.add_argument("--workflow", default="results", help="a finished run's results folder, for job times")
    parser.add_argument("--out", default="results/benchmark.json")
    args = parser.parse_args(argv)

    from .cli import load_config

    config = load_config(args.config)
    layer, batch_size, step_size = (
        config["maps"]["layer"],
        config["ascent"]["batch_size"],
        config["ascent"]["step_size"],
    )
    settings = config["precursor"] | {"strategy": "exhaustive"}
    grid, levels, steps = settings["grid"], settings["levels"], settings["steps"]
    cnn = model.load_model(args.model)
    count = patterns.pattern_count(grid, levels)
    figures = {
        "device": f"{platform.machine()}, {os.cpu_count()} cores, Keras backend {keras.backend.backend()}",
        "patterns": count,
        "steps": steps,
        "batch_size": batch_size,
    }
    seconds = {"naive": [], "float32": [], "bfloat16": []}
    seeds_agree = []
    with tempfile.TemporaryDirectory() as folder:
        for index in args.maps:
            naive = ascent.Ascent(naive_map_model(cnn, layer, index), step_size)
            naive_precursor(naive, batch_size, grid, levels, 1, batch_size)  # compile
            seconds["naive"].append(naive_precursor(naive, count, grid, levels, steps, batch_size))
            scores = {}
            for precision in ("float32", "bfloat16"):
                run = settings | {"precision": precision}
                took, scores[precision] = project_precursor(cnn, layer, index, run, step_size, batch_size, folder)
                seconds[precision].append(took)
            top = [set(selection.top_patterns(scores[p], settings["keep"]).tolist()) for p in ("float32", "bfloat16")]
            seeds_agree.append(len(top[0] & top[1]))
    peak = matmul_rate()
    image_steps = count * steps
    flops = {  # forward and input gradient: twice the forward's convolutions
        "naive": 2 * conv_flops(naive_map_model(cnn, layer, args.maps[0])),
        "float32": 2 * conv_flops(model.map_model(cnn, layer, args.maps[0])),
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
    figures["bfloat16_seeds_in_float32_top"] = seeds_agree
    figures["fp32_matmul_peak_gflops"] = peak / 1e9
    figures["float32_seconds_per_map_at_matmul_peak"] = flops["float32"] * image_steps / peak

    climb = ascent.Ascent(model.map_model(cnn, layer, args.maps[0]), step_size)
    seeds = patterns.upscale(patterns.coarse_patterns(np.arange(args.seeds), grid, levels))
    climb.run(seeds, 2)
    start = time.perf_counter()
    climb.run(seeds, config["oip"]["steps"])
    figures["optimization_seconds_per_map"] = time.perf_counter() - start
    if Path(args.workflow, "benchmarks").is_dir():
        figures["workflow"] = workflow_times(args.workflow)

    storage.save_json(args.out, figures)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
