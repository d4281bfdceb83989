"""Normalized gradient ascent: it climbs, its steps have the set length, NaN is named, the warm start moves
what plain ascent cannot, one compilation serves every map of a layer, bfloat16 stays close; the robust
style's parts (transforms, the fourier parameterization, penalties) do what they say."""

import keras
import numpy as np
import pytest

from mnist_oip import ascent, blog_cnn, map_units, patterns


@pytest.fixture(scope="module")
def cnn():
    keras.utils.set_random_seed(3)
    return blog_cnn.build_cnn()


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


def compilations(layer):
    """How often a layer's loop was compiled: TensorFlow's traces of it, or JAX's compiled versions of it."""
    run = layer._run_function
    return run.experimental_get_tracing_count() if keras.backend.backend() == "tensorflow" else run._cache_size()


def test_every_map_of_a_layer_shares_one_compiled_loop(cnn):
    layer = ascent.LayerAscent(cnn, "conv3", 0.05)
    images = patterns.random_starts(4, [14, 7], seed=8)
    layer.map(0).run(images, 3)
    compiled = compilations(layer)
    assert compiled >= 1
    for index in (1, 2, 50, 127):
        _, _, final = layer.map(index).run(images, 3)
        np.testing.assert_allclose(final, ascent.LayerAscent(cnn, "conv3", 0.05).map(index).run(images, 3)[2])
    assert compilations(layer) == compiled, "a new map compiled the loop again"


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's graph")
def test_the_tensorflow_loop_calls_each_step_as_a_function_it_does_not_inline(cnn):
    # Inlined into the loop's cycle, oneDNN's fast max-pool gradient was used in some processes and not in
    # others (docs/method.md); as a function of its own, the step's graph has no cycle.
    import tensorflow as tf

    layer = ascent.LayerAscent(cnn, "conv3", 0.05)
    images = patterns.random_starts(4, [14, 7], seed=8)
    climb = layer.map(3)
    climb.run(images, 2)
    arguments = [tf.constant(a) for a in (images, climb.kernel, climb.bias, np.int32(2))] + [False, None]
    library = layer._run_function.get_concrete_function(*arguments).graph.as_graph_def().library.function
    not_inlined = [f for f in library if f.attr["_noinline"].b]
    assert [any(node.op == "MaxPoolGrad" for node in f.node_def) for f in not_inlined] == [True]


def test_nan_is_reported_with_map_and_step(cnn):
    climb = ascent.LayerAscent(cnn, "conv3", 0.01).map(1, pre_activation=True)
    climb.bias = np.array([np.nan], np.float32)
    with pytest.raises(ascent.AscentError, match=r"map 1 of conv3 \(pre-activation\): loss is NaN or inf at step 0"):
        climb.run(patterns.random_starts(2, [7], seed=0), 5)


def test_warm_start_moves_a_map_that_random_starts_leave_at_zero(cnn):
    images = patterns.random_starts(6, [28, 14, 7, 4], seed=5)
    layer = ascent.LayerAscent(cnn, "conv3", 0.1)
    plain, warm = layer.map(9), layer.map(9, pre_activation=True)
    features = map_units.layer_body(cnn, "conv3")(images)
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
    digits = map_units.map_activations(cnn, "c2")(held_out)
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


def test_a_style_with_no_transforms_or_penalties_is_the_plain_ascent(cnn):
    images = patterns.random_starts(4, [14, 7], seed=9)
    plain = ascent.LayerAscent(cnn, "conv3", 0.05).map(3).run(images, 5)
    same = ascent.LayerAscent(cnn, "conv3", 0.05, style=ascent.Style(total_variation=0.0)).map(3).run(images, 5)
    for a, b in zip(plain, same):
        np.testing.assert_array_equal(a, b)


def test_transforms_shift_scale_and_rotate_about_the_centre():
    image = np.zeros((1, 9, 9, 1), np.float32)
    image[0, 4, 6] = 1.0  # two px right of the centre
    style = ascent.Style(jitter=2, scale=0.5, rotate=90)
    rows = ascent.Transforms(style, (9, 9, 1)).draw(np.random.default_rng(0), 50, 1)
    assert rows.shape == (50, 1, 8) and np.all(rows[..., 6:] == 0)
    none = ascent.Transforms(ascent.Style(), (9, 9, 1)).draw(np.random.default_rng(0), 1, 1)[0]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(ascent.Transforms.apply(image, none)), image)
    quarter = np.array([[0, 1, 0, -1, 0, 8, 0, 0]], np.float32)  # a quarter turn about (4, 4)
    turned = keras.ops.convert_to_numpy(ascent.Transforms.apply(image, quarter))[0, ..., 0]
    assert turned.max() == 1.0 and abs(turned.argmax() // 9 - 4) + abs(turned.argmax() % 9 - 4) == 2


def test_drawn_transforms_keep_the_centre_within_the_jitter():
    style = ascent.Style(jitter=2, scale=0.2, rotate=30)
    rows = ascent.Transforms(style, (28, 28, 1)).draw(np.random.default_rng(1), 200, 3).reshape(-1, 8)
    # The output point that reads the input's centre (13.5, 13.5): solve a @ out + b = centre.
    centres = [np.linalg.solve(r[[0, 1, 3, 4]].reshape(2, 2), 13.5 - r[[2, 5]]) for r in rows]
    moved = np.abs(np.array(centres) - 13.5)
    assert moved.max() <= 2 + 1e-4 and moved.max() >= 1.9
    scales = 1 / np.sqrt(np.abs(np.linalg.det(rows[:, [0, 1, 3, 4]].reshape(-1, 2, 2))))
    assert 0.8 - 1e-6 <= scales.min() < 0.85 and 1.15 < scales.max() <= 1.2 + 1e-6


def test_the_fourier_parameterization_keeps_the_start_and_smooths_the_steps(cnn):
    spectrum = ascent.Spectrum((28, 28, 1))
    images = keras.ops.convert_to_numpy(patterns.random_starts(3, [28, 7], seed=2))
    back = keras.ops.convert_to_numpy(spectrum.image(spectrum.params(images)))
    np.testing.assert_allclose(back, images, atol=1e-5)
    pixels, fourier = (ascent.LayerAscent(cnn, "conv3", 0.05, style=ascent.Style(parameterization=p)).map(7)
                       for p in ("pixels", "fourier"))  # fmt: skip
    moved = {name: climb.run(images, 10)[0] - images for name, climb in (("pixels", pixels), ("fourier", fourier))}
    roughness = {name: float(keras.ops.convert_to_numpy(ascent.total_variation(d)).mean() / np.abs(d).mean())
                 for name, d in moved.items()}  # fmt: skip
    assert roughness["fourier"] < 0.5 * roughness["pixels"]


def test_the_bounded_parameterization_keeps_every_pixel_in_the_data_range(cnn):
    images = keras.ops.convert_to_numpy(patterns.random_starts(3, [28, 7], seed=2))
    style = ascent.Style(parameterization="bounded", low=-0.5, high=2.0)
    bounded = ascent.LayerAscent(cnn, "conv3", 0.05, style=style).map(7)
    plain = ascent.LayerAscent(cnn, "conv3", 0.05).map(7)
    oips, curve, final = bounded.run(images, 40)
    assert oips.min() >= -0.5 and oips.max() <= 2.0 and (final > curve[0]).all()
    inside = np.clip(images, -0.49, 1.99)  # a start within the range climbs from itself
    np.testing.assert_allclose(bounded.run(inside, 1)[1][0], plain.losses(inside), rtol=1e-4, atol=1e-5)
    assert plain.run(images, 40)[0].max() > 2.0, "unbounded, the same climb leaves the range"


def test_penalties_pull_against_the_map(cnn):
    images = keras.ops.convert_to_numpy(patterns.random_starts(4, [28, 14, 7, 4], seed=3))
    found = {}
    for weight in (0.0, 50.0):
        climb = ascent.LayerAscent(cnn, "conv3", 0.05, style=ascent.Style(total_variation=weight)).map(7)
        oips, _, losses = climb.run(images, 40)
        found[weight] = float(keras.ops.convert_to_numpy(ascent.total_variation(oips)).mean()), losses.mean()
    assert found[50.0][0] < found[0.0][0] and found[50.0][1] < found[0.0][1]


def test_robust_steps_are_drawn_from_the_generator_and_climb(cnn):
    images = keras.ops.convert_to_numpy(patterns.random_starts(4, [28, 14, 7, 4], seed=4))
    climb = ascent.LayerAscent(cnn, "conv3", 0.05, style=ascent.Style(jitter=2, scale=0.1, rotate=10)).map(7)
    first, again, other = (climb.run(images, 20, np.random.default_rng(seed)) for seed in (0, 0, 1))
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], other[0])
    start = climb.losses(images)
    assert first[2].mean() > start.mean()
    plain = ascent.LayerAscent(cnn, "conv3", 0.05).map(7).run(images, 20)
    assert not np.allclose(plain[0], first[0])


def test_the_diversity_term_pushes_a_batch_s_images_apart(cnn):
    one = keras.ops.convert_to_numpy(patterns.random_starts(1, [28, 14, 7], seed=5))
    images = one + 0.01 * np.random.default_rng(0).normal(size=(4, *one.shape[1:])).astype(np.float32)
    alike = {}
    for weight in (0.0, 100.0):
        climb = ascent.LayerAscent(cnn, "conv3", 0.05, style=ascent.Style(diversity=weight)).map(7)
        oips = climb.run(images, 30)[0]
        alike[weight] = float(keras.ops.convert_to_numpy(ascent.likeness(oips)).mean())
    assert alike[100.0] < alike[0.0] - 0.1
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ascent.likeness(np.stack([one[0]] * 3))), 1.0, atol=1e-5)


def test_a_flat_start_climbs_with_the_diversity_term_without_nan(cnn):
    images = np.zeros((3, 28, 28, 1), np.float32)  # a flat precursor pattern, standardized, is all zeros
    images[1:] = keras.ops.convert_to_numpy(patterns.random_starts(2, [14, 7], seed=6))
    climb = ascent.LayerAscent(cnn, "conv3", 0.05, style=ascent.Style(diversity=10.0, total_variation=4.0)).map(3)
    oips, curve, _ = climb.run(images, 5)  # NaN would raise AscentError
    assert np.isfinite(oips).all() and np.isfinite(curve).all()
