"""A layer's maps as the ascent climbs them: the model's body up to the layer (`layer_body`) and what its maps
pass on (a Conv2D's `MapUnit`, another layer's `ChannelUnit`), and each image's mean activation of every map.
Which layers have maps, and the model's graph, are `model`'s (`model.map_layers`, `model.graph`); a layer or
map that does not fit raises `model.ModelError`."""

import contextlib
import dataclasses
import threading
import weakref

import keras
import numpy as np

from . import image_conv
from .model import ModelError, graph, in_batches, map_layer


def layer_body(model, layer_name, precision="float32", scale=None):
    """A model image -> the input of `layer_name`: the layers before it, on the input cropped to the pixels
    that reach the layer's output at all (floor-mode pooling drops the border), which changes no result.

    With `precision` bfloat16 these layers compute in bfloat16 (weights and the image stay float32). With an
    `InputScale` `scale`, the body takes standardized images and passes mean + std * image to the model.
    """
    target = map_layer(model, layer_name)
    if type(target) is not keras.layers.Conv2D:
        return _channel_body(model, target, precision, scale)
    before = model.layers[: model.layers.index(target)]  # a Sequential model lists no InputLayer
    chain = [layer for layer in before if not isinstance(layer, keras.layers.InputLayer)]
    inputs = keras.Input(model.input_shape[1:])
    x = _as_the_model_takes_them(inputs, scale)
    if not _is_chain(model, chain + [target]):  # branches (a residual sum, say): the model's own graph up to the layer
        if precision != "float32":
            raise ModelError(f"precision {precision}: the layers before {layer_name!r} branch; only float32 here")
        dtype = keras.backend.standardize_dtype(model.inputs[0].dtype)
        if not dtype.startswith(("float", "bfloat")):
            raise ModelError(
                f"the layers before {layer_name!r} branch, and the model takes {dtype} images, which no gradient "
                "passes: save it with a float32 input (keras.Input(..., dtype='float32'))"
            )
        up_to_layer = keras.Model(model.inputs, target.input, name=f"{layer_name}{GRAPH}")
        return keras.Model(inputs, up_to_layer(x), name=f"{layer_name}_input")
    used = _used_input_extent(chain + [target], target.output.shape[1:3])
    size = tuple(model.input_shape[1:3])
    crop = used if used is not None and used != size else None
    policy = "mixed_bfloat16" if precision == "bfloat16" else None
    on_image = not policy and bool(chain) and image_conv.ImageConv.fits(chain[0])
    if crop and not on_image:
        x = keras.layers.Cropping2D(((0, size[0] - crop[0]), (0, size[1] - crop[1])))(x)
    for number, layer in enumerate(chain):
        if policy:
            x = _with_policy(layer, policy)(x)
        elif number == 0 and on_image:
            x = image_conv.ImageConv(layer, reads=crop)(x)  # crops too, and its gradient pads straight to the image
        else:
            x = layer(x)
    return keras.Model(inputs, x, name=f"{layer_name}_input")


ELEMENTWISE = (keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.ELU)
# Layers that pass their input on unchanged at inference, where the ascent runs the model.
AT_INFERENCE_IDENTITY = (
    keras.layers.Dropout,  # SpatialDropout too
    keras.layers.GaussianDropout,
    keras.layers.GaussianNoise,
    keras.layers.AlphaDropout,
    keras.layers.ActivityRegularization,
    keras.layers.Identity,
)


class _Unit:
    """What the two kinds of unit share: a `kernel` whose last axis is the maps, a `bias` per map, an
    `activation` and the `layers` covered."""

    @property
    def maps(self):
        return self.kernel.shape[-1]

    @property
    def linear(self):
        """No non-linearity of its own: its output is summed with others (a residual block) or passed on as it is."""
        return self.activation is keras.activations.linear

    def map_filter(self, map_index):
        """Kernel and bias of one map (its last axis of one), float32 numpy."""
        if not 0 <= map_index < self.maps:
            raise ModelError(f"map {map_index} does not exist: layer {self.layers[0]!r} has maps 0..{self.maps - 1}")
        return self.kernel[..., map_index : map_index + 1], self.bias[map_index : map_index + 1]


@dataclasses.dataclass(frozen=True)
class MapUnit(_Unit):
    """What the maps of a conv layer pass on: the convolution, a BatchNormalization right after it folded into
    its kernel and bias, and the non-linearity that follows, the conv's own or an activation layer right after
    it, computed in float32 (`layers`: the layers it covers, with any that pass their input on unchanged at
    inference, like Dropout). Its pre-activation is the value before that non-linearity. A grouped conv's
    kernel is spread over all its input channels, zeros where a group does not read."""

    conv: object
    kernel: np.ndarray  # (height, width, channels, maps)
    bias: np.ndarray  # (maps,)
    activation: object
    layers: tuple

    def output(self, features, kernel, bias, pre_activation=False):
        """The maps of `kernel` and `bias` (one map's, or all) from the conv's input `features`; the filter is
        an argument, so one compiled function serves every map. float32 out; bfloat16 features convolve in
        bfloat16."""
        ops = keras.ops
        conv = self.conv
        y = ops.conv(features, ops.cast(kernel, features.dtype), conv.strides, conv.padding, "channels_last",
                     conv.dilation_rate)  # fmt: skip
        y = ops.cast(y, "float32") + bias
        return y if pre_activation else self.activation(y)


def map_unit(model, layer_name):
    """The unit whose output the maps of `layer_name` are: a Conv2D's `MapUnit`, another layer's `ChannelUnit`."""
    conv = map_layer(model, layer_name)
    if type(conv) is not keras.layers.Conv2D:
        return ChannelUnit.of(model, conv)
    kernel, bias = image_conv.conv_weights(conv)
    if conv.groups > 1:
        kernel = _ungrouped(kernel, conv.groups)
    layers, activation = [conv.name], conv.activation
    if activation is keras.activations.linear:
        after = _next_layer(model, conv, layers)
        if isinstance(after, keras.layers.BatchNormalization) and after.axis in (-1, 3):
            kernel, bias = _folded(after, kernel, bias)
            layers.append(after.name)
            after = _next_layer(model, after, layers)
        if isinstance(after, ELEMENTWISE):
            activation = _elementwise(after)
            layers.append(after.name)
        elif isinstance(after, keras.layers.PReLU):
            raise ModelError(
                f"layer {layer_name!r}: its maps pass through the PReLU {after.name!r}, whose slopes differ per map "
                "and place; the ascent takes an activation layer that treats every value alike (ReLU, LeakyReLU, "
                "ELU, Activation)"
            )
    return MapUnit(conv, kernel, bias, activation, tuple(layers))


@dataclasses.dataclass(frozen=True)
class ChannelUnit(_Unit):
    """The maps of a layer that is no Conv2D (another convolution, a residual block's Add, an activation or
    BatchNormalization layer): the channels of its output, each picked by a column of an identity `kernel`
    from its pre-activation (`layer_body` ends there), then its non-linearity: the layer's own activation, or
    the activation layer that takes its output (`layers`: the layers it covers), computed in float32. Without
    one, the maps are linear."""

    kernel: np.ndarray  # (channels, maps): the identity; one map's column picks that channel
    bias: np.ndarray  # (maps,): zeros
    activation: object
    layers: tuple

    @classmethod
    def of(cls, model, target):
        calls = graph(model)[target.name][0]
        if calls != 1:
            raise ModelError(
                f"maps.layer: {target.name!r} is called {calls} times in the model: its maps are not one output; "
                "give each call a layer of its own"
            )
        activation, layers = _channel_activation(model, target)
        channels = int(target.output.shape[-1])
        return cls(np.eye(channels, dtype="float32"), np.zeros(channels, "float32"), activation, layers)

    def output(self, features, kernel, bias, pre_activation=False):
        """The maps of `kernel` (one column, or the identity) of the pre-activation `features`: a channel picked
        exactly (its value times 1, plus zeros)."""
        y = keras.ops.matmul(keras.ops.cast(features, "float32"), kernel) + bias
        return y if pre_activation else self.activation(y)


def _channel_activation(model, target):
    """(the non-linearity a layer's maps pass through, the layers its unit covers): the layer's own activation
    where it has one; the layer itself where it is an activation layer; else the activation layer that takes its
    output (past the layers that change nothing at inference); else linear."""
    layers = [target.name]
    own = getattr(target, "activation", None)
    if isinstance(target, ELEMENTWISE):
        return _elementwise(target), tuple(layers)
    if callable(own) and own is not keras.activations.linear:
        return own, tuple(layers)
    after = _next_layer(model, target, layers)
    if isinstance(after, ELEMENTWISE):
        layers.append(after.name)
        return _elementwise(after), tuple(layers)
    return keras.activations.linear, tuple(layers)


def map_activations(model, layer_name, batch_size=256):
    """images -> each image's mean activation of every map of the layer `layer_name` (as its unit passes it
    on), (images, maps) float32, in batches of `batch_size`; built here, run by the caller."""
    unit, body = map_unit(model, layer_name), layer_body(model, layer_name)
    one_at_a_time = body_lock(model, body)

    def means(batch):
        with one_at_a_time:
            return keras.ops.mean(unit.output(body(batch, training=False), unit.kernel, unit.bias), axis=(1, 2))

    return lambda images: in_batches(means, images, batch_size).astype(np.float32)


GRAPH = "_graph"  # the name's end of a body's part that runs the model's own graph up to the layer


def runs_the_models_graph(body):
    """Whether a body (`layer_body`) runs the model's own graph, with its layers and their calls, rather than a
    chain of layers it calls itself."""
    return any(layer.name.endswith(GRAPH) for layer in body.layers)


_GRAPH_LOCKS = weakref.WeakKeyDictionary()  # model -> the lock its graph's bodies run under on TensorFlow

_GRAPH_LOCKS_LOCK = threading.Lock()


def body_lock(model, body):
    """What a body (`layer_body`) of `model` runs under: one call at a time (`graph_lock`) where it runs the
    model's own graph on TensorFlow, else nothing."""
    if keras.backend.backend() == "tensorflow" and runs_the_models_graph(body):
        return graph_lock(model)
    return contextlib.nullcontext()


def graph_lock(model):
    """The lock under which the bodies that run `model`'s own graph run, one call at a time: TensorFlow can
    crash (a segmentation fault) when two threads trace functions through such a graph at once."""
    with _GRAPH_LOCKS_LOCK:
        return _GRAPH_LOCKS.setdefault(model, threading.Lock())


def _elementwise(layer):
    """An activation layer's computation as a function: an `Activation` layer's own function, another's `call`;
    each computes in the dtype of its input (float32 here) and, unlike calling the layer, changes no state that
    jobs in other threads share."""
    return layer.activation if isinstance(layer, keras.layers.Activation) else layer.call


def _channel_body(model, target, precision, scale):
    """A model image -> the pre-activation of the layer `target`'s maps (`ChannelUnit`): the model's own graph
    up to the input of the activation layer `target`, or up to `target` with its own activation left out."""
    if precision != "float32":
        raise ModelError(f"precision {precision}: {target.name!r} is no Conv2D layer; only float32 there")
    if isinstance(target, ELEMENTWISE):
        end = target.input
    elif callable(getattr(target, "activation", None)) and target.activation is not keras.activations.linear:
        linear = _with_policy(target, None, activation="linear")
        end = linear(target.input)
    else:
        end = target.output
    graph_up_to = keras.Model(model.inputs, end, name=f"{target.name}{GRAPH}")
    inputs = keras.Input(model.input_shape[1:])
    return keras.Model(inputs, graph_up_to(_as_the_model_takes_them(inputs, scale)), name=f"{target.name}_input")


def _as_the_model_takes_them(x, scale):
    """Standardized images `x` as the model takes them: mean + std * x per channel, by an `InputScale`."""
    if scale is None or scale.identity:
        return x
    return keras.layers.Rescaling(list(scale.std), list(scale.mean), name="input_scale")(x)


def _ungrouped(kernel, groups):
    """A grouped conv's kernel (h, w, channels / groups, maps) as the plain kernel (h, w, channels, maps) of
    the same convolution: each group's maps read its own channels, zeros elsewhere."""
    height, width, per_group, maps = kernel.shape
    plain = np.zeros((height, width, per_group * groups, maps), kernel.dtype)
    out = maps // groups
    for g in range(groups):
        plain[:, :, g * per_group : (g + 1) * per_group, g * out : (g + 1) * out] = kernel[..., g * out : (g + 1) * out]
    return plain


def _next_layer(model, layer, passed):
    """The one layer of `model` that takes `layer`'s output, or None where none or several do; past the layers
    that pass their input on unchanged at inference (`AT_INFERENCE_IDENTITY`, a linear Activation), whose names
    go to `passed`."""
    consumers = {name for name, (_, sources) in graph(model).items() if layer.name in sources}
    after = model.get_layer(consumers.pop()) if len(consumers) == 1 else None
    unchanged = isinstance(after, AT_INFERENCE_IDENTITY) or (
        isinstance(after, keras.layers.Activation) and after.activation is keras.activations.linear
    )
    if unchanged:
        passed.append(after.name)
        return _next_layer(model, after, passed)
    return after


def _folded(norm, kernel, bias):
    """Kernel and bias of a conv whose output then goes through the BatchNormalization `norm` (at inference)."""
    count = kernel.shape[-1]
    weights = {w.path.split("/")[-1]: keras.ops.convert_to_numpy(w).astype("float64") for w in norm.weights}
    gamma = weights.get("gamma", np.ones(count))
    beta = weights.get("beta", np.zeros(count))
    scale = gamma / np.sqrt(weights["moving_variance"] + norm.epsilon)
    return (kernel * scale).astype("float32"), ((bias - weights["moving_mean"]) * scale + beta).astype("float32")


def _is_chain(model, layers):
    """Whether each of `layers` is called once in `model`, on the one output of the layer listed before it (the
    first: on the model's input)."""
    found, order = (
        graph(model),
        [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)],
    )
    for layer in layers:
        calls, sources = found[layer.name]
        before = order.index(layer.name) - 1
        if calls != 1 or len(sources) != 1 or (before >= 0 and sources != [order[before]]):
            return False
    return True


def _with_policy(layer, policy, **changed):
    """A copy of `layer` with its weights that computes under the dtype `policy` (None: the layer's own), with
    the config keys `changed` set otherwise."""
    copy = layer.__class__.from_config(layer.get_config() | ({"dtype": policy} if policy else {}) | changed)
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
