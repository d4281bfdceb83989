"""The blog's CNN: its layers as the blog builds them, the same weights from the same seed, training that
learns and training that diverges."""

import keras
import numpy as np
import pytest

from mnist_oip import blog_cnn
from mnist_oip.architecture import CONV_LAYERS


def test_the_blogs_layers_and_shapes():
    cnn = blog_cnn.build_cnn()
    assert cnn.input_shape == (None, 28, 28, 1) and cnn.output_shape == (None, 10)
    assert [cnn.get_layer(name).output.shape[1:] for name in CONV_LAYERS] == [(26, 26, 32), (11, 11, 64), (3, 3, 128)]
    assert cnn.get_layer("dense").units == 70


def test_the_same_seed_gives_the_same_weights():
    weights = []
    for seed in (5, 5, 6):
        keras.utils.set_random_seed(seed)
        weights.append(blog_cnn.build_cnn((4, 4, 4), 8).get_weights()[0])
    np.testing.assert_array_equal(weights[0], weights[1])
    assert not np.array_equal(weights[0], weights[2])


def test_training_that_diverges_stops_with_epoch_and_loss():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 64)
    cnn = blog_cnn.build_cnn((4, 4, 4), 8)
    with pytest.raises(blog_cnn.TrainingError, match=r"training diverged: loss (nan|inf) after epoch 1"):
        blog_cnn.train(cnn, x, y, x, y, epochs=3, batch_size=16, learning_rate=1e6, momentum=0.9, lr_decay=1.0)


def test_training_learns(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, 256)
    x = np.zeros((256, 28, 28, 1), "float32")
    x[np.arange(256), 2 * y + 3, 5, 0] = 4.0  # each class lights its own pixel
    keras.utils.set_random_seed(0)
    cnn = blog_cnn.build_cnn((4, 8, 8), 16, 0)
    history, accuracy = blog_cnn.train(cnn, x, y, x, y, epochs=8, batch_size=32, learning_rate=0.02, momentum=0.9,
                                    lr_decay=1.0)  # fmt: skip
    assert history["loss"][-1] < history["loss"][0] and accuracy > 0.5
