"""The image conv: the first conv layer's output and gradient, computed its own way, and where it is used."""

import keras
import numpy as np
import pytest
from helpers import value_and_gradient

from mnist_oip import blog_cnn, image_conv, map_units


@pytest.mark.parametrize("channels", [1, 3])
def test_the_image_conv_has_the_layers_output_and_gradient(channels):
    keras.utils.set_random_seed(7)
    conv = keras.layers.Conv2D(5, (3, 2), activation="relu")
    images = keras.ops.convert_to_tensor(np.random.default_rng(0).normal(size=(4, 9, 8, channels)).astype("float32"))
    conv.build(images.shape)
    fast = image_conv.ImageConv(conv)
    weights = keras.ops.convert_to_tensor(np.random.default_rng(1).normal(size=(4, 7, 7, 5)).astype("float32"))
    gradients = []
    for layer in (conv, fast):
        out, gradient = value_and_gradient(layer, lambda out: keras.ops.sum(out * weights), images)
        gradients.append(gradient)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(out), keras.ops.convert_to_numpy(conv(images)))
    np.testing.assert_allclose(gradients[1], gradients[0], rtol=1e-5, atol=1e-6)
    assert np.abs(gradients[0]).max() > 0.1


def test_an_image_conv_that_reads_a_corner_crops_and_gives_the_rest_no_gradient():
    keras.utils.set_random_seed(3)
    conv = keras.layers.Conv2D(4, 3, activation="relu")
    images = keras.ops.convert_to_tensor(np.random.default_rng(2).normal(size=(2, 9, 8, 1)).astype("float32"))
    conv.build(images.shape)
    corner = image_conv.ImageConv(conv, reads=(7, 6))
    out, gradient = value_and_gradient(corner, lambda out: keras.ops.sum(out**2), images)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out), keras.ops.convert_to_numpy(conv(images[:, :7, :6])))
    assert corner.compute_output_shape((None, 9, 8, 1)) == (None, 5, 4, 4) and tuple(out.shape) == (2, 5, 4, 4)
    assert np.all(gradient[:, 7:] == 0) and np.all(gradient[:, :, 6:] == 0) and np.abs(gradient[:, :7, :6]).max() > 0


def test_only_a_plain_stride_1_valid_conv_becomes_an_image_conv():
    assert image_conv.ImageConv.fits(keras.layers.Conv2D(4, 3))
    for other in (keras.layers.Conv2D(4, 3, strides=2), keras.layers.Conv2D(4, 3, padding="same"),
                  keras.layers.Conv2D(4, 3, dilation_rate=2), keras.layers.DepthwiseConv2D(3)):  # fmt: skip
        assert not image_conv.ImageConv.fits(other)
    body = map_units.layer_body(blog_cnn.build_cnn(), "conv3")
    first = body.layers[1]
    assert isinstance(first, image_conv.ImageConv) and first.reads == (26, 26)  # conv3 sees the top-left 26x26 pixels
