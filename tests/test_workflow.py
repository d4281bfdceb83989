"""The whole workflow on a tiny config, in a temporary folder, and what editing the config reruns."""

import csv
import json

import keras
import numpy as np
import pytest
import yaml
from helpers import MAPS, TINY, edited_config, plan, snakemake

from mnist_oip import selection, storage


@pytest.fixture
def run(tiny_run):
    return tiny_run


def planned_rules(workdir, edit):
    """Rules a dry run would execute after `edit` (section -> values) is laid over the tiny config."""
    return set(plan(workdir, configs=(edited_config(workdir, edit),)))


def test_every_output_exists(run):
    results = run / "results"
    for name in (
        "gallery.png",
        "summary.csv",
        "summary.md",
        "summary.html",
        "figures/training.png",
        "model/cnn.keras",
        "data/mnist.npz",
        "data/provenance.json",
    ):
        assert (results / name).stat().st_size > 0, name
    for index in MAPS:
        for name in ("scores.npy", "seeds.npz", "oips.npz", "summary.json", "uniqueness.json", "figure.png"):
            assert (results / f"maps/conv3/{index}/{name}").stat().st_size > 0
        for rule in ("score_precursor", "select_seeds", "optimize_oips", "compare_oips", "plot_map"):
            assert (results / f"logs/{rule}/conv3/{index}.log").exists()
            assert (results / f"benchmarks/{rule}/conv3/{index}.tsv").exists()
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
        result = storage.load_npz(run / f"results/maps/conv3/{index}/oips.npz")
        summary = json.loads((run / f"results/maps/conv3/{index}/summary.json").read_text())
        for name, count in (("precursor", 4), ("random", 3), ("precursor_warm", 4), ("random_warm", 3)):
            oips, losses = result[f"{name}_oips"], result[f"{name}_losses"]
            assert oips.shape == (count, 28, 28, 1) and result[f"{name}_curves"].shape == (20, count)
            activation = keras.ops.convert_to_numpy(body(oips))[..., index].mean(axis=(1, 2))
            np.testing.assert_allclose(losses, activation, rtol=1e-4, atol=1e-6)
            assert summary[name]["best_loss"] == pytest.approx(losses.max())
            assert float(table[index][f"{name}_best_loss"]) == pytest.approx(losses.max(), rel=1e-6)
    assert "maps had no OIP from random starts; the precursor recovered" in (run / "results/summary.md").read_text()


def test_nothing_to_do_after_a_run(run):
    assert planned_rules(run, {}) == set()


PER_MAP = {"score_precursor", "select_seeds", "optimize_oips", "compare_oips", "plot_map", "summarize", "all"}
AFTER_TRAINING = PER_MAP | {"train_cnn", "plot_training"}


@pytest.mark.parametrize(
    "edit, expected",
    [
        ({"precursor": {"levels": [0.1, 0.9]}}, PER_MAP),
        ({"precursor": {"keep": 3}}, PER_MAP - {"score_precursor"}),
        ({"precursor": {"steps": 4}}, PER_MAP),
        ({"precursor": {"strategy": "halving", "halving_steps": [1], "halving_keep": 0.5}}, PER_MAP),
        ({"precursor": {"precision": "bfloat16"}}, PER_MAP),
        ({"oip": {"steps": 30}}, PER_MAP - {"score_precursor", "select_seeds"}),
        ({"figures": {"contrast": True}}, {"plot_map", "summarize", "all"}),
        ({"uniqueness": {"threshold": 0.8}}, {"compare_oips", "plot_map", "summarize", "all"}),
        ({"training": {"epochs": 2}}, AFTER_TRAINING),
        ({"dataset": {"seed": 7}}, AFTER_TRAINING | {"prepare_dataset"}),
    ],
)
def test_editing_the_config_reruns_only_what_depends_on_it(run, edit, expected):
    assert planned_rules(run, edit) == expected


def test_bad_config_stops_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"precursor": {"levels": [0.2, 0.2]}}))
    done = snakemake(tmp_path, configs=(TINY, bad))
    assert done.returncode != 0
    assert "precursor.levels" in done.stderr and "non-unique" in done.stderr
    assert not (tmp_path / "results").exists()


def test_strategy_compute_is_counted(run):
    summary = json.loads((run / "results/maps/conv3/3/summary.json").read_text())
    assert summary["random"]["image_steps"] == 3 * 20
    assert summary["random_warm"]["image_steps"] == 3 * (10 + 20)
    assert summary["precursor"]["image_steps"] == 16 * 3 + 4 * 20
    assert summary["precursor_warm"]["image_steps"] == 16 * 3 + 4 * (10 + 20)
    markdown = (run / "results/summary.md").read_text()
    assert (
        "| strategy | maps_with_oip | median_best_loss |" in markdown and "Maps that no strategy activates" in markdown
    )


def test_oips_are_grouped_into_distinct_patterns(run):
    for index in MAPS:
        groups = json.loads((run / f"results/maps/conv3/{index}/uniqueness.json").read_text())
        result = storage.load_npz(run / f"results/maps/conv3/{index}/oips.npz")
        found = sum(
            int((result[f"{name}_losses"] > 0).sum())
            for name in ("random", "precursor", "random_warm", "precursor_warm")
        )
        assert len(groups["oips"]) == found
        assert groups["distinct"] == len({o["group"] for o in groups["oips"]}) and 1 <= groups["distinct"] <= found
    with open(run / "results/summary.csv") as f:
        assert all(int(row["distinct_oips"]) >= 1 for row in csv.DictReader(f))
