"""Four ascents at once in threads of one process, as the workflow's jobs run, with TensorFlow's pools sized
by the arguments: image-steps per second, the process's user and kernel CPU time, and a checksum of the
losses (the same checksum: the same results).

    python scripts/thread_pools.py results/model/cnn.keras INTRA_OP_THREADS INTER_OP_THREADS
"""

import os
import sys
import threading
import time

import numpy as np
import tensorflow as tf

from mnist_oip import ascent, model, patterns

path, intra, inter = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tf.config.threading.set_intra_op_parallelism_threads(intra)
tf.config.threading.set_inter_op_parallelism_threads(inter)
tf.config.experimental.enable_op_determinism()
layer = ascent.LayerAscent(model.load_model(path), "conv3", 0.01)
images = np.asarray(patterns.upscale(patterns.coarse_patterns(np.arange(128), 3, (0.2, 0.5, 0.8))))
layer.map(0).run(images, 2)  # compile
losses = [[] for _ in range(4)]


def climb(index):
    for _ in range(6):
        losses[index].append(layer.map(index).run(images, 10)[2])


threads = [threading.Thread(target=climb, args=(i,)) for i in range(4)]
began, cpu = time.perf_counter(), os.times()
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
wall, used = time.perf_counter() - began, os.times()
print(
    f"intra-op {intra}, inter-op {inter}: {4 * 6 * 128 * 10 / wall:.0f} image-steps/s, user {used.user - cpu.user:.1f} s, "
    f"kernel {used.system - cpu.system:.1f} s, wall {wall:.1f} s, loss checksum {sum(float(x.sum()) for run in losses for x in run):.6f}"
)
