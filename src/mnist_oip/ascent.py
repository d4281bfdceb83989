"""Gradient ascent on the input, built from small parts as Lucid builds it, one compiled loop per Keras
backend, conv layer and style.

- The objective of an image: the mean activation of one map, or its pre-activation (`MapUnit.output`).
- The parameterization, what the ascent moves: the pixels, or the image's cosine spectrum scaled by
  1/frequency (`Spectrum`).
- Transforms at each step: a random shift, scale and rotation of the image (`Transforms`). They are drawn
  ahead in numpy, so every backend sees the same ones.
- Penalties: total variation and L2 of the image, and its likeness to the others of its batch (a diversity
  term), subtracted from the objective.
- `normalized_step`, the one update rule: the gradient divided by its root mean square per image, so the
  step length does not depend on the gradient's scale.

A `Style` chooses the parameterization, transforms and penalties; the plain style is the blog's ascent. `strategies` composes styles
and objectives into the strategies compared per map. The map's filter is an argument of the compiled loop,
not a constant in it: every map of a layer shares one compilation. `LayerAscent.screen` is the forward pass
alone, for every map of the layer at once: the precursor's screen.
"""

import dataclasses

import keras
import numpy as np
import scipy.fft

from . import map_units


class AscentError(RuntimeError):
    """The ascent produced NaN or inf."""


@dataclasses.dataclass(frozen=True)
class Style:
    """How images climb besides the objective: the transforms of each step (`jitter` px, `scale` as the largest
    relative change, `rotate` degrees), the penalties' weights (`diversity`: on the likeness of the images
    climbing in one batch), and the parameterization (pixels | fourier | bounded: every pixel kept in the
    data's range, `low` to `high` in standardized units, through a sigmoid)."""

    jitter: int = 0
    scale: float = 0.0
    rotate: float = 0.0
    total_variation: float = 0.0
    l2: float = 0.0
    diversity: float = 0.0
    parameterization: str = "pixels"
    low: float | None = None
    high: float | None = None

    @property
    def transforms(self):
        return bool(self.jitter or self.scale or self.rotate)


PLAIN = Style()


def normalized_step(x, grad, step_size):
    """x + step_size * grad / rms(grad), the root mean square taken per image."""
    ops = keras.ops
    return x + step_size * grad / (ops.sqrt(ops.mean(ops.square(grad), axis=(1, 2, 3), keepdims=True)) + 1e-8)


class Transforms:
    """Random shifts, scalings and rotations about the image centre, as Keras' `affine_transform` takes them:
    per step and image a row of 8 numbers that maps output to input coordinates."""

    def __init__(self, style, shape):
        self.style, self.centre = style, ((shape[1] - 1) / 2, (shape[0] - 1) / 2)

    def draw(self, rng, steps, count):
        """(steps, count, 8) float32: integer shifts up to `jitter` px, scales in 1 ± `scale`, angles up to
        ± `rotate` degrees, each uniform."""
        s = self.style
        shift = rng.integers(-s.jitter, s.jitter + 1, size=(steps, count, 2))
        factor = rng.uniform(1 - s.scale, 1 + s.scale, size=(steps, count))
        angle = np.deg2rad(rng.uniform(-s.rotate, s.rotate, size=(steps, count)))
        cos, sin = np.cos(angle) / factor, np.sin(angle) / factor
        cx, cy = self.centre
        ox, oy = cx + shift[..., 0], cy + shift[..., 1]  # where the centre lands
        rows = [cos, sin, cx - cos * ox - sin * oy, -sin, cos, cy + sin * ox - cos * oy, 0 * cos, 0 * cos]
        return np.stack(rows, axis=-1).astype(np.float32)

    @staticmethod
    def apply(images, rows):
        return keras.ops.image.affine_transform(images, rows, "bilinear", "nearest", data_format="channels_last")


class Spectrum:
    """The fourier parameterization: an image is its orthonormal 2-D cosine transform (the real Fourier basis of
    its mirrored extension), each coefficient divided by its frequency's weight 1/max(f, f_min), normalized to
    root mean square 1. Gradient steps then favour low frequencies, as Lucid's decorrelated space does."""

    def __init__(self, shape):
        height, width = shape[:2]
        self.rows, self.columns = (scipy.fft.dct(np.eye(n), norm="ortho", axis=0).astype(np.float32) for n in shape[:2])
        fy, fx = np.meshgrid(np.arange(height) / (2 * height), np.arange(width) / (2 * width), indexing="ij")
        weight = 1 / np.maximum(np.hypot(fy, fx), 1 / (2 * max(height, width)))
        self.weight = (weight / np.sqrt(np.mean(weight**2)))[..., None].astype(np.float32)

    def image(self, params):
        return keras.ops.einsum("uh,nuvc,vw->nhwc", self.rows, params * self.weight, self.columns)

    def params(self, images):
        return keras.ops.einsum("uh,nhwc,vw->nuvc", self.rows, images, self.columns) / self.weight


def total_variation(x):
    """Per image: the mean absolute difference of neighbouring pixels, down and across."""
    ops = keras.ops
    return ops.mean(ops.abs(x[:, 1:] - x[:, :-1]), axis=(1, 2, 3)) + ops.mean(
        ops.abs(x[:, :, 1:] - x[:, :, :-1]), axis=(1, 2, 3)
    )


def likeness(x):
    """Per image: its mean cosine similarity to the other images of the batch (centred, flattened)."""
    ops = keras.ops
    flat = ops.reshape(x, (ops.shape(x)[0], -1))
    flat = flat - ops.mean(flat, axis=1, keepdims=True)
    unit = flat / ops.sqrt(ops.sum(ops.square(flat), axis=1, keepdims=True) + 1e-12)  # a flat image: 0, no NaN
    others = ops.maximum(ops.cast(ops.shape(x)[0], "float32") - 1, 1.0)
    return (ops.sum(ops.matmul(unit, ops.transpose(unit)), axis=1) - 1) / others


def _bounded(low, high):
    """The bounded parameterization's (to_params, to_image): image = low + (high - low) * sigmoid(params), so
    every pixel stays within the data's range; a start is first clipped a hair inside it."""
    ops, span = keras.ops, high - low

    def to_params(x):
        share = ops.clip((x - low) / span, 1e-3, 1 - 1e-3)
        return ops.log(share / (1 - share))

    return to_params, lambda p: low + span * ops.sigmoid(p)


def _objective(features, unit, style, shape):
    """The compiled loop's parts for a style: (to_params, to_image, objective), where objective(params, kernel,
    bias, pre_activation, rows) gives each image's loss and the total the step climbs (the losses' sum less
    the penalties; the image transformed by `rows` where given)."""
    ops = keras.ops
    spectrum = Spectrum(shape) if style.parameterization == "fourier" else None
    to_params = spectrum.params if spectrum else (lambda x: x)
    to_image = spectrum.image if spectrum else (lambda p: p)
    if style.parameterization == "bounded":
        to_params, to_image = _bounded(style.low, style.high)

    def objective(params, kernel, bias, pre_activation, rows=None):
        x = to_image(params)
        seen = x if rows is None else Transforms.apply(x, rows)
        loss = ops.mean(unit.output(features(seen), kernel, bias, pre_activation), axis=(1, 2, 3))
        total = ops.sum(loss)
        if style.total_variation:
            total = total - style.total_variation * ops.sum(total_variation(x))
        if style.l2:
            total = total - style.l2 * ops.sum(ops.mean(ops.square(x), axis=(1, 2, 3)))
        if style.diversity:
            total = total - style.diversity * ops.sum(likeness(x))
        return loss, total

    return to_params, to_image, objective


class LayerAscent:
    """The compiled ascent for every map of one conv layer of `cnn` in a `Style`; `map(index)` gives one map's.
    Images are standardized; with an `InputScale` `scale` they enter the model as mean + std * image."""

    def __init__(self, cnn, layer_name, step_size, precision="float32", scale=None, style=PLAIN):
        self.layer, self.style = layer_name, style
        self.input_shape = tuple(cnn.input_shape[1:])
        self.unit = map_units.map_unit(cnn, layer_name)
        self.transforms = Transforms(style, self.input_shape) if style.transforms else None
        backend = keras.backend.backend()
        if backend not in _BACKENDS:
            raise NotImplementedError(f"no ascent step for the Keras backend {backend!r}; use tensorflow or jax")
        features_of, loop, screen = _BACKENDS[backend]
        body = map_units.layer_body(cnn, layer_name, precision, scale)
        features = features_of(body)
        parts = _objective(features, self.unit, style, self.input_shape)
        self._run, self._losses, self._run_function = loop(*parts, float(step_size))
        self._screen = screen(features, self.unit, self.input_shape)
        self.one_at_a_time = map_units.body_lock(cnn, body)  # a residual block, say, on TensorFlow

    @property
    def maps(self):
        return self.unit.maps

    def map(self, map_index, pre_activation=False):
        return MapAscent(self, map_index, pre_activation)

    def screen(self, coarse):
        """Coarse grid patterns (n, grid, grid), upscaled as `patterns.upscale` does, through the layer: each
        map's mean activation and mean pre-activation, two float32 arrays (n, maps). Forward only."""
        with self.one_at_a_time:
            post, pre = (keras.ops.convert_to_numpy(a) for a in self._screen(np.asarray(coarse, np.float32)))
        if not (np.isfinite(post).all() and np.isfinite(pre).all()):
            raise AscentError(f"{self.layer}: a screen activation is NaN or inf")
        return post, pre


class MapAscent:
    """One map's ascent: `run(images, steps)` -> (final images, loss curve (steps, n), final losses (n,)).
    Where the style transforms the images, `run` takes a numpy Generator `rng` that draws them."""

    def __init__(self, layer_ascent, map_index, pre_activation=False):
        self.index = map_index
        self.kernel, self.bias = layer_ascent.unit.map_filter(map_index)
        self.pre_activation = pre_activation
        self.input_shape = layer_ascent.input_shape
        self.label = f"map {map_index} of {layer_ascent.layer}" + (" (pre-activation)" if pre_activation else "")
        self._layer = layer_ascent

    def losses(self, images):
        """Each image's loss, untransformed."""
        with self._layer.one_at_a_time:
            return keras.ops.convert_to_numpy(self._layer._losses(images, self.kernel, self.bias, self.pre_activation))

    def run(self, images, steps, rng=None):
        if steps == 0:
            final = self.losses(images)
            curve = np.zeros((0, len(final)), np.float32)
        else:
            transforms = self._layer.transforms
            rows = None if transforms is None else transforms.draw(rng, steps, len(images))
            with self._layer.one_at_a_time:
                result = self._layer._run(images, self.kernel, self.bias, steps, self.pre_activation, rows)
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


def _tensorflow_features(body):
    return lambda x: body(x, training=False)


def _tensorflow_screen(features, unit, shape):
    import tensorflow as tf

    return tf.function(_layer_means(features, unit, shape), reduce_retracing=True)


def _jax_features(body):
    """x -> body(x) as a pure function of x, the body's weights fixed in it (what JAX compiles)."""
    trainable = [v.value for v in body.trainable_variables]
    non_trainable = [v.value for v in body.non_trainable_variables]

    def features(x):
        return body.stateless_call(trainable, non_trainable, x, training=False)[0]

    return features


def _jax_screen(features, unit, shape):
    import jax

    return jax.jit(_layer_means(features, unit, shape))


def _tensorflow_loop(to_params, to_image, objective, step_size):
    import tensorflow as tf

    # One step as a function of its own, called from the loop, not inlined into it. Inlined, the loop's body
    # is a graph with a cycle, and whether oneDNN's max-pool gradient replaces TensorFlow's generic one (about
    # 8 times slower on the blog CNN's first pooling) depends on where the rewrite pass happens to enter that
    # cycle: the same code ran at 8,000 or at 12,500 image-steps/s from one process to the next. The step's
    # own graph has no cycle, so its pooling gradients are oneDNN's every time; both kernels give the same bits.
    @tf.function(reduce_retracing=True, experimental_attributes={"_noinline": True})
    def step(params, kernel, bias, pre_activation, row):
        with tf.GradientTape() as tape:
            tape.watch(params)
            loss, total = objective(params, kernel, bias, pre_activation, row)
        return normalized_step(params, tape.gradient(total, params), step_size), loss

    @tf.function(reduce_retracing=True)
    def run(x, kernel, bias, steps, pre_activation, rows):
        params = to_params(x)
        curve = tf.TensorArray(tf.float32, size=steps)
        for i in tf.range(steps):
            params, loss = step(params, kernel, bias, pre_activation, None if rows is None else rows[i])
            curve = curve.write(i, loss)
        return to_image(params), curve.stack(), objective(params, kernel, bias, pre_activation)[0]

    @tf.function(reduce_retracing=True)
    def losses(x, kernel, bias, pre_activation):
        return objective(to_params(x), kernel, bias, pre_activation)[0]

    def tensors(*arrays):
        return (None if a is None else tf.convert_to_tensor(a, tf.float32) for a in arrays)

    return (
        lambda x, kernel, bias, steps, pre, rows: run(
            *tensors(x, kernel, bias), tf.constant(steps, tf.int32), bool(pre), *tensors(rows)
        ),
        lambda x, kernel, bias, pre: losses(*tensors(x, kernel, bias), bool(pre)),
        run,
    )


def _jax_loop(to_params, to_image, objective, step_size):
    import functools

    import jax
    import jax.numpy as jnp

    gradient = jax.grad(lambda *args: objective(*args)[::-1], has_aux=True)

    @functools.partial(jax.jit, static_argnums=(3, 4))
    def run(x, kernel, bias, steps, pre_activation, rows):
        def step(params, row):
            grad, loss = gradient(params, kernel, bias, pre_activation, row)
            return normalized_step(params, grad, step_size), loss

        params, curve = jax.lax.scan(step, to_params(x), rows, length=steps)
        return to_image(params), curve, objective(params, kernel, bias, pre_activation)[0]

    @functools.partial(jax.jit, static_argnums=3)
    def losses(x, kernel, bias, pre_activation):
        return objective(to_params(x), kernel, bias, pre_activation)[0]

    def arrays(*values):
        return (None if a is None else jnp.asarray(a, jnp.float32) for a in values)

    return (
        lambda x, kernel, bias, steps, pre, rows: run(*arrays(x, kernel, bias), int(steps), bool(pre), *arrays(rows)),
        lambda x, kernel, bias, pre: losses(*arrays(x, kernel, bias), bool(pre)),
        run,
    )


_BACKENDS = {  # per Keras backend: (the body as a function of the image, the compiled loop, the screen)
    "tensorflow": (_tensorflow_features, _tensorflow_loop, _tensorflow_screen),
    "jax": (_jax_features, _jax_loop, _jax_screen),
}
