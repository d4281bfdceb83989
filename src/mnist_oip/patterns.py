"""Start images: the precursor's grid patterns, enumerated by index, and multi-scale random starts.

Images have the CNN's input shape (height, width, channels), the blog's (28, 28, 1) unless a model says
otherwise; grey patterns are repeated over colour channels.
"""

import itertools
import math

import numpy as np

from .architecture import BLOG_INPUT

LEVEL_TOLERANCE = 1e-6  # a grey value this near a level is that level


def pattern_count(grid, levels):
    """levels ** (grid * grid), as an exact Python int."""
    return len(levels) ** (grid * grid)


def distinct_count(grid, levels):
    """How many distinct images the patterns make, as an exact Python int.

    Standardization makes a pattern the same image as any pattern an increasing affine change of its grey
    values turns it into: a pattern is told apart only by which cells share a value and the shape of the set
    of values it uses. So the count sums, over the number k of values used, the ways to lay k ranked values
    on the cells (onto) times the shapes of k-sets of levels (k-subsets up to increasing affine maps).
    """
    cells = grid * grid
    shapes = {1: 1}
    for k in range(2, len(levels) + 1):
        shapes[k] = len({_shape(subset) for subset in itertools.combinations(sorted(levels), k)})
    return sum(_onto(cells, k) * shapes[k] for k in shapes)


def _shape(values):
    low, high = values[0], values[-1]
    return tuple(round((v - low) / (high - low), 9) for v in values)


def _onto(n, k):
    """The number of maps of n cells onto k values."""
    return sum((-1) ** j * math.comb(k, j) * (k - j) ** n for j in range(k + 1))


def digits_of(indices, grid, levels):
    """Patterns number `indices` as (n, grid * grid) level numbers: the index's base-len(levels) digits, cell
    by cell, the least significant first."""
    indices = np.asarray(indices, dtype=np.int64)
    powers = len(levels) ** np.arange(grid * grid, dtype=np.int64)
    return ((indices[:, None] // powers) % len(levels)).astype(np.uint8)


def index_of(coarse, levels):
    """The index of each grid pattern (n, grid, grid) of `levels`, or -1 where the grid has too many patterns
    to number in 64 bits."""
    coarse = np.asarray(coarse, np.float32)
    cells = coarse[0].size if len(coarse) else 0
    if len(levels) ** cells > np.iinfo(np.int64).max:
        return np.full(len(coarse), -1, np.int64)
    digits = np.abs(coarse.reshape(len(coarse), -1, 1) - np.asarray(levels, np.float32)).argmin(axis=2)
    return (digits * len(levels) ** np.arange(cells, dtype=np.int64)).sum(axis=1)


def canonical(digits, levels):
    """Each pattern's representative (n, cells) among the patterns that make the same image: of those an
    increasing affine change of grey values reaches (`distinct_count`), the one of the lowest index."""
    digits = np.asarray(digits, np.uint8)
    grey = np.asarray(levels, np.float64)
    values = grey[digits]
    low, high = values.min(axis=1, keepdims=True), values.max(axis=1, keepdims=True)
    unit = (values - low) / np.where(high > low, high - low, 1.0)
    best = np.where(high > low, digits, 0).astype(np.uint8)  # flat patterns: all the first level
    for a, b in itertools.combinations(np.sort(grey), 2):  # the lowest value to a, the highest to b
        moved = a + unit * (b - a)
        nearest = np.abs(moved[..., None] - grey).argmin(axis=-1).astype(np.uint8)
        fits = (np.abs(grey[nearest] - moved) <= LEVEL_TOLERANCE).all(axis=1) & (high > low)[:, 0]
        best = np.where((fits & _lower_index(nearest, best))[:, None], nearest, best)
    return best


def _lower_index(a, b):
    """Per row: whether the pattern of digits `a` has a lower index than `b` (the last cell most significant)."""
    differs = a != b
    last = differs.shape[1] - 1 - np.argmax(differs[:, ::-1], axis=1)
    rows = np.arange(len(a))
    return differs.any(axis=1) & (a[rows, last] < b[rows, last])


def distinct_indices(count, grid, levels, batch_size, distinct=True):
    """The pattern indices 0..count-1 in batches of `batch_size` (the last may be smaller): with `distinct`
    only each image's representative (`canonical`), else all of them. Memory is bounded by the batch."""
    if not distinct:
        for first in range(0, count, batch_size):
            yield np.arange(first, min(first + batch_size, count))
        return
    pending, held = [], 0
    for first in range(0, count, batch_size):
        indices = np.arange(first, min(first + batch_size, count))
        digits = digits_of(indices, grid, levels)
        kept = indices[(canonical(digits, levels) == digits).all(axis=1)]
        pending.append(kept)
        held += len(kept)
        if held >= batch_size:
            joined = np.concatenate(pending)
            yield joined[:batch_size]
            pending, held = [joined[batch_size:]], held - batch_size
    rest = np.concatenate(pending) if pending else np.zeros(0, np.int64)
    for first in range(0, len(rest), batch_size):
        yield rest[first : first + batch_size]


def coarse_patterns(indices, grid, levels):
    """Patterns number `indices` as (n, grid, grid) grey levels: the index's base-len(levels) digits, cell by cell.

    Cell (row, col) is digit row * grid + col, the least significant digit first.
    """
    return grey_of(digits_of(indices, grid, levels), grid, levels)


def grey_of(digits, grid, levels):
    """Patterns given as level numbers (n, grid * grid) as (n, grid, grid) grey levels."""
    return np.asarray(levels, np.float32)[np.asarray(digits)].reshape(-1, grid, grid)


def upscale(coarse, shape=BLOG_INPUT):
    """Coarse images, (n, gh, gw) grey or (n, gh, gw, channels), to (n, *shape) by bicubic interpolation,
    grey repeated over the channels, each image standardized on its own.

    Runs on the Keras backend, so on the accelerator where there is one, and inside a compiled function.
    A flat pattern becomes all zeros: told by its cells, which are equal exactly, not by the interpolated
    image, whose round-off some backends' standard deviation lifts above any threshold.
    """
    from keras import ops

    coarse = ops.convert_to_tensor(coarse, "float32")
    if len(coarse.shape) == 3:
        coarse = ops.expand_dims(coarse, -1)
    varies = ops.max(coarse, axis=(1, 2, 3), keepdims=True) > ops.min(coarse, axis=(1, 2, 3), keepdims=True)
    images = ops.image.resize(coarse, shape[:2], interpolation="bicubic", data_format="channels_last")
    if coarse.shape[-1] != shape[2]:
        images = ops.repeat(images, shape[2], axis=-1)
    return ops.where(varies, standardize_each(images), 0.0)


def standardize_each(images):
    """Each image to mean 0 and standard deviation 1 (0 where the image is flat)."""
    from keras import ops

    mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    std = ops.std(images, axis=(1, 2, 3), keepdims=True)
    return ops.where(std > 1e-6, (images - mean) / ops.maximum(std, 1e-6), 0.0)


def random_starts(count, scales, seed, shape=BLOG_INPUT):
    """`count` images of uniform noise (each channel its own) on the length scales `scales` (px), summed,
    upscaled and standardized.

    A scale of s px puts independent noise values s px apart from one edge of the image to the other
    (`noise_points`): the image's own side, the largest scale, is one fluctuation across it."""
    rng = np.random.default_rng(seed)
    total = 0.0
    for scale in scales:
        points = [noise_points(n, scale) for n in shape[:2]]
        noise = rng.uniform(size=(count, *points, shape[2])).astype(np.float32)
        total = total + upscale(noise, shape)
    return standardize_each(total)


def noise_points(side, scale):
    """Noise values along a side of `side` px for a length scale of `scale` px: both ends and every `scale`
    px between them, at least 2, so that every scale varies across the image."""
    return int(np.ceil((side - 1) / scale)) + 1
