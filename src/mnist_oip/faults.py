"""For the tests only: make chosen maps' jobs fail or stall, to show what a failure or a kill leaves behind."""

import os
import time

FAIL = "MNIST_OIP_FAIL_MAPS"  # comma-separated maps whose scoring fails
STALL = "MNIST_OIP_STALL_MAPS"  # comma-separated maps whose scoring stalls between its two outputs


def _listed(variable, map_index):
    return str(map_index) in os.environ.get(variable, "").split(",")


def inject(map_index):
    """Fail on purpose if `map_index` is listed in $MNIST_OIP_FAIL_MAPS."""
    if _listed(FAIL, map_index):
        raise RuntimeError(f"map {map_index}: fault injected through {FAIL}")


def stall(map_index, seconds=600):
    """Wait, so that a test can kill the job at this point, if `map_index` is listed in $MNIST_OIP_STALL_MAPS."""
    if _listed(STALL, map_index):
        time.sleep(seconds)
