"""What made a result: the code a job runs (an edit reruns the jobs that run it, a docstring none), the
framework and threads, the content of the files read from outside the results, and a summary that says
when the results of a layer were made otherwise from map to map."""

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest
from helpers import MAPS, ROOT, TINY, copy_of_the_workflow, edited_config, plan, results_of, run_copy, snakemake

from mnist_oip import backend, lineage, paths

JOBS = ("prepare_dataset", "train_cnn", "score_precursor", "select_seeds", "optimize_oips", "plot_map", "summarize")
DIGESTS = f"import json; from mnist_oip import lineage; print(json.dumps({{j: lineage.code_of(j) for j in {JOBS!r}}}))"


def code_digests(src):
    """Each job's code digest, computed by the package in `src` (a copy of src/, edited or not)."""
    env = os.environ | {"PYTHONPATH": str(src)}
    done = subprocess.run([sys.executable, "-c", DIGESTS], capture_output=True, text=True, env=env, check=False,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_code_digest_changes_for_the_jobs_that_run_an_edited_line_only(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src/mnist_oip", src / "mnist_oip")
    before = code_digests(src)
    assert len(set(before.values())) == len(JOBS), "each job's code is its own"
    package = src / "mnist_oip"
    edit(package / "ascent.py", '    """x + step_size * grad', '    """Moved: x + step_size * grad')
    edit(
        package / "ascent.py",
        "def normalized_step(x, grad, step_size):",
        "def normalized_step(x, grad, step_size):  # #",
    )
    assert code_digests(src) == before, "a docstring or a comment changes no job's code"
    edit(package / "ascent.py", "+ 1e-8)", "+ 1e-9)")
    changed = code_digests(src)
    assert {job for job in JOBS if changed[job] != before[job]} == {"score_precursor", "optimize_oips"}
    edit(package / "figures.py", "dpi=100", "dpi=90")
    assert {job for job, digest in code_digests(src).items() if digest != changed[job]} == {"plot_map"}


def test_what_a_job_is_made_by(tmp_path):
    data = tmp_path / "data.bin"
    data.write_bytes(b"digits")
    made = lineage.of_job("prepare_dataset", [str(data)])
    assert made["package"].startswith("mnist-oip") and len(made["code"]) == 64 and "framework" not in made
    assert made["inputs"] == {str(data): hashlib.sha256(b"digits").hexdigest()}
    os.utime(data, (1e9, 1e9))  # the same file, older: the same content
    assert lineage.of_job("prepare_dataset", [str(data)]) == made
    data.write_bytes(b"other digits")
    os.utime(data, (1e9, 1e9))  # replaced, and older than before: its content decides
    assert lineage.of_job("prepare_dataset", [str(data)])["inputs"] != made["inputs"]
    training, scoring = lineage.of_job("train_cnn"), lineage.of_job("score_precursor", model_files=[str(data)])
    assert training["framework"] == scoring["framework"] == lineage.framework()
    assert training["threads"] == backend.cpu_count() and "threads" not in scoring, "the ascent's bits: any count"
    assert list(scoring["inputs"]) == [str(data)] and "inputs" not in lineage.of_job(
        "plot_map", model_files=[str(data)]
    )
    # Named as the framework itself reports its version and where it computes.
    import keras

    name = keras.backend.backend()
    if name == "tensorflow":
        import tensorflow as framework

        on_gpu = bool(framework.config.list_physical_devices("GPU"))
    else:
        import jax as framework

        on_gpu = framework.default_backend() == "gpu"
    parts = lineage.framework().split(", ")
    assert parts[0].startswith(name) and parts[0].endswith(f" {framework.__version__}")
    assert f"keras {keras.__version__}" in parts and parts[-1] == ("gpu" if on_gpu else "cpu")


def test_results_made_otherwise_are_named_by_what_differs():
    one = {"package": "mnist-oip 0.1.0", "code": "a" * 64, "framework": "jax 0.10.2, cpu", "machine": "EPYC"}
    records = [(3, one), (7, one | {"code": "b" * 64}), (11, one | {"code": "b" * 64, "machine": "Xeon"})]
    lines = lineage.mixed("conv3 random OIPs", records)
    assert lines == [
        f"conv3 random OIPs made with different code: {'a' * 12}: 3; {'b' * 12}: 7, 11",
        "conv3 random OIPs made with different machine: 'EPYC': 3, 7; 'Xeon': 11",
    ]
    assert lineage.mixed("conv3 random OIPs", [(3, one), (7, dict(one))]) == []


def job_counts(done):
    import re

    assert done.returncode == 0, done.stderr[-3000:]
    return {m[1]: int(m[2]) for m in re.finditer(r"^([a-z_]+)\s+(\d+)$", done.stdout, re.MULTILINE) if m[1] != "total"}


def test_a_code_edit_reruns_the_jobs_that_run_it_and_a_summary_says_when_maps_mix_code(tmp_path):
    snakefile = copy_of_the_workflow(tmp_path / "copy")
    work = tmp_path / "work"
    done = run_copy(snakefile, work)
    assert done.returncode == 0, done.stderr[-3000:]
    results = results_of(work)
    made = json.loads(results(paths.START_SUMMARY, layer="conv3", map=MAPS[0], start="random").read_text())["made_by"]
    assert made["code"] == lineage.code_of("optimize_oips") and made["cnn"] == lineage.file_digest(results(paths.CNN))
    assert f"Made by {lineage.describe(made)}." in results(paths.SUMMARY_MARKDOWN).read_text()
    package = tmp_path / "copy/src/mnist_oip"
    edit(
        package / "ascent.py",
        "def normalized_step(x, grad, step_size):",
        "def normalized_step(x, grad, step_size):  # #",
    )
    assert job_counts(run_copy(snakefile, work, "-n")) == {}, "a comment reruns nothing"
    edit(package / "ascent.py", "+ 1e-8)", "+ 1e-9)")
    n = len(MAPS)
    rerun = {"score_precursor": n, "select_seeds": n, "optimize_oips": 2 * n, "compare_oips": n, "measure_oips": n,
             "plot_map": n, "summarize_layer": 1, "summarize": 1, "all": 1}  # fmt: skip
    assert job_counts(run_copy(snakefile, work, "-n")) == rerun
    # Told to rerun by the files' times alone, a new map beside the old ones mixes code: the summary says so.
    more = edited_config(tmp_path, {"maps": {"layer": "conv3", "indices": [*MAPS, 11]}})
    done = run_copy(snakefile, work, "--rerun-triggers", "mtime", configs=(more,))
    assert done.returncode == 0, done.stderr[-3000:]
    summary = results(paths.SUMMARY_MARKDOWN).read_text()
    assert "Mixed results" in summary and "conv3 random OIPs made with different code" in summary
    assert f"{', '.join(map(str, MAPS))}; " in summary.split("conv3 random OIPs made with different code: ")[1]


OTHER_BACKEND = "jax" if os.environ["KERAS_BACKEND"] == "tensorflow" else "tensorflow"  # not the suite's


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            {"env": {"KERAS_BACKEND": OTHER_BACKEND}},
            marks=pytest.mark.skipif(
                not importlib.util.find_spec(OTHER_BACKEND), reason=f"{OTHER_BACKEND} is not installed"
            ),
        ),
        pytest.param(
            {"prefix": ["taskset", "-c", "0"]},
            marks=pytest.mark.skipif(
                not shutil.which("taskset") or backend.cpu_count() < 2, reason="needs taskset and two CPUs"
            ),
        ),
    ],
    ids=["backend", "threads"],
)
def test_another_backend_or_thread_count_reruns_from_the_training_on(tiny_run, change):
    from helpers import command

    done = subprocess.run([*change.get("prefix", []), *command(tiny_run, "--dry-run")], capture_output=True,
                          text=True, check=False, timeout=300, env=os.environ | change.get("env", {}))  # fmt: skip
    counts = job_counts(done)
    assert counts["train_cnn"] == 1 and counts["optimize_oips"] == 2 * len(MAPS) and "prepare_dataset" not in counts
    assert "Params have changed" in done.stdout
    assert plan(tiny_run) == {}, "and as before, nothing"


def test_an_own_models_layer_classes_edited_rerun_the_jobs_that_run_the_cnn(tmp_path):
    from models import custom_layer_model  # imports Keras, which the other tests here need not

    custom_layer_model(tmp_path)
    config = edited_config(tmp_path, {"model": {"path": "own.keras", "custom_objects": ["layers.py"],
                                                "input_scale": {"mean": [0], "std": [1]}},
                                      "dataset": {"source": "none"}, "maps": {"layer": "conv", "indices": [0, 1]}})  # fmt: skip
    done = snakemake(tmp_path, configs=(config,))
    assert done.returncode == 0, done.stderr[-3000:]
    assert plan(tmp_path, configs=(config,)) == {}
    layers = tmp_path / "layers.py"
    stamp = layers.stat().st_mtime
    layers.write_text(layers.read_text().replace("2.0 * x", "3.0 * x"))
    os.utime(layers, (stamp, stamp))  # the same time as before: the content decides
    counts = plan(tmp_path, configs=(config,))
    assert counts["score_precursor"] == counts["select_seeds"] == 2 and counts["optimize_oips"] == 4
    assert "compare_oips" in counts and "prepare_dataset" not in counts


def executed_definitions(call):
    """The package's top-level definitions (module, name) whose code runs while `call()` runs in this thread:
    functions and methods in the package's files (a method counts as its class); not the bodies of modules and
    classes run at import, which are no functions (not CO_OPTIMIZED), nor code that dataclasses generate."""
    import inspect

    found, package = set(), str(lineage.PACKAGE)

    def profile(frame, event, arg):
        code = frame.f_code
        if event == "call" and code.co_filename.startswith(package) and code.co_flags & inspect.CO_OPTIMIZED:
            found.add((frame.f_globals["__name__"].removeprefix("mnist_oip."), code.co_qualname.split(".")[0]))

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return found


def test_every_definition_a_job_runs_is_in_its_code_digest(tiny_run, tmp_path):
    from mnist_oip import jobs, settings

    config = settings.load(settings.read_config(TINY, edited_config(tmp_path, {"robust": {"enabled": True,
                                                                               "parameterization": "bounded"}})))  # fmt: skip
    run, where = results_of(tiny_run), {"layer": "conv3", "map": MAPS[0]}
    starts = [run(paths.START_RESULT, **where, start=start) for start in ("random", "precursor")]
    common = {"cnn": str(run(paths.CNN)), "layer": "conv3", "map_index": MAPS[0], "ascent": config.ascent,
              "scale": config.input_scale}  # fmt: skip
    # Every path is found before tracing starts, so that only the jobs' own code is traced.
    arrays, info = run(paths.ARRAYS), run(paths.PROVENANCE)
    groups, examples = run(paths.UNIQUENESS, **where), run(paths.EXAMPLES, layer="conv3")
    calls = {
        "score_precursor": lambda: jobs.score_precursor(**common, precursor=config.precursor,
                                                        out_scores=tmp_path / "scores.npy",
                                                        out_scoring=tmp_path / "scoring.json"),
        "select_seeds": lambda: jobs.select_seeds(scores=tmp_path / "scores.npy", scoring=tmp_path / "scoring.json",
                                                  precursor=config.precursor, out_seeds=tmp_path / "seeds.npz"),
        "optimize_oips": lambda: jobs.optimize_oips(**common, start="precursor", oip=config.oip, robust=config.robust,
                                                    seeds=tmp_path / "seeds.npz", scoring=tmp_path / "scoring.json",
                                                    arrays=arrays, info=info,
                                                    out_result=tmp_path / "p.npz", out_summary=tmp_path / "p.json"),
        "measure_oips": lambda: jobs.measure_oips(**common, results=list(starts),
                                                  arrays=arrays, info=info,
                                                  out_faithfulness=tmp_path / "f.json"),
        "plot_map": lambda: jobs.plot_map(results=list(starts),
                                          groups=groups, figures=config.figures,
                                          examples=examples, out_png=tmp_path / "m.png"),
    }  # fmt: skip
    for job, call in calls.items():
        missed = executed_definitions(call) - lineage.definitions_of(job)
        assert not missed, f"{job} runs code that its digest leaves out: {sorted(missed)}"


def test_a_name_is_defined_by_every_assignment_to_it_and_an_attribute_set_belongs_to_the_module():
    import ast

    statements = ast.parse("LIMIT = 1\nLOG = make()\nLOG.level = 3\nA, (B, *C) = 1, (2, 3)\nLIMIT = 2\n").body
    assert [lineage._names_defined(node) for node in statements] == [["LIMIT"], ["LOG"], [], ["A", "B", "C"], ["LIMIT"]]


def test_a_model_saved_twice_is_the_same_cnn_and_other_weights_are_not(tmp_path):
    save = "import sys, keras; from mnist_oip import blog_cnn; keras.utils.set_random_seed(int(sys.argv[2])); blog_cnn.build_cnn().save(sys.argv[1])"
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):  # each saved in a process of its own: other object ids
        done = subprocess.run([sys.executable, "-c", save, str(tmp_path / f"{name}.keras"), str(seed)],
                              capture_output=True, text=True, check=False, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
    a, b, c = (tmp_path / f"{name}.keras" for name in "abc")
    assert a.read_bytes() != b.read_bytes(), "the files differ (the date saved, object ids)"
    assert lineage.file_digest(a) == lineage.file_digest(b) != lineage.file_digest(c)
