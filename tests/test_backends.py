"""A model trained and saved under TensorFlow gives the same ascent under JAX (the GPU machine's backend)."""

import json
import os
import subprocess
import sys

import keras
import numpy as np

from mnist_oip import ascent, model, patterns

ON_JAX = """
import json, sys
import numpy as np
from mnist_oip import ascent, model
cnn = model.load_model(sys.argv[1])
images = np.load(sys.argv[2])
result = {}
for pre in (False, True):
    climb = ascent.Ascent(model.map_model(cnn, "conv3", 5, pre_activation=pre), 0.05)
    oips, curve, final = climb.run(images, 15)
    result[str(pre)] = {"curve": curve.tolist(), "final": final.tolist()}
print(json.dumps(result))
"""


def test_tensorflow_model_ascends_the_same_on_jax(tmp_path):
    assert keras.backend.backend() == "tensorflow"
    keras.utils.set_random_seed(4)
    cnn = model.build_cnn()
    cnn.save(tmp_path / "cnn.keras")
    images = keras.ops.convert_to_numpy(patterns.random_starts(4, [28, 7], seed=3))
    np.save(tmp_path / "images.npy", images)
    env = os.environ | {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-c", ON_JAX, str(tmp_path / "cnn.keras"), str(tmp_path / "images.npy")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    on_jax = json.loads(done.stdout.strip().splitlines()[-1])
    for pre in (False, True):
        climb = ascent.Ascent(model.map_model(cnn, "conv3", 5, pre_activation=pre), 0.05)
        _, curve, final = climb.run(images, 15)
        theirs = on_jax[str(pre)]
        # Same start, same model: the same losses; later steps drift apart slowly, as ReLU and max-pool
        # switch on float round-off, but climb alike.
        np.testing.assert_allclose(np.array(theirs["curve"])[:2], curve[:2], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(theirs["final"], final, rtol=0.1, atol=0.01 * np.abs(final).max())
    assert final.max() > curve[0].max(), "the ascent moved"
