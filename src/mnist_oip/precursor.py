"""The blog's precursor run: score every grid pattern by a few ascent steps, streamed in batches.

Two strategies: `exhaustive` gives every pattern `steps` steps; `halving` (successive halving) gives every
pattern `halving_steps[0]` steps, keeps the best `halving_keep` share, takes those on to `halving_steps[1]`
steps from their pattern, and so on; the last round's survivors reach the full `steps`. A round takes its
survivors on from where the last round left them (the ascent is deterministic, so that is the same as
starting again from the pattern), unless it asks for fewer steps than the last: then it starts again.

A first round of 0 steps is the forward pass alone, and every map of a layer sees the same patterns: one
`screen_patterns` pass through the layer ranks them for all its maps at once, and each map's scoring takes
its share of them on (`score_patterns(..., screened=...)`). A pattern that leaves a map at 0 everywhere has
no gradient and never rises, so the screen drops only patterns that rank below the live ones; a map that no
pattern activates is ranked and climbed by its pre-activation, the warm start's signal, instead.
"""

import math
import time

import numpy as np

from . import patterns, selection, storage
from .results import Scoring, Screen

log = storage.LOGGER.info


def rounds(count, precursor):
    """[(patterns scored, steps from the pattern)] of each round of the strategy, for `count` patterns searched.
    The guided search is a first round of 0 steps that passes `guided_pass_on` patterns on."""
    if precursor.strategy == "exhaustive":
        return [(count, precursor.steps)]
    plan, alive, first = [], count, 0
    if precursor.guided:
        plan, alive, first = [(count, 0)], precursor.guided_pass_on, 1
    for number, steps in enumerate(precursor.halving_steps[first:], start=first):
        plan.append((alive, steps))
        alive = math.ceil(alive * precursor.kept_share(number))
    return [*plan, (alive, precursor.steps)]


def image_steps(count, precursor):
    """The ascent steps, summed over patterns, that the strategy spends."""
    total, done = 0, 0
    for n, steps in rounds(count, precursor):
        total += n * _steps_to_go(steps, done)
        done = steps
    return total


def _steps_to_go(steps, done):
    """Steps a round adds to where the last left its survivors, or all of them when it starts again."""
    return steps - done if steps >= done else steps


def survivor_bytes(count, precursor, image_shape):
    """Memory that holds the images of the patterns going on to the next round, at most (twice the largest
    round after the first: the running top keeps up to that many before it prunes)."""
    plan = rounds(count, precursor)
    largest = max((n for n, _ in plan[1:]), default=0)
    return 2 * largest * math.prod(image_shape) * 4


def screen_patterns(layer_ascent, precursor, batch_size):
    """The forward screen of every pattern for every map of the layer: a `Screen` with, per map, the
    patterns that go on to halving's second round. Memory is bounded per map, not per pattern."""
    grid, levels, count = precursor.grid, precursor.levels, precursor.searched
    keep = rounds(count, precursor)[1][0]
    label = f"{layer_ascent.layer} screen"
    log(f"{label}: {count} {'distinct ' * precursor.distinct}patterns ({len(levels)} levels on a {grid}x{grid} "
        f"grid) through {layer_ascent.maps} maps, the best {keep} of each go on")  # fmt: skip
    activation, pre_activation = (selection.ColumnTop(layer_ascent.maps, keep) for _ in range(2))
    start = reported = time.perf_counter()
    done = 0
    for indices in patterns.distinct_indices(precursor.count, grid, levels, batch_size, precursor.distinct):
        post, pre = layer_ascent.screen(patterns.coarse_patterns(indices, grid, levels))
        activation.add(indices, post)
        pre_activation.add(indices, pre)
        done, now = done + len(indices), time.perf_counter()
        if now - reported >= 60 or done == count:
            log(f"{label}: {done}/{count} patterns, {now - start:.1f} s, {done / (now - start):.0f}/s")
            reported = now
    indices, scores = activation.result()
    dead = scores[:, 0] <= 0  # not one pattern activates the map
    pre_indices, pre_scores = pre_activation.result()
    indices[dead], scores[dead] = pre_indices[dead], pre_scores[dead]
    if dead.any():
        log(f"{label}: no pattern activates maps {np.flatnonzero(dead).tolist()}: ranked by pre-activation")
    return Screen(layer_ascent.layer, count, indices, scores, dead, time.perf_counter() - start)


def score_patterns(ascent, precursor, batch_size, scores_path, screened=None, candidates=None):
    """Write the score of every pattern to `scores_path` (.npy, float32): its loss after the last round it
    reached, NaN for patterns that halving dropped before the last round (and, with `distinct`, for patterns
    that make the same image as a lower-numbered one). Returns what it did, a `Scoring`.

    Where the first round is the layer's screen, `screened` holds the indices it passes on for this map,
    and scoring starts at the second round. The guided search's screen passes on `candidates`, grid patterns
    (n, grid, grid): then the scores are theirs, in their order.

    Patterns are generated batch by batch from their index and scores go straight to a memory-mapped
    file whose space is reserved first, so memory does not grow with the number of patterns; halving
    keeps the images of the patterns that go on, to take them on from there.
    """
    grid, levels, searched = precursor.grid, precursor.levels, precursor.searched
    source = _Source(precursor, batch_size, candidates)
    plan = rounds(searched, precursor)
    if precursor.screens != (screened is not None) or precursor.guided != (candidates is not None):
        raise ValueError("scoring takes the screen's patterns on exactly where the first round is the screen, and "
                         "the guided search's candidates exactly where it searched")  # fmt: skip
    log(
        f"{ascent.label}: {searched} {'distinct ' * precursor.distinct}patterns ({len(levels)} levels on a "
        f"{grid}x{grid} grid), {precursor.strategy}: "
        + ", then ".join(f"{n} to {s} steps" for n, s in plan)
        + (" (the first round: the layer's screen)" if screened is not None else "")
        + f" = {image_steps(searched, precursor)} image-steps"
    )
    start = time.perf_counter()
    with storage.atomic_path(scores_path, ".npy") as tmp:
        scores = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(source.count,))
        storage.reserve(tmp, scores.offset + scores.nbytes)
        # A pattern that halving drops before the last round has no score, NaN; each round blanks what the
        # round before it scored, so the file is written through once, not once per round.
        scores[:] = np.nan
        scored = None if screened is None else np.arange(0)  # the patterns the last round scored (None: all)
        alive, images, done = screened, None, 0  # every pattern, or the screen's, from its grid pattern
        for number, (n, steps) in enumerate(plan):
            if number == 0 and screened is not None:
                continue
            if number:
                scores[slice(None) if scored is None else scored] = np.nan
            scored = alive
            going_on = plan[number + 1][0] if number + 1 < len(plan) else 0
            starts = images if steps >= done else None
            round_ = _Round(ascent, scores, source, start)
            alive, images = round_.score(alive, starts, n, _steps_to_go(steps, done), steps, going_on)
            done = steps
        scores.flush()
        del scores
    seconds = time.perf_counter() - start
    objective = "pre_activation" if ascent.pre_activation else "activation"
    return Scoring(precursor.strategy, precursor.count, image_steps(searched, precursor), seconds, objective, grid,
                   list(levels), precursor.steps, precursor.distinct)  # fmt: skip


class _Source:
    """The patterns a scoring numbers: the enumeration's (`count` of them, by index) or the guided search's
    candidates (by their place in its list)."""

    def __init__(self, precursor, batch_size, candidates=None):
        self.precursor, self.batch_size, self.candidates = precursor, batch_size, candidates
        self.count = precursor.count if candidates is None else len(candidates)

    def coarse(self, numbers):
        if self.candidates is None:
            return patterns.coarse_patterns(numbers, self.precursor.grid, self.precursor.levels)
        return self.candidates[numbers]

    def batches(self):
        """Every pattern's number (each distinct image's alone, with `distinct`), in batches."""
        if self.candidates is not None:
            return (np.arange(f, min(f + self.batch_size, self.count)) for f in range(0, self.count, self.batch_size))
        p = self.precursor
        return patterns.distinct_indices(self.count, p.grid, p.levels, self.batch_size, p.distinct)


class _Round:
    def __init__(self, ascent, scores, source, start):
        self.ascent, self.scores, self.source, self.start = ascent, scores, source, start

    def score(self, alive, starts, n, steps, total_steps, going_on):
        """Score `n` patterns (`alive`, or all) by `steps` more steps from `starts` (or from their grid
        patterns); return the indices and images of the best `going_on`, in index order."""
        best = _RunningTop(going_on)
        reported, began, size = 0, time.perf_counter(), self.source.batch_size
        batches = self.source.batches() if alive is None else (alive[f : f + size] for f in range(0, n, size))
        last = 0
        for indices in batches:
            first, last = last, last + len(indices)
            if starts is None:
                images = patterns.upscale(self.source.coarse(indices), self.ascent.input_shape)
            else:
                images = starts[first:last]
            moved, _, self.scores[indices] = self.ascent.run(images, steps)
            best.add(indices, np.asarray(self.scores[indices]), moved)
            if last - reported >= n / 10 or last == n:
                now = time.perf_counter()
                log(f"{self.ascent.label}: {last}/{n} patterns scored at {total_steps} steps, "
                    f"{now - self.start:.1f} s, {last / (now - began):.0f}/s")  # fmt: skip
                reported = last
        return best.result()


class _RunningTop:
    """The `keep` best (index, score, image) seen so far, in the order of `selection.best_first`. Pruned
    when it holds twice `keep`, so each entry is copied a few times at most."""

    def __init__(self, keep):
        self.keep, self.parts, self.size = keep, [], 0

    def add(self, indices, values, images):
        if self.keep:
            self.parts.append((np.asarray(indices), values, np.asarray(images)))
            self.size += len(indices)
            if self.size >= 2 * self.keep:
                self._prune()

    def _prune(self):
        indices, values, images = (np.concatenate(part) for part in zip(*self.parts))
        order = selection.best_first(indices, values, self.keep)
        self.parts, self.size = [(indices[order], values[order], images[order])], len(order)

    def result(self):
        if not self.keep:
            return None, None
        self._prune()
        indices, _, images = self.parts[0]
        order = np.argsort(indices)
        return indices[order], images[order]
