"""Where results live: the templates the rules name, and a finished tiny run's files found through them."""

import subprocess
import sys

from helpers import MAPS

from mnist_oip import paths


def test_templates_fill_in_per_layer_map_and_start():
    run = paths.Results("somewhere")
    assert run(paths.SCORES, layer="conv3", map=5) == paths.Results("somewhere").folder / "maps/conv3/5/scores.npy"
    assert run(paths.START_RESULT, layer="c", map=0, start="random").as_posix() == "somewhere/maps/c/0/random.npz"
    assert paths.in_results(paths.SCREEN) == "results/maps/{layer}/screen.npz"
    assert paths.log("train_cnn") == "results/logs/train_cnn.log"
    assert paths.log("optimize_oips", "start") == "results/logs/optimize_oips/{layer}/{map}/{start}.log"
    assert paths.benchmark("find_examples", "layer") == "results/benchmarks/find_examples/{layer}.tsv"


def test_a_finished_run_is_read_through_the_templates(tiny_run):
    run = paths.Results(tiny_run / "results")
    assert run.maps() == [("conv3", index) for index in MAPS]
    for template in (paths.ARRAYS, paths.PROVENANCE, paths.CNN, paths.HISTORY, paths.TRAINING_FIGURE,
                     paths.SUMMARY_CSV, paths.SUMMARY_MARKDOWN, paths.SUMMARY_HTML, paths.REPORT_PAGE):  # fmt: skip
        assert run(template).is_file(), template
    for template in (paths.EXAMPLES, paths.GALLERY, paths.CLASS_PROFILES, paths.LAYER_SUMMARY):
        assert run(template, layer="conv3").is_file(), template
    for index in MAPS:
        for template in (paths.SCORES, paths.SCORING, paths.SEEDS, paths.UNIQUENESS, paths.MAP_FIGURE):
            assert run(template, layer="conv3", map=index).is_file(), template
        for start in ("random", "precursor"):
            assert run(paths.START_RESULT, layer="conv3", map=index, start=start).is_file()
    logs = {(rule, tuple(wildcards.values())) for rule, wildcards, _ in run.jobs(paths.LOGS)}
    benchmarks = {(rule, tuple(wildcards.values())) for rule, wildcards, _ in run.jobs(paths.BENCHMARKS)}
    assert logs == benchmarks and ("optimize_oips", ("conv3", str(MAPS[0]), "random")) in logs
    assert ("train_cnn", ()) in logs and ("find_examples", ("conv3",)) in logs


def test_the_command_line_finds_a_finished_runs_files(tiny_run, tmp_path):
    results = tiny_run / "results"
    done = subprocess.run([sys.executable, "-m", "mnist_oip.cli", "compare-precursor", str(results), str(results),
                           "--out", str(tmp_path / "same.json")], capture_output=True, text=True, check=False,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"maps": 2,' in done.stdout and '"maps_best_loss_lower": 0,' in done.stdout
