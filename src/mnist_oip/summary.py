"""The headline analysis of a layer: the blog's count line, each map's best strategy, the strategies
compared, and whether the class the CNN reads in a map's best OIP is the class its held-out digits
activate it most for. Plain data in, plain data out; `figures` turns it into tables and the gallery."""

import dataclasses

import numpy as np

from . import faithfulness
from .results import JsonRecord


@dataclasses.dataclass
class LayerSummary(JsonRecord):
    """One layer's summary, as `summarize_layer` writes it (`summary.json`) and the run's summary reads it."""

    layer: str
    scoring: str  # the precursor's scoring strategy
    count_line: str
    class_line: str  # how often the classes agree, or that no held-out images were given
    rows: list  # per map: best loss and found per strategy, the best strategy, distinct OIPs, classes
    comparison: list  # per strategy: maps with an OIP, best losses, compute per map
    unreached: list  # maps no strategy activates
    faithfulness: list = dataclasses.field(default_factory=list)  # per candidate: `faithfulness.summarize`
    faithfulness_paired: list = dataclasses.field(default_factory=list)  # per strategy, against the digits
    measures: list = dataclasses.field(default_factory=list)  # per map: every candidate's measures, for the CSV
    made_by: dict | None = None  # what made the first map's random starts' OIPs (`lineage`)
    mixed: list = dataclasses.field(default_factory=list)  # results of the layer made otherwise than the rest
    unit_note: str = ""  # what the layer's maps are, where that changes what "found" means (`unit_note`)

    SORT_KEYS = False  # the tables keep their column order


@dataclasses.dataclass(frozen=True)
class BestOip:
    """A map's best OIP over every strategy, for the gallery."""

    map: int
    image: np.ndarray
    loss: float
    found: bool
    read_as: int
    confidence: float


def count_line(rows):
    """The blog's question: how many maps random starts miss, and which of those the precursor recovers."""
    missed = [row for row in rows if not row["random_found"]]
    recovered = [row["map"] for row in missed if row.get("precursor_found")]
    return (
        f"{len(missed)} of {len(rows)} maps had no OIP from random starts; "
        f"the precursor recovered {len(recovered)} of them"
        + (f" ({', '.join(map(str, recovered))})" if recovered else "")
        + "."
    )


def unit_note(layer, unit):
    """What a layer's maps are, where it changes what the count line means: maps without a non-linearity of
    their own (a conv summed in a residual block, say) have no floor at 0 to rise from. Empty otherwise."""
    if not unit or not unit.get("linear"):
        return ""
    return (
        f"The maps of {layer} pass on the output of {' -> '.join(unit['layers'])} with no non-linearity of their own "
        "(the network sums or joins them with other values before any): a map's loss is its mean value, which can be "
        'below 0 and rises without a floor, so "found" here means only that the ascent raised that mean above 0, '
        "and the warm start climbs the same function. Choose the layer after the non-linearity for maps as the "
        "network passes them on."
    )


NO_EXAMPLES = "No held-out images were given (dataset.source: none): no dataset examples or class profiles."


def class_line(rows):
    """How often the CNN reads a map's best OIP as the class its profile peaks on (maps with an OIP)."""
    found = [row for row in rows if row["found"]]
    agree = sum(row["class_agrees"] for row in found)
    return (
        f"The CNN reads the best OIP of {agree} of {len(found)} maps with an OIP as the class whose "
        "held-out images activate the map most."
    )


def summarize(layer, maps, distinct, scoring, examples=None, measured=None):
    """`maps`: a `MapResult` per map of `layer`; `distinct`: the number of distinct OIPs of each; `scoring`:
    the precursor's scoring strategy; `examples`: the layer's `LayerExamples`, or None; `measured`: each map's
    `Faithfulness`, or None. Returns the `LayerSummary` and each map's `BestOip`."""
    rows, best = [], []
    for result, distinct_oips in zip(maps, distinct):
        winner = result.best
        i = winner.best
        oip = BestOip(result.map, winner.oips[i], winner.best_loss, winner.found, int(winner.classes[i]),
                      float(winner.confidences[i]))  # fmt: skip
        best.append(oip)
        row = (
            {"map": result.map}
            | {f"{name}_best_loss": s.best_loss for name, s in result.strategies.items()}
            | {f"{name}_found": s.found for name, s in result.strategies.items()}
            | {"found": oip.found, "best_strategy": winner.name if oip.found else "", "distinct_oips": distinct_oips}
            | {"oip_class": oip.read_as, "oip_confidence": oip.confidence}
        )
        if examples is not None:
            profile = examples.profile_class(result.map)
            row |= {"profile_class": profile, "class_agrees": oip.found and profile == oip.read_as,
                    "oip_outside_data_range": examples.outside_range(oip.image)}  # fmt: skip
        rows.append(row)
    unreached = [row["map"] for row in rows if not row["found"]]
    classes = class_line(rows) if examples is not None else NO_EXAMPLES
    medians, paired = faithfulness.summarize(maps, measured) if measured else ([], [])
    measures = [
        {"map": m.map}
        | {f"{candidate}_{key}": value for candidate, values in m.measures.items() for key, value in values.items()}
        for m in measured or []
    ]
    done = LayerSummary(layer, scoring, count_line(rows), classes, rows, comparison(maps), unreached, medians, paired,
                        measures)  # fmt: skip
    return done, best


def comparison(maps):
    """Per strategy: maps with an OIP, median and minimum best loss, compute per map."""
    table = []
    for name in maps[0].strategies:
        runs = [result.strategies[name] for result in maps]
        losses = [s.best_loss for s in runs]
        table.append(
            {
                "strategy": name,
                "maps_with_oip": sum(s.found for s in runs),
                "median_best_loss": float(np.median(losses)),
                "min_best_loss": float(np.min(losses)),
                "image_steps_per_map": int(np.median([s.image_steps for s in runs])),
                "ascent_seconds_per_map": float(np.median([s.seconds for s in runs])),
            }
        )
    return table
