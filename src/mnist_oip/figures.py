"""Figures and tables: one map's seeds and OIPs, the gallery of all maps, training curves, the summary."""

import csv
import html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from .storage import atomic_path, save_text


def display(image, contrast=False):
    """An image scaled to [0, 1] for showing; `contrast` clips the 2 % tails first."""
    image = np.asarray(image, np.float64).squeeze()
    low, high = np.percentile(image, [2, 98]) if contrast else (image.min(), image.max())
    return np.clip((image - low) / (high - low), 0, 1) if high > low else np.zeros_like(image)


def _save(fig, path):
    with atomic_path(path, ".png") as tmp:
        fig.savefig(tmp, dpi=100, bbox_inches="tight", format="png")
    plt.close(fig)


def map_figure(result, groups, map_index, path, contrast=False):
    """For each start strategy, a row of start images above a row of their OIPs, titled with the losses and,
    for OIPs with loss > 0, the letter of their pattern group (same letter: same pattern up to a shift)."""
    names = [name for name in ("precursor", "precursor_warm", "random", "random_warm") if f"{name}_oips" in result]
    columns = max(len(result[f"{name}_oips"]) for name in names)
    fig, axes = plt.subplots(2 * len(names), columns, figsize=(1.3 * columns, 2.9 * len(names)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for r, name in enumerate(names):
        starts, oips, losses = result[f"{name}_starts"], result[f"{name}_oips"], result[f"{name}_losses"]
        for c in range(len(starts)):
            axes[2 * r, c].imshow(display(starts[c], contrast), cmap="gray", vmin=0, vmax=1)
            axes[2 * r + 1, c].imshow(display(oips[c], contrast), cmap="gray", vmin=0, vmax=1)
            group = groups.get((name, c))
            letter = "" if group is None else f" {chr(ord('A') + group % 26)}"
            axes[2 * r + 1, c].text(
                0.5,
                -0.04,
                f"{losses[c]:.3g}{letter}",
                fontsize=7,
                ha="center",
                va="top",
                transform=axes[2 * r + 1, c].transAxes,
            )
        axes[2 * r, 0].set_title(f"{name.replace('_', ' + ')} starts", fontsize=8, loc="left")
    fig.suptitle(f"map {map_index}: start images and their OIPs (loss = mean activation)", fontsize=9)
    _save(fig, path)


def gallery(best, path, contrast=False, columns=16):
    """Every map's best OIP; `best` is a list of (map index, image, loss, found)."""
    rows = int(np.ceil(len(best) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.9, rows * 1.05), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (index, image, loss, found) in zip(axes.flat, best):
        ax.imshow(display(image, contrast) if found else np.zeros((28, 28)), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{index}: {loss:.2g}" if found else f"{index}: none", fontsize=6)
    fig.suptitle("best OIP of every map", fontsize=10)
    _save(fig, path)


def training_curves(history, path):
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(8, 3))
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


def _cell(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)
