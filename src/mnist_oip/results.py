"""The shapes of what the workflow writes: one definition for every writer and reader.

Once per run: `Provenance` (`provenance.json`), where the data set came from and how it is standardized, and
`Training` (`history.json`), the CNN's training curves and test accuracy.
Per map: `Scoring` (what the precursor's scoring did, `scoring.json`), `Seeds` (`seeds.npz`), and per optimize
job (a start kind, plain or robust) a `StartResult` (`.npz` with the images, `.json` with the figures): its
strategies, each a `StrategyResult`. `MapResult` puts a map's start kinds together for the figures and the summary.
`Faithfulness` (`faithfulness.json`) measures each OIP against the held-out images; `Uniqueness`
(`uniqueness.json`) groups its OIPs into distinct patterns.
Per layer: `Screen` (`screen.npz`), the patterns the forward screen passes on to each map's scoring, and
`LayerExamples` (`examples.npz`), the held-out images that drive each map and its class profile.

Each records what made it, `made_by` (`lineage`): the code, the framework, the machine and threads, and the
content of the files it read from outside the results; None in files written before it was recorded.
"""

import dataclasses
import json
import math
import typing
from pathlib import Path

import numpy as np

from . import storage, strategies

ARRAYS = ("starts", "oips", "curves", "warm_curves", "losses", "classes", "confidences")
MadeBy = dict[str, str | int | dict[str, str]] | None  # `lineage`: what made a result
Number = float | None  # a measure, None where undefined


class JsonRecord:
    """A dataclass saved as one JSON object of its fields, keys sorted unless `SORT_KEYS` says otherwise;
    loaded with each field's type checked and `BOUNDS` (field -> (low, high)) held, or a named error."""

    SORT_KEYS = True
    BOUNDS: typing.ClassVar[dict] = {}

    def save(self, path):
        storage.save_json(path, dataclasses.asdict(self), sort_keys=self.SORT_KEYS)

    @classmethod
    def load(cls, path):
        found = storage.load_json(path)
        if not isinstance(found, dict):
            raise storage.StorageError(f"{path}: holds {type(found).__name__}, not the {cls.__name__} record")
        return cls(**checked_fields(cls, found, path))


def checked_fields(cls, found, path):
    """The fields of dataclass `cls` from the dict `found` (read from `path`), each of its declared type and
    within `cls.BOUNDS`; a StorageError names the file, the field and what it holds."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    required = [
        n for n, f in fields.items() if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing, unknown = [n for n in required if n not in found], [n for n in found if n not in fields]
    if missing or unknown:
        raise storage.StorageError(
            f"{path}: not a {cls.__name__} record as this version writes it"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(unknown)}" if unknown else "")
        )
    hints = typing.get_type_hints(cls)
    for name, value in found.items():
        if not _of_type(value, hints[name]):
            hint = hints[name]
            kind = str(hint) if typing.get_args(hint) else getattr(hint, "__name__", str(hint))
            raise storage.StorageError(f"{path}: {name} is {value!r}, not of type {kind}")
        low, high = cls.BOUNDS.get(name, (None, None))
        if isinstance(value, int | float) and not (
            math.isfinite(value) and (low is None or value >= low) and (high is None or value <= high)
        ):
            raise storage.StorageError(f"{path}: {name} is {value!r}, outside [{low}, {high}]")
    return found


def _of_type(value, hint):
    """Whether a value read from JSON is of the type `hint`: a union, a number, text, a boolean, a list of one
    type or a dict of text to one type, checked all the way down."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, type(int | None)) else (hint,)
    return any(_of_one_type(value, option) for option in options)


def _of_one_type(value, option):
    kind, inner = typing.get_origin(option) or option, typing.get_args(option)
    if option is type(None) or option is typing.Any:
        return value is None or option is typing.Any
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is list:
        return isinstance(value, list) and (not inner or all(_of_type(item, inner[0]) for item in value))
    if kind is dict:
        return isinstance(value, dict) and (
            not inner or all(isinstance(key, str) and _of_type(item, inner[1]) for key, item in value.items())
        )
    return kind in (str, bool) and isinstance(value, kind)


def _pack(made_by):
    """`made_by` as an array of an .npz (its JSON text)."""
    return np.array(json.dumps(made_by, sort_keys=True))


def _unpack(arrays):
    """The `made_by` of an .npz written by `_pack`; None for a file that does not record it."""
    return json.loads(str(arrays["made_by"])) if "made_by" in arrays else None


@dataclasses.dataclass(frozen=True)
class Provenance(JsonRecord):
    """The prepared data set: its source, split (per class too) and checksum, and the mean and std of the
    training pixels scaled to [0, 1], which standardize every image the CNN sees."""

    source: str
    train_count: int
    test_count: int
    train_per_class: list[int]
    test_per_class: list[int]
    mean: float
    std: float
    sha256: str
    made_by: MadeBy = None

    BOUNDS: typing.ClassVar[dict] = {"train_count": (1, None), "test_count": (1, None), "mean": (0, 1), "std": (0, 1)}


@dataclasses.dataclass(frozen=True)
class Training(JsonRecord):
    """The CNN's training: loss and accuracy per epoch (`history`, Keras' names) and the test accuracy."""

    history: dict[str, list[float]]
    test_accuracy: float
    made_by: MadeBy = None

    BOUNDS: typing.ClassVar[dict] = {"test_accuracy": (0, 1)}


@dataclasses.dataclass(frozen=True)
class Uniqueness(JsonRecord):
    """A map's OIPs with loss > 0 grouped into patterns the same up to a shift: per OIP its strategy, index,
    loss and group; the number of groups; the similarity of every pair."""

    distinct: int
    oips: list[dict[str, str | int | float]]
    similarity: list[list[float]]
    made_by: MadeBy = None

    BOUNDS: typing.ClassVar[dict] = {"distinct": (0, None)}

    def groups(self):
        """{(strategy, index): group} of the OIPs grouped."""
        return {(oip["strategy"], oip["index"]): oip["group"] for oip in self.oips}


@dataclasses.dataclass(frozen=True)
class Scoring(JsonRecord):
    """What scoring a map's precursor patterns did: patterns (`levels` on a `grid`), ascent steps summed over
    patterns, seconds, the steps a score is taken after, and the objective it climbed: the map's activation, or its
    pre-activation where no pattern activates it. Records of runs made before grid and levels were recorded load with None there,
    and the comparisons name their patterns by count (`experiments.search_label`)."""

    strategy: str
    patterns: int
    image_steps: int
    seconds: float
    objective: str = "activation"
    grid: int | None = None
    levels: list[float] | None = None
    steps: int | None = None  # the ascent steps a pattern's score is taken after (`precursor.steps`)
    distinct: bool | None = None  # whether each distinct image was scored once (`precursor.distinct`)
    made_by: MadeBy = None

    BOUNDS: typing.ClassVar[dict] = {
        "patterns": (1, None),
        "image_steps": (0, None),
        "seconds": (0, None),
        "grid": (1, None),
        "steps": (0, None),
    }


@dataclasses.dataclass
class Seeds:
    """A map's precursor seeds: the best patterns' indices, their scores and their coarse images, best first."""

    indices: np.ndarray
    scores: np.ndarray
    coarse: np.ndarray
    made_by: MadeBy = None

    ARRAYS = ("indices", "scores", "coarse")

    def save(self, path):
        storage.save_npz(path, **{name: getattr(self, name) for name in self.ARRAYS}, made_by=_pack(self.made_by))

    @classmethod
    def load(cls, path):
        arrays = storage.load_npz(path, required=cls.ARRAYS)
        return cls(**{name: arrays[name] for name in cls.ARRAYS}, made_by=_unpack(arrays))


@dataclasses.dataclass
class StrategyResult:
    """Start images, their OIPs and loss curves, and what the ascent cost, for one strategy of one map.

    `classes` and `confidences`: the class the whole CNN reads in each OIP, and its probability.
    `image_steps` counts the ascent steps summed over images, the precursor's scoring included.
    """

    name: str
    starts: np.ndarray
    oips: np.ndarray
    curves: np.ndarray
    warm_curves: np.ndarray
    losses: np.ndarray
    classes: np.ndarray
    confidences: np.ndarray
    seconds: float
    image_steps: int

    @property
    def best(self):
        return int(np.argmax(self.losses))

    @property
    def best_loss(self):
        return float(self.losses.max())

    @property
    def found(self):
        """An OIP: some start raised the map's mean activation above 0."""
        return self.best_loss > 0

    def figures(self):
        return {
            "best_loss": self.best_loss,
            "found": self.found,
            "best_class": int(self.classes[self.best]),
            "best_confidence": float(self.confidences[self.best]),
            "seconds": self.seconds,
            "image_steps": self.image_steps,
        }


@dataclasses.dataclass
class StartResult:
    """One map's strategies from one start kind, plain or robust: what an optimize job writes."""

    layer: str
    map: int
    start: str
    steps: int
    strategies: dict
    made_by: MadeBy = None
    unit: dict[str, list[str] | bool] | None = (
        None  # the layers whose output the map is, and whether it has no non-linearity of its own
    )

    BOUNDS: typing.ClassVar[dict] = {"map": (0, None), "steps": (0, None)}

    def save(self, npz_path, json_path):
        arrays = {f"{name}.{key}": getattr(s, key) for name, s in self.strategies.items() for key in ARRAYS}
        storage.save_npz(npz_path, **arrays)
        head = {"layer": self.layer, "map": self.map, "start": self.start, "steps": self.steps, "made_by": self.made_by,
                "unit": self.unit}  # fmt: skip
        storage.save_json(json_path, head | {"strategies": {n: s.figures() for n, s in self.strategies.items()}})

    @classmethod
    def load_head(cls, json_path):
        """The start kind's `.json` alone, checked: its fields, strategies as {name: their figures}."""
        found = storage.load_json(json_path)
        if not isinstance(found, dict):
            raise storage.StorageError(f"{json_path}: holds {type(found).__name__}, not a start kind's results")
        head = checked_fields(cls, found, json_path)
        for name, figures in head["strategies"].items():
            if not _of_type(figures, dict[str, float | bool]) or not {"seconds", "image_steps", "best_loss"} <= set(
                figures
            ):
                raise storage.StorageError(
                    f"{json_path}: strategy {name!r} lacks its figures as numbers (seconds, image_steps, best_loss)"
                )
        return head

    @classmethod
    def load_figures(cls, json_path):
        """{strategy name: its figures} from a start kind's `.json` alone."""
        return cls.load_head(json_path)["strategies"]

    @classmethod
    def load(cls, npz_path, json_path=None):
        json_path = json_path or Path(npz_path).with_suffix(".json")
        head = cls.load_head(json_path)
        names = [f"{name}.{key}" for name in head["strategies"] for key in ARRAYS]
        arrays = storage.load_npz(npz_path, required=names)
        strategies = {
            name: StrategyResult(
                name, *(arrays[f"{name}.{key}"] for key in ARRAYS), figures["seconds"], figures["image_steps"]
            )
            for name, figures in head.pop("strategies").items()
        }
        return cls(**head, strategies=strategies)


@dataclasses.dataclass
class MapResult:
    """Every strategy of one map, in the summary's order."""

    layer: str
    map: int
    strategies: dict
    made_by: dict = dataclasses.field(default_factory=dict)  # per start kind's file (its start and suffix)
    unit: dict | None = None  # as `StartResult.unit`

    @classmethod
    def combine(cls, starts):
        found = {name: s for start in starts for name, s in start.strategies.items()}
        first = starts[0]
        made_by = {next(iter(start.strategies)): start.made_by for start in starts}
        chosen = {name: found[name] for name in strategies.NAMES if name in found}
        return cls(first.layer, first.map, chosen, made_by, first.unit)

    @classmethod
    def load(cls, npz_paths):
        return cls.combine([StartResult.load(path) for path in npz_paths])

    @property
    def best(self):
        """The strategy with the highest loss (the first such in the summary's order)."""
        return max(self.strategies.values(), key=lambda s: s.best_loss)


@dataclasses.dataclass
class Faithfulness(JsonRecord):
    """A map's faithfulness measures (`faithfulness.MEASURES`): per candidate (each strategy's best OIP, the
    map's top digits, the starts), per measure a value (None where it is undefined: the robustness of an image
    that does not activate the map), and the digits' baselines (`occlusion_ink`, `path_random_digits`)."""

    layer: str
    map: int
    measures: dict[str, dict[str, Number]]
    made_by: MadeBy = None


@dataclasses.dataclass
class LayerExamples:
    """Per map of a layer (rows in map order): the held-out images with the highest activation, highest
    first, with their indices, activations and labels; its class profile (mean activation per class of
    `classes`); and `order`, the maps with similar profiles side by side. `low`, `high`: the held-out images'
    range per channel."""

    layer: str
    classes: np.ndarray
    profiles: np.ndarray
    order: np.ndarray
    top_indices: np.ndarray
    top_activations: np.ndarray
    top_labels: np.ndarray
    top_images: np.ndarray
    low: np.ndarray
    high: np.ndarray
    made_by: MadeBy = None

    def outside_range(self, image):
        """The share of an image's values (channels last) outside the held-out images' range."""
        return float(((image < self.low) | (image > self.high)).mean())

    def profile_class(self, map_index):
        """The class on which the map's profile peaks."""
        return int(self.classes[np.argmax(self.profiles[map_index])])

    def save(self, path):
        arrays = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("layer", "made_by")}
        storage.save_npz(path, layer=np.array(self.layer), made_by=_pack(self.made_by), **arrays)

    @classmethod
    def load(cls, path):
        names = [f.name for f in dataclasses.fields(cls) if f.name != "made_by"]
        arrays = storage.load_npz(path, required=names)
        return cls(
            **{name: arrays[name] for name in names} | {"layer": str(arrays["layer"]), "made_by": _unpack(arrays)}
        )


@dataclasses.dataclass
class Screen:
    """The forward screen of a layer's precursor patterns: per map (rows, in map order) the patterns it passes
    on to the map's ascent rounds, best first, and their scores (mean activation). `pre_activation` marks the
    maps that no pattern activates: their patterns are ranked, and then climbed, by the pre-activation.

    `patterns` counts the patterns screened. The guided search passes on patterns of its own finding: their
    level numbers `digits` (maps, passed on, cells), with `indices` their places in that list; an enumeration
    passes on pattern indices, and `digits` is empty."""

    layer: str
    patterns: int
    indices: np.ndarray
    scores: np.ndarray
    pre_activation: np.ndarray
    seconds: float
    digits: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.uint8))
    made_by: MadeBy = None

    @property
    def guided(self):
        return self.digits.size > 0

    def survivors(self, map_index):
        """The patterns that go on for map `map_index`, in index order."""
        return np.sort(self.indices[map_index])

    def save(self, path):
        arrays = {f.name: np.asarray(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "made_by"}
        storage.save_npz(path, **arrays, made_by=_pack(self.made_by))

    @classmethod
    def load(cls, path):
        names = [f.name for f in dataclasses.fields(cls) if f.name not in ("made_by", "digits")]
        arrays = storage.load_npz(path, required=names)
        scalars = {
            "layer": str(arrays["layer"]),
            "patterns": int(arrays["patterns"]),
            "seconds": float(arrays["seconds"]),
            "made_by": _unpack(arrays),
        }
        digits = {"digits": arrays["digits"]} if "digits" in arrays else {}  # screens before the guided search had none
        return cls(**{name: arrays[name] for name in names} | scalars | digits)
