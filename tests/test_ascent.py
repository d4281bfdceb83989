"""Normalized gradient ascent: it climbs, its steps have the set length, NaN is named, the warm start moves
what plain ascent cannot, one compilation serves every map of a layer, bfloat16 stays close."""

import keras
import numpy as np
import pytest

from mnist_oip import ascent, model, patterns


@pytest.fixture(scope="module")
def cnn():
    keras.utils.set_random_seed(3)
    return model.build_cnn()


def full_activation(cnn, layer, index, images):
    body = keras.Model(cnn.input, cnn.get_layer(layer).output)
    return keras.ops.convert_to_numpy(body(images))[..., index].mean(axis=(1, 2))


def test_ascent_raises_the_loss(cnn):
    images = patterns.random_starts(6, [28, 14, 7, 4], seed=2)
    climb = ascent.LayerAscent(cnn, "conv3", 0.05).map(7)
    start = climb.losses(images)
    np.testing.assert_allclose(start, full_activation(cnn, "conv3", 7, images), rtol=1e-4, atol=1e-6)
    final_images, curve, final = climb.run(images, 30)
    assert curve.shape == (30, 6)
    np.testing.assert_allclose(curve[0], start, rtol=1e-5, atol=1e-7)
    active = start > 0
    assert active.any()
    assert np.all(final[active] > start[active])
    np.testing.assert_allclose(final, full_activation(cnn, "conv3", 7, final_images), rtol=1e-4, atol=1e-6)


def test_steps_have_normalized_length(cnn):
    images = keras.ops.convert_to_numpy(patterns.random_starts(3, [7], seed=4))
    climb = ascent.LayerAscent(cnn, "conv2", 0.1).map(0, pre_activation=True)
    moved, _, _ = climb.run(images, 1)
    rms = np.sqrt(((moved - images) ** 2).mean(axis=(1, 2, 3)))
    np.testing.assert_allclose(rms, 0.1, rtol=1e-3)


def test_every_map_of_a_layer_shares_one_compiled_loop(cnn):
    layer = ascent.LayerAscent(cnn, "conv3", 0.05)
    images = patterns.random_starts(4, [14, 7], seed=8)
    layer.map(0).run(images, 3)
    if keras.backend.backend() == "tensorflow":
        traced = layer._run_function.experimental_get_tracing_count()
        for index in (1, 2, 50, 127):
            _, _, final = layer.map(index).run(images, 3)
            np.testing.assert_allclose(final, ascent.LayerAscent(cnn, "conv3", 0.05).map(index).run(images, 3)[2])
        assert layer._run_function.experimental_get_tracing_count() == traced, "a new map retraced the loop"


def test_nan_is_reported_with_map_and_step(cnn):
    climb = ascent.LayerAscent(cnn, "conv3", 0.01).map(1, pre_activation=True)
    climb.bias = np.array([np.nan], np.float32)
    with pytest.raises(ascent.AscentError, match=r"map 1 of conv3 \(pre-activation\): loss is NaN or inf at step 0"):
        climb.run(patterns.random_starts(2, [7], seed=0), 5)


def test_warm_start_moves_a_map_that_random_starts_leave_at_zero(cnn):
    images = patterns.random_starts(6, [28, 14, 7, 4], seed=5)
    layer = ascent.LayerAscent(cnn, "conv3", 0.1)
    plain, warm = layer.map(9), layer.map(9, pre_activation=True)
    features = model.layer_body(cnn, "conv3")(images)
    spatial_max = keras.ops.convert_to_numpy(layer.unit.output(features, warm.kernel, warm.bias, True)).max()
    highest = warm.losses(images).max()
    # Lower the bias until no position of any start is active, but within reach of 100 steps of 0.1.
    for climb in (plain, warm):
        climb.bias = warm.bias - spatial_max - 0.05 * abs(highest)
    assert np.all(plain.losses(images) == 0)
    _, curve, stuck = plain.run(images, 100)
    assert np.all(curve == 0) and np.all(stuck == 0), "zero gradient: plain ascent cannot move"
    warmed, warm_curve, _ = warm.run(images, 100)  # the warm start: the pre-activation first
    _, _, found = plain.run(warmed, 100)
    assert warm_curve.shape == (100, 6) and np.all(np.diff(warm_curve.mean(axis=1)) > 0)
    assert found.max() > 0


def test_bfloat16_stays_close_to_float32(cnn):
    images = patterns.random_starts(8, [28, 14, 7], seed=6)
    exact = ascent.LayerAscent(cnn, "conv3", 0.01).map(20).losses(images)
    rough = ascent.LayerAscent(cnn, "conv3", 0.01, precision="bfloat16").map(20).losses(images)
    assert rough.dtype == np.float32
    np.testing.assert_allclose(rough, exact, atol=0.03 * np.abs(exact).max())
    assert not np.allclose(rough, exact, rtol=1e-6, atol=0), "bfloat16 really computes in bfloat16"


def raw_pixel_cnn():
    """A CNN that takes raw pixels 0..255 (a Rescaling layer first), trained briefly on real digits, with
    its held-out digits as it takes them."""
    from mnist_oip import data

    keras.utils.set_random_seed(0)
    x_train, y_train, x_test, _ = data.load_embedded(0.2, 42)
    cnn = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255),
                            keras.layers.Conv2D(8, 3, activation="relu", name="c1"), keras.layers.MaxPooling2D(2),
                            keras.layers.Conv2D(8, 3, activation="relu", name="c2"),
                            keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)])  # fmt: skip
    cnn.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    cnn.fit(x_train[..., None].astype("float32"), y_train, epochs=1, batch_size=64, verbose=0)
    return cnn, x_test[..., None].astype("float32")


def test_a_raw_pixel_model_climbs_in_its_own_input_range():
    from mnist_oip import settings

    cnn, held_out = raw_pixel_cnn()
    digits = model.map_activations(cnn, "c2", held_out)
    index = int(np.argmax(digits.max(axis=0)))
    best_digit = digits[:, index].max()
    scale = settings.InputScale((float(held_out.mean()),), (float(held_out.std()),), "from the held-out digits")
    starts = patterns.random_starts(6, [28, 14, 7, 4], seed=0)
    found, oips = {}, {}
    for name, given in (("own range", scale), ("standardized", None)):
        oips[name], _, losses = ascent.LayerAscent(cnn, "c2", 0.01, scale=given).map(index).run(starts, 300)
        found[name] = losses.max()
    assert found["own range"] >= best_digit > found["standardized"], (found, best_digit)
    assert np.abs(scale.to_model(oips["own range"])).max() > 50, "stored in the model's own units: raw pixels"
