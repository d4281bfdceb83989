"""The benchmark: FLOPs counted from the shapes each model computes, and the whole script on a tiny run."""

import dataclasses
import shutil

import keras
import numpy as np
import pytest
from helpers import MAPS, TINY, results_of

from mnist_oip import ascent, benchmark, blog_cnn, map_units, model, paths, patterns, selection, settings, storage


def test_flop_count_follows_the_cropped_shapes():
    cnn = blog_cnn.build_cnn()
    # By hand: conv3's 3x3 outputs see 26x26 input pixels, so conv1 outputs 24x24x32 from 1 channel and
    # conv2 10x10x64 from 32; the map is one 3x3 filter over 64 channels; 2 FLOPs per multiply-add.
    body = 2 * (24 * 24 * 32 * 9 * 1 + 10 * 10 * 64 * 9 * 32)
    assert benchmark.conv_flops(map_units.layer_body(cnn, "conv3")) == body
    assert benchmark.map_flops(ascent.LayerAscent(cnn, "conv3", 0.01)) == 2 * 3 * 3 * 9 * 64
    # the naive reference: the whole 28x28 input, every channel of conv3
    naive = 2 * (26 * 26 * 32 * 9 + 11 * 11 * 64 * 9 * 32 + 3 * 3 * 128 * 9 * 64)
    assert benchmark.conv_flops(benchmark.naive_map_model(cnn, "conv3", 5)) == naive


def test_max_overlap_counts_jobs_open_at_once():
    assert benchmark.max_overlap([(0, 2), (2, 3), (5, 6)]) == 1  # one ends as the next starts
    assert benchmark.max_overlap([(0, 4), (1, 2), (1.5, 3), (3.5, 5)]) == 3


def test_benchmark_times_the_precursor_and_reads_the_run(tiny_run, tmp_path):
    out = tmp_path / "benchmark.json"
    results = results_of(tiny_run)
    benchmark.main(["--config", str(TINY), "--model", str(results(paths.CNN)), "--maps", "3",
                    "--workflow", str(results.folder), "--out", str(out)])  # fmt: skip
    figures = storage.load_json(out)
    precursor = settings.load(settings.read_config(TINY)).precursor
    assert figures["patterns"] == patterns.distinct_count(precursor.grid, precursor.levels) < precursor.count
    assert figures["steps"] == 3
    assert f"Keras backend {keras.backend.backend()}" in figures["device"]
    for name in ("naive", "float32", "bfloat16"):
        assert figures[name]["seconds_per_map"] > 0
    cnn = model.load_model(results(paths.CNN))
    found = {}
    for precision in ("float32", "bfloat16"):
        scoring = dataclasses.replace(precursor, strategy="exhaustive", precision=precision)
        _, found[precision] = benchmark.project_precursor(cnn, "conv3", 3, scoring, 0.01, 128, tmp_path)
    tops = {name: set(selection.top_patterns(scores, precursor.keep).tolist()) for name, scores in found.items()}
    assert figures["bfloat16_seeds_in_float32_top"] == [len(tops["float32"] & tops["bfloat16"])]
    naive = benchmark.NaiveAscent(cnn, "conv3", 3, 0.01)
    _, naive_scores = benchmark.naive_precursor(naive, precursor, 8)
    np.testing.assert_allclose(naive_scores, found["float32"], rtol=1e-4, atol=1e-5)  # the same experiment
    assert set(selection.top_patterns(naive_scores, precursor.keep).tolist()) == tops["float32"]
    assert figures["naive_seeds_in_float32_top"] == [precursor.keep]
    assert figures["optimization"]["batch"] == 2 * 3  # the tiny config's 3 random starts, with and without warm
    assert figures["optimization"]["naive_image_steps_per_s"] > 0 < figures["optimization"]["image_steps_per_s"]
    workflow = figures["workflow"]
    assert workflow["score_precursor"]["jobs"] == len(MAPS) and workflow["optimize_oips"]["jobs"] == 2 * len(MAPS)
    assert workflow["train_cnn"]["jobs"] == 1
    for rule in ("score_precursor", "optimize_oips", "measure_oips"):  # each job's seconds as Snakemake timed it
        timed = [
            float(tsv.read_text().splitlines()[1].split("\t")[0])
            for tsv in (results(paths.BENCHMARKS) / rule).rglob("*.tsv")
        ]
        assert len(timed) == workflow[rule]["jobs"] and workflow[rule]["job_seconds_sum"] == pytest.approx(sum(timed))
        assert workflow[rule]["share_of_job_seconds"] > 0
    for rule in ("score_precursor", "optimize_oips"):
        assert 0 < workflow[rule]["compute_seconds_sum"] < workflow[rule]["job_seconds_sum"]


def test_gpu_rehearsal_runs_one_cnn_job_at_a_time(tmp_path):
    """`compute.gpu: true` makes the CNN jobs claim the gpu resource as on a GPU machine: with
    `--resources gpu=1` no two of them overlap, while the other jobs still run beside them."""
    from helpers import edited_config, snakemake

    done = snakemake(tmp_path, configs=(edited_config(tmp_path, {"compute": {"gpu": True}}),), cores=4)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "gpu=1" in done.stdout + done.stderr
    workflow = benchmark.workflow_times(tmp_path / paths.RESULTS)
    assert workflow["cnn_jobs_at_once_max"] == 1
    assert workflow["wall_over_cnn_compute"] > 1


def test_explanations_time_each_added_step_against_the_run(tiny_run, tmp_path):
    out = tmp_path / "explanations.json"
    benchmark.main(
        ["--config", str(TINY), "--explanations", "--workflow", str(tiny_run / paths.RESULTS), "--out", str(out)]
    )
    figures = storage.load_json(out)
    steps = ("find_examples", "read_oip_classes", "examples_in_map_figures", "class_profile_heat_maps")
    assert set(figures["seconds"]) == set(steps) and figures["seconds"]["find_examples"] > 0
    intervals = [storage.job_interval(log) for log in results_of(tiny_run)(paths.LOGS).rglob("*.log")]
    wall = max(end for _, end in intervals) - min(start for start, _ in intervals)
    assert figures["run_wall_seconds"] == pytest.approx(wall), "the run's wall time, from its jobs' logs"
    assert 0 < figures["added_share_of_run"] < 1
    without = tmp_path / "without_examples"  # a run with no data set has no examples to time
    shutil.copytree(tiny_run / paths.RESULTS, without)
    for examples in without.glob(paths.EXAMPLES.format(layer="*")):
        examples.unlink()
    benchmark.main(["--config", str(TINY), "--explanations", "--workflow", str(without), "--out", str(out)])
    assert storage.load_json(out)["seconds"]["examples_in_map_figures"] == 0


def test_the_naive_reference_scores_a_colour_model_of_another_size_as_the_project_does(tmp_path):
    inputs = keras.Input((20, 24, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="first")(inputs)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(6, 3, activation="relu", name="second")(x)
    cnn = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(x)))
    naive = benchmark.NaiveAscent(cnn, "second", 2, 0.01)
    for distinct in (True, False):  # each distinct image once, and the blog's every pattern
        tiny = settings.load(settings.read_config(TINY)).precursor
        precursor = dataclasses.replace(tiny, strategy="exhaustive", distinct=distinct)
        _, project = benchmark.project_precursor(cnn, "second", 2, precursor, 0.01, 8, tmp_path)
        _, scores = benchmark.naive_precursor(naive, precursor, 8)
        np.testing.assert_allclose(scores, project, rtol=1e-4, atol=1e-5)
        assert np.isfinite(scores).sum() == precursor.searched
    assert benchmark.optimization_rate(ascent.LayerAscent(cnn, "second", 0.01), cnn, "second", 2,
                                       settings.load(settings.read_config(TINY)), {"image_steps_per_s": 1.0},
                                       repeats=1)["image_steps_per_s"] > 0  # fmt: skip
