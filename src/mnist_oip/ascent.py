"""Normalized gradient ascent on the input, one compiled loop per Keras backend and conv layer.

The loss of an image is the mean activation of one map. Each step adds `step_size` times the gradient
divided by its root mean square (per image), so the step length does not depend on the gradient's scale.
The map's filter is an argument of the compiled loop, not a constant in it: every map of a layer shares
one compilation, and one process serves every map's job without retracing. `LayerAscent.screen` is the
forward pass alone, for every map of the layer at once: the precursor's screen.
"""

import keras
import numpy as np

from . import model


class AscentError(RuntimeError):
    """The ascent produced NaN or inf."""


class LayerAscent:
    """The compiled ascent for every map of one conv layer of `cnn`; `map(index)` gives one map's. Images are
    standardized; with an `InputScale` `scale` they enter the model as mean + std * image."""

    def __init__(self, cnn, layer_name, step_size, precision="float32", scale=None):
        self.layer = layer_name
        self.input_shape = tuple(cnn.input_shape[1:])
        self.unit = model.map_unit(cnn, layer_name)
        body = model.layer_body(cnn, layer_name, precision, scale)

        def losses(x, kernel, bias, pre_activation):
            y = self.unit.output(body(x, training=False), kernel, bias, pre_activation)
            return keras.ops.mean(y, axis=(1, 2, 3))

        backend = keras.backend.backend()
        if backend == "tensorflow":
            self._run, self._losses, self._run_function = _tensorflow_loop(losses, float(step_size))
            self._screen = _tensorflow_screen(body, self.unit, self.input_shape)
        elif backend == "jax":
            self._run, self._losses, self._run_function = _jax_loop(body, self.unit, float(step_size))
            self._screen = _jax_screen(body, self.unit, self.input_shape)
        else:
            raise NotImplementedError(f"no ascent step for the Keras backend {backend!r}; use tensorflow or jax")

    @property
    def maps(self):
        return self.unit.maps

    def map(self, map_index, pre_activation=False):
        return MapAscent(self, map_index, pre_activation)

    def screen(self, coarse):
        """Coarse grid patterns (n, grid, grid), upscaled as `patterns.upscale` does, through the layer: each
        map's mean activation and mean pre-activation, two float32 arrays (n, maps). Forward only."""
        post, pre = (keras.ops.convert_to_numpy(a) for a in self._screen(np.asarray(coarse, np.float32)))
        if not (np.isfinite(post).all() and np.isfinite(pre).all()):
            raise AscentError(f"{self.layer}: a screen activation is NaN or inf")
        return post, pre


class MapAscent:
    """One map's ascent: `run(images, steps)` -> (final images, loss curve (steps, n), final losses (n,))."""

    def __init__(self, layer_ascent, map_index, pre_activation=False):
        self.kernel, self.bias = layer_ascent.unit.map_filter(map_index)
        self.pre_activation = pre_activation
        self.input_shape = layer_ascent.input_shape
        self.label = f"map {map_index} of {layer_ascent.layer}" + (" (pre-activation)" if pre_activation else "")
        self._layer = layer_ascent

    def losses(self, images):
        return keras.ops.convert_to_numpy(self._layer._losses(images, self.kernel, self.bias, self.pre_activation))

    def run(self, images, steps):
        if steps == 0:
            final = self.losses(images)
            curve = np.zeros((0, len(final)), np.float32)
        else:
            result = self._layer._run(images, self.kernel, self.bias, steps, self.pre_activation)
            images, curve, final = (keras.ops.convert_to_numpy(a) for a in result)
        self._check(curve, final, steps)
        return images, curve, final

    def _check(self, curve, final, steps):
        bad = ~np.isfinite(curve).all(axis=1)
        if bad.any():
            raise AscentError(f"{self.label}: loss is NaN or inf at step {int(np.argmax(bad))} of {steps}")
        if not np.isfinite(final).all():
            raise AscentError(f"{self.label}: loss is NaN or inf after the last step ({steps})")


def _layer_means(features, unit, shape):
    """coarse patterns -> (mean activation, mean pre-activation) of every map of `unit`, (n, maps) each."""
    from . import patterns

    def means(coarse):
        pre = unit.output(features(patterns.upscale(coarse, shape)), unit.kernel, unit.bias, True)
        return keras.ops.mean(unit.activation(pre), axis=(1, 2)), keras.ops.mean(pre, axis=(1, 2))

    return means


def _tensorflow_screen(body, unit, shape):
    import tensorflow as tf

    return tf.function(_layer_means(lambda x: body(x, training=False), unit, shape), reduce_retracing=True)


def _jax_features(body):
    """x -> body(x) as a pure function of x, the body's weights fixed in it (what JAX compiles)."""
    trainable = [v.value for v in body.trainable_variables]
    non_trainable = [v.value for v in body.non_trainable_variables]

    def features(x):
        return body.stateless_call(trainable, non_trainable, x, training=False)[0]

    return features


def _jax_screen(body, unit, shape):
    import jax

    return jax.jit(_layer_means(_jax_features(body), unit, shape))


def _tensorflow_loop(losses, step_size):
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def run(x, kernel, bias, steps, pre_activation):
        curve = tf.TensorArray(tf.float32, size=steps)
        for i in tf.range(steps):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = losses(x, kernel, bias, pre_activation)
                total = tf.reduce_sum(loss)
            grad = tape.gradient(total, x)
            rms = tf.sqrt(tf.reduce_mean(tf.square(grad), axis=[1, 2, 3], keepdims=True))
            x = x + step_size * grad / (rms + 1e-8)
            curve = curve.write(i, loss)
        return x, curve.stack(), losses(x, kernel, bias, pre_activation)

    compiled_losses = tf.function(losses, reduce_retracing=True)

    def as_tensors(x, kernel, bias):
        return (tf.convert_to_tensor(a, tf.float32) for a in (x, kernel, bias))

    return (
        lambda x, kernel, bias, steps, pre: run(*as_tensors(x, kernel, bias), tf.constant(steps, tf.int32), bool(pre)),
        lambda x, kernel, bias, pre: compiled_losses(*as_tensors(x, kernel, bias), bool(pre)),
        run,
    )


def _jax_loop(body, unit, step_size):
    import functools

    import jax
    import jax.numpy as jnp

    features = _jax_features(body)

    def losses(x, kernel, bias, pre_activation):
        return jnp.mean(unit.output(features(x), kernel, bias, pre_activation), axis=(1, 2, 3))

    def total(x, kernel, bias, pre_activation):
        loss = losses(x, kernel, bias, pre_activation)
        return jnp.sum(loss), loss

    gradient = jax.grad(total, has_aux=True)

    @functools.partial(jax.jit, static_argnums=(3, 4))
    def run(x, kernel, bias, steps, pre_activation):
        def step(x, _):
            grad, loss = gradient(x, kernel, bias, pre_activation)
            rms = jnp.sqrt(jnp.mean(jnp.square(grad), axis=(1, 2, 3), keepdims=True))
            return x + step_size * grad / (rms + 1e-8), loss

        x, curve = jax.lax.scan(step, x, None, length=steps)
        return x, curve, losses(x, kernel, bias, pre_activation)

    compiled_losses = jax.jit(losses, static_argnums=3)

    def as_arrays(x, kernel, bias):
        return (jnp.asarray(a, jnp.float32) for a in (x, kernel, bias))

    return (
        lambda x, kernel, bias, steps, pre: run(*as_arrays(x, kernel, bias), int(steps), bool(pre)),
        lambda x, kernel, bias, pre: compiled_losses(*as_arrays(x, kernel, bias), bool(pre)),
        run,
    )
