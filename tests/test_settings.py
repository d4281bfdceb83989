"""The config: schema errors that name key, value and what is allowed; what a schema lets through (floats
for integers, numbers as text, counts too big to print); the typed settings every stage reads."""

import copy
import dataclasses
from pathlib import Path

import pytest
import yaml

from mnist_oip import settings

DEFAULT = yaml.safe_load(settings.DEFAULT_CONFIG.read_text())


def edited(path, value):
    config = copy.deepcopy(DEFAULT)
    *parents, key = path.split(".")
    node = config
    for parent in parents:
        node = node[parent]
    node[key] = value
    return config


def test_the_blogs_experiment_is_the_default_one():
    """3 levels on a 3x3 grid, 10 scoring steps, 8 seeds, 1200 steps, 8 random starts, every strategy compared."""
    loaded = settings.load(DEFAULT)
    assert loaded.precursor.grid == 3 and loaded.oip.warm_start == "pre_relu"
    assert loaded.map_indices("conv3") == list(range(128)) and loaded.maps.layers == ("conv3",)
    assert loaded.precursor.count == 3**9 and loaded.precursor.levels == (0.2, 0.5, 0.8)
    assert (loaded.oip.steps, loaded.oip.random_starts, loaded.precursor.keep, loaded.precursor.steps) == (
        1200,
        8,
        8,
        10,
    )
    assert {f.name for f in dataclasses.fields(loaded)} == set(DEFAULT)


def test_params_leave_out_only_what_scoring_does_not_read():
    precursor = settings.load(DEFAULT).precursor
    scoring = settings.as_dict(precursor, leave_out="selection")
    assert set(settings.as_dict(precursor)) - set(scoring) == {"keep"}
    oip = settings.load(DEFAULT).oip
    assert set(settings.as_dict(oip)) - set(settings.as_dict(oip, leave_out="random")) == {
        "random_starts",
        "scales",
        "seed",
    }
    assert list(scoring) == sorted(scoring), "keys sorted: reordering config.yaml reruns nothing"
    assert settings.section(settings.Precursor, settings.as_dict(precursor)) == precursor


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("training.epochs", "ten", r"training.epochs: 'ten' is not of type 'integer'"),
        ("precursor.levels", [0.2, 1.5], r"precursor.levels.1: 1.5 is greater than the maximum of 1"),
        ("precursor.levels", [-0.1, 0.5], r"precursor.levels.0: -0.1 is less than the minimum of 0"),
        ("precursor.levels", [0.2, 0.2, 0.8], r"precursor.levels: .* has non-unique elements"),
        ("precursor.grid", 1, r"precursor.grid: 1 is less than the minimum of 2: on a 1x1 grid every pattern is flat"),
        ("dataset.source", "web", r"dataset.source: 'web' is not allowed; allowed values: embedded, keras, idx"),
        ("maps.indices", "some", r"maps.indices: 'some' is neither 'all' nor a list of distinct map indices"),
        ("oip.stepz", 3, r"oip: Additional properties are not allowed \('stepz' was unexpected\); allowed keys: steps"),
        ("compute.gpu", "yes", r"compute.gpu: 'yes' is not allowed; allowed values: auto, true, false"),
        ("compute.gpu", "True", r"compute.gpu: 'True' is text, not the boolean true .*put it in a --configfile"),
        ("training.seed", 2**32, r"training.seed: 4294967296 is greater than the maximum of 4294967295"),
        ("oip.seed", -1, r"oip.seed: -1 is less than the minimum of 0"),
        ("dataset.seed", -5, r"dataset.seed: -5 is less than the minimum of 0"),
        ("figures.gallery_columns", 100000, r"gallery_columns: 100000 is greater than the maximum of 64: the gallery"),
        ("examples.top", 10**6, r"examples.top: 1000000 is greater than the maximum of 100: the map's figure shows"),
        ("oip.scales", [28, 28], r"oip.scales: \[28, 28\] has non-unique elements"),
        ("robust.enabled", "yes", r"robust.enabled: 'yes' is not of type 'boolean'"),
        (
            "robust.parameterization",
            "fft",
            r"robust.parameterization: 'fft' is not allowed; allowed values: pixels, fourier, bounded",
        ),
        ("robust.scale", 1.0, r"robust.scale: 1.0 is greater than or equal to the maximum of 1"),
        ("robust.rotate", -5, r"robust.rotate: -5 is less than the minimum of 0"),
        ("robust.total_variation", 1e9, r"robust.total_variation: 1000000000.0 is greater than the maximum of 1000000"),
    ],
)
def test_schema_errors_name_key_and_allowed(path, value, message):
    with pytest.raises(settings.ConfigError, match=message):
        settings.load(edited(path, value))


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("precursor.grid", 2.0, r"precursor.grid: 2.0 is a float; write a whole number without a decimal point \(2\)"),
        ("precursor.keep", 4.0, r"precursor.keep: 4.0 is a float"),
        ("maps.indices", [3, 7.0], r"maps.indices.1: 7.0 is a float"),
        ("oip.steps", "1200", r"oip.steps: '1200' is text where an integer belongs .*put it in a --configfile"),
        ("ascent.step_size", "0.01", r"ascent.step_size: '0.01' is text where a number belongs"),
        ("robust.jitter", 2.0, r"robust.jitter: 2.0 is a float"),
        ("robust.scale", float("nan"), r"robust.scale: nan is not a number"),
        ("ascent.step_size", float("nan"), r"ascent.step_size: nan is not a number"),
        ("uniqueness.threshold", float("nan"), r"uniqueness.threshold: nan is not a number"),
    ],
)
def test_what_json_schema_lets_through_is_refused(path, value, message):
    with pytest.raises(settings.ConfigError, match=message):
        settings.load(edited(path, value))


def test_a_dotted_key_is_named_with_the_form_that_works():
    with pytest.raises(
        settings.ConfigError, match=r"'precursor.grid' was unexpected.*a nested key goes in a --configfile"
    ):
        settings.load(DEFAULT | {"precursor.grid": 3})


def test_map_beyond_layer_and_non_conv_layer():
    with pytest.raises(
        settings.ConfigError, match=r"maps.indices: \[128, 300\] beyond layer conv3, which has maps 0..127"
    ):
        settings.load(edited("maps.indices", [0, 128, 300]))
    with pytest.raises(
        settings.ConfigError,
        match=r"maps.layer: 'dense' is not a layer with maps of the blog's CNN; its layers with maps are conv1",
    ):
        settings.load(edited("maps.layer", "dense"))
    assert settings.load(edited("maps.layer", "conv1")).map_indices("conv1") == list(range(32))


def test_several_layers_each_with_their_maps():
    loaded = settings.load(edited("maps.layer", ["conv1", "conv2", "conv3"]))
    assert [len(loaded.map_indices(layer)) for layer in loaded.maps.layers] == [32, 64, 128]
    with pytest.raises(settings.ConfigError, match=r"maps.indices: \[40\] beyond layer conv1, which has maps 0..31"):
        settings.load(
            edited("maps.layer", ["conv1", "conv3"]) | {"maps": {"layer": ["conv1", "conv3"], "indices": [3, 40]}}
        )
    with pytest.raises(
        settings.ConfigError,
        match=r"maps.layer: \['conv1', 'conv1'\] is neither a layer's name nor a list of distinct layer names",
    ):
        settings.load(edited("maps.layer", ["conv1", "conv1"]))


@pytest.mark.parametrize("grid, levels", [(7, [0.1, 0.3, 0.5, 0.7, 0.9]), (28, [0.2, 0.5, 0.8])])
def test_pattern_count_too_large_is_refused_with_count_and_hint(grid, levels):
    config = edited("precursor.grid", grid)
    config["precursor"]["levels"] = levels
    with pytest.raises(settings.ConfigError, match=rf"{len(levels)} levels on a {grid}x{grid} grid make about 10\^"):
        settings.load(config)


def test_halving_must_leave_enough_seeds():
    assert settings.load(DEFAULT).precursor.count == 19683
    config = edited("precursor.halving_steps", [1, 1, 1, 1])
    config["precursor"] |= {"halving_keep": 0.1, "keep": 8, "strategy": "halving"}
    with pytest.raises(settings.ConfigError, match=r"only 2 of the 18661 distinct patterns reach the last round"):
        settings.load(config)
    # 3 levels on a 4x4 grid: keeping half of 43 million patterns would hold their images in memory
    config["precursor"] |= {"grid": 4, "halving_steps": [0, 4], "halving_keep": 0.5}
    with pytest.raises(settings.ConfigError, match=r"halving would hold 1\d\d\.\d GiB of images .* lower halving_keep"):
        settings.load(config)
    config["precursor"]["halving_keep"] = 0.01  # the 4x4 search of docs/experiments.md: 2.7 GiB at most
    assert settings.load(config).precursor.count == 3**16


def test_halving_keep_per_round_is_checked_only_where_halving_reads_it():
    config = copy.deepcopy(DEFAULT)
    config["precursor"] |= {"halving_keep": [0.2, 0.2]}  # two shares for three rounds
    with pytest.raises(settings.ConfigError, match=r"halving_keep: 2 shares for the 3 rounds"):
        settings.load(config)
    config["precursor"]["strategy"] = "exhaustive"  # never reads them
    assert settings.load(config).precursor.strategy == "exhaustive"


def test_read_config_lays_files_over_the_default(tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text("precursor: {grid: 2}\n")
    config = settings.read_config(extra)
    assert config["precursor"]["grid"] == 2 and config["precursor"]["levels"] == DEFAULT["precursor"]["levels"]
    broken = tmp_path / "broken.yaml"
    broken.write_text("- a list\n")
    with pytest.raises(settings.ConfigError, match=r"broken.yaml: a config is a mapping of sections, not list"):
        settings.read_config(broken)


def own_model_config(tmp_path, model, layer, source="none", examples=None):
    """The default config pointed at `model`, saved in `tmp_path`, explaining its `layer`."""
    import keras

    model.save(tmp_path / "own.keras")
    config = edited("model.path", str(tmp_path / "own.keras"))
    config["maps"] = {"layer": layer, "indices": "all"}
    config["dataset"] = config["dataset"] | {"source": source, "path": examples}
    if source == "none":  # nothing to take the input scale from: the model takes standardized images
        channels = model.input_shape[-1]
        config["model"]["input_scale"] = {"mean": [0.0] * channels, "std": [1.0] * channels}
    keras.backend.clear_session()
    return config


def small_colour_cnn():
    import keras

    return keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(6, 3, name="block1"),
                             keras.layers.Flatten(), keras.layers.Dense(3, name="head")])  # fmt: skip


def test_an_own_model_brings_its_layers_and_input_size(tmp_path):
    loaded = settings.load(own_model_config(tmp_path, small_colour_cnn(), "block1"))
    assert loaded.architecture.input_shape == (32, 32, 3) and loaded.map_indices("block1") == list(range(6))
    assert not loaded.trains and not loaded.has_examples


def test_an_own_models_layer_must_be_a_convolution(tmp_path):
    with pytest.raises(
        settings.ConfigError,
        match=r"maps.layer: 'head' is not a layer with maps of the model .*own.keras \(Dense, whose output is no image of "
        r"channels\); its layers with maps are block1",
    ):
        settings.load(own_model_config(tmp_path, small_colour_cnn(), "head"))


def test_an_own_model_must_take_images(tmp_path):
    import keras

    flat = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, name="head")])
    with pytest.raises(
        settings.ConfigError, match=r"model.path: .*own.keras takes inputs of shape \[784\], not images"
    ):
        settings.load(own_model_config(tmp_path, flat, "head"))


def test_an_own_model_file_must_exist_and_be_a_keras_file(tmp_path):
    config = edited("model.path", str(tmp_path / "missing.keras")) | {
        "dataset": DEFAULT["dataset"] | {"source": "none"}
    }
    with pytest.raises(settings.ConfigError, match=r"model.path: no file .*missing.keras"):
        settings.load(config)
    (tmp_path / "junk.keras").write_text("junk")
    with pytest.raises(settings.ConfigError, match=r"junk.keras is not a model saved as .keras by Keras 3"):
        settings.load(config | {"model": config["model"] | {"path": str(tmp_path / "junk.keras")}})


def test_data_sets_fit_the_model_they_go_with(tmp_path):
    with pytest.raises(settings.ConfigError, match=r"dataset.source: embedded is for training the blog's CNN"):
        settings.load(own_model_config(tmp_path, small_colour_cnn(), "block1", source="embedded"))
    with pytest.raises(settings.ConfigError, match=r"dataset.path: .*nothing.npz' is not a file; dataset.source npz"):
        settings.load(own_model_config(tmp_path, small_colour_cnn(), "block1", "npz", str(tmp_path / "nothing.npz")))
    with pytest.raises(settings.ConfigError, match=r"dataset.source: none gives no training set for the blog's CNN"):
        settings.load(edited("dataset.source", "none"))


def test_a_grid_finer_than_the_image_is_refused():
    with pytest.raises(settings.ConfigError, match=r"precursor.grid: 29 squares a side do not fit a 28x28 image"):
        settings.load(
            edited("precursor.grid", 29) | {"precursor": DEFAULT["precursor"] | {"grid": 29, "levels": [0.2, 0.8]}}
        )


@pytest.mark.parametrize(
    "edit, message",
    [
        ({"dataset": {"source": "idx"}}, r"dataset.path: None is not a folder; dataset.source idx needs the folder"),
        ({"dataset": {"test_fraction": 0.999}}, r"0.999 leaves 0 training images, fewer than one batch of training"),
        ({"dataset": {"test_fraction": 0.0009}}, r"0.0009 leaves no test images .* from 0.002 to 0.986 \(training"),
        ({"dataset": {"test_fraction": 0.99}}, r"0.99 leaves 50 training images, fewer than one batch .* to 0.986"),
        ({"training": {"batch_size": 4001}}, r"test_fraction: 0.2 leaves 4000 training images, fewer than one batch"),
        ({"precursor": {"halving_steps": [0, 2, 40]}}, r"halving_steps: \[0, 2, 40\]; each round before the last"),
        ({"precursor": {"grid": 7}}, r"about 10\^23.4 patterns, more than .* or strategy: guided"),
        ({"precursor": {"strategy": "guided", "grid": 2, "guided_pass_on": 52}}, r"make only 51 distinct ones"),
        ({"precursor": {"strategy": "guided", "halving_steps": [1, 2]}}, r"guided search takes the place of a first"),
        ({"precursor": {"strategy": "guided", "guided_beam": 60, "guided_pass_on": 50}}, r"guided_beam: 60, more"),
        ({"precursor": {"strategy": "guided", "grid": 7, "guided_pass_on": 10**9}}, r"halving would hold .* GiB"),
        (
            {"precursor": {"halving_keep": 0.00001}},
            r"only 1 of the 18661 distinct patterns .*raise precursor.halving_keep",
        ),
        ({"uniqueness": {"max_shift": 28}}, r"uniqueness.max_shift: 28 px; at most 27 for the model's 28x28 images"),
        ({"oip": {"seed": "1e3"}}, r"oip.seed: '1e3' was read as text: YAML reads a number with an exponent only"),
        ({"model": {"custom_objects": ["layers.py"]}}, r"model.custom_objects: only for a model of your own"),
        ({"compute": {"screen_batch_size": 10**6}}, r"screen_batch_size: 1000000 is greater than the maximum of 16384"),
        ({"oip": {"scales": [40, 7]}}, r"oip.scales: \[40\] px exceed the 28-px image; the largest scale, 28"),
        (
            {"robust": {"enabled": True, "jitter": 8}},
            r"robust.jitter: 8 px; at most 7 \(a quarter of the model's 28x28",
        ),
    ],
)
def test_values_a_job_would_refuse_are_refused_before_any_job(edit, message):
    config = copy.deepcopy(DEFAULT)
    for section, values in edit.items():
        config[section] |= values
    with pytest.raises(settings.ConfigError, match=message):
        settings.load(config)


def test_a_local_mnist_file_for_the_keras_source_must_be_an_npz(tmp_path):
    config = edited("dataset.source", "keras")
    config["dataset"]["path"] = str(tmp_path / "mnist.npz.gz")
    with pytest.raises(settings.ConfigError, match=r"dataset.path: no file .*mnist.npz.gz"):
        settings.load(config)
    (tmp_path / "mnist.npz.gz").write_bytes(b"\x1f\x8b")
    with pytest.raises(settings.ConfigError, match=r"mnist.npz.gz is not an .npz file; .*unpack a .gz first"):
        settings.load(config)


def test_a_robust_setting_is_checked_only_where_the_robust_strategies_run():
    assert settings.load(edited("robust.jitter", 8)).robust.jitter == 8


def test_the_robust_section_is_a_style_and_its_switch_reruns_nothing():
    robust = settings.load(edited("robust.total_variation", 0.5)).robust
    assert robust.style.total_variation == 0.5 and robust.style.parameterization == robust.parameterization
    assert "enabled" not in settings.as_dict(robust, leave_out="switch") and "seed" in settings.as_dict(robust)


def test_params_read_only_what_the_data_source_reads():
    embedded = dataclasses.replace(settings.load(DEFAULT).dataset, test_fraction=0.3, seed=7, path="unread.npz")
    assert embedded.params() == {"source": "embedded", "test_fraction": 0.3, "seed": 7}, "the file is not read"
    keras_data = dataclasses.replace(embedded, source="keras", path="./data/../mnist.npz", test_fraction=0.5)
    assert keras_data.params() == {"source": "keras", "path": "mnist.npz"}, "one spelling, no embedded-only keys"


def test_a_model_with_its_own_layer_class_needs_the_file_that_defines_it(tmp_path):
    import json
    import subprocess
    import sys

    from models import custom_layer_model  # imports Keras, which the other tests here need not

    config = edited("model.path", str(custom_layer_model(tmp_path)))
    config["maps"] = {"layer": "conv", "indices": [0, 1]}
    config["dataset"] = config["dataset"] | {"source": "none"}
    config["model"]["input_scale"] = {"mean": [0.0], "std": [1.0]}
    (tmp_path / "empty.py").write_text("")

    def load(custom_objects):
        """The settings loaded in a new process, where no test has registered the class yet."""
        given = config | {"model": config["model"] | {"custom_objects": custom_objects}}
        check = "import json, sys; from mnist_oip import settings; print(settings.load(json.loads(sys.argv[1])).model)"
        return subprocess.run([sys.executable, "-c", check, json.dumps(given)], capture_output=True, text=True,
                              check=False, timeout=300)  # fmt: skip

    for custom_objects, message in (
        (None, "uses layer classes that are not Keras' own (mine>Doubled); give model.custom_objects"),
        ([str(tmp_path / "empty.py")], "empty.py register no class named mine>Doubled"),
        ([str(tmp_path / "layers.txt")], "model.custom_objects: no file"),
    ):
        done = load(custom_objects)
        assert done.returncode != 0 and message in done.stderr, done.stderr[-2000:]
    done = load([str(tmp_path / "layers.py")])
    assert done.returncode == 0 and "layers.py" in done.stdout, done.stderr[-2000:]


def test_layers_of_nested_models_are_refused_by_name_and_other_kinds_bring_their_maps(tmp_path):
    import keras

    block = keras.Sequential([keras.layers.Conv2D(4, 3, name="inner")], name="block")
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.SeparableConv2D(3, 3, name="separable")(block(inputs))
    x = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, name="depthwise")(x)
    x = keras.layers.Add(name="sum")([x, x])
    config = own_model_config(tmp_path, keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x))), "inner")
    with pytest.raises(settings.ConfigError, match=r"'inner' lies inside the nested model 'block'.*not supported"):
        settings.load(config)
    config["maps"]["layer"] = ["separable", "depthwise", "sum"]
    loaded = settings.load(config)
    assert [len(loaded.map_indices(layer)) for layer in ("separable", "depthwise", "sum")] == [3, 6, 6]


def test_an_own_models_input_scale_comes_from_its_held_out_images_or_is_given(tmp_path):
    import numpy as np

    raw = np.random.default_rng(0).integers(0, 256, (40, 32, 32, 3)).astype("float32")
    raw[..., 2] *= 0.5
    np.savez(tmp_path / "held_out.npz", x=raw, y=np.arange(40) % 3)
    config = own_model_config(tmp_path, small_colour_cnn(), "block1", "npz", str(tmp_path / "held_out.npz"))
    scale = settings.load(config).input_scale
    np.testing.assert_allclose(scale.mean, raw.astype("float64").mean(axis=(0, 1, 2)), rtol=1e-9)
    np.testing.assert_allclose(scale.std, raw.astype("float64").std(axis=(0, 1, 2)), rtol=1e-9)
    assert "from the held-out images" in scale.describe() and not scale.identity
    config["dataset"] = config["dataset"] | {"source": "none", "path": None}
    with pytest.raises(settings.ConfigError, match=r"model.input_scale: say what the model's inputs look like"):
        settings.load(config)
    config["model"]["input_scale"] = {"mean": [127.5], "std": [73.7]}
    with pytest.raises(settings.ConfigError, match=r"model.input_scale.mean: 1 values for the model's 3 channels"):
        settings.load(config)
    config["model"]["input_scale"] = {"mean": [0, 0, 0], "std": [1, 0, 1]}
    with pytest.raises(settings.ConfigError, match=r"every channel's std must be above 0"):
        settings.load(config)
    with pytest.raises(settings.ConfigError, match=r"model.input_scale: only for a model of your own"):
        settings.load(edited("model.input_scale", {"mean": [0], "std": [1]}))


@pytest.mark.parametrize("name, patterns, survivors", [("levels5", 5**9, 9766), ("grid4", 3**16, 8610)])
def test_the_configs_of_the_large_searches_load_and_screen_first(name, patterns, survivors):
    from mnist_oip import precursor

    loaded = settings.load(settings.read_config(Path(__file__).parents[1] / f"docs/configs/{name}.yaml"))
    assert loaded.precursor.count == patterns and loaded.precursor.screens
    assert precursor.rounds(patterns, loaded.precursor)[1][0] == survivors


def test_data_files_are_read_for_what_a_job_would_refuse(tmp_path):
    import gzip

    import numpy as np

    def refused(config, message):
        with pytest.raises(settings.ConfigError, match=message):
            settings.load(config)

    np.savez(tmp_path / "xy.npz", x=np.zeros((2, 28, 28)), y=np.zeros(2))
    keras_file = edited("dataset.source", "keras") | {"dataset": DEFAULT["dataset"] | {"source": "keras"}}
    keras_file["dataset"]["path"] = str(tmp_path / "xy.npz")
    refused(keras_file, r"dataset.path: .*xy.npz: missing arrays \['x_test', 'x_train', 'y_test', 'y_train'\]")
    (tmp_path / "text.npz").write_text("not an archive")
    keras_file["dataset"]["path"] = str(tmp_path / "text.npz")
    refused(keras_file, r"text.npz: not a readable .npz file \(not an .npz archive; gzipped\? unpack it first\)")
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (50, 28, 28), dtype=np.uint8), "y_train": np.arange(50) % 10,
              "x_test": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), "y_test": np.arange(20) % 10}  # fmt: skip
    np.savez(tmp_path / "one_class.npz", **(arrays | {"y_train": np.full(50, 3)}))
    keras_file["dataset"]["path"] = str(tmp_path / "one_class.npz")
    refused(keras_file, r"one_class.npz: every training label is 3; a classifier learns nothing from one class")
    np.savez(tmp_path / "damaged.npz", **arrays)
    raw = bytearray((tmp_path / "damaged.npz").read_bytes())
    raw[len(raw) // 3] ^= 0xFF  # a flipped byte inside the images: read through, the archive's checksum fails
    (tmp_path / "damaged.npz").write_bytes(bytes(raw))
    keras_file["dataset"]["path"] = str(tmp_path / "damaged.npz")
    refused(keras_file, r"damaged.npz: not a readable .npz file \(Bad CRC-32")
    keras_file["dataset"]["path"] = str(tmp_path)
    refused(keras_file, r"dataset.path: .* is a folder; the keras source reads a file, mnist.npz")
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        with gzip.open(tmp_path / f"{name}.gz", "wb") as f:
            f.write(b"junk")
    idx = copy.deepcopy(DEFAULT)
    idx["dataset"] |= {"source": "idx", "path": str(tmp_path)}
    refused(idx, r"dataset.path: .*train-images-idx3-ubyte.gz: bad magic number")

    own = own_model_config(tmp_path, small_colour_cnn(), "block1", "npz", str(tmp_path / "held.npz"))
    np.savez(tmp_path / "held.npz", x=np.zeros((4, 32, 32, 3), "float32") + np.arange(4)[:, None, None, None],
             y=np.array([0, 1, 2, 7]))  # fmt: skip
    refused(own, r"held.npz: label 7 is not a class of the model, whose 3 outputs are classes 0..2")
    np.savez(tmp_path / "held.npz", x=np.zeros((4, 28, 28, 1), "float32"), y=np.arange(4) % 3)
    own["model"]["input_scale"] = {"mean": [0, 0, 0], "std": [1, 1, 1]}
    refused(own, r"held.npz: x has shape \(4, 28, 28, 1\); the model takes images of shape \(N, 32, 32, 3\)")
    np.savez(tmp_path / "held.npz", x=np.zeros((4, 32, 32, 3), "float32"), y=np.arange(4) % 3)
    own["model"]["input_scale"] = {"mean": [0, float("nan"), 0], "std": [1, 1, 1]}
    refused(own, r"model.input_scale.mean.1: nan is not a number")
    own["model"]["input_scale"] = {"mean": [0, 1e39, 0], "std": [1, 1, 1]}
    refused(own, r"model.input_scale.mean: \[0, 1e\+39, 0\]; each must be a finite float32 number")


def test_a_model_path_that_is_a_folder_says_so(tmp_path):
    config = edited("model.path", str(tmp_path)) | {"dataset": DEFAULT["dataset"] | {"source": "none"}}
    with pytest.raises(settings.ConfigError, match=r"model.path: .* is a folder, not a model saved as a .keras file"):
        settings.load(config)


def test_every_problem_is_named_at_once_schema_errors_and_each_bad_layer():
    config = copy.deepcopy(DEFAULT)
    config["precursor"]["grid"] = 3.0
    config["ascent"]["step_size"] = 1e30
    config["maps"] = {"layer": ["conv9", "conv3", "dense"], "indices": [200]}
    with pytest.raises(settings.ConfigError) as raised:
        settings.load(config)
    lines = str(raised.value).splitlines()
    assert lines[0] == "invalid config:"
    for expected in ("precursor.grid: 3.0 is a float", "ascent.step_size: 1e+30 is greater than the maximum of 1",
                     "maps.layer: 'conv9' is not a layer with maps", "maps.indices: [200] beyond layer conv3",
                     "maps.layer: 'dense' is not a layer with maps"):  # fmt: skip
        assert any(line.strip().startswith(expected) for line in lines), (expected, lines)


def test_bounded_images_need_held_out_images_to_take_their_range_from(tmp_path):
    config = own_model_config(tmp_path, small_colour_cnn(), "block1")
    config["robust"] = config["robust"] | {"enabled": True, "parameterization": "bounded"}
    with pytest.raises(
        settings.ConfigError, match=r"robust.parameterization: bounded keeps images within the held-out"
    ):
        settings.load(config)
    assert settings.load(edited("robust.parameterization", "bounded")).robust.bounded, "the blog's data has a range"


def test_bfloat16_is_for_the_bodies_of_conv2d_layers_only(tmp_path):
    import keras

    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.ReLU(name="relu")(keras.layers.Add(name="sum")([x, x]))
    config = own_model_config(tmp_path, keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x))), "sum")
    config["precursor"] = config["precursor"] | {"precision": "bfloat16"}
    with pytest.raises(settings.ConfigError, match=r"precursor.precision: bfloat16 .*sum is no Conv2D: use float32"):
        settings.load(config)
    config["maps"]["layer"] = "conv"
    assert settings.load(config).precursor.precision == "bfloat16"
