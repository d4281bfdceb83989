"""`snakemake --report` of the tiny run, opened in headless Chromium the way a reader clicks through it."""

import io
import shutil
import subprocess
import sys

import matplotlib.pyplot as plt
import pytest
from helpers import MAPS, ROOT, TINY


def _browser():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no chromium to render the report: apt-get install chromium")
    return path


def _shown(page, category, name):
    """Open `category` in the report's sidebar and click the eye next to `name`."""
    page.get_by_text(category, exact=True).click()
    page.locator("tr", has_text=name).locator("a[iconname=eye]").click()


def test_report_shows_gallery_summary_figures_and_training(tiny_run, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    report = tmp_path / "report.html"
    # the README's command, `snakemake --report report.html`, which takes its cores from the default profile,
    # and the --configfile the run was made with
    done = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory",
                           str(tiny_run), "--report", str(report), "--configfile", str(TINY)], capture_output=True,
                          text=True, check=False, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_browser(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(report.as_uri())
        front = page.inner_text("body")
        assert "Original input patterns of an MNIST CNN" in front and "maps had no OIP from random starts" in front
        assert f"For {len(MAPS)} maps of conv3" in front and "accuracy" in front
        assert all(category in front for category in ("Overview", "Layers", "Maps", "Training"))
        assert "The CNN reads the best OIP of" in front

        _shown(page, "Layers", "conv3/gallery.png")  # one layer: its subcategory is not a level of its own
        gallery = page.locator("img[src*='filename=gallery.png']")
        gallery.wait_for()
        page.wait_for_function("() => [...document.images].every(img => img.complete)")
        assert gallery.evaluate("img => img.complete && img.naturalWidth") > 100, "gallery image did not load"
        pixels = plt.imread(io.BytesIO(gallery.screenshot()))
        assert pixels[..., :3].std() > 0.05, "gallery shows a blank image"

        page.get_by_text("Results", exact=True).click()
        _shown(page, "Layers", "conv3/classes.png")
        page.locator("img[src*='filename=classes.png']").wait_for()

        page.get_by_text("Results", exact=True).click()
        _shown(page, "Overview", "summary.html")
        page.wait_for_function("() => document.querySelector('iframe') !== null")
        page.frames[-1].wait_for_load_state()
        shown = "".join(frame.inner_text("body") for frame in page.frames)
        assert "maps had no OIP from random starts" in shown and "precursor_warm" in shown

        page.get_by_text("Results", exact=True).click()
        page.get_by_text("Maps", exact=True).click()
        labels = page.inner_text("body").split()  # the per-map figures, listed by their map and layer labels
        assert {"MAP", "LAYER", "conv3", *map(str, MAPS)} <= set(labels), labels
        browser.close()
