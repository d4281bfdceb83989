"""Dataset examples: which held-out images drive each map of a layer most, and each map's class profile
(its mean activation per class), from one forward pass over the held-out set.

The activation of an image is the map's mean activation, the quantity the OIPs maximize, so a digit's
activation and an OIP's loss are on one scale.
"""

import numpy as np
from scipy.cluster import hierarchy

from .results import LayerExamples


def top_images(activations, count):
    """Per map, the `count` images with the highest activation, highest first (ties: lower index first)."""
    order = np.argsort(-activations, axis=0, kind="stable")[:count]
    return order.T  # (maps, count)


def class_profiles(activations, labels, classes):
    """(maps, classes): each map's mean activation over the images of each class."""
    return np.stack([activations[labels == c].mean(axis=0) for c in classes], axis=1).astype(np.float32)


def similar_first(profiles):
    """An order of the maps in which maps with similar profiles sit together: the leaves of an average-linkage
    clustering of the profiles, each scaled to its largest class (maps that nothing activates stay zero)."""
    if len(profiles) < 3:
        return np.arange(len(profiles))
    peak = profiles.max(axis=1, keepdims=True)
    scaled = np.divide(profiles, peak, out=np.zeros_like(profiles, dtype=np.float64), where=peak > 0)
    return hierarchy.leaves_list(hierarchy.linkage(scaled, "average", optimal_ordering=True))


def layer_examples(layer, activations, images, labels, count):
    """The `LayerExamples` of a layer from the held-out set's `activations` (images, maps)."""
    classes = np.unique(labels)
    top = top_images(activations, min(count, len(labels)))
    profiles = class_profiles(activations, labels, classes)
    return LayerExamples(
        layer=layer,
        classes=classes,
        profiles=profiles,
        order=similar_first(profiles),
        top_indices=top,
        top_activations=np.take_along_axis(activations.T, top, axis=1),
        top_labels=labels[top],
        top_images=images[top],
        low=images.min(axis=(0, 1, 2)),
        high=images.max(axis=(0, 1, 2)),
    )
