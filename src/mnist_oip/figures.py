"""Figures and tables: one map's seeds, OIPs and dataset examples, a layer's galleries and class profiles,
training curves, the summary. Grey images are shown in grey, colour images (3 channels) in colour."""

import csv
import html
import io
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from . import experiments
from .storage import atomic_path, save_text


def display(image, contrast=False):
    """An image (height, width, channels) scaled to [0, 1] for showing, as (height, width) where grey;
    `contrast` clips the 2 % tails first."""
    image = np.asarray(image, np.float64)
    image = image[..., 0] if image.shape[-1] == 1 else image
    low, high = np.percentile(image, [2, 98]) if contrast else (image.min(), image.max())
    return np.clip((image - low) / (high - low), 0, 1) if high > low else np.zeros_like(image)


def _save(fig, path):
    """Figures are built without pyplot, whose global state jobs running side by side as threads would share;
    written in the format their file's suffix names (png, pdf, svg)."""
    suffix = Path(path).suffix.lower()
    with atomic_path(path, suffix) as tmp:
        fig.savefig(tmp, dpi=100, bbox_inches="tight", format=suffix.lstrip("."))


GAP = 2  # px of white between images side by side


def mosaic(images, contrast=False):
    """Images side by side, each scaled on its own, `GAP` px of white between them."""
    shown = [display(image, contrast) for image in images]
    spacer = np.ones((shown[0].shape[0], GAP, *shown[0].shape[2:]))
    return np.hstack([part for image in shown for part in (image, spacer)][:-1])


def group_letters(group):
    """A pattern group's label: A to Z, then AA, AB, ... (a map may have more than 26 groups)."""
    letters = ""
    group += 1
    while group:
        group, rest = divmod(group - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def map_figure(result, groups, path, contrast=False, examples=None):
    """`map_figure_of` saved to `path`."""
    _save(map_figure_of(result, groups, contrast, examples), path)


def map_figure_of(result, groups, contrast=False, examples=None):
    """For each strategy of a `MapResult`, a row of start images above a row of their OIPs, the OIPs
    labelled with their losses, for loss > 0 the letter of their pattern group (same letter: same pattern
    up to a shift), and the class the CNN reads in them with its probability. With the layer's
    `LayerExamples`, a first row of the held-out images that activate the map most, with their labels and
    activations. One image per row keeps the figure quick to draw."""
    runs = list(result.strategies.values())
    rows = []
    if examples is not None:
        top = examples.top_images[result.map]
        labels = [
            f"{c}: {a:.3g}" for c, a in zip(examples.top_labels[result.map], examples.top_activations[result.map])
        ]
        rows.append(("held-out images that activate the map most (label: activation)", top, labels))
    for run in runs:
        rows.append((f"{run.name}: start images, then OIPs", run.starts, None))
        labels = []
        for c, (loss, read, p) in enumerate(zip(run.losses, run.classes, run.confidences)):
            group = groups.get((run.name, c))
            letter = "" if group is None else f" {group_letters(group)}"
            labels.append(f"{loss:.3g}{letter}\n→{read} {p:.2f}")
        rows.append((None, run.oips, labels))
    columns = max(len(images) for _, images, _ in rows)
    height, width = runs[0].oips.shape[1:3]
    fig = Figure(figsize=(1.3 * columns * max(1.0, width / height), 1.6 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    step = width + GAP  # one image and the gap after it, along a row
    for ax, (title, images, labels) in zip(axes, rows):
        ax.imshow(mosaic(images, contrast), cmap="gray", vmin=0, vmax=1)
        ax.set_xlim(-0.5, columns * step - GAP - 0.5)
        ax.axis("off")
        if title:
            ax.set_title(title, fontsize=8, loc="left")
        for c, label in enumerate(labels or []):
            ax.text(c * step + width / 2 - 0.5, height, label, fontsize=7, ha="center", va="top")
    fig.suptitle(
        f"map {result.map} of {result.layer}: start images and their OIPs (loss = mean activation; "
        "→ the class the CNN reads, its probability)",
        fontsize=9,
    )
    return fig


def gallery(layer, best, path, contrast, columns):
    """Every map's best OIP (a list of `summary.BestOip`), with its loss and the class the CNN reads."""
    columns = min(columns, len(best))
    rows = int(np.ceil(len(best) / columns))
    fig = Figure(figsize=(columns * 0.9, rows * 1.15))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, oip in zip(axes.flat, best):
        shown = display(oip.image, contrast)
        ax.imshow(shown if oip.found else np.zeros_like(shown), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{oip.map}: {oip.loss:.2g} →{oip.read_as}" if oip.found else f"{oip.map}: none", fontsize=6)
    fig.suptitle(f"best OIP of every map of {layer} (map: loss → class the CNN reads)", fontsize=10)
    _save(fig, path)


def strategy_gallery(layer, maps, path, contrast, columns):
    """Each strategy (rows) on the same maps (columns: up to `columns` `MapResult`s, evenly spread over
    `maps`): its best OIP, with its loss."""
    chosen = [maps[i] for i in np.unique(np.linspace(0, len(maps) - 1, min(columns, len(maps))).round().astype(int))]
    names = list(maps[0].strategies)
    fig = Figure(figsize=(len(chosen) * 0.9 + 1.2, len(names) * 1.1 + 0.6))
    axes = fig.subplots(len(names), len(chosen), squeeze=False)
    for name, row in zip(names, axes):
        for result, ax in zip(chosen, row):
            run = result.strategies[name]
            shown = display(run.oips[run.best], contrast)
            ax.imshow(shown if run.found else np.zeros_like(shown), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{result.map}: {run.best_loss:.2g}" if run.found else f"{result.map}: none", fontsize=6)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(name, fontsize=7)
    fig.suptitle(f"best OIP per strategy (rows) for the same maps of {layer} (map: loss)", fontsize=9)
    _save(fig, path)


MOST_MAPS_COMPARED = 24  # rows of `search_comparison`


def search_comparison(found, images, path):
    """The maps where a finer search matters (a `compare_searches` report and its best OIPs), up to
    `MOST_MAPS_COMPARED` of them, those it recovers first, then those it improves most: a row per map, the
    best precursor OIP of each search side by side with its loss."""
    labels, rows = found["searches"], {(r["layer"], r["map"]): r for r in found["per_map"]}
    keys = experiments.maps_that_matter(found)[:MOST_MAPS_COMPARED]
    if not keys:
        keys = list(rows)[:1]
    fig = Figure(figsize=(1.6 * len(labels) + 0.6, 1.5 * len(keys) + 0.6), layout="constrained")
    axes = fig.subplots(len(keys), len(labels), squeeze=False)
    for (layer, index), row_axes in zip(keys, axes):
        for label, ax in zip(labels, row_axes):
            loss = rows[(layer, index)][f"{label} best_loss"]
            shown = display(images[((layer, index), label, "")])
            ax.imshow(shown if loss > 0 else np.zeros_like(shown), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"map {index}: {loss:.3g}" if loss > 0 else f"map {index}: none", fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
    for label, ax in zip(labels, axes[0]):
        ax.set_title(f"{label}\n{ax.get_title()}", fontsize=7)
    fig.suptitle("best precursor OIP per search (map: loss):\nthe maps a finer search recovers, then those it "
                 "improves most", fontsize=9)  # fmt: skip
    _save(fig, path)


def class_profiles(examples, read_as, path, maps=None):
    """A layer's maps (columns, similar profiles side by side; `maps`: those asked for, or all) by class
    (rows): each map's mean activation per class of held-out images, scaled to the map's largest; a dot marks
    the class the CNN reads in the map's best OIP (`read_as`: map -> class, maps with an OIP)."""
    order = examples.order if maps is None else np.array([m for m in examples.order if m in set(maps)])
    profiles = examples.profiles[order]
    peak = profiles.max(axis=1, keepdims=True)
    scaled = np.divide(profiles, peak, out=np.zeros_like(profiles), where=peak > 0)
    count = len(order)
    fig = Figure(figsize=(max(6, 0.11 * count + 2), 0.3 * len(examples.classes) + 1.6))
    ax = fig.subplots()
    shown = ax.imshow(scaled.T, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    row_of = {int(c): r for r, c in enumerate(examples.classes)}
    dots = [(x, row_of[read_as[int(m)]]) for x, m in enumerate(order) if read_as.get(int(m)) in row_of]
    if dots:
        ax.scatter(*zip(*dots), s=9, c="red", marker="o")
    ax.set_yticks(range(len(examples.classes)), [str(c) for c in examples.classes], fontsize=7)
    ax.set_xticks(range(count), [str(m) for m in order], fontsize=4 if count > 40 else 7, rotation=90)
    ax.set_xlabel("map (similar class profiles side by side)", fontsize=8)
    ax.set_ylabel("class", fontsize=8)
    fig.colorbar(shown, ax=ax, fraction=0.02, pad=0.01).set_label("mean activation / map's largest", fontsize=7)
    ax.set_title(f"{examples.layer}: class profiles of its maps on held-out images (red: the class the CNN reads in "
                 "the map's best OIP)", fontsize=9, loc="left")  # fmt: skip
    _save(fig, path)


def training_curves(history, path):
    fig = Figure(figsize=(8, 3))
    ax_loss, ax_acc = fig.subplots(1, 2)
    for key in ("loss", "val_loss"):
        ax_loss.plot(history[key], label=key)
    for key in ("accuracy", "val_accuracy"):
        ax_acc.plot(history[key], label=key)
    for ax, title in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.legend(fontsize=7)
    _save(fig, path)


def markdown_table(rows):
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def html_table(rows):
    columns = list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(row[c]))}</td>" for c in columns) + "</tr>\n" for row in rows
    )
    return f"<table>\n<tr>{head}</tr>\n{body}</table>\n"


def write_summary(title, blocks, rows, csv_path, markdown_path, html_path):
    """The summary as Markdown and as HTML (what `snakemake --report` can show), and `rows` as CSV.

    `blocks` are ("heading" | "text" | "table", content) in order.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    save_text(csv_path, buffer.getvalue())
    markdown, page = [f"# {title}"], [f"<h1>{html.escape(title)}</h1>"]
    for kind, content in blocks:
        if kind == "heading":
            markdown.append(f"## {content}")
            page.append(f"<h2>{html.escape(content)}</h2>")
        elif kind == "text":
            markdown.append(content)
            page.append(f"<p>{html.escape(content)}</p>")
        else:
            markdown.append(markdown_table(content))
            page.append(html_table(content))
    save_text(markdown_path, "\n\n".join(markdown))
    style = "table{border-collapse:collapse;font:12px sans-serif}td,th{border:1px solid #ccc;padding:2px 6px}"
    save_text(
        html_path,
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head>\n<body>\n" + "\n".join(page) + "\n</body></html>\n",
    )


def report_page(*paragraphs):
    """The front page of `snakemake --report` (reStructuredText): what the run did and found."""
    title = "Original input patterns of an MNIST CNN"
    return "\n\n".join([title + "\n" + "=" * len(title), *paragraphs,
                        "The Overview holds the summary; Layers, each layer's gallery and class profiles; Maps, a figure per map."]) + "\n"  # fmt: skip


def _cell(value):
    if value is None:
        return "–"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
