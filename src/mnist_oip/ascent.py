"""Normalized gradient ascent on the input, one compiled loop per Keras backend.

The loss of an image is the mean activation of the map model's single output channel. Each step adds
`step_size` times the gradient divided by its root mean square (per image), so the step length does not
depend on the gradient's scale.
"""

import keras
import numpy as np


class AscentError(RuntimeError):
    """The ascent produced NaN or inf."""


def configure_threads(threads):
    """Limit the backend's CPU threads to what the scheduler granted this job."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))


class Ascent:
    """`run(images, steps)` -> (final images, loss curve (steps, n), final losses (n,)), all numpy."""

    def __init__(self, map_model, step_size, label="map"):
        self.label = label
        backend = keras.backend.backend()
        if backend == "tensorflow":
            self._run, self._losses = _tensorflow_loop(map_model, float(step_size))
        elif backend == "jax":
            self._run, self._losses = _jax_loop(map_model, float(step_size))
        else:
            raise NotImplementedError(f"no ascent step for the Keras backend {backend!r}; use tensorflow or jax")

    def losses(self, images):
        return keras.ops.convert_to_numpy(self._losses(images))

    def run(self, images, steps):
        if steps == 0:
            final = self.losses(images)
            curve = np.zeros((0, len(final)), np.float32)
        else:
            images, curve, final = (keras.ops.convert_to_numpy(a) for a in self._run(images, steps))
        self._check(curve, final, steps)
        return images, curve, final

    def _check(self, curve, final, steps):
        bad = ~np.isfinite(curve).all(axis=1)
        if bad.any():
            raise AscentError(f"{self.label}: loss is NaN or inf at step {int(np.argmax(bad))} of {steps}")
        if not np.isfinite(final).all():
            raise AscentError(f"{self.label}: loss is NaN or inf after the last step ({steps})")


def ascend(post, pre, images, steps, warm_steps=0):
    """`steps` of ascent on the map (`post`), after `warm_steps` on its pre-activation (`pre`) where > 0.

    The pre-activation's gradient does not vanish where the ReLU output is 0 everywhere, so a warm start
    moves images that plain ascent cannot. Returns (OIPs, warm-start curve, curve, final losses).
    """
    if warm_steps:
        images, warm_curve, _ = pre.run(images, warm_steps)
    else:
        warm_curve = np.zeros((0, len(images)), np.float32)
    oips, curve, losses = post.run(images, steps)
    return oips, warm_curve, curve, losses


def _tensorflow_loop(map_model, step_size):
    import tensorflow as tf

    def losses(x):
        return tf.reduce_mean(tf.cast(map_model(x, training=False), tf.float32), axis=[1, 2, 3])

    @tf.function(reduce_retracing=True)
    def run(x, steps):
        curve = tf.TensorArray(tf.float32, size=steps)
        for i in tf.range(steps):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = losses(x)
                total = tf.reduce_sum(loss)
            grad = tape.gradient(total, x)
            rms = tf.sqrt(tf.reduce_mean(tf.square(grad), axis=[1, 2, 3], keepdims=True))
            x = x + step_size * grad / (rms + 1e-8)
            curve = curve.write(i, loss)
        return x, curve.stack(), losses(x)

    return (lambda x, steps: run(tf.convert_to_tensor(x, tf.float32), tf.constant(steps, tf.int32))), tf.function(
        losses
    )


def _jax_loop(map_model, step_size):
    import functools

    import jax
    import jax.numpy as jnp

    trainable = [v.value for v in map_model.trainable_variables]
    non_trainable = [v.value for v in map_model.non_trainable_variables]

    def losses(x):
        y, _ = map_model.stateless_call(trainable, non_trainable, x, training=False)
        return jnp.mean(y.astype(jnp.float32), axis=(1, 2, 3))

    def total(x):
        loss = losses(x)
        return jnp.sum(loss), loss

    gradient = jax.grad(total, has_aux=True)

    def step(x, _):
        grad, loss = gradient(x)
        rms = jnp.sqrt(jnp.mean(jnp.square(grad), axis=(1, 2, 3), keepdims=True))
        return x + step_size * grad / (rms + 1e-8), loss

    @functools.partial(jax.jit, static_argnums=1)
    def run(x, steps):
        x, curve = jax.lax.scan(step, x, None, length=steps)
        return x, curve, losses(x)

    return (lambda x, steps: run(jnp.asarray(x, jnp.float32), int(steps))), jax.jit(losses)
