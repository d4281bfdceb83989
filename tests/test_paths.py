"""Where results live: the templates the rules name, and a finished tiny run's files found through them."""

import subprocess
import sys

from helpers import MAPS

from mnist_oip import jobs, paths


def test_every_rules_log_is_found_again_with_its_wildcards(tmp_path):
    """A log written where `paths.log` puts it, for every rule, is read back by `Results.jobs` as that rule's,
    with the wildcards of what the rule runs per: the benchmark reads jobs this way."""
    sample = {"layer": "conv3", "map": "7", "start": "random"}
    written = {}
    for name, rule in jobs.RULES.items():
        for template in (paths.log(name, rule.per), paths.benchmark(name, rule.per)):
            path = tmp_path / template.format(**sample)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")
        per = paths.WILDCARDS[: paths.WILDCARDS.index(rule.per) + 1] if rule.per else ()
        written[name] = {key: sample[key] for key in per}
    run = paths.Results(tmp_path / paths.RESULTS)
    for kind in (paths.LOGS, paths.BENCHMARKS):
        assert {rule: wildcards for rule, wildcards, _ in run.jobs(kind)} == written


def test_a_finished_run_is_read_through_the_templates(tiny_run):
    run = paths.Results(tiny_run / paths.RESULTS)
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
    results = tiny_run / paths.RESULTS
    done = subprocess.run([sys.executable, "-m", "mnist_oip.cli", "compare-precursor", str(results), str(results),
                           "--out", str(tmp_path / "same.json")], capture_output=True, text=True, check=False,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"maps": 2,' in done.stdout and '"maps_best_loss_lower": 0,' in done.stdout
