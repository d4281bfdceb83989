"""Figures drawn side by side in threads, as the workflow's jobs draw them, each showing its own data."""

import threading

import matplotlib.image
import numpy as np

from mnist_oip import figures
from mnist_oip.results import LayerExamples, MapResult, StrategyResult
from mnist_oip.summary import BestOip


def strategy(name, brightness, n=3):
    rng = np.random.default_rng(len(name))
    starts = rng.normal(size=(n, 28, 28, 1)).astype(np.float32)
    oips = starts + brightness
    oips[:, :14] *= 3
    losses = np.linspace(0, brightness, n).astype(np.float32)
    read_as = np.arange(n) % 10
    return StrategyResult(name, starts, oips, np.zeros((5, n)), np.zeros((0, n)), losses, read_as, np.full(n, 0.5),
                          1.0, 100)  # fmt: skip


def one_map(index):
    names = ("random", "precursor", "random_warm", "precursor_warm")
    return MapResult("conv3", index, {name: strategy(name, 1.0 + index) for name in names})


def test_map_figures_drawn_in_threads_side_by_side_are_those_drawn_alone(tmp_path):
    groups = {("random", 1): 0, ("random", 2): 0, ("precursor", 2): 1}
    for i in range(4):
        figures.map_figure(one_map(i), groups, tmp_path / f"alone{i}.png")
    threads = [
        threading.Thread(target=figures.map_figure, args=(one_map(i), groups, tmp_path / f"{i}.png")) for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(4):
        picture = matplotlib.image.imread(tmp_path / f"{i}.png")
        assert picture.shape[0] > picture.shape[1] > 200, "four strategies: two rows each, three columns"
        np.testing.assert_array_equal(picture, matplotlib.image.imread(tmp_path / f"alone{i}.png"))
    assert not np.array_equal(*(matplotlib.image.imread(tmp_path / f"{i}.png") for i in (0, 1))), "each its own map"


def test_pattern_groups_beyond_26_get_letters_of_their_own():
    labels = [figures.group_letters(group) for group in range(48)]  # a map with robust strategies: 48 OIPs
    assert labels[:3] == ["A", "B", "C"] and labels[25:28] == ["Z", "AA", "AB"]
    assert len(set(labels)) == 48


def test_gallery_shows_found_maps_and_marks_the_others(tmp_path):
    image = np.zeros((28, 28, 1))
    image[5:20, 10:14] = 1.0
    best = [
        BestOip(0, image, 2.5, True, 3, 0.9),
        BestOip(1, image, 0.0, False, 3, 0.9),
        BestOip(2, image, 1.0, True, 1, 0.5),
    ]
    figures.gallery("conv3", best, tmp_path / "gallery.png", contrast=False, columns=3)
    picture = matplotlib.image.imread(tmp_path / "gallery.png")[..., :3].mean(axis=2)
    tiles = picture[picture.shape[0] // 2 :]  # below the titles: the three tiles, dark where drawn
    drawn = np.flatnonzero((tiles < 0.1).any(axis=0))
    thirds = np.array_split(tiles[:, drawn[0] : drawn[-1] + 1], 3, axis=1)
    assert thirds[0].std() > 0.1 and thirds[2].std() > 0.1
    assert thirds[1].std() < thirds[0].std(), "a map without an OIP is shown empty"


def layer_examples(maps=6, classes=4, top=5):
    rng = np.random.default_rng(0)
    profiles = rng.uniform(size=(maps, classes)).astype(np.float32)
    indices = np.tile(np.arange(top), (maps, 1))
    images = rng.uniform(size=(maps, top, 28, 28, 1)).astype(np.float32)
    return LayerExamples("conv3", np.arange(classes), profiles, np.arange(maps)[::-1], indices,
                         np.ones((maps, top), np.float32), indices % classes, images, np.zeros(1), np.ones(1))  # fmt: skip


def test_a_map_figure_with_examples_has_a_row_of_held_out_images_on_top(tmp_path):
    figures.map_figure(one_map(1), {}, tmp_path / "plain.png")
    figures.map_figure(one_map(1), {}, tmp_path / "examples.png", examples=layer_examples(top=12))
    plain, shown = (matplotlib.image.imread(tmp_path / f"{name}.png") for name in ("plain", "examples"))
    assert shown.shape[0] > plain.shape[0] + 50, "one more row"
    assert shown.shape[1] > plain.shape[1], "twelve examples are wider than three OIPs"


def test_class_profiles_heat_map(tmp_path):
    figures.class_profiles(layer_examples(maps=40, classes=10), {0: 3, 5: 9}, tmp_path / "classes.png")
    picture = matplotlib.image.imread(tmp_path / "classes.png")[..., :3]
    assert picture.shape[1] > picture.shape[0] > 100 and picture.std() > 0.1
    red = (picture[..., 0] > 0.9) & (picture[..., 1] < 0.2) & (picture[..., 2] < 0.2)
    assert red.sum() > 10, "the classes read in the best OIPs are marked"


def test_colour_images_are_shown_in_colour():
    image = np.zeros((4, 4, 3))
    image[..., 0] = 1.0
    assert figures.display(image).shape == (4, 4, 3)
    assert figures.display(image[..., :1]).shape == (4, 4)
    first, second = np.random.default_rng(2).normal(size=(2, 4, 4, 3))
    side_by_side = figures.mosaic([first, second])
    assert side_by_side.ndim == 3, "colour kept"
    np.testing.assert_array_equal(side_by_side[:, :4], figures.display(first))
    np.testing.assert_array_equal(side_by_side[:, -4:], figures.display(second))
    assert not np.array_equal(figures.display(first), figures.display(second)), "two images told apart"
    assert (side_by_side[:, 4:-4] == 1).all() and side_by_side.shape[1] > 8, "white between them"


def test_display_scales_to_the_unit_range_and_flat_images_to_zero():
    np.testing.assert_array_equal(figures.display(np.array([[[2.0], [4.0]], [[6.0], [4.0]]])), [[0, 0.5], [1, 0.5]])
    np.testing.assert_array_equal(figures.display(np.full((2, 2, 1), 3.0)), np.zeros((2, 2)))
    clipped = figures.display(np.arange(100.0).reshape(10, 10, 1), contrast=True)
    assert clipped.min() == 0 and clipped.max() == 1 and (clipped == 0).sum() >= 2


def test_summary_tables_in_csv_markdown_and_html(tmp_path):
    rows = [{"map": 0, "loss": 1.23456, "found": True}, {"map": 1, "loss": 0.0, "found": False}]
    blocks = [("text", "a line & more"), ("heading", "Maps"), ("table", rows)]
    figures.write_summary("Title", blocks, rows, tmp_path / "s.csv", tmp_path / "s.md", tmp_path / "s.html")
    assert (tmp_path / "s.csv").read_text() == "map,loss,found\n0,1.23456,True\n1,0.0,False\n"
    assert "| 0 | 1.235 | True |" in (tmp_path / "s.md").read_text()
    page = (tmp_path / "s.html").read_text()
    assert "<p>a line &amp; more</p>" in page and "<td>1.235</td>" in page


def test_a_map_figure_of_wide_images_shows_every_image_with_its_own_caption():
    def wide(name, n):
        rng = np.random.default_rng(n)
        images = rng.normal(size=(n, 28, 36, 1)).astype(np.float32)
        return StrategyResult(name, images, images, np.zeros((5, n)), np.zeros((0, n)), np.linspace(1, 2, n),
                              np.arange(n) % 10, np.full(n, 0.5), 1.0, 100)  # fmt: skip

    result = MapResult("block1", 2, {"random": wide("random", 3), "precursor": wide("precursor", 4)})
    top = np.random.default_rng(0).normal(size=(3, 9, 28, 36, 1)).astype(np.float32)
    examples = LayerExamples("block1", np.arange(3), np.ones((3, 3), np.float32), np.arange(3),
                             np.zeros((3, 9), int), np.ones((3, 9), np.float32), np.zeros((3, 9), int), top,
                             np.zeros(1), np.ones(1))  # fmt: skip
    fig = figures.map_figure_of(result, {}, examples=examples)
    first = fig.axes[0]  # the held-out row: 9 images of 36 px side by side
    centres = np.array([text.get_position()[0] for text in first.texts])
    pitch = np.diff(centres)
    assert len(centres) == 9 and np.allclose(pitch, pitch[0]) and pitch[0] >= 36, "one caption per image, in step"
    starts = np.arange(9) * pitch[0]
    assert ((starts <= centres) & (centres < starts + 36)).all(), "each caption over its own image"
    assert first.get_xlim()[1] >= starts[-1] + 36 - 1, "the last image shown whole"


def test_a_gallery_of_two_maps_is_as_wide_as_two_maps(tmp_path):
    image = np.random.default_rng(1).normal(size=(28, 28, 1))
    two = [BestOip(0, image, 2.5, True, 3, 0.9), BestOip(5, image, 1.0, True, 1, 0.5)]
    sixteen = [BestOip(index, image, 1.0, True, 1, 0.5) for index in range(16)]
    for name, maps, columns in (("two_in_16", two, 16), ("two_in_2", two, 2), ("sixteen", sixteen, 16)):
        figures.gallery("conv3", maps, tmp_path / f"{name}.png", contrast=False, columns=columns)
    width = {
        name: matplotlib.image.imread(tmp_path / f"{name}.png").shape[1]
        for name in ("two_in_16", "two_in_2", "sixteen")
    }
    assert width["two_in_16"] == width["two_in_2"] < width["sixteen"], "two thumbnails, not a row of sixteen"
