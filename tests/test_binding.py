"""Rules and their jobs: the keyword arguments a job gets, and a rule that does not match its job stopping the
workflow when it is read, with the rule's and the argument's names."""

import pytest
from helpers import copy_of_the_workflow, run_copy

from mnist_oip import binding, paths


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


@pytest.mark.parametrize(
    ("rules", "old", "new", "said"),
    [  # a renamed input; a misspelt reader of a setting; a rule that runs the CNN without claiming the gpu
        ("faithfulness.smk", "            cnn=CNN,", "            model=CNN,",
         ["rule measure_oips: gives 'model', which mnist_oip.jobs.measure_oips does not take",
          "mnist_oip.jobs.measure_oips needs 'cnn'"]),
        ("figures.smk", 'leave_out="gallery"', 'leave_out="galery"', ["no key of Figures is only for ['galery']"]),
        ("faithfulness.smk", "        resources:\n            gpu=GPU,\n", "",
         ["rule measure_oips: runs the CNN, claims no gpu"]),
    ],
)  # fmt: skip
def test_a_rule_that_does_not_match_its_job_stops_the_workflow_when_it_is_read(tmp_path, rules, old, new, said):
    snakefile = copy_of_the_workflow(tmp_path / "copy")
    edited = tmp_path / "copy/workflow/rules" / rules
    assert old in edited.read_text()
    edited.write_text(edited.read_text().replace(old, new))
    done = run_copy(snakefile, tmp_path / "work", "--dry-run")
    assert done.returncode != 0 and all(line in done.stdout + done.stderr for line in said)
    assert not (tmp_path / "work" / paths.RESULTS).exists(), "nothing was started"
