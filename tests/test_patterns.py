import importlib.util
import itertools
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from mnist_oip import patterns

LEVELS = [0.2, 0.5, 0.8]


@pytest.mark.parametrize(
    "grid, levels, count", [(1, LEVELS, 3), (2, [0.1, 0.9], 16), (3, LEVELS, 19683), (2, [0.0, 0.3, 0.6, 1.0], 256)]
)
def test_enumeration_covers_every_assignment_once(grid, levels, count):
    assert patterns.pattern_count(grid, levels) == count
    coarse = patterns.coarse_patterns(np.arange(count), grid, levels)
    assert coarse.shape == (count, grid, grid)
    assert set(np.unique(coarse)) <= set(np.float32(levels))
    assert len({c.tobytes() for c in coarse}) == count


def test_pattern_values_are_the_index_digits():
    # 3-level digits of 5 = 12 in base 3, least significant first: cells 0 and 1 get levels 2 and 1.
    coarse = patterns.coarse_patterns([5], 3, LEVELS)[0]
    expected = np.full(9, 0.2, np.float32)
    expected[:2] = [0.8, 0.5]
    np.testing.assert_array_equal(coarse.ravel(), expected)
    last = patterns.coarse_patterns([3**9 - 1], 3, LEVELS)[0]
    assert np.all(last == np.float32(0.8))


def test_chunks_agree_with_one_pass():
    whole = patterns.coarse_patterns(np.arange(81), 2, LEVELS)
    parts = np.concatenate(
        [patterns.coarse_patterns(np.arange(i, min(i + 10, 81)), 2, LEVELS) for i in range(0, 81, 10)]
    )
    np.testing.assert_array_equal(whole, parts)


def test_upscale_is_bicubic_and_standardized():
    coarse = patterns.coarse_patterns(np.arange(81), 2, LEVELS)
    images = keras.ops.convert_to_numpy(patterns.upscale(coarse))
    assert images.shape == (81, 28, 28, 1)
    flat = coarse.reshape(81, -1).std(axis=1) == 0
    assert np.all(images[flat] == 0), "a flat pattern has no contrast and standardizes to zeros"
    varied = images[~flat]
    np.testing.assert_allclose(varied.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(varied.std(axis=(1, 2, 3)), 1, atol=1e-4)
    # Smooth, not blocky, and a brighter square has a brighter center, in every pattern.
    assert all(len(np.unique(image)) > 4 for image in varied)
    centers = images[:, [7, 7, 21, 21], [7, 21, 7, 21], 0]
    levels = coarse.reshape(81, 4)
    brighter = levels[:, :, None] > levels[:, None, :]
    assert np.all((centers[:, :, None] > centers[:, None, :])[brighter])


FLAT = """
import numpy as np
from mnist_oip import patterns
coarse = np.stack([np.full((3, 3), level, np.float32) for level in (0.2, 0.5, 0.8)])
print(float(np.abs(np.asarray(patterns.upscale(coarse))).max()))
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_a_flat_pattern_is_zeros_on_every_backend(backend):
    # JAX's standard deviation of a constant image is up to 6e-6, not 0: the pattern's cells decide.
    env = os.environ | {"KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed here")
    done = subprocess.run([sys.executable, "-c", FLAT], capture_output=True, text=True, env=env, check=False,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "0.0", done.stderr[-2000:]


def test_random_starts_are_seeded_and_standardized():
    a = keras.ops.convert_to_numpy(patterns.random_starts(4, [28, 14, 7, 4], seed=[0, 3]))
    b = keras.ops.convert_to_numpy(patterns.random_starts(4, [28, 14, 7, 4], seed=[0, 3]))
    c = keras.ops.convert_to_numpy(patterns.random_starts(4, [28, 14, 7, 4], seed=[0, 4]))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    np.testing.assert_allclose(a.std(axis=(1, 2, 3)), 1, atol=1e-4)


def test_every_scale_alone_fluctuates_and_longer_scales_are_smoother():
    steps = []
    for scale in (28, 14, 7, 4, 1):
        images = keras.ops.convert_to_numpy(patterns.random_starts(6, [scale], seed=1))
        np.testing.assert_allclose(images.std(axis=(1, 2, 3)), 1, atol=1e-4)  # not blank, as one noise cell was
        steps.append(np.abs(np.diff(images, axis=2)).mean())  # mean change between neighbouring columns
    assert all(a < b for a, b in itertools.pairwise(steps)), steps


def test_the_image_side_is_one_fluctuation_across_it():
    assert [patterns.noise_points(28, scale) for scale in (28, 14, 7, 4, 1)] == [2, 3, 5, 8, 28]
    assert patterns.noise_points(32, 32) == 2 and patterns.noise_points(36, 7) == 6


@pytest.mark.parametrize(
    "grid, levels",
    [(2, LEVELS), (3, LEVELS), (2, [0.2, 0.35, 0.5, 0.65, 0.8]), (2, [0.1, 0.2, 0.4, 0.8]), (3, [0.1, 0.3, 0.9])],
)
def test_the_distinct_images_are_counted_exactly(grid, levels):
    count = patterns.pattern_count(grid, levels)
    digits = patterns.digits_of(np.arange(count), grid, levels)
    images = patterns.upscale(patterns.grey_of(digits, grid, levels))
    representatives = patterns.canonical(digits, levels)
    rows = {r.tobytes() for r in representatives}
    assert len(rows) == patterns.distinct_count(grid, levels)
    # a pattern makes its representative's image, and representatives make different images
    same = patterns.upscale(patterns.grey_of(representatives, grid, levels))
    np.testing.assert_allclose(images, same, atol=1e-5)
    if grid == 2:
        unique = np.unique(representatives, axis=0)
        flat = np.asarray(patterns.upscale(patterns.grey_of(unique, grid, levels))).reshape(len(unique), -1)
        gaps = np.linalg.norm(flat[:, None] - flat[None], axis=2) + np.eye(len(unique)) * 1e9
        assert gaps.min() > 0.1


def test_the_blog_grids_distinct_images():
    assert patterns.distinct_count(3, LEVELS) == 18661  # 3^9 - 2 * 2^9 + 2: two-level layouts and flat ones merge
    assert patterns.distinct_count(7, LEVELS) == 3**49 - 2 * 2**49 + 2


def test_distinct_indices_stream_each_image_once_in_full_batches():
    batches = list(patterns.distinct_indices(81, 2, LEVELS, batch_size=10))
    assert all(len(b) == 10 for b in batches[:-1]) and 0 < len(batches[-1]) <= 10
    indices = np.concatenate(batches)
    digits = patterns.digits_of(indices, 2, LEVELS)
    assert len(indices) == patterns.distinct_count(2, LEVELS) and (np.diff(indices) > 0).all()
    np.testing.assert_array_equal(patterns.canonical(digits, LEVELS), digits)
    everything = np.concatenate(list(patterns.distinct_indices(81, 2, LEVELS, 10, distinct=False)))
    np.testing.assert_array_equal(everything, np.arange(81))


def test_index_of_numbers_patterns_as_the_enumeration_does():
    indices = np.array([0, 5, 19682, 777])
    np.testing.assert_array_equal(patterns.index_of(patterns.coarse_patterns(indices, 3, LEVELS), LEVELS), indices)
    assert (patterns.index_of(np.full((2, 7, 7), 0.5, np.float32), LEVELS) == -1).all()  # 3^49: past 64 bits
