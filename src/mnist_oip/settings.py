"""Checks on the config that its JSON schema cannot express, and the list of maps it asks for."""

import os
from pathlib import Path

CONV_LAYERS = ("conv1", "conv2", "conv3")
MAX_PATTERNS = 2**32  # 16 GiB of scores at 4 bytes each


class ConfigError(ValueError):
    """A config value is out of range; the message names the key and what is allowed."""


def validate(config, schema_path):
    """Check `config` against the JSON schema; one error naming the key, the value and what is allowed."""
    import jsonschema
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError("invalid config:\n" + "\n".join(_describe(error) for error in errors))


def _describe(error):
    key = ".".join(map(str, error.absolute_path)) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = ", ".join(error.schema.get("properties", {}))
        return f"  {key}: {error.message}; allowed keys: {allowed}"
    if error.validator == "enum":
        return (
            f"  {key}: {error.instance!r} is not allowed; allowed values: {', '.join(map(str, error.validator_value))}"
        )
    if error.validator == "oneOf" and key.endswith("indices"):
        return f"  {key}: {error.instance!r} is neither 'all' nor a list of distinct map indices >= 0"
    return f"  {key}: {error.message}"


def gpu_count():
    """How many NVIDIA GPUs this machine shows (device files, so no framework is imported to ask)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    return len(list(Path("/dev").glob("nvidia[0-9]*")))


def map_indices(config):
    """The map indices of `maps.layer` that the config asks for, checked against the layer's filter count."""
    layer = config["maps"]["layer"]
    if layer not in CONV_LAYERS:
        raise ConfigError(f"maps.layer: {layer!r} is not a conv layer of the CNN; allowed: {', '.join(CONV_LAYERS)}")
    filters = config["model"]["filters"][CONV_LAYERS.index(layer)]
    indices = config["maps"]["indices"]
    if indices == "all":
        return list(range(filters))
    beyond = [i for i in indices if i >= filters]
    if beyond:
        raise ConfigError(f"maps.indices: {beyond} beyond layer {layer}, which has maps 0..{filters - 1}")
    return list(indices)


def check_precursor(precursor):
    """Refuse a pattern count that would not fit, with the count and a hint."""
    count = len(precursor["levels"]) ** (precursor["grid"] ** 2)
    if count > MAX_PATTERNS:
        raise ConfigError(
            f"precursor: {len(precursor['levels'])} levels on a {precursor['grid']}x{precursor['grid']} grid "
            f"make {count:.3e} patterns, more than the {MAX_PATTERNS:.3e} allowed; use a smaller grid or fewer levels"
        )
    from .precursor import rounds  # numpy only

    survivors = rounds(count, precursor)[-1][0]
    if precursor["keep"] > survivors:
        raise ConfigError(
            f"precursor.keep: {precursor['keep']} seeds asked for, but only {survivors} of the {count} patterns "
            f"reach the last round"
        )
    return count
