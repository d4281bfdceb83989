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


class ArchitectureError(ValueError):
    """The model is not a CNN on images, or lacks the layer asked for."""


@dataclasses.dataclass(frozen=True)
class Architecture:
    input_shape: tuple[int, int, int]  # height, width, channels
    conv_layers: dict  # name -> number of maps, in the model's order
    origin: str  # what it describes, for messages

    def maps_of(self, layer):
        """The number of maps of the conv layer `layer`, or a named error listing the conv layers."""
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
    return Architecture(tuple(shape), convs, origin)


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
    if not Path(model_settings.path).is_file():
        raise ArchitectureError(f"model.path: no file {model_settings.path}")
    return read_keras_file(model_settings.path)
