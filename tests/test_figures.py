"""Figures drawn side by side in threads, as the workflow's jobs draw them, each showing its own data."""

import threading

import matplotlib.image
import numpy as np

from mnist_oip import figures
from mnist_oip.results import MapResult, StrategyResult


def strategy(name, brightness, n=3):
    rng = np.random.default_rng(len(name))
    starts = rng.normal(size=(n, 28, 28, 1)).astype(np.float32)
    oips = starts + brightness
    oips[:, :14] *= 3
    losses = np.linspace(0, brightness, n).astype(np.float32)
    return StrategyResult(name, starts, oips, np.zeros((5, n)), np.zeros((0, n)), losses, 1.0, 100)


def one_map(index):
    names = ("random", "precursor", "random_warm", "precursor_warm")
    return MapResult("conv3", index, {name: strategy(name, 1.0 + index) for name in names})


def test_map_figures_drawn_in_threads_side_by_side(tmp_path):
    groups = {("random", 1): 0, ("random", 2): 0, ("precursor", 2): 1}
    threads = [
        threading.Thread(target=figures.map_figure, args=(one_map(i), groups, tmp_path / f"{i}.png")) for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pictures = [matplotlib.image.imread(tmp_path / f"{i}.png") for i in range(4)]
    for picture in pictures:
        assert picture.shape[0] > picture.shape[1] > 200, "four strategies: two rows each, three columns"
        assert picture[..., :3].std() > 0.1, "not blank"


def test_gallery_shows_found_maps_and_marks_the_others(tmp_path):
    image = np.zeros((28, 28, 1))
    image[5:20, 10:14] = 1.0
    best = [(0, image, 2.5, True), (1, image, 0.0, False), (2, image, 1.0, True)]
    figures.gallery(best, tmp_path / "gallery.png", columns=3)
    picture = matplotlib.image.imread(tmp_path / "gallery.png")[..., :3]
    thirds = np.array_split(picture[picture.shape[0] // 5 :], 3, axis=1)
    assert thirds[0].std() > 0.1 and thirds[2].std() > 0.1
    assert thirds[1].std() < thirds[0].std(), "a map without an OIP is shown empty"


def test_display_scales_to_the_unit_range_and_flat_images_to_zero():
    np.testing.assert_array_equal(figures.display(np.array([[2.0, 4.0], [6.0, 4.0]])), [[0, 0.5], [1, 0.5]])
    np.testing.assert_array_equal(figures.display(np.full((2, 2), 3.0)), np.zeros((2, 2)))
    clipped = figures.display(np.arange(100.0).reshape(10, 10), contrast=True)
    assert clipped.min() == 0 and clipped.max() == 1 and (clipped == 0).sum() >= 2


def test_summary_tables_in_csv_markdown_and_html(tmp_path):
    rows = [{"map": 0, "loss": 1.23456, "found": True}, {"map": 1, "loss": 0.0, "found": False}]
    blocks = [("text", "a line & more"), ("heading", "Maps"), ("table", rows)]
    figures.write_summary("Title", blocks, rows, tmp_path / "s.csv", tmp_path / "s.md", tmp_path / "s.html")
    assert (tmp_path / "s.csv").read_text() == "map,loss,found\n0,1.23456,True\n1,0.0,False\n"
    assert "| 0 | 1.235 | True |" in (tmp_path / "s.md").read_text()
    page = (tmp_path / "s.html").read_text()
    assert "<p>a line &amp; more</p>" in page and "<td>1.235</td>" in page
