"""Dataset examples: the images that drive each map most, class profiles, and maps ordered by profile."""

import numpy as np

from mnist_oip import examples


def test_top_images_per_map_highest_first():
    activations = np.array([[0.1, 5.0], [0.9, 1.0], [0.5, 3.0], [0.9, 0.0]], np.float32)  # 4 images, 2 maps
    np.testing.assert_array_equal(examples.top_images(activations, 3), [[1, 3, 2], [0, 2, 1]])  # ties: lower first


def test_class_profiles_are_mean_activations_per_class():
    activations = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 4.0]], np.float32)
    labels = np.array([2, 2, 5])
    np.testing.assert_array_equal(examples.class_profiles(activations, labels, [2, 5]), [[2.0, 0.0], [0.0, 4.0]])


def test_maps_with_similar_profiles_sit_together():
    rng = np.random.default_rng(0)
    likes_one = np.eye(10)[1] + 0.05 * rng.uniform(size=(5, 10))
    likes_seven = 3 * np.eye(10)[7] + 0.05 * rng.uniform(size=(5, 10))  # another scale, the same shape
    profiles = np.empty((10, 10))
    profiles[0::2], profiles[1::2] = likes_one, likes_seven  # interleaved
    order = examples.similar_first(profiles)
    assert sorted(order) == list(range(10))
    sides = [set(order[:5].tolist()), set(order[5:].tolist())]
    assert {0, 2, 4, 6, 8} in sides and {1, 3, 5, 7, 9} in sides


def test_dead_maps_do_not_break_the_ordering():
    profiles = np.zeros((4, 10))
    profiles[0, 3] = 1.0
    assert sorted(examples.similar_first(profiles)) == [0, 1, 2, 3]


def test_layer_examples_keep_the_top_images_with_labels_and_activations():
    rng = np.random.default_rng(1)
    activations = rng.uniform(size=(30, 4)).astype(np.float32)
    images = rng.normal(size=(30, 28, 28, 1)).astype(np.float32)
    labels = rng.integers(0, 3, 30)
    found = examples.layer_examples("conv2", activations, images, labels, 5)
    assert found.top_indices.shape == (4, 5) and found.top_images.shape == (4, 5, 28, 28, 1)
    for m in range(4):
        best = np.argsort(-activations[:, m])[:5]
        np.testing.assert_array_equal(found.top_indices[m], best)
        np.testing.assert_array_equal(found.top_activations[m], activations[best, m])
        np.testing.assert_array_equal(found.top_labels[m], labels[best])
        np.testing.assert_array_equal(found.top_images[m], images[best])
    np.testing.assert_array_equal(found.classes, [0, 1, 2])
    assert found.profiles.shape == (4, 3)


def test_fewer_images_than_asked_for_gives_them_all():
    found = examples.layer_examples(
        "conv2", np.ones((3, 2), np.float32), np.zeros((3, 8, 8, 1)), np.array([0, 1, 1]), 9
    )
    assert found.top_indices.shape == (2, 3)


def test_labels_the_model_has_no_output_for_are_named(tmp_path):
    import keras
    import pytest

    from mnist_oip import data, jobs, settings

    cnn = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="c"), keras.layers.Flatten(),
                            keras.layers.Dense(3)])  # fmt: skip
    cnn.save(tmp_path / "own.keras")
    np.savez(tmp_path / "held_out.npz", x=np.zeros((4, 8, 8, 1), np.float32), y=np.array([0, 1, 2, 3]))
    with pytest.raises(data.DatasetError, match=r"held_out.npz: label 3 is not a class of the model, whose 3 outputs"):
        jobs.find_examples(cnn=tmp_path / "own.keras", layer="c", examples=settings.Examples(2),
                           out_examples=tmp_path / "examples.npz", held_out=tmp_path / "held_out.npz")  # fmt: skip
    assert not (tmp_path / "examples.npz").exists()
