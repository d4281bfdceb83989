"""The experiment's settings: checked once, then handed to the code as one typed object per config section.

`load(config)` validates a config dict (the JSON schema, then what a schema cannot express) and returns
`Settings`; every rule, script and command builds its settings this way, and reads them by attribute.
"""

import dataclasses
import functools
import os
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from . import architecture, patterns

RESOURCES = resources.files("mnist_oip") / "resources"
DEFAULT_CONFIG = RESOURCES / "config.yaml"
SCHEMA = RESOURCES / "config.schema.yaml"


class ConfigError(ValueError):
    """A config value is out of range; the message names the key and what is allowed."""


@dataclasses.dataclass(frozen=True)
class Dataset:
    source: str
    path: str | None
    test_fraction: float
    seed: int

    def params(self):
        """What preparing the data set reads of these settings, the path in one spelling: a change reruns it."""
        if self.source == "embedded":
            return {"source": self.source, "test_fraction": self.test_fraction, "seed": self.seed}
        return {"source": self.source, "path": None if self.path is None else os.path.normpath(self.path)}


@dataclasses.dataclass(frozen=True)
class Model:
    path: str | None  # a saved .keras model to explain instead of training the blog's CNN
    custom_objects: tuple[str, ...] | None  # Python files that define and register its own layer classes
    input_scale: dict | None  # the model's inputs per channel, {mean, std}; None: from the held-out images
    filters: tuple[int, ...]
    dense_units: int
    l2: float


@dataclasses.dataclass(frozen=True)
class Training:
    epochs: int
    batch_size: int
    learning_rate: float
    momentum: float
    lr_decay: float
    seed: int


@dataclasses.dataclass(frozen=True)
class Maps:
    layer: str | tuple[str, ...]
    indices: str | tuple[int, ...]

    @property
    def layers(self):
        return (self.layer,) if isinstance(self.layer, str) else self.layer


# Field metadata: a key that only some of a section's readers read; the others' params leave it out.
SELECTION_ONLY = {"only_for": "selection"}  # a precursor key that scoring does not read
RANDOM_ONLY = {"only_for": "random"}  # an oip key that precursor starts do not read
WARM_ONLY = {"only_for": "warm"}  # an oip key that only the warm start reads
GALLERY_ONLY = {"only_for": "gallery"}  # a figures key that only the layer's gallery reads
SCREEN_ONLY = {"only_for": "screen"}  # a precursor key that only the layer's screen reads
GUIDED_ONLY = {"only_for": "guided"}  # a precursor key that only the guided strategy's scoring reads
SWITCH = {"only_for": "switch"}  # a key that says whether jobs run, not how


@dataclasses.dataclass(frozen=True)
class Ascent:
    step_size: float
    batch_size: int


@dataclasses.dataclass(frozen=True)
class Precursor:
    grid: int
    levels: tuple[float, ...]
    steps: int
    keep: int = dataclasses.field(metadata=SELECTION_ONLY)
    distinct: bool
    strategy: str
    halving_steps: tuple[int, ...]
    halving_keep: float | tuple[float, ...]  # one share for every round, or one per round
    precision: str
    screen_precision: str = dataclasses.field(metadata=SCREEN_ONLY)
    guided_starts: int = dataclasses.field(metadata=SCREEN_ONLY)
    guided_beam: int = dataclasses.field(metadata=SCREEN_ONLY)
    guided_pass_on: int = dataclasses.field(metadata=GUIDED_ONLY)
    guided_seed: int = dataclasses.field(metadata=SCREEN_ONLY)

    @property
    def count(self):
        """The patterns of the grid and levels: the numbers a scores file is indexed by."""
        return patterns.pattern_count(self.grid, self.levels)

    @property
    def searched(self):
        """The patterns the search considers: each distinct image once (`distinct`), or every pattern."""
        return patterns.distinct_count(self.grid, self.levels) if self.distinct else self.count

    @property
    def guided(self):
        return self.strategy == "guided"

    @property
    def screens(self):
        """Whether the first round is the layer's screen, one job for all maps: halving's forward pass alone,
        or the guided search."""
        return self.guided or (self.strategy == "halving" and self.halving_steps[0] == 0)

    def screen_params(self):
        """What the layer's screen reads of these settings, for the rule's params: a change reruns it."""
        from .precursor import rounds  # numpy only

        found = {
            "grid": self.grid,
            "levels": list(self.levels),
            "distinct": self.distinct,
            "passed_on": rounds(self.searched, self)[1][0],
            "precision": self.screen_precision,
        }
        if self.guided:
            found |= {"starts": self.guided_starts, "beam": self.guided_beam, "seed": self.guided_seed}
        return found

    def kept_share(self, round_number):
        """The share of patterns that halving round `round_number` (0, 1, ...) takes on to the next."""
        shares = self.halving_keep
        return shares[round_number] if isinstance(shares, tuple) else shares


@dataclasses.dataclass(frozen=True)
class Oip:
    steps: int
    random_starts: int = dataclasses.field(metadata=RANDOM_ONLY)
    scales: tuple[int, ...] = dataclasses.field(metadata=RANDOM_ONLY)
    seed: int = dataclasses.field(metadata=RANDOM_ONLY)
    warm_start: str
    warm_steps: int = dataclasses.field(metadata=WARM_ONLY)


@dataclasses.dataclass(frozen=True)
class Robust:
    """The robust strategies: the same starts climbed with random transforms at each step, penalties and a
    parameterization (`ascent.Style`), the transforms drawn from `seed`."""

    enabled: bool = dataclasses.field(metadata=SWITCH)
    jitter: int
    scale: float
    rotate: float
    total_variation: float
    l2: float
    diversity: float
    parameterization: str
    seed: int

    @property
    def style(self):
        """The robust strategies' `ascent.Style` (a bounded one's range is the data's, added by the job)."""
        from .ascent import Style

        return Style(**{f.name: getattr(self, f.name) for f in dataclasses.fields(Style) if hasattr(self, f.name)})

    @property
    def bounded(self):
        """Whether the images climb within the data's range, which the job reads from the held-out images."""
        return self.parameterization == "bounded"


@dataclasses.dataclass(frozen=True)
class Uniqueness:
    threshold: float
    max_shift: int


@dataclasses.dataclass(frozen=True)
class Examples:
    top: int


@dataclasses.dataclass(frozen=True)
class Figures:
    contrast: bool
    gallery_columns: int = dataclasses.field(metadata=GALLERY_ONLY)


@dataclasses.dataclass(frozen=True)
class Compute:
    """How the work is spread over the machine: no result depends on it, so changing it reruns nothing."""

    gpu: str | bool
    screen_batch_size: int


@dataclasses.dataclass(frozen=True)
class InputScale:
    """What the model's inputs look like, per channel: starts and patterns are made standardized (mean 0, std
    1) and enter the model as mean + std * image, so the ascent climbs in the range the model was trained on
    and its step scales with it. `origin`: where the figures come from, for the summary."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    origin: str

    @property
    def identity(self):
        return all(m == 0 for m in self.mean) and all(s == 1 for s in self.std)

    def params(self):
        return {"mean": list(self.mean), "std": list(self.std)}

    def to_model(self, images):
        """Standardized images as the model takes them (numpy, channels last)."""
        return images if self.identity else np.asarray(self.mean, "float32") + np.asarray(self.std, "float32") * images

    def from_model(self, images):
        """Images as the model takes them, standardized (the inverse of `to_model`)."""
        if self.identity:
            return images
        return (images - np.asarray(self.mean, "float32")) / np.asarray(self.std, "float32")

    def describe(self):
        if self.identity:
            return f"inputs standardized (mean 0, std 1), {self.origin}"
        figures = ", ".join(f"{m:.4g} ± {s:.4g}" for m, s in zip(self.mean, self.std))
        return f"inputs per channel mean ± std {figures}, {self.origin}"


SECTIONS = {
    "dataset": Dataset,
    "model": Model,
    "training": Training,
    "maps": Maps,
    "ascent": Ascent,
    "precursor": Precursor,
    "oip": Oip,
    "robust": Robust,
    "uniqueness": Uniqueness,
    "examples": Examples,
    "figures": Figures,
    "compute": Compute,
}


@dataclasses.dataclass(frozen=True)
class Settings:
    dataset: Dataset
    model: Model
    training: Training
    maps: Maps
    ascent: Ascent
    precursor: Precursor
    oip: Oip
    robust: Robust
    uniqueness: Uniqueness
    examples: Examples
    figures: Figures
    compute: Compute

    @functools.cached_property
    def architecture(self):
        """Input shape and conv layers of the CNN the run explains: the blog's, or the file `model.path`."""
        return architecture.of(self.model)

    @functools.cached_property
    def input_scale(self):
        """The model's `InputScale`: the blog's CNN takes standardized images; an own model, `model.input_scale`
        or the mean and std of its held-out images."""
        channels = self.architecture.input_shape[2]
        if self.trains:
            return InputScale((0.0,) * channels, (1.0,) * channels, "as the blog's CNN was trained")
        given = self.model.input_scale
        if given is not None:
            mean, std = (tuple(float(v) for v in given[key]) for key in ("mean", "std"))
            return InputScale(mean, std, "from model.input_scale")
        from . import data

        mean, std = data.channel_scale(self.dataset.path, self.architecture.input_shape)
        return InputScale(mean, std, f"from the held-out images {self.dataset.path}")

    @property
    def trains(self):
        """Whether the run trains the blog's CNN (no `model.path` given)."""
        return self.model.path is None

    @property
    def has_examples(self):
        """Whether a data set is given for the dataset examples (always, where the CNN is trained)."""
        return self.dataset.source != "none"

    def map_indices(self, layer):
        """The map indices of the conv layer `layer` that the config asks for."""
        count = self.architecture.maps_of(layer)
        return list(range(count)) if self.maps.indices == "all" else list(self.maps.indices)


def section(cls, values):
    """A section's settings object from its plain dict, as the config has it."""
    return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in values.items()})


def as_dict(section_settings, leave_out=()):
    """A section as a plain dict, keys sorted (Snakemake compares params as text: key order must not trigger
    reruns); without the keys that are only for the readers named in `leave_out` ("selection", "screen",
    "random", "warm", "gallery", "switch")."""
    leave_out = {leave_out} if isinstance(leave_out, str) else set(leave_out)
    readers = {f.metadata.get("only_for") for f in dataclasses.fields(section_settings)} - {None}
    if leave_out - readers:
        raise ValueError(
            f"no key of {type(section_settings).__name__} is only for {sorted(leave_out - readers)}; "
            f"its keys are only for {sorted(readers) or 'no reader'}"
        )
    return {
        f.name: as_listed(getattr(section_settings, f.name))
        for f in sorted(dataclasses.fields(section_settings), key=lambda f: f.name)
        if f.metadata.get("only_for") not in leave_out
    }


def as_listed(value):
    """A tuple as a list (as YAML writes it), any other value as it is."""
    return list(value) if isinstance(value, tuple) else value


def load(config, schema_path=SCHEMA):
    """Validate `config` and return its `Settings`; one ConfigError names every problem found: the schema's,
    and those of every check below whose sections the schema passed (`CHECKS`)."""
    from .config_checks import CHECKS, schema_problems

    problems = schema_problems(config, schema_path)
    broken = {problem.strip().split(":")[0].split(".")[0] for problem in problems}
    default = yaml.safe_load(DEFAULT_CONFIG.read_text())
    usable = {name: config[name] if name not in broken and name in config else default[name] for name in SECTIONS}
    settings = Settings(**{name: section(cls, usable[name]) for name, cls in SECTIONS.items()})
    for check, reads, taints in CHECKS:
        if not reads & broken:
            try:
                check(settings)
            except (ConfigError, architecture.ArchitectureError) as err:
                problems += [f"  {line}" for line in str(err).splitlines()]
                broken |= taints
    if problems:
        raise ConfigError("invalid config:\n" + "\n".join(dict.fromkeys(problems)))
    return settings


def read_config(*paths):
    """The package's default config with each YAML file of `paths` laid over it, section by section."""
    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    for path in filter(None, paths):
        try:
            extra = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"{path}: cannot be read as a YAML config ({err})") from err
        if not isinstance(extra, dict):
            raise ConfigError(f"{path}: a config is a mapping of sections, not {type(extra).__name__}")
        for name, values in extra.items():
            config[name] = config.get(name, {}) | values if isinstance(values, dict) else values
    return config
