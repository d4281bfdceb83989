import numpy as np
import pytest

from mnist_oip.selection import ColumnTop, top_patterns


def test_top_patterns_best_first():
    scores = np.array([0.1, 0.9, -1.0, 0.5, 0.7], np.float32)
    np.testing.assert_array_equal(top_patterns(scores, 3), [1, 4, 3])


def test_ties_go_to_the_lower_index():
    scores = np.array([0.2, 0.5, 0.5, 0.1, 0.5], np.float32)
    np.testing.assert_array_equal(top_patterns(scores, 2), [1, 2])
    np.testing.assert_array_equal(top_patterns(scores, 4), [1, 2, 4, 0])


def test_keep_more_than_there_are():
    np.testing.assert_array_equal(top_patterns(np.array([1.0, 3.0]), 5), [1, 0])


def test_agrees_with_a_full_sort_on_random_scores():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 50, 2000).astype(np.float32)
    expected = sorted(range(2000), key=lambda i: (-scores[i], i))[:8]
    np.testing.assert_array_equal(top_patterns(scores, 8), expected)


def test_streaming_in_chunks_gives_the_same_top():
    scores = np.random.default_rng(1).integers(0, 30, 5000).astype(np.float32)
    np.testing.assert_array_equal(top_patterns(scores, 12, chunk_size=7), top_patterns(scores, 12))


def test_nan_counts_as_lowest():
    scores = np.array([np.nan, 0.1, np.nan, -5.0], np.float32)
    np.testing.assert_array_equal(top_patterns(scores, 3), [1, 3, 0])


def test_from_a_memory_mapped_file(tmp_path):
    scores = np.lib.format.open_memmap(tmp_path / "s.npy", mode="w+", dtype=np.float32, shape=(1000,))
    scores[:] = np.arange(1000) % 97
    np.testing.assert_array_equal(
        top_patterns(np.load(tmp_path / "s.npy", mmap_mode="r"), 3, chunk_size=64), [96, 193, 290]
    )


def brute_force_top(rows, keep):
    """Per column, the `keep` best rows in the order of `best_first`, by a full sort."""
    return np.stack([sorted(range(len(rows)), key=lambda i: (-rows[i, c], i))[:keep] for c in range(rows.shape[1])])


def test_column_top_keeps_each_columns_best_over_a_stream_of_batches():
    rng = np.random.default_rng(2)
    rows = rng.integers(0, 40, (3000, 5)).astype(np.float32)  # many ties
    rows[:, 4] = 0  # a column that nothing activates: the lowest indices win
    top = ColumnTop(5, 50)
    for first in range(0, 3000, 77):
        top.add(np.arange(first, min(first + 77, 3000)), rows[first : first + 77])
    indices, values = top.result()
    expected = brute_force_top(rows, 50)
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_array_equal(values, np.take_along_axis(rows.T, expected, axis=1))
    np.testing.assert_array_equal(indices[4], np.arange(50))


def test_column_top_with_fewer_rows_than_it_keeps():
    rows = np.array([[1.0, 5.0], [3.0, 2.0]], np.float32)
    top = ColumnTop(2, 10)
    top.add(np.arange(2), rows)
    indices, _ = top.result()
    np.testing.assert_array_equal(indices, [[1, 0], [0, 1]])


def test_column_top_refuses_nan():
    with pytest.raises(ValueError, match="NaN"):
        ColumnTop(1, 3).add(np.arange(1), np.array([[np.nan]], np.float32))
