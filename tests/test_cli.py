"""`mnist-oip`: one stage for one map without Snakemake, named errors without a traceback, two runs compared."""

import subprocess
import sys

import keras
import numpy as np
from helpers import TINY, edited_config

from mnist_oip import backend, blog_cnn, data, paths, patterns, storage
from mnist_oip.results import Scoring, Screen, Seeds, StartResult, StrategyResult


def cli(*args):
    return subprocess.run([sys.executable, "-m", "mnist_oip.cli", *map(str, args)], capture_output=True, text=True,
                          check=False, timeout=300)  # fmt: skip


def test_help_explains_each_option():
    for command, option in (("score", "--map"), ("select", "--scores"), ("optimize", "--seeds")):
        done = cli(command, "--help")
        assert done.returncode == 0 and option in done.stdout and done.stderr == ""
    assert "compare-precursor" in cli("--help").stdout


def test_one_map_through_score_select_optimize(tmp_path):
    keras.utils.set_random_seed(2)
    blog_cnn.build_cnn().save(tmp_path / "cnn.keras")
    scores, seeds, oips = tmp_path / "scores.npy", tmp_path / "seeds.npz", tmp_path / "oips"
    robust = tmp_path / "robust.yaml"  # the tiny config with the robust strategies on
    robust.write_text(TINY.read_text() + "\nrobust: {enabled: true}\n")
    *_, x_test, y_test = data.load_embedded(0.2, 42)
    held_out = tmp_path / "held_out.npz"
    np.savez(held_out, x=data.standardize(x_test[:50], 0.13, 0.31), y=y_test[:50])
    optimize = ("optimize", "--model", tmp_path / "cnn.keras", "--map", 3, "--seeds", seeds, "--out", oips)
    for args in (
        ("score", "--model", tmp_path / "cnn.keras", "--map", 3, "--out", scores),
        ("select", "--scores", scores, "--out", seeds),
        (*optimize, "--held-out", held_out),
    ):
        done = cli("--config", robust, *args)
        assert done.returncode == 0, done.stderr[-2000:]
    # 15 distinct images of 16 patterns: the two flat ones are one
    assert np.load(scores).shape == (16,) and Scoring.load(tmp_path / "scoring.json").image_steps == 15 * 3
    assert Seeds.load(seeds).indices.shape == (4,)
    precursor = StartResult.load(oips / "precursor.npz")
    assert precursor.strategies["precursor"].image_steps == 15 * 3 + 4 * 20
    assert StartResult.load(oips / "random.npz").strategies["random_warm"].oips.shape == (3, 28, 28, 1)
    robust_seeds = StartResult.load(oips / "precursor_robust.npz").strategies["precursor_robust"]
    assert robust_seeds.image_steps == 15 * 3 + 4 * (20 + 10)  # the warm start first, then the map
    np.testing.assert_array_equal(robust_seeds.starts, precursor.strategies["precursor"].starts)
    low, high = data.standardize(x_test[:50], 0.13, 0.31).min(), data.standardize(x_test[:50], 0.13, 0.31).max()
    assert low - 1e-5 <= robust_seeds.oips.min() and robust_seeds.oips.max() <= high + 1e-5, "within the held-out range"
    refused = cli("--config", robust, *optimize[:-1], tmp_path / "again")
    assert refused.returncode != 0 and "give optimize --held-out FILE.npz" in refused.stderr
    assert not (tmp_path / "again").exists(), "refused before any work"


def test_bad_config_is_named_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("precursor:\n  grid: 0\n")
    done = cli("--config", bad, "select", "--scores", "x.npy", "--out", "y.npz")
    assert done.returncode != 0 and "precursor.grid: 0 is less than the minimum of 2" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Traceback" in cli("--debug", "--config", bad, "select", "--scores", "x.npy", "--out", "y.npz").stderr


def test_select_refuses_scores_that_do_not_match_the_settings(tmp_path):
    def select(scores, out="seeds.npz"):
        return cli("--config", TINY, "select", "--scores", tmp_path / scores, "--out", tmp_path / out)

    np.save(tmp_path / "scores.npy", np.arange(10, dtype=np.float32))
    done = select("scores.npy")
    assert done.returncode != 0 and "scoring.json: no such file (select reads the scoring's record" in done.stderr
    Scoring("exhaustive", 16, 45, 1.0, "activation", 2, [0.2, 0.8], 3, True).save(tmp_path / "scoring.json")
    done = select("scores.npy")
    assert done.returncode != 0 and "(10,) scores, but 2 levels on a 2x2 grid make 16 patterns" in done.stderr
    storage.save_npz(tmp_path / "seeds.npz", indices=np.arange(3))
    done = select("seeds.npz", "out.npz")
    assert done.returncode != 0 and "seeds.npz: an .npz archive, not a single .npy array" in done.stderr
    np.save(tmp_path / "scores.npy", np.arange(16, dtype=np.float32))
    Scoring("exhaustive", 16, 45, 1.0, "activation", 2, [0.3, 0.7], 3, True).save(tmp_path / "scoring.json")
    done = select("scores.npy", "out.npz")  # as many patterns, but other ones: other seeds than scored
    assert (
        done.returncode != 0
        and "scored levels [0.3, 0.7] on a 2x2 grid after 3 steps (each distinct image once), but the settings"
        in (done.stderr)
    )
    assert not (tmp_path / "out.npz").exists() and "Traceback" not in done.stderr


def test_optimize_refuses_seeds_of_other_patterns_before_any_work(tmp_path):
    keras.utils.set_random_seed(2)
    blog_cnn.build_cnn().save(tmp_path / "cnn.keras")
    Scoring("exhaustive", 16, 45, 1.0, "activation", 2, [0.2, 0.8], 3, True).save(tmp_path / "scoring.json")
    Seeds(np.arange(4), np.ones(4), np.full((4, 3, 3), 0.5)).save(tmp_path / "seeds.npz")  # a 3x3 grid, level 0.5
    done = cli("--config", TINY, "optimize", "--model", tmp_path / "cnn.keras", "--map", 3, "--seeds",
               tmp_path / "seeds.npz", "--out", tmp_path / "oips")  # fmt: skip
    assert (
        done.returncode != 0 and "seeds.npz: seeds of shape (4, 3, 3) with levels [0.5], not patterns of" in done.stderr
    )
    assert not (tmp_path / "oips").exists() and "Traceback" not in done.stderr


def test_arguments_a_careless_user_gives_are_named_before_any_work(tmp_path):
    (tmp_path / "folder.json").mkdir()
    for args, said in (
        (("score-prediction", tmp_path, "--maps", 3, "--sample", 0), "--sample: 0 is below 1"),
        (("score-prediction", tmp_path, "--maps", -1), "--maps: -1 is below 0"),
        (("score", "--model", "m.keras", "--map", "3.0", "--out", "s.npy"), "--map: '3.0' is not a whole number"),
        (("compare-precursor", tmp_path, tmp_path, "--out", tmp_path / "folder.json"), "a folder, where a file goes"),
        (("compare-precursor", tmp_path, tmp_path, "--out", tmp_path / "report.txt"), "must end in .json"),
        (("compare-searches", tmp_path, "--figure", tmp_path / "f.jpg"), "must end in .png or .pdf or .svg"),
        (("compare-precursor", tmp_path, tmp_path, "--across", "luck"), "invalid choice: 'luck'"),
    ):
        done = cli(*args)
        assert done.returncode != 0 and said in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)


def test_options_before_the_command_may_come_after_it(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("precursor:\n  grid: 0\n")
    for args in (("--config", bad, "select"), ("select", "--config", bad)):
        done = cli(*args, "--scores", "x.npy", "--out", "y.npz")
        assert done.returncode != 0 and "precursor.grid: 0 is less than the minimum of 2" in done.stderr
    assert "Traceback" in cli("select", "--debug", "--config", bad, "--scores", "x.npy", "--out", "y.npz").stderr


def test_a_guided_search_through_score_and_select(tmp_path):
    keras.utils.set_random_seed(2)
    blog_cnn.build_cnn().save(tmp_path / "cnn.keras")
    guided = tmp_path / "guided.yaml"
    guided.write_text(TINY.read_text() + "\nprecursor: {grid: 2, levels: [0.2, 0.8], steps: 3, keep: 4, strategy: "
                      "guided, halving_steps: [0], guided_starts: 4, guided_beam: 2, guided_pass_on: 10}\n")  # fmt: skip
    scores, seeds = tmp_path / "scores.npy", tmp_path / "seeds.npz"
    done = cli("--config", guided, "score", "--model", tmp_path / "cnn.keras", "--map", 3, "--out", scores)
    assert done.returncode == 0, done.stderr[-2000:]
    assert np.load(scores).shape == (10,) and (tmp_path / "screen.npz").is_file()
    done = cli("--config", guided, "select", "--scores", scores, "--out", seeds)
    assert done.returncode != 0 and "select needs --map and the layer's screen.npz" in done.stderr
    assert not seeds.exists()
    done = cli("--config", guided, "select", "--scores", scores, "--out", seeds, "--map", 3)
    assert done.returncode == 0, done.stderr[-2000:]
    found = Seeds.load(seeds)
    assert found.coarse.shape == (4, 2, 2) and (found.indices >= 0).all()
    np.testing.assert_array_equal(found.coarse, patterns.coarse_patterns(found.indices, 2, (0.2, 0.8)))


def test_an_unsupported_backend_is_one_line():
    done = subprocess.run([sys.executable, "-m", "mnist_oip.cli", "--config", str(TINY), "score", "--model", "m.keras",
                           "--map", "3", "--out", "s.npy"], capture_output=True, text=True, check=False,
                          env={"KERAS_BACKEND": "torch", "PATH": "/usr/bin"}, timeout=120)  # fmt: skip
    assert done.returncode != 0 and done.stderr.strip().splitlines()[-1].startswith("mnist-oip score: KERAS_BACKEND")
    assert "Traceback" not in done.stderr


def write_map(results, index, seeds, best_loss, scoring_steps, seed_score=1.0, levels=(0.2, 0.8), cnn="c" * 64):
    files, where = paths.Results(results), {"layer": "conv3", "map": index, "start": "precursor"}
    n = len(seeds)
    Seeds(np.array(seeds), np.full(n, seed_score), np.zeros((n, 3, 3))).save(files(paths.SEEDS, **where))
    Scoring("exhaustive", 100, scoring_steps, 1.0, "activation", 3, list(levels), 10, made_by={"code": "s"}).save(
        files(paths.SCORING, **where)
    )
    losses = np.array([best_loss] + [0.0] * (n - 1), np.float32)
    images = np.zeros((n, 28, 28, 1), np.float32)
    run = StrategyResult("precursor", images, images, np.zeros((1, n)), np.zeros((0, n)), losses, np.zeros(n, int),
                         np.ones(n, np.float32), 1.0, scoring_steps + n * 10)  # fmt: skip
    made_by = {"code": "o", "cnn": cnn, "framework": "tensorflow"}
    StartResult("conv3", index, "precursor", 10, {"precursor": run}, made_by).save(
        files(paths.START_RESULT, **where), files(paths.START_SUMMARY, **where)
    )


def test_compare_precursor_counts_kept_seeds_losses_and_steps(tmp_path):
    exhaustive, halving = tmp_path / "exhaustive", tmp_path / "halving"
    write_map(exhaustive, 0, [1, 2, 3, 4], 5.0, 1000)
    write_map(halving, 0, [1, 2, 3, 9], 5.0, 300)
    write_map(exhaustive, 1, [5, 6, 7, 8], 2.0, 1000)
    write_map(halving, 1, [5, 6, 7, 8], 1.5, 300)
    write_map(exhaustive, 2, [1, 2, 3, 4], 1.0, 1000)  # not in the other run: left out
    done = cli("compare-precursor", exhaustive, halving, "--out", tmp_path / "compare.json")
    assert done.returncode == 0, done.stderr[-2000:]
    report = storage.load_json(tmp_path / "compare.json")
    assert report["maps"] == 2 and report["maps_with_all_seeds_kept"] == 1
    assert [r["seeds_kept"] for r in report["per_map"]] == [3, 4]
    assert report["min_seeds_kept"] == 3 and report["median_seeds_kept"] == 3.5
    assert report["maps_best_loss_lower"] == 1 and report["median_best_loss_difference"] == -0.25
    assert report["scoring_image_steps_ratio"] == 0.3
    assert report["image_steps_ratio"] == 340 / 1040


def test_compare_precursor_checks_a_search_against_the_enumerations_screen_and_losses(tmp_path):
    enumerated, guided = tmp_path / "enumerated", tmp_path / "guided"
    for index, (loss, other) in enumerate([(5.0, 4.95), (2.0, 1.9), (1.0, 1.2)]):  # within 2 %, below, above
        write_map(enumerated, index, [1, 2, 3, 4], loss, 1000)
        write_map(guided, index, [1, 2, 3, 4], other, 300)
    for folder, best, seconds in ((enumerated, [3.0, 2.0, 1.0], 40.0), (guided, [3.0, 1.5, 1.0], 2.0)):
        Screen("conv3", 100, np.zeros((3, 4), int), np.array(best, np.float32)[:, None].repeat(4, 1),
               np.zeros(3, bool), seconds).save(paths.Results(folder)(paths.SCREEN, layer="conv3"))  # fmt: skip
    done = cli("compare-precursor", enumerated, guided, "--out", tmp_path / "compare.json")
    assert done.returncode == 0, done.stderr[-2000:]
    report = storage.load_json(tmp_path / "compare.json")
    assert report["maps_activated_with_screens"] == 3 and report["maps_screen_best_found"] == 2
    assert report["maps_best_loss_within_2_percent"] == 2
    assert report["screen_seconds"] == {"exhaustive": 40.0, "other": 2.0, "ratio": 0.05}


def test_compare_precursor_counts_maps_that_no_pattern_activates_apart(tmp_path):
    exhaustive, screened = tmp_path / "exhaustive", tmp_path / "screened"
    write_map(exhaustive, 0, [1, 2, 3, 4], 5.0, 1000)
    write_map(screened, 0, [1, 2, 3, 4], 5.0, 300)
    write_map(exhaustive, 1, [0, 1, 2, 3], 0.0, 1000, seed_score=0.0)  # ties at 0: the lowest indices
    write_map(screened, 1, [40, 7, 12, 3], 0.0, 300, seed_score=-0.5)  # ranked by the pre-activation
    done = cli("compare-precursor", exhaustive, screened, "--out", tmp_path / "compare.json")
    assert done.returncode == 0, done.stderr[-2000:]
    report = storage.load_json(tmp_path / "compare.json")
    assert report["maps"] == 2 and report["maps_no_pattern_activates"] == [1]
    assert report["maps_with_all_seeds_kept"] == 1 and report["min_seeds_kept"] == 4


def test_compare_precursor_refuses_runs_of_other_patterns(tmp_path):
    write_map(tmp_path / "a", 0, [1, 2], 1.0, 10)
    write_map(tmp_path / "b", 0, [1, 2], 1.0, 10, levels=(0.1, 0.9))
    done = cli("compare-precursor", tmp_path / "a", tmp_path / "b")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert (
        f"{paths.MAP.format(layer='conv3', map=0)} of" in done.stderr
        and "were made with different patterns: 100 patterns, levels [0.2, 0.8] on a " in (done.stderr)
        and "levels [0.1, 0.9] on a 3x3 grid; compare runs of the same patterns\n" in done.stderr
    ), done.stderr
    assert "--across patterns" not in done.stderr, "the same index would name another pattern: never crossed"


def test_comparisons_refuse_runs_of_another_cnn_unless_told_to_compare_across_it(tmp_path):
    write_map(tmp_path / "a", 0, [1, 2], 1.0, 10)
    write_map(tmp_path / "b", 0, [1, 2], 2.0, 10, cnn="d" * 64)
    first = paths.MAP.format(layer="conv3", map=0)
    for command in ("compare-precursor", "compare-searches"):
        done = cli(command, tmp_path / "a", tmp_path / "b")
        assert done.returncode != 0 and "Traceback" not in done.stderr
        assert (
            f"{command}: {first} of {tmp_path / 'a'} and of {tmp_path / 'b'} were made with different cnn: "
            in (done.stderr)
            and "CNN file sha256 cccccccccccc and CNN file sha256 dddddddddddd" in done.stderr
        )
        assert "add --across cnn to compare across it on purpose" in done.stderr
        assert cli(command, tmp_path / "a", tmp_path / "b", "--across", "cnn").returncode == 0
        assert cli(command, "--across", "cnn", "--across", "code", tmp_path / "a", tmp_path / "b").returncode == 0


def test_a_damaged_or_foreign_result_is_named_with_its_file(tmp_path):
    write_map(tmp_path / "a", 0, [1, 2], 1.0, 10)
    write_map(tmp_path / "b", 0, [1, 2], 1.0, 10)
    summary = paths.Results(tmp_path / "b")(paths.START_SUMMARY, layer="conv3", map=0, start="precursor")
    for text, said in (('{"layer": "conv3"', "cannot be read as JSON"), ("[1, 2]", "holds list"),
                       ('{"a": 1}', "not a StartResult record as this version writes it; missing layer")):  # fmt: skip
        summary.write_text(text)
        done = cli("compare-precursor", tmp_path / "a", tmp_path / "b")
        assert done.returncode != 0 and f"{summary}: {said}" in done.stderr and "Traceback" not in done.stderr


def test_compare_precursor_without_common_maps_says_so(tmp_path):
    write_map(tmp_path / "a", 0, [1, 2], 1.0, 10)
    (tmp_path / "b").mkdir()
    done = cli("compare-precursor", tmp_path / "a", tmp_path / "b")
    assert done.returncode != 0 and "no map has results under both" in done.stderr and "Traceback" not in done.stderr


def test_a_config_with_several_layers_needs_layer(tmp_path):
    layers = tmp_path / "layers.yaml"
    layers.write_text("maps: {layer: [conv2, conv3], indices: all}\n")
    done = cli("--config", layers, "score", "--model", tmp_path / "cnn.keras", "--map", 3, "--out", tmp_path / "s.npy")
    assert done.returncode != 0 and "maps.layer lists conv2, conv3: choose one with --layer" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "s.npy").exists()


def test_outputs_that_would_overwrite_an_input_or_have_the_wrong_suffix_are_refused_first(tmp_path):
    keras.utils.set_random_seed(2)
    blog_cnn.build_cnn().save(tmp_path / "cnn.keras")
    before = (tmp_path / "cnn.keras").read_bytes()
    for args, said in (
        (("score", "--model", tmp_path / "cnn.keras", "--map", 3, "--out", tmp_path / "cnn.keras"), "must end in .npy"),
        (("score", "--model", tmp_path / "scores.npy", "--map", 3, "--out", tmp_path / "scores.npy"), "also an input"),
        (("select", "--scores", tmp_path / "s.npy", "--out", tmp_path / "seeds.npy"), "must end in .npz"),
        (("optimize", "--model", tmp_path / "cnn.keras", "--map", 3, "--seeds", tmp_path / "none.npz", "--out",
          tmp_path / "oips"), "none.npz: no such file"),
    ):  # fmt: skip
        done = cli("--config", TINY, *args)
        assert done.returncode != 0 and said in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert (tmp_path / "cnn.keras").read_bytes() == before and not (tmp_path / "oips").exists()


def test_one_map_through_score_with_the_layers_screen(tmp_path):
    keras.utils.set_random_seed(2)
    blog_cnn.build_cnn().save(tmp_path / "cnn.keras")
    screening = edited_config(
        tmp_path, {"precursor": {"strategy": "halving", "halving_steps": [0], "halving_keep": 0.5}}
    )
    done = cli("--config", screening, "score", "--model", tmp_path / "cnn.keras", "--map", 3,
               "--out", tmp_path / "scores.npy")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    scores = np.load(tmp_path / "scores.npy")
    assert np.isfinite(scores).sum() == 8 and (tmp_path / "screen.npz").exists()


def test_devices_names_the_backend_and_times_scoring_on_each_device():
    import json
    import os

    done = cli("--config", TINY, "devices")
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    assert found["backend"] == os.environ["KERAS_BACKEND"]
    if backend.platform() == "gpu":  # GPUs and a framework built for them: each GPU a device, a map scored on each
        assert len(found["devices"]) == len(found["scoring"]) == backend.gpu_count()
    else:
        assert found["devices"] == ["the CPU, no devices to choose from"] and list(found["scoring"]) == ["CPU"]
    assert all(timed["first_scoring_seconds"] > 0 < timed["scoring_seconds"] for timed in found["scoring"].values())
    env = os.environ | {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
                        "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "mnist_oip.cli", "--config", str(TINY), "devices"],
                          capture_output=True, text=True, check=False, timeout=600, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    assert found["backend"] == "jax" and found["devices"] == ["cpu:0", "cpu:1"]
    assert set(found["scoring"]) == {"cpu:0", "cpu:1"} and "on device cpu:1" in done.stderr


def test_score_prediction_and_compare_searches_read_a_finished_run(tiny_run, tmp_path):
    import json

    results = tiny_run / paths.RESULTS
    done = cli("--config", TINY, "score-prediction", results, "--maps", 3, 7, "--sample", 5, "--out",
               tmp_path / "prediction.json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    found = storage.load_json(tmp_path / "prediction.json")
    assert set(found) == {"3", "7"} and all(len(f["scores_sample"]) == f["sample"] <= 5 for f in found.values())
    other_levels = edited_config(tmp_path, {"precursor": {"levels": [0.3, 0.7]}})  # as many patterns, other ones
    done = cli("--config", other_levels, "score-prediction", results, "--maps", 3)
    assert done.returncode == 1 and "2 levels [0.3, 0.7] on a 2x2 grid" in done.stderr, done.stderr[-2000:]
    done = cli("compare-searches", results, results, "--figure", tmp_path / "searches.png")
    assert done.returncode == 0 and json.loads(done.stdout)["maps"] == 2, done.stderr[-2000:]
    assert (tmp_path / "searches.png").read_bytes().startswith(b"\x89PNG")
    done = cli("compare-searches", results, results, "--figure", tmp_path / "searches.pdf")
    assert done.returncode == 0 and (tmp_path / "searches.pdf").read_bytes().startswith(b"%PDF"), "the format named"
