"""The blog's precursor run: score every grid pattern by a few ascent steps, streamed in batches.

Two strategies: `exhaustive` gives every pattern `steps` steps; `halving` (successive halving) gives every
pattern `halving_steps[0]` steps, keeps the best `halving_keep` share, restarts those from their patterns
with `halving_steps[1]` steps, and so on; the last round's survivors get the full `steps`.
"""

import math
import time

import numpy as np

from . import patterns, selection
from .storage import atomic_path


def rounds(count, precursor):
    """[(patterns scored, steps each)] of each round of the strategy."""
    if precursor["strategy"] == "exhaustive":
        return [(count, precursor["steps"])]
    plan, alive = [], count
    for steps in precursor["halving_steps"]:
        plan.append((alive, steps))
        alive = math.ceil(alive * precursor["halving_keep"])
    return [*plan, (alive, precursor["steps"])]


def image_steps(count, precursor):
    """The ascent steps, summed over patterns, that the strategy spends."""
    return sum(n * steps for n, steps in rounds(count, precursor))


def score_patterns(ascent, precursor, batch_size, scores_path, log=print):
    """Write the score of every pattern to `scores_path` (.npy, float32): its loss after the last round it
    reached, NaN for patterns that halving dropped before the last round.

    Patterns are generated batch by batch from their index and scores go straight to a memory-mapped file,
    so memory does not grow with the number of patterns.
    """
    grid, levels = precursor["grid"], precursor["levels"]
    count = patterns.pattern_count(grid, levels)
    plan = rounds(count, precursor)
    log(
        f"{ascent.label}: {count} patterns ({len(levels)} levels on a {grid}x{grid} grid), {precursor['strategy']}: "
        + ", then ".join(f"{n} x {s} steps" for n, s in plan)
        + f" = {image_steps(count, precursor)} image-steps"
    )
    start = time.perf_counter()
    with atomic_path(scores_path, ".npy") as tmp:
        scores = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(count,))
        alive = None  # every pattern
        for number, (n, steps) in enumerate(plan):
            if number:  # halving: the best of the last round go on, from their patterns
                alive = np.sort(selection.top_patterns(scores, n))
                scores[:] = np.nan
            _score_round(ascent, scores, alive, n, steps, grid, levels, batch_size, start, log)
        scores.flush()
        del scores
    return time.perf_counter() - start


def _score_round(ascent, scores, alive, n, steps, grid, levels, batch_size, start, log):
    reported, began = 0, time.perf_counter()
    for first in range(0, n, batch_size):
        indices = np.arange(first, min(first + batch_size, n)) if alive is None else alive[first : first + batch_size]
        _, _, scores[indices] = ascent.run(patterns.upscale(patterns.coarse_patterns(indices, grid, levels)), steps)
        done = first + len(indices)
        if done - reported >= n / 10 or done == n:
            now = time.perf_counter()
            rate = done / (now - began)
            log(f"{ascent.label}: {done}/{n} patterns scored with {steps} steps, {now - start:.1f} s, {rate:.0f}/s")
            reported = done
