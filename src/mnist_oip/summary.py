"""The headline analysis over all maps: the blog's count line, each map's best strategy, the strategies
compared. Plain data in, plain data out; `figures` turns it into tables and the gallery."""

import dataclasses

import numpy as np


@dataclasses.dataclass
class Summary:
    count_line: str
    rows: list  # per map: best loss and found per strategy, the best strategy, distinct OIPs
    comparison: list  # per strategy: maps with an OIP, best losses, compute per map
    unreached: list  # maps no strategy activates
    best: list  # per map: (map, best OIP image, its loss, found)


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


def summarize(maps, distinct):
    """`maps`: a `MapResult` per map; `distinct`: the number of distinct OIPs of each."""
    rows, best = [], []
    for result, distinct_oips in zip(maps, distinct):
        winner = result.best
        found = winner.found
        best.append((result.map, winner.oips[winner.best], winner.best_loss, found))
        rows.append(
            {"map": result.map}
            | {f"{name}_best_loss": s.best_loss for name, s in result.strategies.items()}
            | {f"{name}_found": s.found for name, s in result.strategies.items()}
            | {"found": found, "best_strategy": winner.name if found else "", "distinct_oips": distinct_oips}
        )
    unreached = [row["map"] for row in rows if not row["found"]]
    return Summary(count_line(rows), rows, comparison(maps), unreached, best)


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
