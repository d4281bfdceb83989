"""A model's maps cut out of it as the network passes them on: the body up to a layer and each map's unit."""

import contextlib

import keras
import numpy as np
import pytest
from models import residual_model

from mnist_oip import ascent, blog_cnn, image_conv, map_units, model, patterns


@pytest.fixture(scope="module")
def cnn():
    keras.utils.set_random_seed(3)
    return blog_cnn.build_cnn()


def whole_layer(cnn, layer, images):
    """Every map of the original layer, computed by the whole model: the reference."""
    return keras.ops.convert_to_numpy(keras.Model(cnn.input, cnn.get_layer(layer).output)(images))


@pytest.mark.parametrize("layer, index", [("conv1", 4), ("conv2", 10), ("conv3", 100)])
@pytest.mark.parametrize("pre_activation", [False, True])
def test_one_map_equals_the_layer_channel(cnn, layer, index, pre_activation):
    images = patterns.random_starts(5, [28, 7], seed=1)
    target, unit = model.map_layer(cnn, layer), map_units.map_unit(cnn, layer)
    kernel, bias = unit.map_filter(index)
    features = map_units.layer_body(cnn, layer)(images)
    out = keras.ops.convert_to_numpy(unit.output(features, kernel, bias, pre_activation))
    expected = whole_layer(cnn, layer, images)[..., index : index + 1]
    if pre_activation:  # the reference without its ReLU: the same layer's kernel, activation removed
        plain = keras.layers.Conv2D(target.filters, target.kernel_size)
        body = keras.Model(cnn.input, cnn.get_layer(layer).input)
        plain.build(body.output.shape)
        plain.set_weights(target.get_weights())
        expected = keras.ops.convert_to_numpy(plain(body(images)))[..., index : index + 1]
        assert (expected < 0).any(), "pre-activations below 0 are what the ReLU removes"
    # the body crops the input to the pixels that reach the layer: same map, maybe fewer border rows
    np.testing.assert_allclose(out, expected[:, : out.shape[1], : out.shape[2]], rtol=1e-4, atol=1e-6)
    assert out.shape[1:3] == expected.shape[1:3]


def test_the_body_crops_what_floor_pooling_drops(cnn):
    # conv3's 3x3 outputs see 26x26 pixels: 26 -> conv1 24 -> pool 12 -> conv2 10 -> pool 5 -> conv3 3
    body = map_units.layer_body(cnn, "conv3")
    assert body.layers[1].reads == (26, 26) and body.layers[1].output.shape[1:] == (24, 24, 32)
    assert body.output.shape[1:] == (5, 5, 64)
    bfloat16 = map_units.layer_body(cnn, "conv3", "bfloat16")  # no image conv there: a crop of its own
    assert bfloat16.layers[1].output.shape[1:] == (26, 26, 1) and bfloat16.output.shape[1:] == (5, 5, 64)
    assert map_units.layer_body(cnn, "conv1").output.shape[1:] == (28, 28, 1)  # conv1 sees every pixel


def test_bodies_built_one_after_another_stay_chains():
    # each body calls the model's layers again; the next body, of another layer or precision, must still
    # see the model's own chain (not fall back to the whole graph, nor refuse bfloat16)
    cnn = blog_cnn.build_cnn()
    for layer, precision in [("conv2", "float32"), ("conv3", "float32"), ("conv3", "bfloat16")]:
        body = map_units.layer_body(cnn, layer, precision)
        first = body.layers[1]
        read = first.reads if isinstance(first, image_conv.ImageConv) else tuple(first.output.shape[1:3])
        assert read == {"conv2": None, "conv3": (26, 26)}[layer], [x.name for x in body.layers]
        assert not map_units.runs_the_models_graph(body)
        assert isinstance(map_units.body_lock(cnn, body), contextlib.nullcontext), "a chain runs without a lock"


def test_bodies_through_a_models_own_graph_run_one_at_a_time_on_tensorflow():
    cnn, other = residual_model(), residual_model()
    bodies = [map_units.layer_body(cnn, layer) for layer in ("add", "out")]
    assert all(map_units.runs_the_models_graph(body) for body in bodies)
    locks = [map_units.body_lock(cnn, body) for body in bodies]
    if keras.backend.backend() == "tensorflow":
        assert locks[0] is locks[1] is not map_units.body_lock(other, map_units.layer_body(other, "add"))
        with locks[0]:
            assert not locks[1].acquire(blocking=False), "a second body of the same model waits"
    else:
        assert all(isinstance(lock, contextlib.nullcontext) for lock in locks)


def test_bad_layer_and_map_are_named(cnn):
    with pytest.raises(model.ModelError, match=r"'dense' is not a layer with maps.*conv1.*conv2.*conv3"):
        map_units.layer_body(cnn, "dense")
    with pytest.raises(model.ModelError, match=r"map 128 does not exist: layer 'conv3' has maps 0..127"):
        map_units.map_unit(cnn, "conv3").map_filter(128)


def test_a_sequential_model_keeps_its_first_layer_before_the_target():
    """A Sequential model lists no InputLayer: the body before a later conv layer still starts at the first."""
    keras.utils.set_random_seed(0)
    cnn = keras.Sequential(
        [keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, name="a"), keras.layers.Conv2D(5, 3, name="b")]
    )
    x = np.random.default_rng(0).normal(size=(2, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(map_units.layer_body(cnn, "b")(x), cnn.get_layer("a")(x), atol=1e-6)


def test_map_activations_are_each_maps_mean_over_the_image():
    cnn = blog_cnn.build_cnn((4, 5, 6), 8)
    x = np.random.default_rng(1).normal(size=(7, 28, 28, 1)).astype("float32")
    full = keras.Model(cnn.input, cnn.get_layer("conv2").output)
    expected = keras.ops.convert_to_numpy(full(x)).mean(axis=(1, 2))
    np.testing.assert_allclose(map_units.map_activations(cnn, "conv2", batch_size=3)(x), expected, rtol=1e-5, atol=1e-6)


def conv_bn_relu_cnn():
    """A CNN as people build them: a conv without bias or activation, then BatchNormalization and a ReLU layer;
    a conv then a separate Activation layer. Its BatchNormalization has statistics of its own."""
    keras.utils.set_random_seed(5)
    cnn = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(6, 3, use_bias=False, name="c1"),
                            keras.layers.BatchNormalization(name="bn"), keras.layers.ReLU(name="relu"),
                            keras.layers.MaxPooling2D(2), keras.layers.Conv2D(4, 3, name="c2"),
                            keras.layers.Activation("relu", name="act"), keras.layers.Flatten(),
                            keras.layers.Dense(3)])  # fmt: skip
    rng = np.random.default_rng(0)
    norm = cnn.get_layer("bn")
    norm.set_weights([rng.uniform(0.5, 2, 6), rng.normal(size=6), rng.normal(size=6), rng.uniform(0.5, 2, 6)])
    return cnn


@pytest.mark.parametrize("layer, passed_on, before_it", [("c1", "relu", "bn"), ("c2", "act", "c2")])
def test_a_maps_activation_is_what_the_network_passes_on(layer, passed_on, before_it):
    cnn = conv_bn_relu_cnn()
    unit = map_units.map_unit(cnn, layer)
    assert unit.layers[-1] == passed_on
    images = patterns.random_starts(5, [28, 7], seed=2)
    features = map_units.layer_body(cnn, layer)(images)
    for pre_activation, name in ((False, passed_on), (True, before_it)):
        out = keras.ops.convert_to_numpy(unit.output(features, unit.kernel, unit.bias, pre_activation))
        expected = keras.ops.convert_to_numpy(keras.Model(cnn.inputs, cnn.get_layer(name).output)(images))
        assert out.shape == expected.shape, f"{name}: the body crops or pads what the model computes"
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    activations = map_units.map_activations(cnn, layer)(keras.ops.convert_to_numpy(images))
    passed = keras.ops.convert_to_numpy(keras.Model(cnn.inputs, cnn.get_layer(passed_on).output)(images))
    np.testing.assert_allclose(activations, passed.mean(axis=(1, 2)), rtol=1e-4, atol=1e-6)


def test_a_conv_without_bias_climbs():
    cnn = conv_bn_relu_cnn()
    climb = ascent.LayerAscent(cnn, "c1", 0.05)
    _, curve, final = climb.map(2).run(patterns.random_starts(3, [28, 7], seed=1), 5)
    assert curve.shape == (5, 3) and np.isfinite(final).all()
    assert (curve[-1] > curve[0]).all(), "every start's loss rises"


def users_cnn():
    """Shapes the map unit must see through: BatchNormalization, Dropout, then a ReLU layer; the same tensor
    added to itself; a grouped conv, a linear Activation, then a ReLU."""
    keras.utils.set_random_seed(6)
    inputs = keras.Input((20, 20, 2))
    x = keras.layers.Conv2D(4, 3, use_bias=False, name="c1")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.ReLU(name="relu")(keras.layers.Dropout(0.3)(x))
    x = keras.layers.Add()([x, x])
    x = keras.layers.Conv2D(6, 3, groups=2, name="grouped")(x)
    x = keras.layers.Activation("relu", name="act")(keras.layers.Activation("linear")(x))
    cnn = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(x)))
    rng = np.random.default_rng(1)
    cnn.get_layer("bn").set_weights([rng.uniform(0.5, 2, 4), rng.normal(size=4), rng.normal(size=4),
                                     rng.uniform(0.5, 2, 4)])  # fmt: skip
    return cnn


@pytest.mark.parametrize("layer, passed_on", [("c1", "relu"), ("grouped", "act")])
def test_a_map_sees_past_dropout_and_linear_layers_and_a_grouped_conv_splits_into_maps(layer, passed_on):
    cnn = users_cnn()
    unit = map_units.map_unit(cnn, layer)
    assert unit.layers[-1] == passed_on
    images = np.random.default_rng(2).normal(size=(3, 20, 20, 2)).astype("float32")
    features = map_units.layer_body(cnn, layer)(images)
    expected = keras.ops.convert_to_numpy(keras.Model(cnn.inputs, cnn.get_layer(passed_on).output)(images))
    for index in range(unit.maps):
        out = keras.ops.convert_to_numpy(unit.output(features, *unit.map_filter(index)))
        assert out.shape == expected[..., index : index + 1].shape
        np.testing.assert_allclose(out, expected[..., index : index + 1], atol=1e-5)
    pre = keras.ops.convert_to_numpy(unit.output(features, unit.kernel, unit.bias, pre_activation=True))
    assert (pre < 0).any(), "the activation climbed is the ReLU's, not the value before"


def test_a_mixed_float16_model_climbs_in_float32():
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        inputs = keras.Input((16, 16, 1))
        x = keras.layers.ReLU(name="relu")(keras.layers.Conv2D(4, 3, name="c1")(inputs))
        cnn = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    finally:
        keras.config.set_dtype_policy(policy)
    images = patterns.random_starts(2, [16, 4], seed=3, shape=(16, 16, 1))
    climb = ascent.LayerAscent(cnn, "c1", 0.05).map(1)
    _, curve, final = climb.run(images, 3)
    assert curve.dtype == np.float32 and np.isfinite(final).all()
    own = keras.ops.convert_to_numpy(keras.Model(cnn.inputs, cnn.get_layer("relu").output)(images))
    np.testing.assert_allclose(climb.losses(images), own[..., 1].mean(axis=(1, 2)), rtol=2e-3, atol=1e-3)


def test_a_prelu_after_the_map_and_integer_images_into_a_branch_are_named():
    inputs = keras.Input((12, 12, 1))
    x = keras.layers.PReLU(name="slopes")(keras.layers.Conv2D(3, 3, name="c1")(inputs))
    with pytest.raises(model.ModelError, match="PReLU 'slopes'"):
        map_units.map_unit(keras.Model(inputs, x), "c1")
    inputs = keras.Input((12, 12, 1), dtype="uint8")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Add()([x, keras.layers.Conv2D(1, 3, padding="same")(x)])
    x = keras.layers.Conv2D(3, 3, name="after")(x)
    with pytest.raises(model.ModelError, match="uint8 images"):
        map_units.layer_body(keras.Model(inputs, x), "after")


@pytest.mark.parametrize(
    "layer, index, passed_on, linear",
    [
        ("conv_b", 1, "conv_b", True),  # summed before any non-linearity: its own output, and linear
        ("add", 2, "out", False),  # the sum as the network passes it on: through the ReLU after it
        ("out", 3, "out", False),
        ("separable", 5, "separable", False),  # its own activation
        ("depthwise", 11, "depthwise", False),
        ("joined", 13, "joined", True),
    ],
)
def test_the_maps_of_other_layers_are_their_output_channels_as_the_network_passes_them_on(
    layer, index, passed_on, linear
):
    cnn = residual_model()
    images = keras.ops.convert_to_numpy(patterns.random_starts(3, [28, 7], seed=2))
    climb = ascent.LayerAscent(cnn, layer, 0.05)
    assert climb.unit.linear == linear and climb.unit.layers[-1] == passed_on
    expected = keras.ops.convert_to_numpy(keras.Model(cnn.input, cnn.get_layer(passed_on).output)(images))
    np.testing.assert_allclose(climb.map(index).losses(images), expected[..., index].mean(axis=(1, 2)), atol=1e-6)
    _, curve, final = climb.map(index).run(images, 5)
    assert (final > curve[0]).all(), "the ascent climbs them"
    post, _ = climb.screen(patterns.coarse_patterns(np.arange(4), 3, (0.2, 0.5, 0.8)))
    upscaled = keras.ops.convert_to_numpy(patterns.upscale(patterns.coarse_patterns(np.arange(4), 3, (0.2, 0.5, 0.8))))
    np.testing.assert_allclose(post[:, index], climb.map(index).losses(upscaled), rtol=1e-5, atol=1e-6)


def test_a_layer_called_twice_is_refused_and_a_linear_activation_layer_is_linear():
    inputs = keras.Input((12, 12, 1))
    relu = keras.layers.ReLU(name="shared")
    x = relu(keras.layers.Conv2D(2, 3, name="c1")(inputs))
    x = relu(keras.layers.Conv2D(2, 3, name="c2")(x))
    linear = keras.layers.Activation("linear", name="identity")(x)
    cnn = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(linear)))
    with pytest.raises(model.ModelError, match=r"'shared' is called 2 times in the model"):
        map_units.map_unit(cnn, "shared")
    assert map_units.map_unit(cnn, "identity").linear and not map_units.map_unit(cnn, "c2").linear
