"""Figures and tables: one map's seeds and OIPs, the gallery of all maps, training curves, the summary."""

import csv
import html
import io

import numpy as np
from matplotlib.figure import Figure

from .storage import atomic_path, save_text


def display(image, contrast=False):
    """An image scaled to [0, 1] for showing; `contrast` clips the 2 % tails first."""
    image = np.asarray(image, np.float64).squeeze()
    low, high = np.percentile(image, [2, 98]) if contrast else (image.min(), image.max())
    return np.clip((image - low) / (high - low), 0, 1) if high > low else np.zeros_like(image)


def _save(fig, path):
    """Figures are built without pyplot, whose global state jobs running side by side as threads would share."""
    with atomic_path(path, ".png") as tmp:
        fig.savefig(tmp, dpi=100, bbox_inches="tight", format="png")


def mosaic(images, contrast=False, gap=2):
    """Images side by side, each scaled on its own, `gap` px of white between them."""
    shown = [display(image, contrast) for image in images]
    height = shown[0].shape[0]
    spacer = np.ones((height, gap))
    return np.hstack([part for image in shown for part in (image, spacer)][:-1])


def map_figure(result, groups, path, contrast=False):
    """For each strategy of a `MapResult`, a row of start images above a row of their OIPs, the OIPs
    labelled with their losses and, for loss > 0, the letter of their pattern group (same letter: same
    pattern up to a shift). One image per row keeps the figure quick to draw."""
    runs = list(result.strategies.values())
    columns = max(len(s.oips) for s in runs)
    fig = Figure(figsize=(1.3 * columns, 2.9 * len(runs)))
    axes = fig.subplots(2 * len(runs), 1, squeeze=False, gridspec_kw={"hspace": 0.3})[:, 0]
    size = runs[0].oips.shape[1] + 2
    for r, run in enumerate(runs):
        for ax, images in ((axes[2 * r], run.starts), (axes[2 * r + 1], run.oips)):
            ax.imshow(mosaic(images, contrast), cmap="gray", vmin=0, vmax=1)
            ax.set_xlim(-0.5, columns * size - 2.5)
            ax.axis("off")
        for c, loss in enumerate(run.losses):
            group = groups.get((run.name, c))
            letter = "" if group is None else f" {chr(ord('A') + group % 26)}"
            axes[2 * r + 1].text(
                c * size + size / 2 - 1, size, f"{loss:.3g}{letter}", fontsize=7, ha="center", va="top"
            )
        axes[2 * r].set_title(f"{run.name.replace('_', ' + ')} starts", fontsize=8, loc="left")
    fig.suptitle(
        f"map {result.map} of {result.layer}: start images and their OIPs (loss = mean activation)", fontsize=9
    )
    _save(fig, path)


def gallery(best, path, contrast=False, columns=16):
    """Every map's best OIP; `best` is a list of (map index, image, loss, found)."""
    rows = int(np.ceil(len(best) / columns))
    fig = Figure(figsize=(columns * 0.9, rows * 1.05))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (index, image, loss, found) in zip(axes.flat, best):
        ax.imshow(display(image, contrast) if found else np.zeros((28, 28)), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{index}: {loss:.2g}" if found else f"{index}: none", fontsize=6)
    fig.suptitle("best OIP of every map", fontsize=10)
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
                        "The Overview holds the gallery and the summary; Maps, a figure per map."]) + "\n"  # fmt: skip


def _cell(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)
