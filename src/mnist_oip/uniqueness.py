"""Are a map's OIPs one pattern? Compare them up to translation and group near-duplicates."""

import numpy as np
from scipy.signal import correlate2d
from scipy.sparse.csgraph import connected_components


def shifted_similarity(a, b, max_shift):
    """Maximum over shifts of up to `max_shift` px of the normalized cross-correlation of two images.

    Images are (height, width, channels); each is centred and scaled to unit norm, so 1 means identical up
    to that shift (and contrast).
    """
    a, b = (np.asarray(x, np.float64) for x in (a, b))
    a, b = a - a.mean(), b - b.mean()
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        return 0.0
    # `a` padded by max_shift on each side, correlated with `b` where they overlap fully: one value per
    # shift of up to max_shift px, index (max_shift, max_shift) the zero shift
    window = sum(correlate2d(np.pad(a[..., c], max_shift), b[..., c], mode="valid") for c in range(a.shape[-1]))
    return float(window.max() / norms)


def group(images, threshold, max_shift):
    """Group labels (0, 1, ...) of `images`: linked where their shifted similarity is at least `threshold`."""
    n = len(images)
    similarity = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            similarity[i, j] = similarity[j, i] = shifted_similarity(images[i], images[j], max_shift)
    _, labels = connected_components(similarity >= threshold, directed=False)
    return labels, similarity
