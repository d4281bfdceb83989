"""Where the workflow's files live: one definition for the rules, the command line, the benchmark and the
scripts. Each file is a template relative to a results folder, with the wildcards {layer}, {map} and
{start} where it is one per layer, map or start kind; `Results(folder)` fills them in for a finished run.
"""

from pathlib import Path

from .strategies import ROBUST_SUFFIX

RESULTS = "results"  # the results folder, in the workflow's working directory

ARRAYS = "data/mnist.npz"
PROVENANCE = "data/provenance.json"
CNN = "model/cnn.keras"
HISTORY = "model/history.json"
TRAINING_FIGURE = "figures/training.png"

LAYER = "maps/{layer}"
SCREEN = f"{LAYER}/screen.npz"
EXAMPLES = f"{LAYER}/examples.npz"
GALLERY = f"{LAYER}/gallery.png"
STRATEGY_GALLERY = f"{LAYER}/strategies.png"
CLASS_PROFILES = f"{LAYER}/classes.png"
LAYER_SUMMARY = f"{LAYER}/summary.json"

MAP = f"{LAYER}/{{map}}"
SCORES = f"{MAP}/scores.npy"
SCORING = f"{MAP}/scoring.json"
SEEDS = f"{MAP}/seeds.npz"
START_RESULT = f"{MAP}/{{start}}.npz"
START_SUMMARY = f"{MAP}/{{start}}.json"
ROBUST_RESULT = f"{MAP}/{{start}}{ROBUST_SUFFIX}.npz"
ROBUST_SUMMARY = f"{MAP}/{{start}}{ROBUST_SUFFIX}.json"
OPTIMIZE_FILES = {  # per optimize rule: the result and its figures that it writes for a start kind
    "optimize_oips": (START_RESULT, START_SUMMARY),
    "optimize_robust": (ROBUST_RESULT, ROBUST_SUMMARY),
}
UNIQUENESS = f"{MAP}/uniqueness.json"
FAITHFULNESS = f"{MAP}/faithfulness.json"
MAP_FIGURE = f"{MAP}/figure.png"

SUMMARY_CSV = "summary.csv"
SUMMARY_MARKDOWN = "summary.md"
SUMMARY_HTML = "summary.html"
REPORT_PAGE = "report.rst"
BENCHMARK = "benchmark.json"  # what `python -m mnist_oip.benchmark` measured, unless told otherwise

LOGS = "logs"  # a job's log: logs/<rule>/<layer>/<map>/<start>.log, as far as it has those wildcards
BENCHMARKS = "benchmarks"  # Snakemake's benchmark of a job, named alike (.tsv)
WILDCARDS = ("layer", "map", "start")


def in_results(template):
    """A template as the rules name it, under the results folder."""
    return f"{RESULTS}/{template}"


def file_name(template, **wildcards):
    """The name of a template's file, without its folders (for a command writing it beside another)."""
    return Path(template).name.format(**wildcards)


def log(rule, per=None):
    """The log of a job of `rule`; `per`: "layer", "map" or "start" for a job per layer, map or start kind."""
    return in_results(f"{LOGS}/{_job(rule, per)}.log")


def benchmark(rule, per=None):
    """Snakemake's benchmark file of a job of `rule` (see `log`)."""
    return in_results(f"{BENCHMARKS}/{_job(rule, per)}.tsv")


def _job(rule, per):
    names = WILDCARDS[: WILDCARDS.index(per) + 1] if per else ()
    return "/".join([rule, *(f"{{{name}}}" for name in names)])


class Results:
    """The files of one results folder."""

    def __init__(self, folder=RESULTS):
        self.folder = Path(folder)

    def __call__(self, template, **wildcards):
        return self.folder / template.format(**wildcards)

    def maps(self):
        """(layer, map) of every map folder, layer by layer, map by map."""
        found = [(p.parent.name, int(p.name)) for p in self.folder.glob(MAP.format(layer="*", map="*"))
                 if p.is_dir() and p.name.isdigit()]  # fmt: skip
        return sorted(found)

    def jobs(self, kind):
        """(rule, wildcards, path) of every job's file of `kind` (LOGS or BENCHMARKS)."""
        found = []
        for path in sorted((self.folder / kind).rglob("*")):
            if path.is_file():
                rule, *parts = path.relative_to(self.folder / kind).with_suffix("").parts
                found.append((rule, dict(zip(WILDCARDS, parts)), path))
        return found
