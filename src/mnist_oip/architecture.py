"""What the workflow must know of a CNN before loading it: the input image's shape and the layers whose maps
it can explain, with their numbers of maps. From the config's blog CNN, or read from a saved `.keras` file's
`config.json` (a zip member), so planning a run needs no framework.

A layer's maps are the channels of its output where that output is an image: a Conv2D's (climbed through its
kernel, `map_units.MapUnit`), and those of the other convolutions, of merges such as a residual block's Add, of
activation layers and of BatchNormalization (`map_units.ChannelUnit`).
"""

import dataclasses
import json
import zipfile
from pathlib import Path

CONV_LAYERS = ("conv1", "conv2", "conv3")  # the conv layers of the blog's CNN (`blog_cnn.build_cnn`)
BLOG_INPUT = (28, 28, 1)
CONV_CLASSES = ("Conv2D",)
# Per class of the other layers whose maps can be explained: how their output's channels follow from the layer.
MERGES_AND_ACTIVATIONS = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Activation", "ReLU",
                          "LeakyReLU", "ELU", "BatchNormalization")  # fmt: skip
CHANNEL_CLASSES = {
    "SeparableConv2D": "filters",
    "Conv2DTranspose": "filters",
    "DepthwiseConv2D": "depthwise",
    "Concatenate": "concatenated",
    **dict.fromkeys(MERGES_AND_ACTIVATIONS, "same"),
}
SAME_CHANNELS = ("Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "Identity", "PReLU", "Softmax")
NESTED_MODELS = ("Sequential", "Functional", "Model")


class ArchitectureError(ValueError):
    """The model is not a CNN on images, or lacks the layer asked for."""


@dataclasses.dataclass(frozen=True)
class Architecture:
    input_shape: tuple[int, int, int]  # height, width, channels
    map_layers: dict  # name -> number of maps, of every layer whose maps can be explained, in the model's order
    origin: str  # what it describes, for messages
    classes: int | None = None  # the model's outputs: its last Dense layer's units, where the file says so
    nested: dict = dataclasses.field(default_factory=dict)  # layer inside a nested model -> that model's name
    other_kinds: dict = dataclasses.field(default_factory=dict)  # a layer of another kind -> its class
    custom_classes: tuple = ()  # registered names of layer classes that are not Keras' own
    kinds: dict = dataclasses.field(default_factory=dict)  # every top-level layer -> its class

    def maps_of(self, layer):
        """The number of maps of the layer `layer`, or a named error that says why it has none to explain."""
        if layer in self.nested:
            raise ArchitectureError(
                f"maps.layer: {layer!r} lies inside the nested model {self.nested[layer]!r} of {self.origin}; "
                "layers of nested models are not supported: build the model with its layers at the top level"
            )
        if layer not in self.map_layers:
            kind = (
                f" ({self.other_kinds[layer]}, whose output is no image of channels)"
                if layer in self.other_kinds
                else ""
            )
            raise ArchitectureError(
                f"maps.layer: {layer!r} is not a layer with maps of {self.origin}{kind}; its layers with maps are "
                f"{', '.join(self.map_layers) or 'none'}"
            )
        return self.map_layers[layer]


def blog_cnn(filters):
    return Architecture(BLOG_INPUT, dict(zip(CONV_LAYERS, filters)), "the blog's CNN",
                        kinds=dict.fromkeys(CONV_LAYERS, "Conv2D"))  # fmt: skip


def read_keras_file(path):
    """The architecture of a saved `.keras` model (top-level layers; a nested model's layers are not seen)."""
    origin = f"the model {path}"
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
        layers = config["config"]["layers"]
    except FileNotFoundError as err:
        raise ArchitectureError(f"model.path: no file {path}") from err
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile) as err:
        raise ArchitectureError(f"model.path: {path} is not a model saved as .keras by Keras 3 ({err})") from err
    shape = _input_shape(config, layers)
    if shape is None or len(shape) != 3 or not all(isinstance(n, int) and n > 0 for n in shape):
        raise ArchitectureError(
            f"model.path: {path} takes inputs of shape {shape}, not images (height, width, channels)"
        )
    maps = _map_layers(layers, shape)
    kinds = {layer["config"].get("name"): layer.get("class_name") for layer in layers}
    nested, other_kinds, custom = {}, {}, []
    for layer, parent in _every_layer(layers):
        name, kind = layer["config"].get("name"), layer.get("class_name")
        if parent is not None:
            nested[name] = parent
        elif name not in maps:
            other_kinds[name] = kind
        if layer.get("registered_name") and ">" in layer["registered_name"]:
            custom.append(layer["registered_name"])
    return Architecture(
        tuple(shape), maps, origin, _output_units(config, layers), nested, other_kinds, tuple(dict.fromkeys(custom)),
        kinds,
    )  # fmt: skip


def _map_layers(layers, input_shape):
    """{name: maps} of the top-level layers whose output is an image of channels and which the ascent can take
    (`CONV_CLASSES`, `CHANNEL_CLASSES`): each layer's input shapes from the tensors its call takes, its build,
    or (in a Sequential model) the layer before it."""
    outputs, previous, found = {}, (len(input_shape) + 1, input_shape[-1]), {}  # (rank, channels) of an output
    for layer in layers:
        kind, config = layer.get("class_name"), layer.get("config", {})
        if kind == "InputLayer":
            outputs[config.get("name")] = previous
            continue
        inputs = _input_shapes(layer) or [previous]
        rank, channels = inputs[0]
        rule = (
            "filters" if kind in CONV_CLASSES else CHANNEL_CLASSES.get(kind, "same" if kind in SAME_CHANNELS else None)
        )
        if rule == "filters":
            channels = int(config["filters"])
        elif rule == "depthwise":
            channels = channels * int(config.get("depth_multiplier", 1))
        elif rule == "concatenated":
            channels = sum(c for _, c in inputs) if config.get("axis", -1) in (-1, rank - 1) else None
        elif rule != "same":
            rank = channels = None
        previous = outputs[config.get("name")] = (rank, channels)
        if (kind in CONV_CLASSES or kind in CHANNEL_CLASSES) and rank == 4 and isinstance(channels, int):
            found[config.get("name")] = channels
    return found


def serialized_tensors(value):
    """The configs of the tensors that a serialized call (a layer's `inbound_nodes`, in a model's config, nested
    lists and dicts) takes, in order: each with its `shape` and `keras_history` [layer, node, tensor]."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return [value.get("config", {})]
        return [tensor for item in value.values() for tensor in serialized_tensors(item)]
    if isinstance(value, list | tuple):
        return [tensor for item in value for tensor in serialized_tensors(item)]
    return []


def _input_shapes(layer):
    """(rank, channels) of each input of a layer: of the tensors its saved call takes, or of its build."""
    shapes = [tensor["shape"] for tensor in serialized_tensors(layer.get("inbound_nodes", [])) if "shape" in tensor]
    built = (layer.get("build_config") or {}).get("input_shape")
    if not shapes and built:
        shapes = built if built and isinstance(built[0], list) else [built]
    return [(len(shape), shape[-1]) for shape in shapes if shape]


def _output_units(config, layers):
    """The number of the model's outputs: the units of the layer that makes them (or of the last layer with
    units before it, where an activation layer ends the model); None where the file does not say."""
    names = [layer["config"].get("name") for layer in layers]
    outputs = config["config"].get("output_layers")
    end = names.index(outputs[0][0]) if outputs and outputs[0][0] in names else len(layers) - 1
    for layer in reversed(layers[: end + 1]):
        if "units" in layer["config"]:
            return int(layer["config"]["units"])
        if layer.get("class_name") not in ("Activation", "Softmax", "Dropout", "ReLU"):
            return None
    return None


def _every_layer(layers, parent=None):
    """(layer config, the name of the nested model it lies in or None) of every layer, nested models' too."""
    for layer in layers:
        yield layer, parent
        inner = layer.get("config", {}).get("layers")
        if layer.get("class_name") in NESTED_MODELS and isinstance(inner, list):
            yield from _every_layer(inner, layer["config"].get("name"))


def _input_shape(config, layers):
    """The per-image input shape, from the model's input layer or, for a Sequential model, its build shape."""
    for layer in layers:
        if layer.get("class_name") == "InputLayer":
            shape = layer["config"].get("batch_shape") or layer["config"].get("batch_input_shape")
            return None if shape is None else list(shape[1:])
    built = (config.get("build_config") or {}).get("input_shape") or config["config"].get("build_input_shape")
    return None if built is None else list(built[1:])


def of(model_settings):
    """The architecture the `model` config section describes: its file's, or the blog CNN's."""
    if model_settings.path is None:
        return blog_cnn(model_settings.filters)
    if Path(model_settings.path).is_dir():
        raise ArchitectureError(f"model.path: {model_settings.path} is a folder, not a model saved as a .keras file")
    if not Path(model_settings.path).is_file():
        raise ArchitectureError(f"model.path: no file {model_settings.path}")
    return read_keras_file(model_settings.path)
