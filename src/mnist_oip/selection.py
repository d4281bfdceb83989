"""Seed selection: the best-scoring precursor patterns, found in one streaming pass."""

import numpy as np


def best_first(indices, values, keep):
    """Positions of the `keep` best entries: highest value first, ties to the lower index, NaN lowest."""
    return np.lexsort((indices, -np.nan_to_num(values, nan=-np.inf)))[:keep]


def top_patterns(scores, keep, chunk_size=1 << 20):
    """Indices of the `keep` highest scores, best first (in the order of `best_first`).

    `scores` may be a memory-mapped file: it is read `chunk_size` values at a time, keeping a running top.
    """
    best = np.empty(0, np.int64)
    best_values = np.empty(0, np.float32)
    for first in range(0, len(scores), chunk_size):
        chunk = np.asarray(scores[first : first + chunk_size], np.float32)
        indices = np.concatenate([best, np.arange(first, first + len(chunk))])
        values = np.concatenate([best_values, chunk])
        order = best_first(indices, values, keep)
        best, best_values = indices[order], values[order]
    return best
