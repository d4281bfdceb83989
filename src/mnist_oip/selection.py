"""Seed selection: the best-scoring precursor patterns."""

import numpy as np


def top_patterns(scores, keep):
    """Indices of the `keep` highest scores, best first; ties go to the lower index."""
    scores = np.asarray(scores)
    keep = min(keep, len(scores))
    candidates = np.argpartition(-scores, keep - 1)[:keep] if keep < len(scores) else np.arange(len(scores))
    threshold = scores[candidates].min()
    tied = np.flatnonzero(scores >= threshold)  # all patterns at the cut, so the tie rule holds
    order = np.lexsort((tied, -scores[tied]))
    return tied[order][:keep]
