import os
import re
import sys

from snakemake.utils import min_version

# The package beside this workflow, whether installed or not; jobs run inside this process (run: blocks
# as threads, set in profiles/default), so the framework, the model and each compiled ascent load once.
sys.path.insert(0, f"{workflow.basedir}/src")

from mnist_oip import backend, binding, data, jobs, lineage, paths, settings, storage
from mnist_oip.strategies import PRECURSOR, START_KINDS
from mnist_oip.storage import check_folder

min_version("9.0")


backend.check_keras_backend()
SETTINGS = settings.load(config)
# check_folder is imported by name: a line may not start with `storage`, a Snakemake keyword.
check_folder(paths.RESULTS)
if SETTINGS.trains:
    data.check_prepared(paths.in_results(paths.ARRAYS))
LAYERS = SETTINGS.maps.layers
# The CNN the run explains: the blog's, trained by the workflow, or the user's saved model.
CNN = SETTINGS.model.path or paths.in_results(paths.CNN)
print(
    f"precursor: {SETTINGS.precursor.searched} patterns per map ({SETTINGS.precursor.strategy}), "
    + ", ".join(
        f"{len(SETTINGS.map_indices(layer))} maps of {layer}" for layer in LAYERS
    ),
    file=sys.stderr,
)
# Jobs that run the CNN claim the `gpu` resource where they would run on an accelerator, so that
# `--resources gpu=N` runs N of them at a time; elsewhere they claim none and share the CPU cores.
GPU = int(
    SETTINGS.compute.gpu is True
    or (SETTINGS.compute.gpu == "auto" and backend.gpu_count() > 0)
)


# A map's optimize jobs' results: per start kind the plain strategies, and the robust one where enabled.
OPTIMIZE_RULES = ["optimize_oips"] + (
    ["optimize_robust"] if SETTINGS.robust.enabled else []
)
MAP_RESULTS = [
    paths.in_results(paths.OPTIMIZE_FILES[rule][0]) for rule in OPTIMIZE_RULES
]


wildcard_constraints:
    layer="|".join(map(re.escape, LAYERS)),
    map=r"\d+",
    start="|".join(START_KINDS),


# The guided strategy's keys, which scoring and selection read only where it searches.
UNGUIDED = () if SETTINGS.precursor.guided else ("guided",)


def params_of(name, leave_out=()):
    """A section's settings as a rule's params, without the keys only for the readers in `leave_out`:
    Snakemake reruns the rule when they change. The run blocks read the same values, typed, from SETTINGS.
    """
    return settings.as_dict(getattr(SETTINGS, name), leave_out)


def oip_params(wildcards):
    """The oip settings a start kind reads: precursor seeds do not read the random starts' keys, and without
    the warm start nothing reads its steps."""
    unread = ["random"] if wildcards.start == PRECURSOR else []
    unread += ["warm"] if SETTINGS.oip.warm_start == "none" else []
    return params_of("oip", leave_out=unread)


# The data set's files, where the workflow trains the CNN: what preparing it reads.
DATA_FILES = (
    data.source_files(SETTINGS.dataset.source, SETTINGS.dataset.path)
    + data.embedded_files(SETTINGS.dataset.source)
    if SETTINGS.trains
    else []
)
# An own model's files: what every job that runs the CNN reads from outside the results.
MODEL_FILES = [] if SETTINGS.trains else [CNN, *(SETTINGS.model.custom_objects or ())]
# The held-out images of an own model, from outside the results.
HELD_OUT = (
    [] if SETTINGS.trains or not SETTINGS.has_examples else [SETTINGS.dataset.path]
)


def made_by(job, reads=()):
    """A rule's params entry: what its job is made by (`lineage.of_job`: the code it runs, the framework, the
    content of `reads`, the files it reads from outside the results, and of MODEL_FILES where it runs the CNN),
    so that Snakemake reruns the job when that changes; the job records it in its results.
    """
    return lineage.of_job(job, reads, MODEL_FILES)


# The library job each rule runs, with the settings it passes (`job`), by rule name.
JOBS = {}


def job(rule_name, **settings):
    """Declare the settings the rule `rule_name` passes by name to its job (`jobs.RULES`); the rule's files
    and wildcards come from the rule (`binding.Job`), checked against the job when the workflow is read
    (`check_rules`)."""
    JOBS[rule_name] = binding.Job(jobs.RULES[rule_name].job, settings)


def log_of(rule_name):
    """The log of a job of the rule, one per what the rule runs per (`jobs.RULES`)."""
    return paths.log(rule_name, jobs.RULES[rule_name].per)


def benchmark_of(rule_name):
    """Snakemake's benchmark file of a job of the rule (see `log_of`)."""
    return paths.benchmark(rule_name, jobs.RULES[rule_name].per)


def run_job(rule_name, input, output, params, wildcards, log):
    """Run the rule's declared job with its files, settings, what made it (`params.made_by`) and the
    wildcards it asks for; its messages go to the rule's log."""
    arguments = JOBS[rule_name].arguments(
        input.items(), output, params.made_by, wildcards.items()
    )
    with storage.job_log(log[0]):
        JOBS[rule_name].function(**arguments)


def check_rules(rules):
    """Stop before any job where a rule does not match its job (`jobs.RULES`), each problem named with
    the rule: a name it gives that the job does not take or one the job needs that it does not give,
    wildcards other than those of what it runs per, a `gpu` claim where the job does not run the CNN or none
    where it does. Input functions are asked with a sample of each wildcard (every start kind), so that
    inputs given for one start kind only are checked too."""
    found = []
    for declared in rules:
        if declared.name not in JOBS:
            continue
        found += jobs.RULES[declared.name].problems(
            declared.name, declared.wildcard_names, "gpu" in declared.resources
        )
        for sample in wildcard_samples(declared.wildcard_names):
            inputs = declared.expand_input(sample)[0]
            found += JOBS[declared.name].problems(
                declared.name,
                inputs.keys(),
                declared.output.keys(),
                declared.wildcard_names,
            )
    if found:
        raise binding.RuleError(
            "rules that do not match their jobs:\n  "
            + "\n  ".join(dict.fromkeys(found))
        )


def wildcard_samples(names):
    """Wildcards to ask input functions with: the first layer and map, each start kind."""
    first = {"layer": LAYERS[0], "map": str(SETTINGS.map_indices(LAYERS[0])[0])}
    starts = START_KINDS if "start" in names else [None]
    return [
        {n: first.get(n) for n in names} | ({"start": s} if s else {}) for s in starts
    ]


def precursor_inputs(wildcards):
    """Seeds and the scoring's record for precursor starts; random starts need neither."""
    if wildcards.start != PRECURSOR:
        return {}
    return {
        "seeds": rules.select_seeds.output.seeds,
        "scoring": rules.score_precursor.output.scoring,
    }


def screen_input(wildcards):
    """The layer's forward screen, where the precursor starts with it."""
    if not SETTINGS.precursor.screens:
        return {}
    return {"screen": rules.screen_patterns.output.screen}


def candidates_input(wildcards):
    """The guided search's screen, which holds the patterns that a map's scores are of."""
    return screen_input(wildcards) if SETTINGS.precursor.guided else {}


def maps_of(layer, patterns):
    """`patterns` for every map of `layer` the config asks for, map by map."""
    return [
        path
        for m in SETTINGS.map_indices(layer)
        for path in expand(patterns, layer=layer, map=m)
    ]


def every_map(patterns):
    """`patterns` for every map of every layer the config asks for, layer by layer, map by map."""
    return [path for layer in LAYERS for path in maps_of(layer, patterns)]


def layer_maps(patterns):
    """An input function: `patterns` for every map of the job's layer."""
    return lambda wildcards: maps_of(wildcards.layer, patterns)


def examples_input(wildcards):
    """The layer's dataset examples, where a data set is given."""
    return (
        {"examples": rules.find_examples.output.examples}
        if SETTINGS.has_examples
        else {}
    )


def faithfulness_input(wildcards):
    """Every map's faithfulness measures of the job's layer, where a data set is given."""
    if not SETTINGS.has_examples:
        return {}
    return {
        "measured": maps_of(wildcards.layer, rules.measure_oips.output.faithfulness)
    }


def held_out_input(wildcards):
    """The held-out images: the prepared data set's test split, or the user's .npz beside their model."""
    if SETTINGS.trains:
        return {
            "arrays": rules.prepare_dataset.output.arrays,
            "info": rules.prepare_dataset.output.info,
        }
    return {"held_out": SETTINGS.dataset.path}


def bounds_input(wildcards):
    """The held-out images, whose range bounds the robust strategies' images where they run bounded."""
    return (
        held_out_input(wildcards)
        if SETTINGS.robust.enabled and SETTINGS.robust.bounded
        else {}
    )


def trained_input(wildcards):
    """The training's record and the data set's provenance, where the workflow trained the CNN."""
    if not SETTINGS.trains:
        return {}
    return {
        "history": rules.train_cnn.output.history,
        "provenance": rules.prepare_dataset.output.info,
    }
