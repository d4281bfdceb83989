"""The guided search: a beam search over the grid cells' levels on the layer's forward screen, for grids too
fine to enumerate.

Every map of the layer keeps its `guided_beam` best patterns found so far; each round screens every one-cell
change of the patterns that entered some map's beam in the round before, in shared batches, and every map
takes the best of all of them. The search starts from `guided_starts` random patterns and ends when no beam
changes. A map's key is its mean activation where the pattern activates it and its mean pre-activation (then
at most 0) where not, so that maps no pattern activates are searched, and later climbed, by the
pre-activation, as the enumerated screen does. Each distinct image is screened once: patterns are taken to
their representative (`patterns.canonical`) and a pattern screened before is not screened again. Memory grows
with the patterns screened, not with the pattern count.
"""

import time

import numpy as np

from . import patterns, selection, storage
from .results import Screen

log = storage.LOGGER.info


def search_patterns(layer_ascent, precursor, batch_size):
    """The guided search for every map of the layer: a `Screen` with each map's best `guided_pass_on`
    patterns (their level numbers), best first."""
    grid, levels, maps = precursor.grid, precursor.levels, layer_ascent.maps
    label = f"{layer_ascent.layer} guided search"
    log(f"{label}: {precursor.searched} distinct patterns ({len(levels)} levels on a {grid}x{grid} grid), from "
        f"{precursor.guided_starts} random ones, a beam of {precursor.guided_beam} per map, the best "
        f"{precursor.guided_pass_on} of each of {maps} maps go on")  # fmt: skip
    rng = np.random.default_rng(precursor.guided_seed)
    screened = _Screened(grid * grid)
    best = selection.ColumnTop(maps, precursor.guided_pass_on)
    beams = np.zeros((maps, 0), np.int64)
    fresh = _random(rng, precursor.guided_starts, grid, levels)
    start, number = time.perf_counter(), 0
    while True:
        fresh = screened.new(patterns.canonical(fresh, levels) if precursor.distinct else fresh)
        if not len(fresh) and screened.count < precursor.guided_pass_on:  # a beam at rest before enough found
            fresh = screened.new(_random(rng, precursor.guided_pass_on, grid, levels))
        if not len(fresh):
            break
        ids = screened.add(fresh)
        best.add(ids, _keys(layer_ascent, patterns.grey_of(fresh, grid, levels), batch_size))
        indices, _ = best.result()
        entered = np.setdiff1d(indices[:, : precursor.guided_beam], beams)
        beams = indices[:, : precursor.guided_beam]
        number += 1
        log(f"{label}: round {number}, {len(fresh)} patterns screened ({screened.count} in all), {len(entered)} "
            f"entered a beam, {time.perf_counter() - start:.1f} s")  # fmt: skip
        fresh = _neighbours(screened.digits[entered], len(levels))
    indices, keys = best.result()
    dead = keys[:, 0] <= 0
    if dead.any():
        log(f"{label}: no pattern activates maps {np.flatnonzero(dead).tolist()}: ranked by pre-activation")
    places = np.broadcast_to(np.arange(indices.shape[1]), indices.shape)
    return Screen(layer_ascent.layer, screened.count, places, keys, dead, time.perf_counter() - start,
                  screened.digits[indices])  # fmt: skip


def _random(rng, count, grid, levels):
    return rng.integers(0, len(levels), (count, grid * grid)).astype(np.uint8)


def _neighbours(digits, level_count):
    """Every one-cell change of each pattern: (n * cells * (levels - 1), cells)."""
    cells = digits.shape[1]
    shifts = np.arange(1, level_count, dtype=np.uint8)
    changed = np.repeat(digits[:, None, None, :], cells, axis=1).repeat(len(shifts), axis=2)
    cell = np.arange(cells)
    changed[:, cell, :, cell] = (changed[:, cell, :, cell] + shifts) % level_count
    return changed.reshape(-1, cells)


def _keys(layer_ascent, coarse, batch_size):
    """Each map's key (n, maps) for each pattern: mean activation where above 0, else mean pre-activation.
    Batches are padded to `batch_size`, so that a compiled screen sees one shape."""
    found = []
    for first in range(0, len(coarse), batch_size):
        part = coarse[first : first + batch_size]
        padded = np.concatenate([part, np.repeat(part[:1], batch_size - len(part), axis=0)])
        post, pre = layer_ascent.screen(padded)
        found.append(np.where(post > 0, post, np.minimum(pre, 0))[: len(part)])
    return np.concatenate(found)


class _Screened:
    """The patterns screened so far, in order (their ids), and a set of them to screen none twice."""

    def __init__(self, cells):
        self.digits, self.seen = np.zeros((0, cells), np.uint8), set()

    @property
    def count(self):
        return len(self.digits)

    def new(self, digits):
        """`digits` without repeats and without the patterns screened before, in their order."""
        _, first = np.unique(digits, axis=0, return_index=True)
        digits = digits[np.sort(first)]
        unseen = np.array([row.tobytes() not in self.seen for row in digits], bool)
        return digits[unseen] if len(digits) else digits

    def add(self, digits):
        ids = np.arange(self.count, self.count + len(digits))
        self.seen.update(row.tobytes() for row in digits)
        self.digits = np.concatenate([self.digits, digits])
        return ids
