"""How far to trust a map's OIPs: the measures the field tests feature visualizations by, computed for each
strategy's best OIP and, as a ceiling and a floor, for the map's own top held-out digits and for the starts
the ascent began from (definitions, costs and why in docs/method.md).

The held-out images are split in two halves by their index: a map's top digits of half A make its template
and its reference, and every measure that compares with what the map does on digits is taken on half B,
which neither saw. "digits" is then the top digits of half B (or their template, where a measure takes one
image), "starts" the median over the first `STARTS` start images of each start kind.

- data_scale: the image scaled to the top digit's contrast and clipped to the digits' range, then the
  percentile of its activation among the held-out digits' (1: above every digit).
- novel_robustness: the activation kept under transforms no strategy climbs under (larger shifts and turns,
  scaling, elastic deformation, thicker and thinner strokes), over the image's own.
- predicts_auc, predicts_spearman: half B's digits ranked by their best correlation with the image over shifts
  of up to 2 px: does that rank separate the digits that drive the map most (the top tenth) from the rest
  (the area under the ROC curve; 0.5: no better than chance), and follow their activation (rank correlation)?
- occlusion: for half B's top digits, the rank correlation between the activation each patch's cover takes
  away and what the image predicts for that patch (the digit's ink there weighted by the image, aligned).
- path: how alike the image drives the layers below the map and half A's top digits do (the correlation of
  their channel means, centred on the digits' mean; per layer, averaged).
"""

import numpy as np
import scipy.ndimage
import scipy.stats

NOVEL_SHIFTS = ((0, 3), (0, -3), (3, 0), (-3, 0), (0, 4), (0, -4), (4, 0), (-4, 0))  # beyond the robust jitter
NOVEL_ROTATIONS = (-20.0, -15.0, 15.0, 20.0)  # beyond the robust strategies' 10 degrees
NOVEL_SCALES = (0.8, 1.2)  # beyond their 10 %
ELASTIC = (2, 3.0, 2.0)  # deformations: how many, the smoothing (px) and the largest displacement (px)
TOP = 9  # a map's top digits
STARTS = 4  # the first starts of each start kind, whose median is the floor
ALIGN = 2  # px: the largest shift at which an image is compared with a digit
POSITIVE = 0.1  # the share of half B's digits that count as driving the map
PATCHES = 4  # a side of the occlusion grid
MEASURES = ("data_scale", "novel_robustness", "predicts_auc", "predicts_spearman", "occlusion", "path")
HIGHER_IS_BETTER = dict.fromkeys(MEASURES, True)
CANDIDATES = ("digits", "starts")  # the ceiling and the floor beside the strategies


def _transformed(image, shifts, rotations, scales=()):
    copies = [scipy.ndimage.shift(image, (dy, dx, 0), order=0, mode="nearest") for dy, dx in shifts]
    copies += [
        scipy.ndimage.rotate(image, angle, axes=(0, 1), reshape=False, order=1, mode="nearest") for angle in rotations
    ]
    copies += [_scaled(image, factor) for factor in scales]
    return np.stack(copies).astype(np.float32)


def _scaled(image, factor):
    """The image zoomed by `factor` about its centre, at its own size, edges continued."""
    centre = (np.array(image.shape[:2]) - 1) / 2
    matrix = np.diag([1 / factor, 1 / factor, 1.0])
    offset = np.append(centre - centre / factor, 0)
    return scipy.ndimage.affine_transform(image, matrix, offset, order=1, mode="nearest")


def novel(image, seed=0):
    """The image under the transforms no strategy climbs under: `NOVEL_SHIFTS`, `NOVEL_ROTATIONS`,
    `NOVEL_SCALES`, `ELASTIC` deformations (fields drawn from `seed`, the same for every image), and its
    strokes made thicker and thinner (a 2x2 grey dilation and erosion)."""
    copies = [_transformed(image, NOVEL_SHIFTS, NOVEL_ROTATIONS, NOVEL_SCALES)]
    rng = np.random.default_rng(seed)
    count, smoothing, largest = ELASTIC
    rows, columns = np.meshgrid(*(np.arange(n, dtype=np.float64) for n in image.shape[:2]), indexing="ij")
    for _ in range(count):
        field = [scipy.ndimage.gaussian_filter(rng.uniform(-1, 1, image.shape[:2]), smoothing) for _ in range(2)]
        field = [f * (largest / max(np.abs(f).max(), 1e-12)) for f in field]
        warped = [scipy.ndimage.map_coordinates(image[..., c], [rows + field[0], columns + field[1]], order=1,
                                                mode="nearest") for c in range(image.shape[2])]  # fmt: skip
        copies.append(np.stack(warped, axis=-1)[None])
    for morph in (scipy.ndimage.grey_dilation, scipy.ndimage.grey_erosion):
        copies.append(morph(image, size=(2, 2, 1))[None])
    return np.concatenate(copies).astype(np.float32)


def kept(losses, images, copies_of):
    """Per image: the mean activation of its copies (`copies_of(image)`) over its own; NaN where the image does
    not activate the map."""
    activation = losses(images)
    copies = [copies_of(image) for image in images]
    counts = [len(c) for c in copies]
    moved_losses = np.split(losses(np.concatenate(copies)), np.cumsum(counts)[:-1])
    ratio = np.array([m.mean() for m in moved_losses]) / np.where(activation > 0, activation, np.nan)
    return ratio.astype(np.float64)


def at_data_scale(images, top_digit, low, high):
    """The images with the top digit's contrast: centred, scaled to its centred norm, put on its mean, then
    clipped to the held-out images' range per channel (`low`, `high`)."""
    centred = images - images.mean(axis=(1, 2, 3), keepdims=True)
    norm = np.sqrt((centred**2).sum(axis=(1, 2, 3), keepdims=True))
    reference = top_digit - top_digit.mean()
    scaled = centred * (np.sqrt((reference**2).sum()) / np.maximum(norm, 1e-12)) + top_digit.mean()
    return np.clip(scaled, low, high).astype(np.float32)


def percentile(values, among):
    """Per value: the share of `among` below it, ties counting half (1: above every one)."""
    among = np.sort(among)
    below, at_or_below = np.searchsorted(among, values, "left"), np.searchsorted(among, values, "right")
    return (below + 0.5 * (at_or_below - below)) / len(among)


def _shifted(image, align=ALIGN):
    """The image shifted by every (dy, dx) of up to `align` px (edges continued): ((2 align + 1)², *shape)."""
    return np.stack([scipy.ndimage.shift(image, (dy, dx, 0), order=0, mode="nearest")
                     for dy in range(-align, align + 1) for dx in range(-align, align + 1)])  # fmt: skip


def _unit_rows(images):
    """The images flattened, centred and scaled to unit norm: (images, pixels)."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    flat = flat - flat.mean(axis=1, keepdims=True)
    return flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-12)


def best_correlations(image, digits, align=ALIGN):
    """Per digit: the largest Pearson correlation of `image` with it over shifts of the image by up to `align`
    px (edges continued), (len(digits),)."""
    return (_unit_rows(digits) @ _unit_rows(_shifted(image, align)).T).max(axis=1)


def predicts(image, digits, activations):
    """(AUC, Spearman): how well `image`'s best correlations with `digits` separate the top `POSITIVE` share of
    them by `activations` from the rest, and follow the activations; NaN where undefined (a flat image)."""
    if float(np.ptp(image)) == 0:
        return np.nan, np.nan
    score = best_correlations(image, digits)
    positive = activations >= np.quantile(activations, 1 - POSITIVE)
    if positive.all() or not positive.any():
        return np.nan, np.nan
    ranks = scipy.stats.rankdata(score)
    auc = (ranks[positive].sum() - positive.sum() * (positive.sum() + 1) / 2) / (positive.sum() * (~positive).sum())
    return float(auc), float(scipy.stats.spearmanr(score, activations).statistic)


def patches(shape, side=PATCHES):
    """The occlusion grid's patches of an image of `shape`: `side` x `side` slices (rows, columns)."""
    edges = [np.linspace(0, n, side + 1).round().astype(int) for n in shape[:2]]
    return [(slice(r0, r1), slice(c0, c1)) for r0, r1 in zip(edges[0], edges[0][1:])
            for c0, c1 in zip(edges[1], edges[1][1:])]  # fmt: skip


def occlusion_drops(losses, digits, low):
    """(digits, patches): the activation each patch's cover (by the data's lowest value, `low`) takes away."""
    grid = patches(digits.shape[1:])
    covered = []
    for digit in digits:
        for rows, columns in grid:
            copy = digit.copy()
            copy[rows, columns] = low
            covered.append(copy)
    return (losses(digits)[:, None] - losses(np.stack(covered)).reshape(len(digits), len(grid))).astype(np.float64)


def occlusion(image, digits, drops, low):
    """The mean over `digits` of the rank correlation between the measured `drops` and what `image` predicts
    for each patch: the digit's ink there (its value above `low`) times the image, centred, at the shift of up
    to `ALIGN` px where they correlate best; NaN where undefined (a flat image)."""
    if float(np.ptp(image)) == 0:
        return np.nan
    aligned = _shifted(image - image.mean())
    best = aligned[np.argmax(_unit_rows(digits) @ _unit_rows(aligned).T, axis=1)]  # per digit, its best shift
    weighted = (digits - low) * best
    predicted = np.stack(
        [weighted[:, rows, columns].sum(axis=(1, 2, 3)) for rows, columns in patches(digits.shape[1:])], 1
    )
    return _mean_rank_correlation(predicted, drops)


def _mean_rank_correlation(predicted, drops):
    """The mean over rows of the Spearman correlation of `predicted` with `drops`, rows where either is flat
    left out; NaN where none is left."""
    keep = (np.ptp(predicted, axis=1) > 0) & (np.ptp(drops, axis=1) > 0)
    if not keep.any():
        return np.nan
    ranks = [scipy.stats.rankdata(a, axis=1) for a in (predicted[keep], drops[keep])]
    return float(np.mean([np.corrcoef(p, d)[0, 1] for p, d in zip(*ranks)]))


def ink_occlusion(digits, drops, low):
    """The ink baseline of `occlusion`: each patch predicted by the digit's ink there alone."""
    ink = digits - low
    return _mean_rank_correlation(
        np.stack([ink[:, r, c].sum(axis=(1, 2, 3)) for r, c in patches(digits.shape[1:])], 1), drops
    )


def path(below, images, reference, centre):
    """Per image: the mean over the layers below the map of the correlation of its channel means with the
    `reference`'s, both less the digits' mean `centre` (`below(images)`: a (images, channels) array per
    layer); NaN where there is no layer below."""
    if not reference:
        return np.full(len(images), np.nan)
    layers = below(images)
    values = []
    for means, ref, mid in zip(layers, reference, centre):
        a, b = means - mid, ref - mid
        values.append((a @ b) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b), 1e-12))
    return np.mean(values, axis=0)


class Map:
    """What one map's measures compare with: the held-out images (standardized) and the map's activations on
    them, split in half A and half B by index; the map's `losses(images)`, the channel means of the layers
    below it (`below(images)`), and the held-out range per channel (`low`, `high`)."""

    def __init__(self, losses, below, held_out, seed):
        self.losses, self.below, self.held_out, self.seed = losses, below, held_out, seed
        self.activations = losses(held_out)
        self.low, self.high = held_out.min(axis=(0, 1, 2)), held_out.max(axis=(0, 1, 2))
        half_a, half_b = np.arange(0, len(held_out), 2), np.arange(1, len(held_out), 2)
        top = min(TOP, len(half_b))
        self.top_a = half_a[np.argsort(-self.activations[half_a], kind="stable")[:top]]
        self.top_b = half_b[np.argsort(-self.activations[half_b], kind="stable")[:top]]
        self.half_b = half_b
        self.template = held_out[self.top_a].mean(axis=0)
        reference = below(held_out[self.top_a]) if below else []
        self.reference = [r.mean(axis=0) for r in reference]
        self.centre = [c.mean(axis=0) for c in below(held_out)] if below else []
        self.drops = occlusion_drops(losses, held_out[self.top_b], self.low)
        rng = np.random.default_rng(seed)
        self.random_digits = held_out[rng.choice(half_b, top, replace=False)]

    def images_measures(self, images):
        """{measure: a value per image} of `images` (standardized)."""
        digits_b = self.held_out[self.half_b]
        scaled = at_data_scale(images, self.held_out[self.top_a[0]], self.low, self.high)
        predicted = [predicts(image, digits_b, self.activations[self.half_b]) for image in images]
        return {
            "data_scale": percentile(self.losses(scaled), self.activations),
            "novel_robustness": kept(self.losses, images, lambda image: novel(image, self.seed)),
            "predicts_auc": np.array([p[0] for p in predicted]),
            "predicts_spearman": np.array([p[1] for p in predicted]),
            "occlusion": np.array(
                [occlusion(image, self.held_out[self.top_b], self.drops, self.low) for image in images]
            ),
            "path": path(self.below, images, self.reference, self.centre),
        }

    def digits_measures(self):
        """The ceiling: the measures of half B's top digits (their median), with the template of half A's top
        digits standing for them where a measure takes one image (predicts, occlusion); and the baselines
        `occlusion_ink` (each patch predicted by its ink) and `path_random_digits` (random digits of half B)."""
        digits = self.held_out[self.top_b]
        found = median_of(self.images_measures(digits))
        template = self.images_measures(self.template[None])
        for key in ("predicts_auc", "predicts_spearman", "occlusion"):
            found[key] = _plain(template[key][0])
        found["occlusion_ink"] = ink_occlusion(digits, self.drops, self.low)
        found["path_random_digits"] = _median(path(self.below, self.random_digits, self.reference, self.centre))
        return found


def median_of(values):
    """{measure: the median of its values over images, None where none is defined}."""
    return {key: _median(v) for key, v in values.items()}


def _median(values):
    values = np.asarray(values, np.float64)
    return _plain(np.median(values[np.isfinite(values)])) if np.isfinite(values).any() else None


def _plain(value):
    value = float(value)
    return value if np.isfinite(value) else None


def measure(target, best_oips, starts):
    """A map's measures (`Faithfulness.measures`): {candidate: {measure: value}} for each strategy's best OIP
    (`best_oips`, {strategy: its image}), for the map's top digits and for the `starts` (start images,
    standardized: their median)."""
    found = {"digits": target.digits_measures(), "starts": median_of(target.images_measures(starts))}
    if best_oips:
        names = list(best_oips)
        values = target.images_measures(np.stack([best_oips[n] for n in names]))
        for k, name in enumerate(names):
            found[name] = {key: _plain(v[k]) for key, v in values.items()}
    return found


def bootstrap_median(values, seed=0, resamples=1000, level=0.95):
    """(median, low, high) of `values` with a percentile bootstrap interval; Nones where there are none."""
    values = np.asarray([v for v in values if v is not None], np.float64)
    if not len(values):
        return None, None, None
    rng = np.random.default_rng(seed)
    medians = np.median(values[rng.integers(0, len(values), (resamples, len(values)))], axis=1)
    tail = (1 - level) / 2
    return float(np.median(values)), float(np.quantile(medians, tail)), float(np.quantile(medians, 1 - tail))


def summarize(maps, measured):
    """Two tables over all of a layer's maps (`maps`: `MapResult`s; `measured`: each map's `Faithfulness`):
    per candidate (each strategy, the top digits, the starts) each measure's median with its 95 % bootstrap
    interval; and per strategy, against the digits map by map, the median difference with its interval and on
    how many maps it is above them, with the share of maps where the strategy fails (no OIP, or its data-scale
    activation below the starts')."""
    strategies = list(maps[0].strategies)
    medians, paired = [], []
    for name in [*strategies, *CANDIDATES]:
        found = [m.measures.get(name) or {} for m in measured]
        medians.append({"candidate": name} | {key: _interval(*bootstrap_median([f.get(key) for f in found]))
                                              for key in MEASURES})  # fmt: skip
    for name in strategies:
        row = {"strategy": name}
        failed = [
            not result.strategies[name].found or _value(m, name, "data_scale") < _value(m, "starts", "data_scale")
            for result, m in zip(maps, measured)
        ]
        row["fails"] = f"{sum(failed)}/{len(maps)}"
        for key in MEASURES:
            pairs = [(m.measures.get(name, {}).get(key), m.measures["digits"].get(key)) for m in measured]
            differences = [a - b for a, b in pairs if a is not None and b is not None]
            above = sum(d > 0 for d in differences)
            row[key] = f"{_interval(*bootstrap_median(differences))}; above on {above}/{len(differences)}"
        paired.append(row)
    return medians, paired


def _value(measured, candidate, key):
    value = measured.measures.get(candidate, {}).get(key)
    return -np.inf if value is None else value


def _interval(median, low, high):
    return "–" if median is None else f"{median:.3g} [{low:.3g}, {high:.3g}]"
