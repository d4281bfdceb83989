"""Analyses across finished runs: a cheaper precursor against the exhaustive one, finer searches against the
default, and how well a pattern's short score predicts its loss after the full ascent."""

import os

import numpy as np

from . import paths, storage
from .results import Scoring, Screen, Seeds, StartResult
from .strategies import PRECURSOR, WARM_SUFFIX

STRATEGY_OF = {"": PRECURSOR, WARM_SUFFIX: PRECURSOR + WARM_SUFFIX}  # the precursor's strategies, by suffix
IMPROVED = 1.05  # a finer search improves a map where its best loss is at least this factor above the default's


def precursor_maps(results):
    """{(layer, map): wildcards} of every map with precursor results in a results folder."""
    run = paths.Results(results)
    found = {}
    for layer, index in run.maps():
        wildcards = {"layer": layer, "map": index}
        if run(paths.START_SUMMARY, start=PRECURSOR, **wildcards).exists():
            found[(layer, index)] = wildcards
    return found


ACROSS = ("cnn", "framework", "code", "steps")  # what a comparison may be told to compare across


class UnlikeRuns(storage.StorageError):
    """Runs compared were made otherwise than the comparison allows."""


def experiment_of(scoring, start_result):
    """What must agree between runs for their precursor results to compare, from a map's `Scoring` and its
    precursor `StartResult`: the CNN (its file's content), the framework, the code of the scoring and of the
    optimization, the steps of both, and the patterns (grid and levels)."""
    scored, optimized = scoring.made_by or {}, start_result.made_by or {}
    return {
        "cnn": optimized.get("cnn", "not recorded"),
        "framework": optimized.get("framework", "not recorded"),
        "code": (scored.get("code", "not recorded"), optimized.get("code", "not recorded")),
        "steps": (scoring.steps, start_result.steps),
        "patterns": (scoring.patterns, scoring.grid, scoring.levels),
    }


def check_like(command, where, runs, experiments, across, allowed=()):
    """Refuse, by name, runs whose `experiments` (`experiment_of` per run, for the same map `where`) differ in
    something neither in `across` (asked for) nor in `allowed` (what the comparison is about); the patterns
    are never crossed on request: the same index would name another pattern."""
    first = experiments[0]
    for run, other in zip(runs[1:], experiments[1:]):
        for key in first:
            if key in across or key in allowed or other[key] == first[key]:
                continue
            shown = [_shown(key, e[key]) for e in (first, other)]
            hint = f", or add --across {key} to compare across it on purpose" if key in ACROSS else ""
            raise UnlikeRuns(
                f"{command}: {where} of {runs[0]} and of {run} were made with different {key}: {shown[0]} and "
                f"{shown[1]}; compare runs of the same {key}{hint}"
            )


def _shown(key, value):
    if key == "cnn" and isinstance(value, str) and len(value) == 64:
        return f"CNN file sha256 {value[:12]}"
    if key == "code":
        return f"scoring code {str(value[0])[:12]}, optimizing code {str(value[1])[:12]}"
    if key == "steps":
        return f"{value[0]} scoring steps, {value[1]} optimizing steps"
    if key == "patterns":
        return f"{value[0]} patterns, levels {value[2]} on a {value[1]}x{value[1]} grid"
    return value


def compare_precursor(exhaustive, other, across=()):
    """Per map, how many of the exhaustive run's seeds the other run kept, its best loss after full
    optimization from its seeds against the exhaustive one's (plain, and with the warm start where both ran
    it), and the image-steps each spent: in all (the scoring and the seeds' ascent) and in the scoring alone.

    Maps that no pattern activates are counted apart: their exhaustive seeds are ties at 0, the lowest
    indices, which the other run need not keep (a screen ranks them by the pre-activation instead)."""
    runs = (paths.Results(exhaustive), paths.Results(other))
    screen_of = _screens(runs)
    theirs = precursor_maps(other)
    rows = []
    for key, wildcards in precursor_maps(exhaustive).items():
        if key not in theirs:
            continue
        a, b = (StartResult.load(run(paths.START_RESULT, start=PRECURSOR, **wildcards)) for run in runs)
        seeds_a, seeds_b = (Seeds.load(run(paths.SEEDS, **wildcards)) for run in runs)
        scoring_a, scoring_b = (Scoring.load(run(paths.SCORING, **wildcards)) for run in runs)
        check_like("compare-precursor", paths.MAP.format(**wildcards), [exhaustive, other],
                   [experiment_of(scoring_a, a), experiment_of(scoring_b, b)], across)  # fmt: skip
        row = {
            "map": a.map,
            "seeds": len(seeds_a.indices),
            "seeds_kept": len(set(seeds_a.indices.tolist()) & set(seeds_b.indices.tolist())),
            "activated": bool((seeds_a.scores > 0).any()),
        }
        for suffix, name in STRATEGY_OF.items():
            if name in a.strategies and name in b.strategies:
                row[f"best_loss_exhaustive{suffix}"] = a.strategies[name].best_loss
                row[f"best_loss_other{suffix}"] = b.strategies[name].best_loss
        row["image_steps_ratio"] = b.strategies[PRECURSOR].image_steps / a.strategies[PRECURSOR].image_steps
        row["scoring_image_steps_ratio"] = scoring_b.image_steps / scoring_a.image_steps
        screens = [screen_of(run, wildcards["layer"]) for run in runs]
        if all(screens):
            row["screen_best_exhaustive"], row["screen_best_other"] = (
                float(screen.scores[a.map, 0]) for screen in screens
            )
        rows.append(row)
    if not rows:
        raise storage.StorageError(
            f"compare-precursor: no map has results under both {exhaustive}/maps and {other}/maps"
        )
    activated = [r for r in rows if r["activated"]]
    kept = [r["seeds_kept"] for r in activated] or [0]
    report = {
        "maps": len(rows),
        "maps_no_pattern_activates": [r["map"] for r in rows if not r["activated"]],
        "median_seeds_kept": float(np.median(kept)),
        "min_seeds_kept": int(min(kept)),
        "maps_with_all_seeds_kept": int(sum(r["seeds_kept"] == r["seeds"] for r in activated)),
    }
    for suffix in STRATEGY_OF:
        diff = [r[f"best_loss_other{suffix}"] - r[f"best_loss_exhaustive{suffix}"] for r in rows
                if f"best_loss_other{suffix}" in r]  # fmt: skip
        if diff:
            report[f"maps_best_loss_lower{suffix}"] = int(sum(d < -1e-6 for d in diff))
            report[f"median_best_loss_difference{suffix}"] = float(np.median(diff))
    for suffix in STRATEGY_OF:
        pairs = [(r[f"best_loss_exhaustive{suffix}"], r[f"best_loss_other{suffix}"]) for r in activated
                 if f"best_loss_other{suffix}" in r]  # fmt: skip
        if pairs:
            report[f"maps_best_loss_within_2_percent{suffix}"] = int(sum(o >= 0.98 * e for e, o in pairs))
    screened = [r for r in activated if "screen_best_other" in r]
    if screened:
        report["maps_activated_with_screens"] = len(screened)
        report["maps_screen_best_found"] = int(
            sum(r["screen_best_other"] >= r["screen_best_exhaustive"] * (1 - 1e-6) for r in screened)
        )
        layers = {wildcards["layer"] for wildcards in precursor_maps(exhaustive).values()}
        seconds = [sum(screen_of(run, layer).seconds for layer in layers) for run in runs]
        report["screen_seconds"] = {"exhaustive": seconds[0], "other": seconds[1], "ratio": seconds[1] / seconds[0]}
    report["image_steps_ratio"] = float(np.median([r["image_steps_ratio"] for r in rows]))
    report["scoring_image_steps_ratio"] = float(np.median([r["scoring_image_steps_ratio"] for r in rows]))
    return report | {"per_map": rows}


def _screens(runs):
    """{(run, layer): the run's screen of the layer, a `Screen`, or None where its precursor had none}, each
    loaded once; `runs`: `paths.Results`."""
    loaded = {}

    def screen(run, layer):
        if (run, layer) not in loaded:
            path = run(paths.SCREEN, layer=layer)
            loaded[run, layer] = Screen.load(path) if os.path.exists(path) else None
        return loaded[run, layer]

    return screen


def search_label(scoring, levels=True):
    """The patterns a scoring searched, in words: with the grey `levels` themselves, or their number."""
    if scoring.grid is None:
        return f"{scoring.patterns} patterns"
    how = ", guided" if scoring.strategy == "guided" else ""
    if not levels:
        return f"{len(scoring.levels)} levels on a {scoring.grid}x{scoring.grid} grid{how}"
    return f"{scoring.patterns} patterns ({scoring.levels} on a {scoring.grid}x{scoring.grid} grid{how})"


def map_name(row):
    """A map as the comparisons name it: "layer/map"."""
    return f"{row['layer']}/{row['map']}"


def compare_searches(runs, across=()):
    """Per map of the first run (the default search) and each further run (a finer search on the same CNN),
    the best loss of the precursor's OIPs, plain and with the warm start, and whether one was found; which maps
    each finer search recovers (an OIP where the default found none), improves (a best loss at least
    `IMPROVED` times the default's) or makes lower (below the default's by that factor), each named
    "layer/map" (`map_name`). `runs`: results folders."""
    maps = [precursor_maps(run) for run in runs]
    common = sorted(set.intersection(*(set(m) for m in maps)))
    if not common:
        raise storage.StorageError(f"compare-searches: no map has precursor results in all of {', '.join(runs)}")
    results = [paths.Results(run) for run in runs]
    first = None  # each run's scoring of the first map, which names its search
    for key in common:  # the same CNN, framework, code and steps in every run: only the patterns differ
        wildcards = maps[0][key]
        scorings = [Scoring.load(r(paths.SCORING, **wildcards)) for r in results]
        heads = [StartResult.load_head(r(paths.START_SUMMARY, start=PRECURSOR, **wildcards)) for r in results]
        experiments = [experiment_of(scoring, StartResult(**head)) for scoring, head in zip(scorings, heads)]
        check_like("compare-searches", paths.MAP.format(**wildcards), runs, experiments, across, ("patterns",))
        first = first if key != common[0] else scorings
    labels = []
    for run, scoring in zip(runs, first):
        label = search_label(scoring, levels=False)
        labels.append(f"{label} ({run})" if label in labels else label)
    rows, images, screen_of = [], {}, _screens(results)
    for key in common:
        row = {"layer": key[0], "map": key[1]}
        for label, found in zip(labels, results):
            screen = screen_of(found, key[0])
            if screen is not None:
                row[f"{label} screen_best"] = float(screen.scores[key[1], 0])
            result = StartResult.load(found(paths.START_RESULT, start=PRECURSOR, **maps[0][key]))
            for name, strategy in result.strategies.items():
                suffix = name.removeprefix(PRECURSOR)
                row[f"{label}{suffix} best_loss"] = strategy.best_loss
                images[(key, label, suffix)] = strategy.oips[strategy.best]
        rows.append(row)
    finer = {label: {} for label in labels[1:]}
    compared = [s for s in STRATEGY_OF if f"{labels[0]}{s} best_loss" in rows[0]]  # warm only if the default has it
    for label in labels[1:]:
        for suffix in compared:
            column, default = f"{label}{suffix} best_loss", f"{labels[0]}{suffix} best_loss"
            if column not in rows[0]:
                continue
            finer[label][STRATEGY_OF[suffix]] = {
                "maps_with_oip": sum(r[column] > 0 for r in rows),
                "recovers": [map_name(r) for r in rows if r[column] > 0 >= r[default]],
                "improves": [map_name(r) for r in rows if r[default] > 0 and r[column] >= IMPROVED * r[default]],
                "lower": [map_name(r) for r in rows if r[column] < r[default] / IMPROVED],
            }
    default = {STRATEGY_OF[s]: sum(r[f"{labels[0]}{s} best_loss"] > 0 for r in rows) for s in compared}
    medians = {label: _medians(rows, label, compared) for label in labels}
    seconds = {label: _search_seconds(run, common, maps[0], screen_of) for label, run in zip(labels, results)}
    report = {"searches": labels, "maps": len(rows), "default_maps_with_oip": default, "medians": medians,
              "precursor_seconds": seconds, "finer": finer}  # fmt: skip
    return report | {"per_map": rows}, images


def maps_that_matter(found):
    """The maps of a `compare_searches` report where a finer search matters, as (layer, map): those a finer
    search recovers, in map order, then those it improves, the largest gain over the default first."""
    labels, rows = found["searches"], {(r["layer"], r["map"]): r for r in found["per_map"]}
    plain = [found["finer"][label]["precursor"] for label in labels[1:]]
    recovered = {name for f in plain for name in f["recovers"]}
    improved = {name for f in plain for name in f["improves"]} - recovered

    def gain(row):
        return max(row[f"{label} best_loss"] for label in labels[1:]) / row[f"{labels[0]} best_loss"]

    first = [key for key, row in rows.items() if map_name(row) in recovered]
    return first + sorted((key for key, row in rows.items() if map_name(row) in improved),
                          key=lambda key: -gain(rows[key]))  # fmt: skip


def _medians(rows, label, compared):
    """A search's median best loss per strategy compared, and its median best screen score where it screened."""
    columns = {STRATEGY_OF[s]: f"{label}{s} best_loss" for s in compared} | {"screen_best": f"{label} screen_best"}
    return {name: float(np.median([r[column] for r in rows])) for name, column in columns.items() if column in rows[0]}


def _search_seconds(run, keys, wildcards, screen_of):
    """A run's precursor seconds over the maps `keys`: its screens' and its scorings'."""
    layers = {key[0] for key in keys}
    screens = sum(screen_of(run, layer).seconds for layer in layers if screen_of(run, layer) is not None)
    scorings = sum(Scoring.load(run(paths.SCORING, **wildcards[key])).seconds for key in keys)
    return {"screen": screens, "scoring": scorings}


def score_prediction(ascent, precursor, scores, sample=200, top=64, steps=1200):
    """How well a pattern's precursor score (`scores`: every pattern's, as the exhaustive scoring wrote them)
    predicts its loss after `steps` of full ascent, for the map of `ascent` (a `MapAscent`): the Spearman
    rank correlation over `sample` patterns that activate the map, one from each of `sample` equal slices of
    their score ranking, and over the `precursor.keep` seeds; and, of the `top` best-scored patterns all
    climbed, how many of the best `keep` after the full ascent the seeds are, and the best loss among them."""
    from scipy.stats import spearmanr

    from . import patterns, selection

    def final_losses(indices):
        coarse = patterns.coarse_patterns(indices, precursor.grid, precursor.levels)
        return ascent.run(patterns.upscale(coarse, ascent.input_shape), steps)[2]

    live = np.flatnonzero(scores > 0)
    if not len(live):
        raise ValueError("no pattern activates this map: its scores say nothing about the full ascent")
    ranked = live[np.argsort(scores[live], kind="stable")]
    rng = np.random.default_rng(0)  # the same sample every time
    chosen = np.array([rng.choice(part) for part in np.array_split(ranked, min(sample, len(ranked)))], np.int64)
    best = selection.top_patterns(scores, top)
    sampled, climbed = final_losses(chosen), final_losses(best)
    keep = precursor.keep
    final_top = set(best[selection.best_first(best, climbed, keep)].tolist())
    return {
        "patterns_activating": len(live),
        "sample": len(chosen),
        "spearman_sample": float(spearmanr(scores[chosen], sampled).statistic) if len(chosen) > 2 else None,
        "spearman_seeds": float(spearmanr(scores[best[:keep]], climbed[:keep]).statistic),
        f"seeds_among_best_{keep}_of_top_{top}": len(final_top & set(best[:keep].tolist())),
        "best_loss_seeds": float(climbed[:keep].max()),
        f"best_loss_top_{top}": float(climbed.max()),
        "scores_sample": scores[chosen].tolist(),
        "losses_sample": sampled.tolist(),
    }
