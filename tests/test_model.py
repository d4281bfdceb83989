"""Saved models: loaded, checked to take images and to have layers with maps, and their class probabilities."""

import keras
import numpy as np
import pytest

from mnist_oip import blog_cnn, model


def test_the_graph_is_each_layers_calls_and_the_layers_whose_outputs_they_take():
    inputs = keras.Input((8, 8, 1), name="image")
    shared = keras.layers.Conv2D(1, 1, name="shared")
    left, right = keras.layers.Conv2D(1, 3, name="left")(inputs), keras.layers.Conv2D(1, 3, name="right")(inputs)
    summed = keras.layers.Add(name="sum")([shared(left), shared(right)])
    functional = keras.Model(inputs, summed)
    found = model.graph(functional)
    assert found["shared"] == (2, ["left", "right"]) and found["sum"] == (1, ["shared", "shared"])
    assert found["left"] == (1, ["image"])
    chain = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(1, 3, name="a"), keras.layers.ReLU(name="b")])
    assert model.graph(chain) == {"a": (1, ["input"]), "b": (1, ["a"])}


def test_wrong_model_files_are_named(tmp_path):
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"not a model")
    with pytest.raises(model.ModelError, match=r"garbage.keras: cannot be loaded as a Keras model"):
        model.load_model(garbage)
    inputs = keras.Input((32, 32, 3))
    other = keras.Model(inputs, keras.layers.Conv2D(4, 3, name="edges")(inputs))
    other.save(tmp_path / "other.keras")
    loaded = model.load_model(tmp_path / "other.keras")
    model.check_image_model(loaded, "other.keras")  # a colour CNN of another size is fine
    with pytest.raises(
        model.ModelError, match=r"'conv3' is not a layer with maps of the model; its layers with maps are"
    ):
        model.map_layer(loaded, "conv3")
    flat = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    with pytest.raises(
        model.ModelError, match=r"flat.keras: the model takes inputs of shape \(None, 784\), not images"
    ):
        model.check_image_model(flat, "flat.keras")
    no_conv = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    with pytest.raises(model.ModelError, match=r"dense.keras: the model has no layer with maps"):
        model.check_image_model(no_conv, "dense.keras")


def test_class_probabilities_from_softmax_or_logits():
    x = np.random.default_rng(0).normal(size=(5, 8, 8, 1)).astype("float32")
    logits = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    probabilities = model.class_probabilities(logits, x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(probabilities.argmax(axis=1), keras.ops.convert_to_numpy(logits(x)).argmax(axis=1))
    softmax = blog_cnn.build_cnn((4, 4, 4), 8)
    np.testing.assert_allclose(model.class_probabilities(softmax, np.zeros((2, 28, 28, 1), "float32"), batch_size=1),
                               keras.ops.convert_to_numpy(softmax(np.zeros((2, 28, 28, 1), "float32"))), rtol=1e-6)  # fmt: skip
