"""The blog's precursor run: score every grid pattern by a few ascent steps, streamed in batches.

Two strategies: `exhaustive` gives every pattern `steps` steps; `halving` (successive halving) gives every
pattern `halving_steps[0]` steps, keeps the best `halving_keep` share, takes those on to `halving_steps[1]`
steps from their pattern, and so on; the last round's survivors reach the full `steps`. A round takes its
survivors on from where the last round left them (the ascent is deterministic, so that is the same as
starting again from the pattern), unless it asks for fewer steps than the last: then it starts again.
"""

import math
import time

import numpy as np

from . import patterns, selection, storage
from .results import Scoring

log = storage.LOGGER.info


def rounds(count, precursor):
    """[(patterns scored, steps from the pattern)] of each round of the strategy."""
    if precursor.strategy == "exhaustive":
        return [(count, precursor.steps)]
    plan, alive = [], count
    for steps in precursor.halving_steps:
        plan.append((alive, steps))
        alive = math.ceil(alive * precursor.halving_keep)
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


def survivor_bytes(count, precursor, image_shape=patterns.SHAPE):
    """Memory that holds the images of the patterns going on to the next round, at most (twice the largest
    round after the first: the running top keeps up to that many before it prunes)."""
    plan = rounds(count, precursor)
    largest = max((n for n, _ in plan[1:]), default=0)
    return 2 * largest * math.prod(image_shape) * 4


def score_patterns(ascent, precursor, batch_size, scores_path):
    """Write the score of every pattern to `scores_path` (.npy, float32): its loss after the last round it
    reached, NaN for patterns that halving dropped before the last round. Returns what it did, a `Scoring`.

    Patterns are generated batch by batch from their index and scores go straight to a memory-mapped
    file whose space is reserved first, so memory does not grow with the number of patterns; halving
    keeps the images of the patterns that go on, to take them on from there.
    """
    grid, levels, count = precursor.grid, precursor.levels, precursor.count
    plan = rounds(count, precursor)
    log(
        f"{ascent.label}: {count} patterns ({len(levels)} levels on a {grid}x{grid} grid), {precursor.strategy}: "
        + ", then ".join(f"{n} to {s} steps" for n, s in plan)
        + f" = {image_steps(count, precursor)} image-steps"
    )
    start = time.perf_counter()
    with storage.atomic_path(scores_path, ".npy") as tmp:
        scores = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(count,))
        storage.reserve(tmp, scores.offset + scores.nbytes)
        alive, images, done = None, None, 0  # every pattern, from its grid pattern
        for number, (n, steps) in enumerate(plan):
            if number:
                scores[:] = np.nan
            going_on = plan[number + 1][0] if number + 1 < len(plan) else 0
            starts = images if steps >= done else None
            round_ = _Round(ascent, scores, grid, levels, batch_size, start)
            alive, images = round_.score(alive, starts, n, _steps_to_go(steps, done), steps, going_on)
            done = steps
        scores.flush()
        del scores
    seconds = time.perf_counter() - start
    return Scoring(precursor.strategy, count, image_steps(count, precursor), seconds)


class _Round:
    def __init__(self, ascent, scores, grid, levels, batch_size, start):
        self.ascent, self.scores, self.grid, self.levels = ascent, scores, grid, levels
        self.batch_size, self.start = batch_size, start

    def score(self, alive, starts, n, steps, total_steps, going_on):
        """Score `n` patterns (`alive`, or all) by `steps` more steps from `starts` (or from their grid
        patterns); return the indices and images of the best `going_on`, in index order."""
        best = _RunningTop(going_on)
        reported, began = 0, time.perf_counter()
        for first in range(0, n, self.batch_size):
            last = min(first + self.batch_size, n)
            indices = np.arange(first, last) if alive is None else alive[first:last]
            if starts is None:
                coarse = patterns.coarse_patterns(indices, self.grid, self.levels)
                images = patterns.upscale(coarse, self.ascent.input_shape)
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
