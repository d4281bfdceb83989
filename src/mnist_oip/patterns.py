"""Start images: the precursor's grid patterns, enumerated by index, and multi-scale random starts."""

import numpy as np

SIZE = 28


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


def upscale(coarse, size=SIZE):
    """(n, g, g) coarse images to (n, size, size, 1) by bicubic interpolation, each standardized on its own.

    Runs on the Keras backend, so on the accelerator where there is one. A flat image becomes all zeros.
    """
    from keras import ops

    images = ops.image.resize(
        ops.convert_to_tensor(coarse[..., None], "float32"),
        (size, size),
        interpolation="bicubic",
        data_format="channels_last",
    )
    return standardize_each(images)


def standardize_each(images):
    """Each image to mean 0 and standard deviation 1 (0 where the image is flat)."""
    from keras import ops

    mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    std = ops.std(images, axis=(1, 2, 3), keepdims=True)
    return ops.where(std > 1e-6, (images - mean) / ops.maximum(std, 1e-6), 0.0)


def random_starts(count, scales, seed):
    """`count` images of uniform noise on the length scales `scales` (px), summed, upscaled and standardized."""
    rng = np.random.default_rng(seed)
    total = 0.0
    for scale in scales:
        cells = max(1, int(np.ceil(SIZE / scale)))
        total = total + upscale(rng.uniform(size=(count, cells, cells)).astype(np.float32))
    return standardize_each(total)
