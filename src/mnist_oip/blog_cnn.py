"""The blog's CNN: Conv(32)-pool-Conv(64)-pool-Conv(128)-dense(70)-softmax(10), built and trained as the blog
trains it (SGD with momentum, a per-epoch learning-rate decay), seeded for the same weights on every run."""

import keras
import numpy as np

from . import storage
from .architecture import BLOG_INPUT, CONV_LAYERS


class TrainingError(RuntimeError):
    """Training diverged: the loss became NaN or inf."""


class _EpochLog(keras.callbacks.Callback):
    """Each epoch's figures to the job's log; a NaN or inf loss stops training with the epoch and the loss."""

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        storage.LOGGER.info(f"epoch {epoch + 1}: " + ", ".join(f"{k} {v:.4g}" for k, v in logs.items()))
        if not np.isfinite(logs.get("loss", 0.0)):
            raise TrainingError(
                f"training diverged: loss {logs['loss']} after epoch {epoch + 1}; lower training.learning_rate"
            )


def build_cnn(filters=(32, 64, 128), dense_units=70, l2=0.001):
    """Conv(32)-pool-Conv(64)-pool-Conv(128)-dense(70)-softmax(10), L2 on every kernel."""
    reg = keras.regularizers.L2(l2) if l2 else None
    conv = {"kernel_size": 3, "activation": "relu", "kernel_regularizer": reg}
    inputs = keras.Input(BLOG_INPUT, name="image")
    x = keras.layers.Conv2D(filters[0], name=CONV_LAYERS[0], **conv)(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(filters[1], name=CONV_LAYERS[1], **conv)(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    x = keras.layers.Conv2D(filters[2], name=CONV_LAYERS[2], **conv)(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(dense_units, activation="relu", kernel_regularizer=reg, name="dense")(x)
    outputs = keras.layers.Dense(10, activation="softmax", kernel_regularizer=reg, name="digit")(x)
    return keras.Model(inputs, outputs, name="mnist_cnn")


def seed_everything(seed):
    """Same seed, same weights and batches: seed every generator and, on the CPU, ask the backend for
    deterministic ops."""
    from . import backend

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow" and backend.deterministic():
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
        verbose=0,
        callbacks=[_EpochLog()],
    )
    _, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    return {key: [float(v) for v in values] for key, values in history.history.items()}, float(test_accuracy)
