"""Models of the shapes users build beside plain convs, for the tests of several modules."""

import importlib.util

import keras


def residual_model():
    """A residual block (a conv without an activation of its own, summed with its input, then a ReLU), a
    separable and a depthwise conv, and a concatenation: the shapes users build beside plain convs."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((28, 28, 1))
    a = keras.layers.Conv2D(4, 3, activation="relu", name="conv_a")(inputs)
    b = keras.layers.Conv2D(4, 3, padding="same", name="conv_b")(a)
    out = keras.layers.ReLU(name="out")(keras.layers.Add(name="add")([a, b]))
    x = keras.layers.SeparableConv2D(6, 3, activation="relu", name="separable")(out)
    x = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, activation="relu", name="depthwise")(x)
    x = keras.layers.Concatenate(name="joined")([x, x])
    return keras.Model(inputs, keras.layers.Dense(2, name="head")(keras.layers.Flatten()(x)))


CUSTOM_LAYER = """
import keras


@keras.saving.register_keras_serializable(package="mine")
class Doubled(keras.layers.Layer):
    def call(self, x):
        return 2.0 * x
"""


def custom_layer_model(folder):
    """A small CNN with a layer class of its own, defined in `folder`/layers.py, saved as `folder`/own.keras."""
    (folder / "layers.py").write_text(CUSTOM_LAYER)
    spec = importlib.util.spec_from_file_location("custom_test_layers", folder / "layers.py")
    layers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(layers)
    cnn = keras.Sequential([keras.Input((28, 28, 1)), layers.Doubled(name="doubled"),
                            keras.layers.Conv2D(4, 3, activation="relu", name="conv"), keras.layers.Flatten(),
                            keras.layers.Dense(2, name="head")])  # fmt: skip
    cnn.save(folder / "own.keras")
    return folder / "own.keras"
