"""Any saved model: load it (with the files that register its own layer classes), check that it takes images,
find its layers with maps, read its graph as Keras records it, and its class probabilities."""

import weakref
from pathlib import Path

import keras
import numpy as np

from . import architecture


class ModelError(ValueError):
    """The model or the requested map does not fit what the workflow needs."""


def import_custom_objects(files, names=()):
    """Import the Python `files` that register a model's own layer classes (each once per process); return
    which of the registered `names` ("package>Class") none of them registers."""
    import importlib.util
    import sys

    for file in files:
        path = Path(file).resolve()
        if path.suffix != ".py" or not path.is_file():
            raise ModelError(f"{file} is not a Python file (.py)")
        module = f"mnist_oip_custom_{abs(hash(str(path)))}"
        if module not in sys.modules:
            spec = importlib.util.spec_from_file_location(module, path)
            sys.modules[module] = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(sys.modules[module])
            except Exception as err:  # the user's code: any error is theirs to see
                del sys.modules[module]
                raise ModelError(f"{file} fails to import: {type(err).__name__}: {err}") from err
    return [name for name in names if keras.saving.get_registered_object(name) is None]


def load_model(path):
    """A saved `.keras` model, in safe mode (no arbitrary code from the file)."""
    try:
        loaded = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises many kinds for a bad file
        raise ModelError(f"{path}: cannot be loaded as a Keras model ({err})") from err
    graph(loaded)  # read the model's own graph now, once, before any job builds on it
    return loaded


def map_layers(model):
    """The layers of `model` whose maps can be explained: whose output is an image of channels, and of a kind
    the ascent takes (`architecture.CONV_CLASSES`, `architecture.CHANNEL_CLASSES`)."""
    kinds = (*architecture.CONV_CLASSES, *architecture.CHANNEL_CLASSES)
    return [layer.name for layer in model.layers if type(layer).__name__ in kinds and len(layer.output.shape) == 4]


def map_layer(model, layer_name):
    """The layer `layer_name` of `model` whose maps are to be explained, or a ModelError naming those there are."""
    names = map_layers(model)
    if layer_name not in names:
        raise ModelError(
            f"maps.layer: {layer_name!r} is not a layer with maps of the model; its layers with maps are {names}"
        )
    return model.get_layer(layer_name)


def check_image_model(model, path):
    """Refuse a model whose input is not an image (height, width, channels) or that has no layer with maps."""
    shape = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    if shape is None or len(shape) != 3 or None in shape:
        raise ModelError(
            f"{path}: the model takes inputs of shape {model.input_shape}, not images (height, width, channels)"
        )
    if not map_layers(model):
        raise ModelError(f"{path}: the model has no layer with maps (an image of channels as its output)")


_GRAPHS = weakref.WeakKeyDictionary()  # model -> {layer name: (calls, the layers whose outputs they take)}


def graph(model):
    """Per layer of `model` (by name): how often the model calls it, and the layers whose outputs those calls
    take, in order; from the model's config, Keras' public account of its graph, read once per model (a
    Sequential model's layers each take the one before, the first the input)."""
    if model not in _GRAPHS:
        layers = model.get_config().get("layers", [])
        if isinstance(model, keras.Sequential):
            names = [layer["config"]["name"] for layer in layers if layer["class_name"] != "InputLayer"]
            _GRAPHS[model] = {
                name: (1, [before] if before else ["input"]) for before, name in zip([None, *names], names)
            }
        else:
            _GRAPHS[model] = {
                layer["config"]["name"]: (
                    len(layer["inbound_nodes"]),
                    [t["keras_history"][0] for t in architecture.serialized_tensors(layer["inbound_nodes"])
                     if t.get("keras_history")],
                )
                for layer in layers
            }  # fmt: skip
    return _GRAPHS[model]


def class_probabilities(model, images, batch_size=256):
    """The model's class probabilities for `images`: its outputs, through a softmax unless its last layer
    already ends in one."""
    outputs = in_batches(lambda batch: model(batch, training=False), images, batch_size)
    last = model.layers[-1]
    if isinstance(last, keras.layers.Softmax) or getattr(last, "activation", None) is keras.activations.softmax:
        return outputs
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def in_batches(function, images, batch_size):
    """`function` applied to `images` `batch_size` at a time, the results joined as one numpy array."""
    parts = [function(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    return np.concatenate([keras.ops.convert_to_numpy(part) for part in parts])
