import numpy as np

from mnist_oip import uniqueness


def blob(row, col, size=28):
    y, x = np.mgrid[:size, :size]
    return np.exp(-((y - row) ** 2 + (x - col) ** 2) / 8.0)


def test_a_shifted_copy_is_the_same_pattern():
    a, shifted = blob(10, 10), blob(13, 8)
    assert uniqueness.shifted_similarity(a, shifted, max_shift=4) > 0.98
    assert uniqueness.shifted_similarity(a, shifted, max_shift=1) < 0.9, "beyond the allowed shift"
    assert uniqueness.shifted_similarity(a, 3 * a + 1, max_shift=0) > 0.999, "contrast and offset do not count"


def test_different_patterns_are_apart_and_flat_images_match_nothing():
    stripes = np.tile(np.sin(np.arange(28) / 2.0), (28, 1))
    assert uniqueness.shifted_similarity(blob(14, 14), stripes.T * stripes, max_shift=3) < 0.5
    assert uniqueness.shifted_similarity(blob(14, 14), np.ones((28, 28)), max_shift=3) == 0.0


def test_grouping_links_near_duplicates():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(28, 28))
    images = [blob(8, 8), blob(10, 11), noise, np.roll(noise, 2, axis=1), blob(20, 20) - blob(8, 20)]
    labels, similarity = uniqueness.group(images, threshold=0.9, max_shift=4)
    assert labels[0] == labels[1] and labels[2] == labels[3]
    assert len({labels[0], labels[2], labels[4]}) == 3
    assert np.allclose(similarity, similarity.T) and np.all(np.diag(similarity) == 1)
