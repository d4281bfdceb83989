"""A model's input and conv layers, read from its .keras file without loading it."""

import zipfile

import keras
import pytest

from mnist_oip import architecture, blog_cnn


def test_the_blog_cnn_file_says_what_the_config_describes(tmp_path):
    blog_cnn.build_cnn((4, 5, 6), 8).save(tmp_path / "cnn.keras")
    read = architecture.read_keras_file(tmp_path / "cnn.keras")
    described = architecture.blog_cnn((4, 5, 6))
    assert (read.input_shape, read.map_layers) == (described.input_shape, described.map_layers)
    assert list(read.map_layers) == ["conv1", "conv2", "conv3"]


def test_a_sequential_colour_model_without_an_input_layer_entry(tmp_path):
    cnn = keras.Sequential([keras.layers.Conv2D(3, 3, name="a"), keras.layers.Conv2D(5, 3, name="b")])
    cnn.build((None, 20, 24, 3))
    cnn.save(tmp_path / "seq.keras")
    read = architecture.read_keras_file(tmp_path / "seq.keras")
    assert read.input_shape == (20, 24, 3) and read.map_layers == {"a": 3, "b": 5}
    assert read.maps_of("b") == 5
    with pytest.raises(
        architecture.ArchitectureError,
        match=r"'c' is not a layer with maps of the model .*seq.keras; its layers with maps are a, b",
    ):
        read.maps_of("c")


def test_files_that_are_not_keras_models_are_named(tmp_path):
    with zipfile.ZipFile(tmp_path / "empty.keras", "w") as archive:
        archive.writestr("metadata.json", "{}")
    with pytest.raises(architecture.ArchitectureError, match=r"empty.keras is not a model saved as .keras by Keras 3"):
        architecture.read_keras_file(tmp_path / "empty.keras")
    (tmp_path / "weights.h5").write_bytes(b"\x89HDF\r\n")
    with pytest.raises(architecture.ArchitectureError, match=r"weights.h5 is not a model saved as .keras"):
        architecture.read_keras_file(tmp_path / "weights.h5")
