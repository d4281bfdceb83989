"""The strategies compared per map, each composed of the ascent's parts: its start images (random, or the
precursor's seeds), the objectives it climbs in turn (the map's activation, after a warm start on the map's
pre-activation or not) and the style of its steps (`ascent.Style`: plain, or robust).

A job climbs one start kind's strategies of one kind together (`climb`): phases at the same distance from
the end with the same objective, steps and style run as one batch, so a warm start's final climb shares the
plain strategy's batch, and each image's step is normalized on its own.
"""

import dataclasses
import time

import numpy as np

START_KINDS = ("random", "precursor")  # random multi-scale starts (the blog's baseline) | the precursor's seeds
RANDOM, PRECURSOR = START_KINDS
WARM_SUFFIX = "_warm"
ROBUST_SUFFIX = "_robust"
NAMES = (*START_KINDS, *(s + WARM_SUFFIX for s in START_KINDS), *(s + ROBUST_SUFFIX for s in START_KINDS))  # tables


@dataclasses.dataclass(frozen=True)
class Phase:
    steps: int
    pre_activation: bool  # the objective: the map's pre-activation, or its activation


@dataclasses.dataclass(frozen=True)
class Strategy:
    name: str
    start: str  # the start kind
    phases: tuple
    style: object  # an `ascent.Style`

    @property
    def steps(self):
        return sum(phase.steps for phase in self.phases)


def of_job(start, oip, robust=None, bounds=None):
    """The strategies one optimize job climbs: a start kind's plain ones (with the warm start where
    `oip.warm_start` asks for it, as a strategy of its own), or with the `settings.Robust` `robust` its robust
    one (warm-started where asked), within the data's range `bounds` (low, high) where it is bounded."""
    from .ascent import PLAIN

    plain = (Phase(oip.steps, False),)
    warm = (Phase(oip.warm_steps, True), *plain) if oip.warm_start == "pre_relu" else None
    if robust is not None:
        style = robust.style if bounds is None else dataclasses.replace(robust.style, low=bounds[0], high=bounds[1])
        return (Strategy(start + ROBUST_SUFFIX, start, warm or plain, style),)
    return (Strategy(start, start, plain, PLAIN),) + (
        (Strategy(start + WARM_SUFFIX, start, warm, PLAIN),) if warm else ()
    )


@dataclasses.dataclass
class Climbed:
    """One strategy's climb: the final images, the last phase's loss curve, the earlier phases' curve, the
    final losses and the seconds its batches took (a shared batch's time split evenly)."""

    images: np.ndarray
    curve: np.ndarray
    warm_curve: np.ndarray
    losses: np.ndarray
    seconds: float


def climb(strategies, images, map_ascent, rng=None):
    """{name: `Climbed`} for each strategy's copy of `images`; `map_ascent(pre_activation, style)`: the map's
    `MapAscent` for that objective and style; `rng` draws the transforms of a style that has them. Images of
    one style climb together only within a strategy where the style couples them (its diversity term)."""
    n = len(images)
    current = {s.name: images for s in strategies}
    curves = {s.name: [] for s in strategies}
    seconds = dict.fromkeys(current, 0.0)
    final = {}
    for back in range(max(len(s.phases) for s in strategies), 0, -1):
        groups = {}
        for s in strategies:
            if len(s.phases) >= back:
                alone = s.name if s.style.diversity else None
                groups.setdefault((s.phases[-back], s.style, alone), []).append(s.name)
        for (phase, style, _), names in groups.items():
            began = time.perf_counter()
            batch = np.concatenate([current[name] for name in names])
            out, curve, losses = map_ascent(phase.pre_activation, style).run(batch, phase.steps, rng)
            share = (time.perf_counter() - began) / len(names)
            for k, name in enumerate(names):
                part = slice(k * n, (k + 1) * n)
                current[name], final[name] = out[part], losses[part]
                curves[name].append(curve[:, part])
                seconds[name] += share
    empty = np.zeros((0, n), np.float32)
    warm = {name: np.concatenate([empty, *curves[name][:-1]]) for name in current}
    return {name: Climbed(current[name], curves[name][-1], warm[name], final[name], seconds[name]) for name in current}
