"""The whole workflow on a tiny config, in a temporary folder, and what editing the config reruns."""

import csv
import json
import os
import shutil

import keras
import matplotlib.image
import numpy as np
import pytest
import yaml
from helpers import MAP_ARRAYS, MAPS, TINY, assert_same_results, edited_config, files_of, plan, results_of, snakemake
from models import residual_model

from mnist_oip import data, faithfulness, paths, patterns, selection, settings, storage, strategies
from mnist_oip.results import (
    Faithfulness,
    LayerExamples,
    MapResult,
    Provenance,
    Scoring,
    Screen,
    Seeds,
    StartResult,
    Training,
    Uniqueness,
)
from mnist_oip.strategies import START_KINDS

# The files of a map; START_RESULT and START_SUMMARY, one per start kind.
PER_MAP_FILES = (paths.SCORES, paths.SCORING, paths.SEEDS, paths.START_RESULT, paths.START_SUMMARY, paths.UNIQUENESS,
                 paths.FAITHFULNESS, paths.MAP_FIGURE)  # fmt: skip


@pytest.fixture
def run(tiny_run):
    return tiny_run


def map_result(workdir, index, layer="conv3", robust=False):
    """A map's result, from its files per start kind (and then its robust ones, where `robust`)."""
    templates = (paths.START_RESULT, paths.ROBUST_RESULT) if robust else (paths.START_RESULT,)
    run = results_of(workdir)
    return MapResult.load([run(t, layer=layer, map=index, start=start) for t in templates for start in START_KINDS])


def test_every_output_exists(run):
    results = results_of(run)
    for template in (paths.TRAINING_FIGURE, paths.GALLERY, paths.CLASS_PROFILES, paths.STRATEGY_GALLERY):
        name = template.format(layer="conv3")
        picture = matplotlib.image.imread(results(template, layer="conv3"))
        assert picture.shape[0] > 100 and picture[..., :3].std() > 0.05, f"{name}: an empty picture"
    assert (
        "| strategy |" in results(paths.SUMMARY_MARKDOWN).read_text()
        and "<table>" in results(paths.SUMMARY_HTML).read_text()
    )
    assert len(LayerExamples.load(results(paths.EXAMPLES, layer="conv3")).order) == 128
    assert len(json.loads(results(paths.LAYER_SUMMARY, layer="conv3").read_text())["rows"]) == len(MAPS)
    for job in ("find_examples", "summarize_layer"):
        assert (run / paths.log(job, "layer").format(layer="conv3")).exists()
        assert (run / paths.benchmark(job, "layer").format(layer="conv3")).exists()
    for index in MAPS:
        for template in PER_MAP_FILES:
            for start in START_KINDS:
                assert results(template, layer="conv3", map=index, start=start).stat().st_size > 0
        assert matplotlib.image.imread(results(paths.MAP_FIGURE, layer="conv3", map=index))[..., :3].std() > 0.05
        for job in ("score_precursor", "select_seeds", "compare_oips", "plot_map", "measure_oips"):
            assert (run / paths.log(job, "map").format(layer="conv3", map=index)).exists()
            assert (run / paths.benchmark(job, "map").format(layer="conv3", map=index)).exists()
        for start in START_KINDS:
            log = (run / paths.log("optimize_oips", "start").format(layer="conv3", map=index, start=start)).read_text()
            assert f"map {index} of conv3: its activation is the output of conv3\n" in log, "the layers it covers"
    temporary = [*results.folder.rglob(".*.npz"), *results.folder.rglob(".*.npy")]
    assert not temporary, "temporary files left over"


def test_data_provenance(run):
    results = results_of(run)
    info = Provenance.load(results(paths.PROVENANCE))
    assert info.source == "embedded" and info.train_count + info.test_count == 5000
    assert sum(info.train_per_class) == info.train_count
    training = Training.load(results(paths.HISTORY))
    assert len(training.history["loss"]) == 1 and training.test_accuracy > 0.5


def test_seeds_are_the_best_scored_patterns(run):
    results = results_of(run)
    for index in MAPS:
        scores = np.load(results(paths.SCORES, layer="conv3", map=index), allow_pickle=False)
        assert scores.shape == (16,) and np.isfinite(scores).sum() == 15  # the two flat patterns are one image
        seeds = storage.load_npz(results(paths.SEEDS, layer="conv3", map=index))
        np.testing.assert_array_equal(seeds["indices"], selection.top_patterns(scores, 4))
        np.testing.assert_array_equal(seeds["scores"], scores[seeds["indices"]])


def test_reported_losses_are_the_saved_models_activations(run):
    results = results_of(run)
    cnn = keras.saving.load_model(results(paths.CNN), safe_mode=True)
    body = keras.Model(cnn.input, cnn.get_layer("conv3").output)
    with open(results(paths.SUMMARY_CSV)) as f:
        table = {int(row["map"]): row for row in csv.DictReader(f)}
    assert sorted(table) == MAPS
    for index in MAPS:
        result = map_result(run, index)
        assert list(result.strategies) == ["random", "precursor", "random_warm", "precursor_warm"]
        for name, count in (("precursor", 4), ("random", 3), ("precursor_warm", 4), ("random_warm", 3)):
            strategy = result.strategies[name]
            assert strategy.oips.shape == (count, 28, 28, 1) and strategy.curves.shape == (20, count)
            activation = keras.ops.convert_to_numpy(body(strategy.oips))[..., index].mean(axis=(1, 2))
            np.testing.assert_allclose(strategy.losses, activation, rtol=1e-4, atol=1e-6)
            probabilities = keras.ops.convert_to_numpy(cnn(strategy.oips))
            np.testing.assert_array_equal(strategy.classes, probabilities.argmax(axis=1))
            np.testing.assert_allclose(strategy.confidences, probabilities.max(axis=1), rtol=1e-5)
            assert float(table[index][f"{name}_best_loss"]) == pytest.approx(strategy.best_loss, rel=1e-6)
        warm = result.strategies["random_warm"]
        assert warm.warm_curves.shape == (10, 3) and np.array_equal(warm.starts, result.strategies["random"].starts)
    summary = results(paths.SUMMARY_MARKDOWN).read_text()
    assert "maps had no OIP from random starts; the precursor recovered" in summary
    assert "precursor scoring: exhaustive" in summary
    assert "The CNN reads the best OIP of" in summary


def test_dataset_examples_are_the_test_digits_that_drive_each_map_most(run):
    results = results_of(run)
    found = LayerExamples.load(results(paths.EXAMPLES, layer="conv3"))
    split = storage.load_npz(results(paths.ARRAYS))
    info = Provenance.load(results(paths.PROVENANCE))
    cnn = keras.saving.load_model(results(paths.CNN), safe_mode=True)
    images = data.standardize(split["x_test"], info.mean, info.std)
    layer = keras.Model(cnn.input, cnn.get_layer("conv3").output)
    activations = np.concatenate(
        [keras.ops.convert_to_numpy(layer(images[i : i + 500])) for i in range(0, len(images), 500)]
    ).mean(axis=(1, 2))
    assert found.top_indices.shape == (128, 9) and found.profiles.shape == (128, 10)
    for index in MAPS:
        np.testing.assert_array_equal(found.top_indices[index], np.argsort(-activations[:, index], kind="stable")[:9])
        np.testing.assert_array_equal(found.top_labels[index], split["y_test"][found.top_indices[index]])
        np.testing.assert_allclose(
            found.top_activations[index], activations[found.top_indices[index], index], rtol=1e-4
        )
        profile = [activations[split["y_test"] == digit, index].mean() for digit in range(10)]
        np.testing.assert_allclose(found.profiles[index], profile, rtol=1e-4)
    with open(results(paths.SUMMARY_CSV)) as f:
        for row in csv.DictReader(f):
            assert int(row["profile_class"]) == found.profile_class(int(row["map"]))
            assert row["class_agrees"] == str(row["found"] == "True" and row["profile_class"] == row["oip_class"])


def test_strategy_compute_is_counted(run):
    results = results_of(run)
    scoring = Scoring.load(results(paths.SCORING, layer="conv3", map=3))
    tiny = settings.load(settings.read_config(TINY)).precursor
    distinct = patterns.distinct_count(tiny.grid, tiny.levels)  # 15 of 16: the two flat patterns are one image
    assert (scoring.strategy, scoring.patterns, scoring.image_steps) == ("exhaustive", tiny.count, distinct * 3)
    assert scoring.distinct and distinct < tiny.count
    random = StartResult.load(results(paths.START_RESULT, layer="conv3", map=3, start="random")).strategies
    precursor = StartResult.load(results(paths.START_RESULT, layer="conv3", map=3, start="precursor")).strategies
    assert random["random"].image_steps == 3 * 20 and random["random_warm"].image_steps == 3 * (10 + 20)
    assert precursor["precursor"].image_steps == distinct * 3 + 4 * 20
    assert precursor["precursor_warm"].image_steps == distinct * 3 + 4 * (10 + 20)
    summary = json.loads(results(paths.START_SUMMARY, layer="conv3", map=3, start="precursor").read_text())
    assert set(summary["strategies"]) == {"precursor", "precursor_warm"} and summary["start"] == "precursor"
    markdown = results(paths.SUMMARY_MARKDOWN).read_text()
    assert (
        "| strategy | maps_with_oip | median_best_loss |" in markdown and "Maps that no strategy activates" in markdown
    )


def test_oips_are_grouped_into_distinct_patterns(run):
    results = results_of(run)
    for index in MAPS:
        groups = Uniqueness.load(results(paths.UNIQUENESS, layer="conv3", map=index))
        found = sum(int((s.losses > 0).sum()) for s in map_result(run, index).strategies.values())
        assert len(groups.groups()) == found
        assert groups.distinct == len(set(groups.groups().values())) and 1 <= groups.distinct <= found
    with open(results(paths.SUMMARY_CSV)) as f:
        for row in csv.DictReader(f):
            groups = Uniqueness.load(results(paths.UNIQUENESS, layer="conv3", map=row["map"]))
            assert int(row["distinct_oips"]) == groups.distinct


def test_nothing_to_do_after_a_run(run):
    assert plan(run) == {}


def test_a_deleted_per_map_product_is_made_again(run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)  # with its .snakemake records and the files' times
    results_of(copy)(paths.START_RESULT, layer="conv3", map=3, start="precursor").unlink()
    assert plan(copy) == {"optimize_oips": 1, "compare_oips": 1, "plot_map": 1, "measure_oips": 1} | SUMMARIES


def test_a_deleted_model_is_made_again_only_when_asked(run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    results_of(copy)(paths.CNN).unlink()
    assert plan(copy) == {}, "the results after it exist: Snakemake needs nothing from the model"
    assert plan(copy, "--forcerun", "train_cnn") == AFTER_TRAINING


N = len(MAPS)
SUMMARIES = {"summarize_layer": 1, "summarize": 1, "all": 1}
AFTER_OIPS = {"compare_oips": N, "plot_map": N, "measure_oips": N} | SUMMARIES
AFTER_SELECTION = {"optimize_oips": N} | AFTER_OIPS
AFTER_SCORING = {"score_precursor": N, "select_seeds": N} | AFTER_SELECTION
AFTER_TRAINING = {"train_cnn": 1, "plot_training": 1, "find_examples": 1} | AFTER_SCORING | {"optimize_oips": 2 * N}


@pytest.mark.parametrize(
    "edit, expected",
    [
        ({"precursor": {"levels": [0.1, 0.9]}}, AFTER_SCORING),
        ({"precursor": {"keep": 3}}, {"select_seeds": N} | AFTER_SELECTION),
        ({"precursor": {"steps": 4}}, AFTER_SCORING),
        ({"precursor": {"strategy": "halving", "halving_steps": [1], "halving_keep": 0.5}}, AFTER_SCORING),
        ({"precursor": {"precision": "bfloat16"}}, AFTER_SCORING),
        ({"precursor": {"distinct": False}}, AFTER_SCORING),
        ({"precursor": {"guided_beam": 3, "guided_pass_on": 5}}, {}),  # nothing reads them unless it searches
        ({"precursor": {"screen_precision": "bfloat16"}}, {}),  # no screen in an exhaustive run
        ({"oip": {"steps": 30}}, AFTER_SELECTION | {"optimize_oips": 2 * N}),
        ({"oip": {"random_starts": 2}}, AFTER_SELECTION),  # the random starts only
        ({"figures": {"contrast": True}}, {"plot_map": N} | SUMMARIES),
        ({"figures": {"gallery_columns": 8}}, SUMMARIES),  # the gallery alone
        ({"compute": {"screen_batch_size": 64}}, {}),
        ({"uniqueness": {"threshold": 0.8}}, {"compare_oips": N, "plot_map": N} | SUMMARIES),
        ({"examples": {"top": 4}}, {"find_examples": 1, "plot_map": N} | SUMMARIES),  # the measures take their own
        ({"robust": {"enabled": False, "l2": 0.5}}, {}),  # nothing reads the robust settings while it is off
        ({"training": {"epochs": 2}}, AFTER_TRAINING),
        ({"dataset": {"seed": 7}}, AFTER_TRAINING | {"prepare_dataset": 1}),
    ],
)
def test_editing_the_config_reruns_only_what_depends_on_it(run, edit, expected):
    assert plan(run, configs=(edited_config(run, edit),)) == expected


ROBUST = {"robust": {"enabled": True, "total_variation": 0.5}}


def test_robust_strategies_join_a_finished_run_without_redoing_the_others(run, tmp_path):
    work = tmp_path / "run"
    shutil.copytree(run, work, symlinks=True)
    config = edited_config(work, ROBUST)
    assert plan(work, configs=(config,)) == {"optimize_robust": 2 * N} | AFTER_OIPS
    done = snakemake(work, configs=(config,))
    assert done.returncode == 0, done.stderr[-3000:]
    assert_same_results(run, work)
    results = results_of(work)
    for index in MAPS:
        result = map_result(work, index, robust=True)
        assert list(result.strategies) == list(strategies.NAMES)
        for start in START_KINDS:
            plain, robust = result.strategies[start + "_warm"], result.strategies[start + "_robust"]
            np.testing.assert_array_equal(robust.starts, plain.starts)  # the same starts, climbed otherwise
            assert robust.curves.shape == plain.curves.shape and robust.warm_curves.shape == plain.warm_curves.shape
            assert not np.allclose(robust.oips, plain.oips)
        measured = Faithfulness.load(results(paths.FAITHFULNESS, layer="conv3", map=index)).measures
        found = {name for name, s in result.strategies.items() if s.found}
        assert set(measured) == found | {"digits", "starts"} and "random_robust" in found
        assert all(set(m) >= set(faithfulness.MEASURES) for m in measured.values())
    summary = results(paths.SUMMARY_MARKDOWN).read_text()
    assert "| random_robust |" in summary and "| novel_robustness |" in summary and "| digits |" in summary
    edited = edited_config(work, {"robust": ROBUST["robust"] | {"l2": 0.1}})
    assert plan(work, configs=(edited,)) == {"optimize_robust": 2 * N} | AFTER_OIPS


GUIDED = {"precursor": {"strategy": "guided", "halving_steps": [0], "guided_starts": 4, "guided_beam": 2,
                        "guided_pass_on": 15}}  # fmt: skip


def test_a_guided_search_reruns_only_the_precursor_and_finds_the_exhaustive_seeds(run, tmp_path):
    work = tmp_path / "run"
    shutil.copytree(run, work, symlinks=True)
    config = edited_config(work, GUIDED)
    assert plan(work, configs=(config,)) == {"screen_patterns": 1} | AFTER_SCORING
    done = snakemake(work, configs=(config,))
    assert done.returncode == 0, done.stderr[-3000:]
    for index in MAPS:
        exhaustive, guided = (Seeds.load(path) for path in files_of((run, work), paths.SEEDS, layer="conv3", map=index))
        np.testing.assert_array_equal(guided.indices, exhaustive.indices)
        np.testing.assert_array_equal(guided.coarse, exhaustive.coarse)
        np.testing.assert_allclose(guided.scores, exhaustive.scores, rtol=1e-5)
        assert Scoring.load(results_of(work)(paths.SCORING, layer="conv3", map=index)).strategy == "guided"
    assert plan(work, configs=(edited_config(work, {"precursor": GUIDED["precursor"] | {"guided_seed": 3}}),)) == {
        "screen_patterns": 1} | AFTER_SCORING  # fmt: skip


def test_another_core_count_gives_the_same_results(run, tmp_path):
    done = snakemake(tmp_path, cores=1)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_same_results(run, tmp_path)
    models = [keras.saving.load_model(path).get_weights() for path in files_of((run, tmp_path), paths.CNN)]
    for a, b in zip(*models):
        np.testing.assert_array_equal(a, b)


def test_a_replaced_data_file_reruns_and_another_spelling_of_its_path_does_not(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (300, 28, 28), dtype=np.uint8), "y_train": np.arange(300) % 10,
              "x_test": rng.integers(0, 256, (50, 28, 28), dtype=np.uint8), "y_test": np.arange(50) % 10}  # fmt: skip
    np.savez(tmp_path / "mine.npz", **arrays)
    prepared = paths.in_results(paths.PROVENANCE)

    def keras_source(path, **more):
        return edited_config(tmp_path, {"dataset": {"source": "keras", "path": path, **more}})

    done = snakemake(tmp_path, prepared, configs=(keras_source("mine.npz"),))
    assert done.returncode == 0, done.stderr[-3000:]
    assert plan(tmp_path, prepared, configs=(keras_source("./mine.npz", test_fraction=0.5, seed=3),)) == {}
    arrays["y_train"] = arrays["y_train"][::-1].copy()
    np.savez(tmp_path / "mine.npz", **arrays)  # replaced in place
    assert plan(tmp_path, prepared, configs=(keras_source("mine.npz"),)) == {"prepare_dataset": 1}
    os.utime(tmp_path / "mine.npz", (1e9, 1e9))  # older than the results, as `cp -p`, `tar x` or `rsync -a` leave it
    assert plan(tmp_path, prepared, configs=(keras_source("mine.npz"),)) == {"prepare_dataset": 1}


def test_a_file_where_the_results_folder_goes_stops_before_any_job(tmp_path):
    (tmp_path / paths.RESULTS).write_text("not a folder")
    done = snakemake(tmp_path, "--dry-run")
    assert done.returncode != 0 and "results is a file; the workflow writes its results in a folder there" in (
        done.stdout + done.stderr
    )


def test_adding_a_layer_reruns_nothing_of_the_others(run):
    config = edited_config(run, {"maps": {"layer": ["conv2", "conv3"], "indices": MAPS}})
    new_layer = (
        {"find_examples": 1, "score_precursor": N, "select_seeds": N} | AFTER_SELECTION | {"optimize_oips": 2 * N}
    )
    assert plan(run, configs=(config,)) == new_layer
    dry = snakemake(run, "--dry-run", configs=(config,))
    jobs = [line for line in dry.stdout.splitlines() if line.strip().startswith("wildcards:")]
    assert jobs and all("layer=conv2" in line for line in jobs), "no job of conv3 runs again"


def test_bad_config_stops_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"precursor": {"levels": [0.2, 0.2]}}))
    done = snakemake(tmp_path, configs=(TINY, bad))
    assert done.returncode != 0
    assert "precursor.levels" in done.stderr and "non-unique" in done.stderr
    assert not (tmp_path / paths.RESULTS).exists()


def test_config_from_the_command_line_in_the_forms_the_readme_shows(tmp_path):
    done = snakemake(tmp_path, "--dry-run", "--config", "precursor={strategy: halving, halving_keep: 0.5}")
    said = done.stdout + done.stderr
    assert done.returncode != 0, "nested numbers arrive as text"
    assert "precursor.halving_keep: '0.5' is text where a number belongs" in said and "--configfile" in said
    done = snakemake(tmp_path, "--dry-run", "--config", "precursor={strategy: halving}")
    said = done.stdout + done.stderr
    assert done.returncode != 0 and "halving_steps: [0, 2, 4]; each round before the last takes fewer" in said
    extra = tmp_path / "extra.yaml"
    extra.write_text("precursor: {grid: 3, strategy: exhaustive}\n")
    done = snakemake(tmp_path, "--dry-run", configs=(TINY, extra))
    levels = settings.load(settings.read_config(TINY)).precursor.levels
    distinct = patterns.distinct_count(3, levels)  # of len(levels) ** 9 patterns
    assert done.returncode == 0 and f"{distinct} patterns per map (exhaustive)" in done.stderr


@pytest.mark.parametrize(
    "edit, strategies",
    [
        ({"oip": {"warm_start": "none"}}, ["random", "precursor"]),
        ({"precursor": {"strategy": "halving", "halving_steps": [1], "halving_keep": 0.5}},
         ["random", "precursor", "random_warm", "precursor_warm"]),
    ],
)  # fmt: skip
def test_the_branches_the_experiments_take_run_end_to_end(tmp_path, edit, strategies):
    done = snakemake(tmp_path, configs=(edited_config(tmp_path, edit),))
    assert done.returncode == 0, done.stderr[-3000:]
    for index in MAPS:
        assert list(map_result(tmp_path, index).strategies) == strategies
    results = results_of(tmp_path)
    summary = results(paths.SUMMARY_MARKDOWN).read_text()
    assert all(f"| {name} |" in summary for name in strategies)
    scoring = Scoring.load(results(paths.SCORING, layer="conv3", map=MAPS[0]))
    if "oip" in edit:
        warm_steps = edited_config(tmp_path, {"oip": {"warm_start": "none", "warm_steps": 7}})
        assert plan(tmp_path, configs=(warm_steps,)) == {}, "without the warm start nothing reads its steps"
    if "precursor" in edit:
        assert scoring.strategy == "halving" and scoring.image_steps == 31  # 15 patterns 1 step, 8 of them 2 more
        scores = np.load(results(paths.SCORES, layer="conv3", map=MAPS[0]))
        assert np.isfinite(scores).sum() == 8 and "precursor scoring: halving" in summary


SCREENING = {"precursor": {"strategy": "halving", "halving_steps": [0], "halving_keep": 0.5}}


def test_one_screen_serves_every_map_and_reruns_only_for_its_own_settings(tmp_path):
    config = edited_config(tmp_path, SCREENING)
    assert plan(tmp_path, configs=(config,))["screen_patterns"] == 1
    done = snakemake(tmp_path, configs=(config,))
    assert done.returncode == 0, done.stderr[-3000:]
    results = results_of(tmp_path)
    screen = Screen.load(results(paths.SCREEN, layer="conv3"))
    assert screen.indices.shape == (128, 8) and screen.patterns == 15, "every map of the layer, 8 of 15 go on"
    for index in MAPS:
        scores = np.load(results(paths.SCORES, layer="conv3", map=index))
        np.testing.assert_array_equal(np.flatnonzero(np.isfinite(scores)), screen.survivors(index))
        scoring = Scoring.load(results(paths.SCORING, layer="conv3", map=index))
        assert scoring.image_steps == 8 * 3 and scoring.objective == "activation"
    assert plan(tmp_path, configs=(config,)) == {}
    more_maps = edited_config(tmp_path, SCREENING | {"maps": {"layer": "conv3", "indices": [*MAPS, 11]}})
    one_map = {"score_precursor": 1, "select_seeds": 1, "optimize_oips": 2, "compare_oips": 1, "plot_map": 1,
               "measure_oips": 1}  # fmt: skip
    assert plan(tmp_path, configs=(more_maps,)) == one_map | SUMMARIES, "the screen covers every map already"
    steps = edited_config(tmp_path, {"precursor": SCREENING["precursor"] | {"steps": 4}})
    assert plan(tmp_path, configs=(steps,)) == AFTER_SCORING, "the screen does not read the steps"
    keep = edited_config(tmp_path, {"precursor": SCREENING["precursor"] | {"halving_keep": 0.25}})
    assert plan(tmp_path, configs=(keep,)) == {"screen_patterns": 1} | AFTER_SCORING
    rough = edited_config(tmp_path, {"precursor": SCREENING["precursor"] | {"screen_precision": "bfloat16"}})
    assert plan(tmp_path, configs=(rough,)) == {"screen_patterns": 1} | AFTER_SCORING
    batch = edited_config(tmp_path, SCREENING | {"compute": {"screen_batch_size": 3}})
    assert plan(tmp_path, configs=(batch,)) == {}, "how the screen is batched changes no result"


def device_intervals(workdir):
    """(device, start, end) of every job that ran the CNN on a device, from the jobs' logs."""
    found = []
    for log in results_of(workdir)(paths.LOGS).rglob("*.log"):
        named = [line.split("on device ")[1] for line in log.read_text().splitlines() if "on device " in line]
        if named:
            found.append((named[0], *storage.job_interval(log)))
    return found


def test_two_devices_run_two_cnn_jobs_at_once_with_the_same_results(tmp_path):
    jax_on = {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    gpu = edited_config(tmp_path, {"compute": {"gpu": True}, "maps": {"layer": "conv3", "indices": [3, 7, 11, 12]}})
    runs = {}
    for count in (1, 2):
        runs[count] = tmp_path / f"devices{count}"
        env = jax_on | {"XLA_FLAGS": f"--xla_force_host_platform_device_count={count}"}
        done = snakemake(runs[count], "--resources", f"gpu={count}", configs=(gpu,), env=env)
        assert done.returncode == 0, done.stderr[-3000:]
    assert device_intervals(runs[1]) == [], "one device: nothing to choose, no device named"
    on_two = device_intervals(runs[2])
    assert {device for device, _, _ in on_two} == {"cpu:0", "cpu:1"}
    overlapping = [(a, b) for a in on_two for b in on_two if a[1] < b[1] < a[2]]
    assert overlapping and all(a[0] != b[0] for a, b in overlapping), "two jobs at once, never on one device"
    for index in (3, 7, 11, 12):
        for template, start in MAP_ARRAYS:
            one, two = files_of((runs[1], runs[2]), template, layer="conv3", map=index, start=start)
            path = one.relative_to(runs[1])
            a, b = np.load(one), np.load(two)
            for key in a.files if path.suffix == ".npz" else [None]:
                np.testing.assert_array_equal(a[key] if key else a, b[key] if key else b, err_msg=f"{path}:{key}")


def own_colour_model(folder):
    """A small CNN on 32x32 colour images with three classes, and held-out images for it, saved in `folder`."""
    keras.utils.set_random_seed(0)
    cnn = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(6, 3, activation="relu", name="block1"),
                            keras.layers.MaxPooling2D(2), keras.layers.Conv2D(8, 3, activation="relu", name="block2"),
                            keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, name="dense")])  # fmt: skip
    cnn.save(folder / "own.keras")
    rng = np.random.default_rng(0)
    np.savez(folder / "held_out.npz", x=rng.normal(size=(30, 32, 32, 3)).astype("float32"), y=rng.integers(0, 3, 30))


@pytest.mark.parametrize("source", ["npz", "none"])
def test_an_own_colour_model_end_to_end(tmp_path, source):
    own_colour_model(tmp_path)
    dataset = {"source": source, "path": "held_out.npz" if source == "npz" else None}
    scale = None if source == "npz" else {"mean": [0, 0, 0], "std": [1, 1, 1]}
    config = edited_config(tmp_path, {"model": {"path": "own.keras", "input_scale": scale}, "dataset": dataset, "maps": {"layer": ["block1", "block2"], "indices": [0, 5]}, "oip": {"scales": [32, 8]}, "robust": {"enabled": True, "parameterization": "fourier"}})  # fmt: skip
    done = snakemake(tmp_path, configs=(config,))
    assert done.returncode == 0, done.stderr[-3000:]
    results = results_of(tmp_path)
    assert not results(paths.CNN).parent.exists() and not results(paths.ARRAYS).parent.exists(), "nothing trained"
    for layer in ("block1", "block2"):
        for index in (0, 5):
            result = map_result(tmp_path, index, layer, robust=True)
            assert list(result.strategies) == list(strategies.NAMES)
            assert results(paths.FAITHFULNESS, layer=layer, map=index).exists() == (source == "npz")
            for strategy in result.strategies.values():
                assert strategy.starts.shape[1:] == strategy.oips.shape[1:] == (32, 32, 3)
                assert set(strategy.classes.tolist()) <= {0, 1, 2} and (strategy.confidences <= 1).all()
            starts = result.strategies["precursor"].starts  # as the model takes them: mean + std * pattern
            held_out = np.load(tmp_path / "held_out.npz")["x"] if source == "npz" else np.zeros((1, 1, 1, 3))
            mean, std = held_out.mean(axis=(0, 1, 2)), held_out.std(axis=(0, 1, 2)) if source == "npz" else 1
            grey = (starts - mean) / std
            np.testing.assert_allclose(grey[..., 0], grey[..., 2], atol=1e-5)  # grey patterns in every channel
        assert results(paths.EXAMPLES, layer=layer).exists() == (source == "npz")
        assert results(paths.CLASS_PROFILES, layer=layer).exists() == (source == "npz")
        picture = matplotlib.image.imread(results(paths.STRATEGY_GALLERY, layer=layer))[..., :3]
        assert np.abs(picture[..., 0] - picture[..., 2]).max() > 0.2, "colour OIPs are shown in colour"
    summary = results(paths.SUMMARY_MARKDOWN).read_text()
    assert "2 maps of block1; 2 maps of block2 of a given model" in summary
    assert ("The CNN reads the best OIP of" in summary) == (source == "npz")
    assert ("No held-out images were given (dataset.source: none)" in summary) == (source == "none")
    if source == "npz":
        found = LayerExamples.load(results(paths.EXAMPLES, layer="block2"))
        assert found.top_images.shape == (8, 9, 32, 32, 3) and list(found.classes) == [0, 1, 2]


def test_an_own_model_whose_layer_is_not_a_convolution_stops_before_any_job(tmp_path):
    own_colour_model(tmp_path)
    config = edited_config(tmp_path, {"model": {"path": "own.keras"}, "dataset": {"source": "none"}, "maps": {"layer": "dense", "indices": "all"}})  # fmt: skip
    done = snakemake(tmp_path, configs=(config,))
    assert done.returncode != 0 and not (tmp_path / paths.RESULTS).exists()
    assert (
        "maps.layer: 'dense' is not a layer with maps of the model own.keras (Dense, whose output is no image of "
        "channels); its layers with maps are block1, block2" in done.stderr
    )


def test_a_residual_blocks_layers_end_to_end(tmp_path):
    cnn = residual_model()
    cnn.save(tmp_path / "residual.keras")
    config = edited_config(tmp_path, {"model": {"path": "residual.keras", "input_scale": {"mean": [0], "std": [1]}},
                                      "dataset": {"source": "none"}, "maps": {"layer": ["conv_b", "add"], "indices": [1, 2]}})  # fmt: skip
    done = snakemake(tmp_path, configs=(config,))
    assert done.returncode == 0, done.stderr[-3000:]
    summary = results_of(tmp_path)(paths.SUMMARY_MARKDOWN).read_text()
    block = {layer: summary.split(f"## Layer {layer}")[1].split("## Layer")[0] for layer in ("conv_b", "add")}
    assert "The maps of conv_b pass on the output of conv_b with no non-linearity of their own" in block["conv_b"]
    assert "no non-linearity" not in block["add"]
    for layer, passed_on in (("conv_b", "conv_b"), ("add", "out")):
        result = map_result(tmp_path, 2, layer)
        assert result.unit == {"layers": ["add", "out"] if layer == "add" else ["conv_b"], "linear": layer == "conv_b"}
        strategy = result.strategies["random"]
        expected = keras.Model(cnn.input, cnn.get_layer(passed_on).output)(strategy.oips)
        np.testing.assert_allclose(strategy.losses, keras.ops.convert_to_numpy(expected)[..., 2].mean(axis=(1, 2)),
                                   rtol=1e-4, atol=1e-5)  # fmt: skip
