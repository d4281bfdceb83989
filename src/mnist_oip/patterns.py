"""Start images: the precursor's grid patterns, enumerated by index, and multi-scale random starts.

Images have the CNN's input shape (height, width, channels), the blog's (28, 28, 1) unless a model says
otherwise; grey patterns are repeated over colour channels.
"""

import numpy as np

from .architecture import BLOG_INPUT


def pattern_count(grid, levels):
    """levels ** (grid * grid), as an exact Python int."""
    return len(levels) ** (grid * grid)


def coarse_patterns(indices, grid, levels):
    """Patterns number `indices` as (n, grid, grid) grey levels: the index's base-len(levels) digits, cell by cell.

    Cell (row, col) is digit row * grid + col, the least significant digit first.
    """
    indices = np.asarray(indices, dtype=np.int64)
    base = len(levels)
    powers = base ** np.arange(grid * grid, dtype=np.int64)
    digits = (indices[:, None] // powers) % base
    return np.asarray(levels, np.float32)[digits].reshape(-1, grid, grid)


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
