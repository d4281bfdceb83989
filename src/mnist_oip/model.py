"""The blog's CNN: build, train, load, and cut out one feature map as its own small model."""

import keras
import numpy as np


class ModelError(ValueError):
    """The model or the requested map does not fit what the workflow needs."""


def build_cnn(filters=(32, 64, 128), dense_units=70, l2=0.001):
    """Conv(32)-pool-Conv(64)-pool-Conv(128)-dense(70)-softmax(10), L2 on every kernel."""
    reg = keras.regularizers.L2(l2) if l2 else None
    conv = {"kernel_size": 3, "activation": "relu", "kernel_regularizer": reg}
    inputs = keras.Input((28, 28, 1), name="image")
    x = keras.layers.Conv2D(filters[0], name="conv1", **conv)(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(filters[1], name="conv2", **conv)(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    x = keras.layers.Conv2D(filters[2], name="conv3", **conv)(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(dense_units, activation="relu", kernel_regularizer=reg, name="dense")(x)
    outputs = keras.layers.Dense(10, activation="softmax", kernel_regularizer=reg, name="digit")(x)
    return keras.Model(inputs, outputs, name="mnist_cnn")


def seed_everything(seed):
    """Same seed, same weights and batches: seed every generator and ask the backend for deterministic ops."""
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def train(
    model,
    x_train,
    y_train,
    x_test,
    y_test,
    *,
    epochs,
    batch_size,
    learning_rate,
    momentum,
    lr_decay,
):
    """SGD with momentum and a per-epoch exponential learning-rate decay; returns history and test accuracy."""
    steps_per_epoch = int(np.ceil(len(x_train) / batch_size))
    schedule = keras.optimizers.schedules.ExponentialDecay(
        learning_rate, decay_steps=steps_per_epoch, decay_rate=lr_decay, staircase=True
    )
    model.compile(
        optimizer=keras.optimizers.SGD(schedule, momentum=momentum),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(x_test, y_test),
        shuffle=True,
        verbose=2,
    )
    _, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    return {key: [float(v) for v in values] for key, values in history.history.items()}, float(test_accuracy)


def load_model(path):
    """A saved `.keras` model, in safe mode (no arbitrary code from the file)."""
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises many kinds for a bad file
        raise ModelError(f"{path}: cannot be loaded as a Keras model ({err})") from err


def conv_layers(model):
    return [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def map_count(model, layer_name):
    return _conv_layer(model, layer_name).filters


def _conv_layer(model, layer_name):
    names = conv_layers(model)
    if layer_name not in names:
        raise ModelError(f"maps.layer: {layer_name!r} is not a Conv2D layer of the model; its conv layers are {names}")
    return model.get_layer(layer_name)


def map_model(model, layer_name, map_index, pre_activation=False, precision="float32"):
    """A model image -> one map of `layer_name`: the layers before it, then that single filter.

    Two savings over the full model, neither changing the result: only the target filter is computed, and
    the input is cropped to the pixels that reach the map at all (floor-mode pooling drops the border).
    With `pre_activation` the filter's activation is dropped (the convolution before the ReLU). With
    `precision` bfloat16 the convolutions compute in bfloat16 (weights and the image stay float32).
    """
    target = _conv_layer(model, layer_name)
    if not 0 <= map_index < target.filters:
        raise ModelError(f"map {map_index} does not exist: layer {layer_name!r} has maps 0..{target.filters - 1}")
    chain = model.layers[1 : model.layers.index(target)]
    inputs = keras.Input(model.input_shape[1:])
    x = inputs
    used = _used_input_extent(chain + [target], target.output.shape[1:3])
    if used is not None and used != tuple(model.input_shape[1:3]):
        size = model.input_shape[1:3]
        x = keras.layers.Cropping2D(((0, size[0] - used[0]), (0, size[1] - used[1])))(x)
    policy = "mixed_bfloat16" if precision == "bfloat16" else None
    for layer in chain:
        x = _with_policy(layer, policy)(x) if policy else layer(x)
    kernel, bias = target.get_weights()
    single = keras.layers.Conv2D(
        1,
        target.kernel_size,
        strides=target.strides,
        padding=target.padding,
        activation=None if pre_activation else target.activation,
        name=f"{layer_name}_map{map_index}",
        dtype=policy,
    )
    outputs = single(x)
    single.set_weights([kernel[..., map_index : map_index + 1], bias[map_index : map_index + 1]])
    return keras.Model(inputs, outputs)


def _with_policy(layer, policy):
    """A copy of `layer` with its weights that computes under the dtype `policy`."""
    copy = layer.__class__.from_config(layer.get_config() | {"dtype": policy})
    copy.build(layer.input.shape)
    copy.set_weights(layer.get_weights())
    return copy


def _used_input_extent(layers, output_size):
    """Rows and columns of the input that reach an output of `output_size`, for a chain of valid convs and
    pools; None where a layer pads or is of another kind."""
    size = list(output_size)
    for layer in reversed(layers):
        if isinstance(layer, keras.layers.Conv2D):
            window, strides, dilation = layer.kernel_size, layer.strides, layer.dilation_rate
        elif isinstance(layer, keras.layers.MaxPooling2D | keras.layers.AveragePooling2D):
            window, strides, dilation = layer.pool_size, layer.strides, (1, 1)
        else:
            return None
        if layer.padding != "valid":
            return None
        size = [(n - 1) * s + (w - 1) * d + 1 for n, s, w, d in zip(size, strides, window, dilation)]
    return tuple(size)


def check_architecture(model):
    """Refuse a model that does not take 28x28x1 images."""
    if tuple(model.input_shape[1:]) != (28, 28, 1):
        raise ModelError(f"the model takes inputs of shape {model.input_shape[1:]}, expected (28, 28, 1) MNIST images")
