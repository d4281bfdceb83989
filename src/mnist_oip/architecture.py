"""What the workflow must know of a CNN before loading it: the input image's shape and the conv layers with
their numbers of maps. From the config's blog CNN, or read from a saved `.keras` file's `config.json`
(a zip member), so planning a run needs no framework.
"""

import dataclasses
import json
import zipfile
from pathlib import Path

CONV_LAYERS = ("conv1", "conv2", "conv3")  # the conv layers of the blog's CNN (`model.build_cnn`)
BLOG_INPUT = (28, 28, 1)
CONV_CLASSES = ("Conv2D",)
UNSUPPORTED_CONVS = ("SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose", "Conv1D", "Conv3D")
NESTED_MODELS = ("Sequential", "Functional", "Model")


class ArchitectureError(ValueError):
    """The model is not a CNN on images, or lacks the layer asked for."""


@dataclasses.dataclass(frozen=True)
class Architecture:
    input_shape: tuple[int, int, int]  # height, width, channels
    conv_layers: dict  # name -> number of maps, in the model's order
    origin: str  # what it describes, for messages
    classes: int | None = None  # the model's outputs: its last Dense layer's units, where the file says so
    nested: dict = dataclasses.field(default_factory=dict)  # layer inside a nested model -> that model's name
    other_kinds: dict = dataclasses.field(default_factory=dict)  # a layer of another kind -> its class
    custom_classes: tuple = ()  # registered names of layer classes that are not Keras' own

    def maps_of(self, layer):
        """The number of maps of the conv layer `layer`, or a named error that says why it cannot be one."""
        if layer in self.nested:
            raise ArchitectureError(
                f"maps.layer: {layer!r} lies inside the nested model {self.nested[layer]!r} of {self.origin}; "
                "layers of nested models are not supported: build the model with its layers at the top level"
            )
        if layer in self.other_kinds and self.other_kinds[layer] in UNSUPPORTED_CONVS:
            raise ArchitectureError(
                f"maps.layer: {layer!r} is a {self.other_kinds[layer]} layer; only Conv2D layers are supported "
                f"(the conv layers of {self.origin}: {', '.join(self.conv_layers) or 'none'})"
            )
        if layer not in self.conv_layers:
            raise ArchitectureError(
                f"maps.layer: {layer!r} is not a Conv2D layer of {self.origin}; "
                f"its conv layers are {', '.join(self.conv_layers) or 'none'}"
            )
        return self.conv_layers[layer]


def blog_cnn(filters):
    return Architecture(BLOG_INPUT, dict(zip(CONV_LAYERS, filters)), "the blog's CNN")


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
    convs = {
        layer["config"]["name"]: int(layer["config"]["filters"])
        for layer in layers
        if layer.get("class_name") in CONV_CLASSES
    }
    nested, other_kinds, custom = {}, {}, []
    for layer, parent in _every_layer(layers):
        name, kind = layer["config"].get("name"), layer.get("class_name")
        if parent is not None:
            nested[name] = parent
        elif kind not in CONV_CLASSES:
            other_kinds[name] = kind
        if layer.get("registered_name") and ">" in layer["registered_name"]:
            custom.append(layer["registered_name"])
    return Architecture(
        tuple(shape), convs, origin, _output_units(config, layers), nested, other_kinds, tuple(dict.fromkeys(custom))
    )


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
