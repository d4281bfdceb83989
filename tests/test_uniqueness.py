"""OIPs compared up to translation: shifted copies are one pattern, different images are not."""

import numpy as np
import pytest

from mnist_oip import uniqueness


def blob(row, col, size=28, channels=1):
    image = np.zeros((size, size, channels))
    image[row : row + 5, col : col + 3] = 1.0
    return image


def test_a_shifted_copy_is_the_same_pattern_within_max_shift():
    # centred images: the background below the mean shifts with the blob, hence just under 1
    assert uniqueness.shifted_similarity(blob(5, 5), blob(8, 9), max_shift=4) > 0.99
    assert uniqueness.shifted_similarity(blob(5, 5), blob(8, 9), max_shift=3) < 0.7  # a 4 px shift is beyond 3


def test_contrast_does_not_matter_and_a_flat_image_matches_nothing():
    assert uniqueness.shifted_similarity(blob(5, 5), 3 * blob(5, 5) + 2, max_shift=0) == pytest.approx(1.0)
    assert uniqueness.shifted_similarity(blob(5, 5), np.ones((28, 28, 1)), max_shift=2) == 0.0


def test_groups_link_shifted_copies_and_keep_others_apart():
    other = np.zeros((28, 28, 1))
    other[10, :] = 1.0  # a line: unlike the blob at any shift
    labels, similarity = uniqueness.group([blob(5, 5), other, blob(6, 7), blob(20, 20)], 0.9, max_shift=3)
    assert labels[0] == labels[2] and len(set(labels.tolist())) == 3
    assert labels[3] != labels[0], "the third blob is 15 px away: beyond max_shift"
    assert similarity[0, 2] == similarity[2, 0] > 0.99 and similarity[0, 1] < 0.5


def test_colour_images_match_in_every_channel_at_once():
    red, shifted_red = blob(5, 5, channels=3), blob(7, 6, channels=3)
    red[..., 1:] = shifted_red[..., 1:] = 0.0
    assert uniqueness.shifted_similarity(red, shifted_red, max_shift=2) > 0.99
    green = np.roll(red, 1, axis=2)  # the same shape in another channel
    assert uniqueness.shifted_similarity(red, green, max_shift=2) < 0.5
