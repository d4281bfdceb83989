"""Seed selection: the best-scoring precursor patterns, found in one streaming pass."""

import numpy as np


def best_first(indices, values, keep):
    """Positions of the `keep` best entries: highest value first, ties to the lower index, NaN lowest."""
    return np.lexsort((indices, -np.nan_to_num(values, nan=-np.inf)))[:keep]


def top_patterns(scores, keep, chunk_size=1 << 20):
    """Indices of the `keep` highest scores, best first (in the order of `best_first`).

    `scores` may be a memory-mapped file: it is read `chunk_size` values at a time, keeping a running top.
    """
    best = np.empty(0, np.int64)
    best_values = np.empty(0, np.float32)
    for first in range(0, len(scores), chunk_size):
        chunk = np.asarray(scores[first : first + chunk_size], np.float32)
        indices = np.concatenate([best, np.arange(first, first + len(chunk))])
        values = np.concatenate([best_values, chunk])
        order = best_first(indices, values, keep)
        best, best_values = indices[order], values[order]
    return best


class ColumnTop:
    """The `keep` best patterns of every column (a layer's maps) over a stream of score rows given in
    pattern order, in the order of `best_first` per column. Memory is bounded by the columns, not the rows:
    once a column holds `keep`, only a score above its worst kept one is a candidate."""

    def __init__(self, columns, keep):
        self.columns, self.keep = columns, keep
        self.indices = np.zeros((columns, 0), np.int64)
        self.values = np.zeros((columns, 0), np.float32)
        self.floor = None  # once every column holds `keep`: each column's worst kept score
        self._pending = []  # (column, index, value) candidates not merged yet
        self._pending_count = 0

    def add(self, indices, rows):
        """Scores (patterns, columns) of the patterns `indices`, each higher than any added before it."""
        rows = np.asarray(rows, np.float32)
        if np.isnan(rows).any():
            raise ValueError("a screen score is NaN")
        wanted = np.ones(rows.shape, bool) if self.floor is None else rows > self.floor  # later patterns lose ties
        pattern, column = np.nonzero(wanted)
        if len(pattern):
            self._pending.append((column, np.asarray(indices)[pattern], rows[pattern, column]))
            self._pending_count += len(pattern)
            if self._pending_count >= self.columns * max(self.keep, 1024):
                self._merge()

    def result(self):
        """(indices, values), each (columns, kept), best first per column."""
        self._merge()
        return self.indices, self.values

    def _merge(self):
        if not self._pending:
            return
        kept = self.indices.shape[1]
        column = np.concatenate([np.repeat(np.arange(self.columns), kept)] + [p[0] for p in self._pending])
        index = np.concatenate([self.indices.ravel()] + [p[1] for p in self._pending])
        value = np.concatenate([self.values.ravel()] + [p[2] for p in self._pending])
        self._pending, self._pending_count = [], 0
        order = np.lexsort((index, -value, column))
        column, index, value = column[order], index[order], value[order]
        starts = np.searchsorted(column, np.arange(self.columns))
        rank = np.arange(len(column)) - starts[column]
        counts = np.bincount(column, minlength=self.columns)
        size = min(self.keep, int(counts.min()))  # until the columns are full, each sees every pattern
        take = rank < size
        self.indices = index[take].reshape(self.columns, size)
        self.values = value[take].reshape(self.columns, size)
        if size == self.keep and size:
            self.floor = self.values[:, -1].copy()
