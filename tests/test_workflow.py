"""The whole workflow on a tiny config, in a temporary folder, and what editing the config reruns."""

import csv
import json
import shutil

import keras
import numpy as np
import pytest
import yaml
from helpers import MAPS, TINY, edited_config, plan, snakemake

from mnist_oip import selection, storage
from mnist_oip.results import START_KINDS, MapResult, Scoring, StartResult

PER_MAP_FILES = ("scores.npy", "scoring.json", "seeds.npz", "random.npz", "random.json", "precursor.npz",
                 "precursor.json", "uniqueness.json", "figure.png")  # fmt: skip


@pytest.fixture
def run(tiny_run):
    return tiny_run


def map_result(workdir, index):
    return MapResult.load([workdir / f"results/maps/conv3/{index}/{start}.npz" for start in START_KINDS])


def test_every_output_exists(run):
    results = run / "results"
    for name in ("gallery.png", "summary.csv", "summary.md", "summary.html", "figures/training.png",
                 "model/cnn.keras", "data/mnist.npz", "data/provenance.json"):  # fmt: skip
        assert (results / name).stat().st_size > 0, name
    for index in MAPS:
        for name in PER_MAP_FILES:
            assert (results / f"maps/conv3/{index}/{name}").stat().st_size > 0
        for job in ("score_precursor", "select_seeds", "compare_oips", "plot_map"):
            assert (results / f"logs/{job}/conv3/{index}.log").exists()
            assert (results / f"benchmarks/{job}/conv3/{index}.tsv").exists()
        for start in START_KINDS:
            assert (results / f"logs/optimize_oips/conv3/{index}/{start}.log").exists()
    assert not list(results.rglob(".*.npz")) and not list(results.rglob(".*.npy")), "temporary files left over"


def test_data_provenance(run):
    info = json.loads((run / "results/data/provenance.json").read_text())
    assert info["source"] == "embedded" and info["train_count"] + info["test_count"] == 5000
    assert sum(info["train_per_class"]) == info["train_count"]
    history = json.loads((run / "results/model/history.json").read_text())
    assert len(history["history"]["loss"]) == 1 and history["test_accuracy"] > 0.5


def test_seeds_are_the_best_scored_patterns(run):
    for index in MAPS:
        scores = np.load(run / f"results/maps/conv3/{index}/scores.npy", allow_pickle=False)
        assert scores.shape == (16,) and np.isfinite(scores).all()
        seeds = storage.load_npz(run / f"results/maps/conv3/{index}/seeds.npz")
        np.testing.assert_array_equal(seeds["indices"], selection.top_patterns(scores, 4))
        np.testing.assert_array_equal(seeds["scores"], scores[seeds["indices"]])


def test_reported_losses_are_the_saved_models_activations(run):
    cnn = keras.saving.load_model(run / "results/model/cnn.keras", safe_mode=True)
    body = keras.Model(cnn.input, cnn.get_layer("conv3").output)
    with open(run / "results/summary.csv") as f:
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
            assert float(table[index][f"{name}_best_loss"]) == pytest.approx(strategy.best_loss, rel=1e-6)
        warm = result.strategies["random_warm"]
        assert warm.warm_curves.shape == (10, 3) and np.array_equal(warm.starts, result.strategies["random"].starts)
    summary = (run / "results/summary.md").read_text()
    assert "maps had no OIP from random starts; the precursor recovered" in summary
    assert "precursor scoring: exhaustive" in summary


def test_strategy_compute_is_counted(run):
    scoring = Scoring.load(run / "results/maps/conv3/3/scoring.json")
    assert (scoring.strategy, scoring.patterns, scoring.image_steps) == ("exhaustive", 16, 16 * 3)
    random = StartResult.load(run / "results/maps/conv3/3/random.npz").strategies
    precursor = StartResult.load(run / "results/maps/conv3/3/precursor.npz").strategies
    assert random["random"].image_steps == 3 * 20 and random["random_warm"].image_steps == 3 * (10 + 20)
    assert precursor["precursor"].image_steps == 16 * 3 + 4 * 20
    assert precursor["precursor_warm"].image_steps == 16 * 3 + 4 * (10 + 20)
    summary = json.loads((run / "results/maps/conv3/3/precursor.json").read_text())
    assert set(summary["strategies"]) == {"precursor", "precursor_warm"} and summary["start"] == "precursor"
    markdown = (run / "results/summary.md").read_text()
    assert (
        "| strategy | maps_with_oip | median_best_loss |" in markdown and "Maps that no strategy activates" in markdown
    )


def test_oips_are_grouped_into_distinct_patterns(run):
    for index in MAPS:
        groups = json.loads((run / f"results/maps/conv3/{index}/uniqueness.json").read_text())
        found = sum(int((s.losses > 0).sum()) for s in map_result(run, index).strategies.values())
        assert len(groups["oips"]) == found
        assert groups["distinct"] == len({o["group"] for o in groups["oips"]}) and 1 <= groups["distinct"] <= found
    with open(run / "results/summary.csv") as f:
        assert all(int(row["distinct_oips"]) >= 1 for row in csv.DictReader(f))


def test_nothing_to_do_after_a_run(run):
    assert plan(run) == {}


def test_a_deleted_per_map_product_is_made_again(run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)  # with its .snakemake records and the files' times
    (copy / "results/maps/conv3/3/precursor.npz").unlink()
    assert plan(copy) == {"optimize_oips": 1, "compare_oips": 1, "plot_map": 1, "summarize": 1, "all": 1}


N = len(MAPS)
AFTER_SELECTION = {"optimize_oips": N, "compare_oips": N, "plot_map": N, "summarize": 1, "all": 1}
AFTER_SCORING = {"score_precursor": N, "select_seeds": N} | AFTER_SELECTION
AFTER_TRAINING = {"train_cnn": 1, "plot_training": 1} | AFTER_SCORING | {"optimize_oips": 2 * N}


@pytest.mark.parametrize(
    "edit, expected",
    [
        ({"precursor": {"levels": [0.1, 0.9]}}, AFTER_SCORING),
        ({"precursor": {"keep": 3}}, {"select_seeds": N} | AFTER_SELECTION),
        ({"precursor": {"steps": 4}}, AFTER_SCORING),
        ({"precursor": {"strategy": "halving", "halving_steps": [1], "halving_keep": 0.5}}, AFTER_SCORING),
        ({"precursor": {"precision": "bfloat16"}}, AFTER_SCORING),
        ({"oip": {"steps": 30}}, AFTER_SELECTION | {"optimize_oips": 2 * N}),
        ({"oip": {"random_starts": 2}}, AFTER_SELECTION),  # the random starts only
        ({"figures": {"contrast": True}}, {"plot_map": N, "summarize": 1, "all": 1}),
        ({"uniqueness": {"threshold": 0.8}}, {"compare_oips": N, "plot_map": N, "summarize": 1, "all": 1}),
        ({"training": {"epochs": 2}}, AFTER_TRAINING),
        ({"dataset": {"seed": 7}}, AFTER_TRAINING | {"prepare_dataset": 1}),
    ],
)
def test_editing_the_config_reruns_only_what_depends_on_it(run, edit, expected):
    assert plan(run, configs=(edited_config(run, edit),)) == expected


def test_bad_config_stops_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"precursor": {"levels": [0.2, 0.2]}}))
    done = snakemake(tmp_path, configs=(TINY, bad))
    assert done.returncode != 0
    assert "precursor.levels" in done.stderr and "non-unique" in done.stderr
    assert not (tmp_path / "results").exists()


def test_config_from_the_command_line_in_the_forms_the_readme_shows(tmp_path):
    done = snakemake(tmp_path, "--dry-run", "--config", "precursor={strategy: halving, halving_keep: 0.5}")
    said = done.stdout + done.stderr
    assert done.returncode != 0, "nested numbers arrive as text"
    assert "precursor.halving_keep: '0.5' is text where a number belongs" in said and "--configfile" in said
    done = snakemake(tmp_path, "--dry-run", "--config", "precursor={strategy: halving}")
    said = done.stdout + done.stderr
    assert done.returncode != 0 and "precursor.keep: 4 seeds asked for, but only 1 of the 16" in said
    extra = tmp_path / "extra.yaml"
    extra.write_text("precursor: {grid: 3, strategy: exhaustive}\n")
    done = snakemake(tmp_path, "--dry-run", configs=(TINY, extra))
    assert done.returncode == 0 and "512 patterns per map (exhaustive)" in done.stderr


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
    summary = (tmp_path / "results/summary.md").read_text()
    assert all(f"| {name} |" in summary for name in strategies)
    scoring = Scoring.load(tmp_path / f"results/maps/conv3/{MAPS[0]}/scoring.json")
    if "precursor" in edit:
        assert scoring.strategy == "halving" and scoring.image_steps == 16 * 1 + 8 * (3 - 1)
        scores = np.load(tmp_path / f"results/maps/conv3/{MAPS[0]}/scores.npy")
        assert np.isfinite(scores).sum() == 8 and "precursor scoring: halving" in summary
