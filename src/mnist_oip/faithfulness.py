"""How faithful an OIP is to what its map does on real data: four measures per OIP (defined, with why each is
sound, in docs/method.md), and per strategy their summary over a layer's maps.

- relative activation: the OIP's loss over the activation of the map's most activating held-out image;
- robustness: the map's activation after small shifts and rotations of the OIP, over the unmoved one;
- class agreement: the CNN reads the OIP as the class on which the map's class profile peaks;
- blend wins: added to held-out images, the share of them whose activation the OIP raises more than a
  phase-scrambled copy of it (the same amplitude spectrum in another arrangement) does (0.5: no better).
"""

import numpy as np
import scipy.ndimage

SHIFTS = ((0, 1), (0, -1), (1, 0), (-1, 0), (0, 2), (0, -2), (2, 0), (-2, 0))  # px (down, across)
ROTATIONS = (-10.0, -5.0, 5.0, 10.0)  # degrees
BLEND_IMAGES = 100  # held-out images each OIP is blended into
BLEND_RMS = 0.1  # the blended OIP's root mean square, in standardized units: a tenth of a digit's
MEASURES = ("relative_activation", "robustness", "class_agrees", "blend_wins")


def moved(image):
    """The image (height, width, channels) shifted by each of `SHIFTS` and rotated by each of `ROTATIONS`
    about its centre, edges continued: (len(SHIFTS) + len(ROTATIONS), height, width, channels)."""
    shifts = [scipy.ndimage.shift(image, (dy, dx, 0), order=0, mode="nearest") for dy, dx in SHIFTS]
    turns = [
        scipy.ndimage.rotate(image, angle, axes=(0, 1), reshape=False, order=1, mode="nearest") for angle in ROTATIONS
    ]
    return np.stack(shifts + turns).astype(np.float32)


def robustness(losses, oips):
    """Per OIP: the mean over `moved` copies of their activation over the OIP's (`losses(images)`: the map's
    activations); NaN where the OIP does not activate the map."""
    activation = losses(oips)
    copies = losses(np.concatenate([moved(oip) for oip in oips])).reshape(len(oips), -1)
    ratio = copies.mean(axis=1) / np.where(activation > 0, activation, np.nan)
    return ratio.astype(np.float64)


def random_phases(rng, count, shape):
    """`count` arrays of unit phase factors (count, height, width, 1): those of white noise's 2-D spectrum,
    so that a real pattern given them stays real."""
    return np.exp(1j * np.angle(np.fft.fft2(rng.normal(size=(count, *shape[:2])))))[..., None]


def scrambled(pattern, phases):
    """`pattern` (height, width, channels) with each of `phases` added to the phases of its spectrum (the same
    for every channel, so their relation stays): the same amplitude spectrum, so the same norm and
    smoothness, in another arrangement. (count, height, width, channels)."""
    return np.fft.ifft2(np.fft.fft2(pattern, axes=(0, 1)) * phases, axes=(1, 2)).real.astype(np.float32)


def blend_wins(losses, oips, held_out, rng):
    """Per OIP: over `BLEND_IMAGES` of the `held_out` images, the share whose activation rises more with the
    OIP added (centred, scaled to `BLEND_RMS`) than with a phase-scrambled copy of it (`scrambled`, one per
    image); ties count half. The images and the phases are drawn from `rng`, the same for every OIP."""
    count = min(BLEND_IMAGES, len(held_out))
    images = held_out[rng.choice(len(held_out), count, replace=False)]
    phases = random_phases(rng, count, images.shape[1:])
    shares = []
    for oip in oips:
        pattern = oip - oip.mean(axis=(0, 1))  # per channel: the scrambles keep no colour cast to flip
        pattern = pattern * (BLEND_RMS / max(float(np.sqrt(np.mean(pattern**2))), 1e-12))
        with_oip, with_scrambled = losses(images + pattern), losses(images + scrambled(pattern, phases))
        shares.append(float(np.mean((with_oip > with_scrambled) + 0.5 * (with_oip == with_scrambled))))
    return np.array(shares)


def measure(losses, strategy, held_out, best_digit, profile_class, rng_seed):
    """{measure: a value per OIP, None where undefined} for a `StrategyResult` whose OIPs are standardized;
    `losses(images)`: the map's activations; `best_digit`: the activation of its most activating held-out
    image; `profile_class`: the class its class profile peaks on."""
    oips = strategy.oips
    relative = strategy.losses / best_digit if best_digit > 0 else np.full(len(oips), np.nan)
    values = {
        "relative_activation": relative,
        "robustness": robustness(losses, oips),
        "class_agrees": strategy.classes == profile_class,
        "blend_wins": blend_wins(losses, oips, held_out, np.random.default_rng(rng_seed)),
    }
    plain = {key: [None if np.isnan(v) else float(v) for v in values[key]] for key in MEASURES}
    return plain | {"class_agrees": [bool(v) for v in values["class_agrees"]]}


def summarize(maps, measured):
    """Per strategy, over the maps where it found an OIP, its best OIP's measures: the medians of the ratios,
    and how many agree on the class. `maps`: `MapResult`s; `measured`: each map's `Faithfulness`."""
    table = []
    for name in maps[0].strategies:
        best = [
            (result.strategies[name].best, found.strategies[name])
            for result, found in zip(maps, measured)
            if result.strategies[name].found
        ]
        table.append(
            {
                "strategy": name,
                "maps_with_oip": len(best),
                "median_relative_activation": _median(best, "relative_activation"),
                "median_robustness": _median(best, "robustness"),
                "class_agreement": sum(m["class_agrees"][i] for i, m in best),
                "median_blend_wins": _median(best, "blend_wins"),
            }
        )
    return table


def _median(best, measure):
    """The median of a measure over (index of the best OIP, a map's measures of the strategy); None if none."""
    values = [m[measure][i] for i, m in best if m[measure][i] is not None]
    return float(np.median(values)) if values else None
