import keras
import numpy as np
import pytest

from mnist_oip import ascent, model, patterns


@pytest.fixture(scope="module")
def cnn():
    keras.utils.set_random_seed(3)
    return model.build_cnn()


def full_activation(cnn, layer, index, images):
    """The map's mean activation computed by the whole original layer, for comparison."""
    body = keras.Model(cnn.input, cnn.get_layer(layer).output)
    return keras.ops.convert_to_numpy(body(images))[..., index].mean(axis=(1, 2))


@pytest.mark.parametrize("layer, index", [("conv1", 4), ("conv2", 10), ("conv3", 100)])
def test_map_model_equals_the_layer_channel(cnn, layer, index):
    images = patterns.random_starts(5, [28, 7], seed=1)
    climb = ascent.Ascent(model.map_model(cnn, layer, index), 0.01)
    np.testing.assert_allclose(climb.losses(images), full_activation(cnn, layer, index, images), rtol=1e-4, atol=1e-6)


def test_ascent_raises_the_loss(cnn):
    images = patterns.random_starts(6, [28, 14, 7, 4], seed=2)
    climb = ascent.Ascent(model.map_model(cnn, "conv3", 7), 0.05)
    start = climb.losses(images)
    final_images, curve, final = climb.run(images, 30)
    assert curve.shape == (30, 6)
    np.testing.assert_allclose(curve[0], start, rtol=1e-5, atol=1e-7)
    active = start > 0
    assert active.any()
    assert np.all(final[active] > start[active])
    np.testing.assert_allclose(final, full_activation(cnn, "conv3", 7, final_images), rtol=1e-4, atol=1e-6)


def test_steps_have_normalized_length(cnn):
    images = keras.ops.convert_to_numpy(patterns.random_starts(3, [7], seed=4))
    climb = ascent.Ascent(model.map_model(cnn, "conv2", 0, pre_activation=True), 0.1)
    moved, _, _ = climb.run(images, 1)
    rms = np.sqrt(((moved - images) ** 2).mean(axis=(1, 2, 3)))
    np.testing.assert_allclose(rms, 0.1, rtol=1e-3)


def test_nan_is_reported_with_map_and_step(cnn):
    broken = model.map_model(cnn, "conv3", 1, pre_activation=True)
    kernel, _ = broken.layers[-1].get_weights()
    broken.layers[-1].set_weights([kernel, np.array([np.nan], np.float32)])
    climb = ascent.Ascent(broken, 0.01, label="map 1 of conv3")
    with pytest.raises(ascent.AscentError, match=r"map 1 of conv3: loss is NaN or inf at step 0"):
        climb.run(patterns.random_starts(2, [7], seed=0), 5)


def test_bad_layer_and_map_are_named(cnn):
    with pytest.raises(model.ModelError, match=r"'dense' is not a Conv2D layer.*conv1.*conv2.*conv3"):
        model.map_model(cnn, "dense", 0)
    with pytest.raises(model.ModelError, match=r"map 128 does not exist: layer 'conv3' has maps 0..127"):
        model.map_model(cnn, "conv3", 128)


def test_warm_start_moves_a_map_that_random_starts_leave_at_zero(cnn):
    images = patterns.random_starts(6, [28, 14, 7, 4], seed=5)
    post, pre = (model.map_model(cnn, "conv3", 9, pre_activation=p) for p in (False, True))
    kernel, bias = pre.layers[-1].get_weights()
    highest = ascent.Ascent(pre, 0.1).losses(images).max()
    # Lower the bias until no position of any start is active, but within reach of 100 steps of 0.1.
    spatial_max = keras.ops.convert_to_numpy(pre(images)).max()
    for layer in (pre.layers[-1], post.layers[-1]):
        layer.set_weights([kernel, bias - spatial_max - 0.05 * abs(highest)])
    plain, warm = ascent.Ascent(post, 0.1), ascent.Ascent(pre, 0.1)
    assert np.all(plain.losses(images) == 0)
    _, _, curve, stuck = ascent.ascend(plain, warm, images, steps=100)
    assert np.all(curve == 0) and np.all(stuck == 0), "zero gradient: plain ascent cannot move"
    _, warm_curve, _, found = ascent.ascend(plain, warm, images, steps=100, warm_steps=100)
    assert warm_curve.shape == (100, 6) and np.all(np.diff(warm_curve.mean(axis=1)) > 0)
    assert found.max() > 0


def test_wrong_model_files_are_named(tmp_path):
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"not a model")
    with pytest.raises(model.ModelError, match=r"garbage.keras: cannot be loaded as a Keras model"):
        model.load_model(garbage)
    inputs = keras.Input((32, 32, 3))
    other = keras.Model(inputs, keras.layers.Conv2D(4, 3, name="edges")(inputs))
    other.save(tmp_path / "other.keras")
    loaded = model.load_model(tmp_path / "other.keras")
    with pytest.raises(model.ModelError, match=r"inputs of shape \(32, 32, 3\), expected \(28, 28, 1\)"):
        model.check_architecture(loaded)
    with pytest.raises(
        model.ModelError, match=r"'conv3' is not a Conv2D layer of the model; its conv layers are \['edges'\]"
    ):
        model.map_model(loaded, "conv3", 0)


def test_bfloat16_map_model_stays_close_to_float32(cnn):
    images = patterns.random_starts(8, [28, 14, 7], seed=6)
    exact = ascent.Ascent(model.map_model(cnn, "conv3", 20), 0.01).losses(images)
    rough = ascent.Ascent(model.map_model(cnn, "conv3", 20, precision="bfloat16"), 0.01).losses(images)
    assert rough.dtype == np.float32
    np.testing.assert_allclose(rough, exact, atol=0.03 * np.abs(exact).max())
    assert not np.allclose(rough, exact, rtol=1e-6, atol=0), "bfloat16 really computes in bfloat16"
