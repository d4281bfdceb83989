import numpy as np

from mnist_oip.selection import top_patterns


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
