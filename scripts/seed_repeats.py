"""How often a run's precursor seeds repeat an image: seeds whose patterns standardize to the same image as
another seed of the same map (`patterns.canonical`), as the blog's every-pattern search (`distinct: false`)
keeps them. Prints JSON: the maps with a repeated seed, the repeated seeds in all, and per such map the
seeds' indices grouped by image.

    python scripts/seed_repeats.py RESULTS
"""

import argparse
import json

import numpy as np

from mnist_oip import paths, patterns
from mnist_oip.results import Scoring, Seeds


def repeats(results):
    run = paths.Results(results)
    found = {}
    for layer, index in run.maps():
        seeds = Seeds.load(run(paths.SEEDS, layer=layer, map=index))
        levels = Scoring.load(run(paths.SCORING, layer=layer, map=index)).levels
        digits = np.abs(seeds.coarse.reshape(len(seeds.coarse), -1, 1) - np.float32(levels)).argmin(axis=2)
        images = [row.tobytes() for row in patterns.canonical(digits.astype(np.uint8), levels)]
        groups = [[int(i) for i, key in zip(seeds.indices, images) if key == image] for image in dict.fromkeys(images)]
        if len(groups) < len(images):
            found[f"{layer}/{index}"] = [g for g in groups if len(g) > 1]
    return {
        "maps_with_a_repeated_seed": len(found),
        "repeated_seeds": sum(len(g) - 1 for groups in found.values() for g in groups),
        "per_map": found,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results")
    print(json.dumps(repeats(parser.parse_args().results), indent=1))
