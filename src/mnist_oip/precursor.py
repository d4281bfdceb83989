"""The blog's precursor run: score every grid pattern by a few ascent steps, streamed in batches."""

import time

import numpy as np

from . import patterns
from .storage import atomic_path


def score_patterns(ascent, grid, levels, steps, batch_size, scores_path, log=print):
    """Write the loss of every pattern, after `steps` ascent steps from it, to `scores_path` (.npy, float32).

    Patterns are generated batch by batch from their index, so memory does not grow with their number;
    the scores go straight to a memory-mapped file.
    """
    count = patterns.pattern_count(grid, levels)
    log(f"{ascent.label}: scoring {count} patterns ({len(levels)} levels on a {grid}x{grid} grid), {steps} steps each")
    start = time.perf_counter()
    with atomic_path(scores_path, ".npy") as tmp:
        scores = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(count,))
        reported = 0
        for first in range(0, count, batch_size):
            indices = np.arange(first, min(first + batch_size, count))
            images = patterns.upscale(patterns.coarse_patterns(indices, grid, levels))
            _, _, scores[indices] = ascent.run(images, steps)
            done = indices[-1] + 1
            if done - reported >= count / 10 or done == count:
                rate = done * steps / (time.perf_counter() - start)
                log(f"{ascent.label}: {done}/{count} patterns scored, {rate:,.0f} image-steps/s")
                reported = done
        scores.flush()
        del scores
    return time.perf_counter() - start
