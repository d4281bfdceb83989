"""Rules and their jobs: the keyword arguments a job gets, and a rule that does not match its job stopping the
workflow when it is read, with the rule's and the argument's names."""

import pytest
from helpers import copy_of_the_workflow, run_copy

from mnist_oip import binding


def fit(*, cnn, layer, map_index, out_result, oip, made_by=None, seeds=None):
    return locals()


JOB = binding.Job(fit, {"oip": "the oip settings"})


def test_a_job_gets_inputs_by_name_outputs_as_out_names_its_settings_and_the_wildcards_it_asks_for():
    found = JOB.arguments({"cnn": "c.keras"}.items(), {"result": "r.npz"}, "made", {"layer": "conv3", "map": "7",
                                                                                    "start": "random"})  # fmt: skip
    assert found == {"cnn": "c.keras", "out_result": "r.npz", "oip": "the oip settings", "made_by": "made",
                     "layer": "conv3", "map_index": 7}  # fmt: skip
    assert fit(**found)["map_index"] == 7


def test_a_rule_matching_its_job_has_no_problems():
    assert JOB.problems("fit", ["cnn"], ["result"], {"layer", "map"}) == []
    assert JOB.problems("fit", ["cnn", "seeds"], ["result"], {"layer", "map", "start"}) == []


@pytest.mark.parametrize(
    ("inputs", "outputs", "wildcards", "problem"),
    [
        (["model"], ["result"], {"layer", "map"}, "rule fit: gives 'model', which test_binding.fit does not take"),
        (["model"], ["result"], {"layer", "map"}, "test_binding.fit needs 'cnn', which the rule does not give"),
        (["cnn"], ["oips"], {"layer", "map"}, "gives 'out_oips'"),
        (["cnn"], ["result"], {"layer"}, "needs 'map_index'"),
    ],
)
def test_each_mismatch_is_named_with_the_rule_and_the_argument(inputs, outputs, wildcards, problem):
    assert any(problem in p for p in JOB.problems("fit", inputs, outputs, wildcards))


def test_a_renamed_input_stops_the_workflow_when_it_is_read(tmp_path):
    snakefile = copy_of_the_workflow(tmp_path / "copy")
    rules = tmp_path / "copy/workflow/rules/faithfulness.smk"
    rules.write_text(rules.read_text().replace("            cnn=CNN,", "            model=CNN,"))
    done = run_copy(snakefile, tmp_path / "work", "--dry-run")
    said = done.stdout + done.stderr
    assert done.returncode != 0
    assert "rule measure_oips: gives 'model', which mnist_oip.jobs.measure_oips does not take" in said
    assert "mnist_oip.jobs.measure_oips needs 'cnn'" in said
    assert not (tmp_path / "work/results").exists(), "nothing was started"


def test_a_misspelt_reader_of_a_setting_stops_the_workflow_when_it_is_read(tmp_path):
    snakefile = copy_of_the_workflow(tmp_path / "copy")
    rules = tmp_path / "copy/workflow/rules/figures.smk"
    rules.write_text(rules.read_text().replace('leave_out="gallery"', 'leave_out="galery"'))
    done = run_copy(snakefile, tmp_path / "work", "--dry-run")
    assert done.returncode != 0 and "no key of Figures is only for ['galery']" in done.stdout + done.stderr


def test_a_rule_that_runs_the_cnn_without_claiming_the_gpu_stops_the_workflow_when_it_is_read(tmp_path):
    snakefile = copy_of_the_workflow(tmp_path / "copy")
    rules = tmp_path / "copy/workflow/rules/faithfulness.smk"
    rules.write_text(rules.read_text().replace("        resources:\n            gpu=GPU,\n", ""))
    done = run_copy(snakefile, tmp_path / "work", "--dry-run")
    assert done.returncode != 0 and "rule measure_oips: runs the CNN, claims no gpu" in done.stdout + done.stderr
