import gzip
import struct

import numpy as np
import pytest

from mnist_oip import data


def write_idx(path, array, magic=None, cut=0):
    header = struct.pack(">I", magic or (0x803 if array.ndim == 3 else 0x801)) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    raw = (header + array.astype(np.uint8).tobytes())[: len(header) + array.size - cut]
    (gzip.open if path.suffix == ".gz" else open)(path, "wb").write(raw)


@pytest.fixture
def small_mnist():
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        "y_train": np.arange(30) % 10,
        "x_test": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "y_test": np.arange(10),
    }


def write_idx_folder(folder, arrays, gz):
    for key, name in data.IDX_FILES.items():
        write_idx(folder / (name + (".gz" if gz else "")), arrays[key])


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, small_mnist, gz):
    write_idx_folder(tmp_path, small_mnist, gz)
    loaded = data.load("idx", str(tmp_path))
    for got, key in zip(loaded, data.IDX_FILES):
        np.testing.assert_array_equal(got, small_mnist[key])


@pytest.mark.parametrize(
    "fault, message",
    [
        ("magic", r"bad magic number 0x00000999, expected 0x00000803"),
        ("truncated", r"truncated or padded"),
        ("missing", r"has no train-images-idx3-ubyte or train-images-idx3-ubyte.gz"),
        ("count", r"30 train images but 29 labels"),
    ],
)
def test_bad_idx_files_are_named(tmp_path, small_mnist, fault, message):
    write_idx_folder(tmp_path, small_mnist, gz=False)
    images = tmp_path / data.IDX_FILES["x_train"]
    if fault == "magic":
        write_idx(images, small_mnist["x_train"], magic=0x999)
    elif fault == "truncated":
        write_idx(images, small_mnist["x_train"], cut=5)
    elif fault == "missing":
        images.unlink()
    else:
        write_idx(tmp_path / data.IDX_FILES["y_train"], small_mnist["y_train"][:-1])
    with pytest.raises(data.DatasetError, match=message):
        data.load("idx", str(tmp_path))


def test_keras_npz_round_trip_and_wrong_shapes(tmp_path, small_mnist):
    good = tmp_path / "mnist.npz"
    np.savez(good, **small_mnist)
    for got, key in zip(data.load("keras", str(good)), data.IDX_FILES):
        np.testing.assert_array_equal(got, small_mnist[key])
    bad = tmp_path / "bad.npz"
    np.savez(bad, **(small_mnist | {"x_test": np.zeros((10, 32, 32), np.uint8)}))
    with pytest.raises(data.DatasetError, match=r"test images have shape \(10, 32, 32\), expected \(N, 28, 28\)"):
        data.load("keras", str(bad))
    partial = tmp_path / "partial.npz"
    np.savez(partial, x_train=small_mnist["x_train"])
    with pytest.raises(data.DatasetError, match=r"missing arrays \['x_test', 'y_test', 'y_train'\]"):
        data.load("keras", str(partial))
    with pytest.raises(data.DatasetError, match="no file"):
        data.load("keras", str(tmp_path / "absent.npz"))
    single = tmp_path / "single.npz"
    with open(single, "wb") as f:  # one array saved by np.save under an .npz name
        np.save(f, small_mnist["x_train"])
    with pytest.raises(data.DatasetError, match=r"single.npz: a single array, not an .npz archive"):
        data.load("keras", str(single))


def test_embedded_split_is_stratified_and_seeded():
    x_train, y_train, x_test, y_test = data.load("embedded", test_fraction=0.2, seed=5)
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28) and x_train.dtype == np.uint8
    assert np.all(np.bincount(y_test, minlength=10) == 100)
    again = data.load("embedded", test_fraction=0.2, seed=5)
    np.testing.assert_array_equal(again[0], x_train)
    other = data.load("embedded", test_fraction=0.2, seed=6)
    assert not np.array_equal(other[0], x_train)
    info = data.describe("embedded", x_train, y_train, x_test, y_test)
    assert info.train_per_class == [400] * 10 and 0.05 < info.mean < 0.25 and 0.2 < info.std < 0.45
    standardized = data.standardize(x_train, info.mean, info.std)
    assert standardized.shape == (4000, 28, 28, 1)
    assert abs(standardized.mean()) < 1e-3 and abs(standardized.std() - 1) < 1e-3


@pytest.mark.parametrize(
    "change, message",
    [
        ({"x_train": lambda x: x.astype("float32") * 2.0}, r"x_train: float images in \[0, 510\], dtype float32"),
        ({"x_train": lambda x: x.astype("int32") - 10}, r"x_train: integer images in \[-10, 245\], dtype int32"),
        ({"y_train": lambda y: np.where(y == 3, np.nan, y)}, r"y_train: labels must be whole numbers 0..9"),
        ({"y_test": lambda y: y + 0.5}, r"y_test: labels must be whole numbers 0..9"),
        ({"y_test": lambda y: y + 5}, r"y_test: labels outside 0..9 \(found 5..14\)"),
        ({"x_test": lambda x: x[:0], "y_test": lambda y: y[:0]}, r"no test images"),
    ],
)
def test_bad_arrays_are_named_before_any_cast(tmp_path, small_mnist, change, message):
    arrays = small_mnist | {key: edit(small_mnist[key]) for key, edit in change.items()}
    np.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(data.DatasetError, match=message):
        data.load("keras", str(tmp_path / "mnist.npz"))


def test_float_images_in_0_1_are_taken_as_scaled_bytes(tmp_path, small_mnist):
    np.savez(tmp_path / "mnist.npz", **(small_mnist | {"x_train": small_mnist["x_train"] / 255.0}))
    x_train = data.load("keras", str(tmp_path / "mnist.npz"))[0]
    np.testing.assert_array_equal(x_train, small_mnist["x_train"])


def test_a_test_fraction_that_empties_a_split_is_named():
    with pytest.raises(data.DatasetError, match=r"test_fraction: 0.001 leaves no test images"):
        data.load("embedded", test_fraction=0.001, seed=0)


def save_examples(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_examples_for_an_own_model_pass_as_they_are(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 32, 32, 3)).astype(np.float64)
    images, labels = data.load_examples(
        save_examples(tmp_path / "e.npz", x=x, y=np.array([0, 1, 2, 0, 1, 2.0])), (32, 32, 3), 3
    )
    np.testing.assert_allclose(images, x, rtol=1e-6)
    np.testing.assert_array_equal(labels, [0, 1, 2, 0, 1, 2])
    assert images.dtype == np.float32 and labels.dtype == np.int64


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": np.zeros((4, 28, 28, 1))}, r"no array y"),
        ({"x": np.zeros((4, 28, 28)), "y": np.zeros(4, int)}, r"x has shape \(4, 28, 28\); the model takes images of shape \(N, 32, 32, 3\)"),
        ({"x": np.zeros((4, 32, 32, 1)), "y": np.zeros(4, int)}, r"x has shape \(4, 32, 32, 1\)"),
        ({"x": np.full((4, 32, 32, 3), np.nan), "y": np.zeros(4, int)}, r"x must be finite numbers"),
        ({"x": np.zeros((4, 32, 32, 3)), "y": np.zeros(3, int)}, r"y has shape \(3,\); expected one label per image \(4,\)"),
        ({"x": np.zeros((0, 32, 32, 3)), "y": np.zeros(0, int)}, r"no images"),
        ({"x": np.zeros((2, 32, 32, 3)), "y": np.array([0.5, 1.0])}, r"labels must be whole numbers"),
        ({"x": np.zeros((2, 32, 32, 3)), "y": np.array([-1, 1])}, r"negative labels"),
        ({"x": np.zeros((2, 32, 32, 3)), "y": np.array([0, 3])}, r"label 3 is not a class of the model, whose 3 outputs are classes 0..2"),
    ],
)  # fmt: skip
def test_bad_examples_for_an_own_model_are_named(tmp_path, arrays, message):
    with pytest.raises(data.DatasetError, match=message):
        data.load_examples(save_examples(tmp_path / "e.npz", **arrays), (32, 32, 3), 3)


def test_examples_that_are_not_an_npz_are_named(tmp_path):
    (tmp_path / "e.npz").write_text("text")
    with pytest.raises(data.DatasetError, match=r"dataset.path: .*e.npz: cannot be read as an .npz file"):
        data.load_examples(tmp_path / "e.npz", (28, 28, 1), 10)


def test_blank_training_images_are_named_where_the_data_set_is_prepared(small_mnist):
    blank = np.zeros_like(small_mnist["x_train"])
    with pytest.raises(data.DatasetError, match=r"every training pixel has the value 0 \(standard deviation 0\)"):
        data.describe("idx", blank, small_mnist["y_train"], small_mnist["x_test"], small_mnist["y_test"])


def test_the_keras_download_without_a_network_points_to_a_local_file(monkeypatch):
    import keras

    def offline():
        # what Keras raises without a network: a plain Exception
        raise Exception("URL fetch failure on https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz")  # noqa: TRY002

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(
        data.DatasetError, match=r"could not be downloaded \(URL fetch failure.*give its path as dataset.path"
    ):
        data.load_keras()


def test_a_sources_files_are_named_for_the_rule_that_reads_them(tmp_path, small_mnist):
    assert data.source_files("embedded", None) == [] and data.source_files("keras", None) == []
    assert data.source_files("keras", "mnist.npz") == ["mnist.npz"]
    write_idx_folder(tmp_path, small_mnist, gz=True)
    assert sorted(data.source_files("idx", str(tmp_path))) == sorted(
        str(tmp_path / f"{name}.gz") for name in data.IDX_FILES.values()
    )
