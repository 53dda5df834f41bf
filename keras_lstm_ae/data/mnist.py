"""MNIST handwritten digits as sequences, for reconstruction and classification.

The arrays follow the Keras layout: `x_train` `(60000, 28, 28)` and `x_test`
`(10000, 28, 28)` uint8 images, `y_train` and `y_test` integer labels 0-9.
`load_arrays` finds them in this order:

1. `data_path`: an `.npz` archive with those four arrays, or a folder with the
   four original IDX files (`train-images-idx3-ubyte`, ..., each optionally
   gzipped).
2. `mnist.npz` in the folder named by the environment variable
   `KERAS_LSTM_AE_DATA`, as scikit-learn reads `SCIKIT_LEARN_DATA`.
3. `keras.datasets.mnist.load_data()`, which downloads the archive once into
   the Keras cache (`~/.keras/datasets/`, or `$KERAS_HOME/datasets/`).

An image becomes a sequence in one of two modes: `row` reads it as 28 steps of
28 pixels, `pixel` as 784 steps of one pixel. Pixels are scaled to [0, 1].
"""

from __future__ import annotations

import gzip
import logging
import math
import os
import socket
import sys
import threading
import urllib.parse
import zipfile
import zlib
from pathlib import Path
from typing import Optional

import numpy as np

from keras_lstm_ae.data.splits import SequenceData, Split
from keras_lstm_ae.errors import UsageError

logger = logging.getLogger(__name__)

IMAGE_SIZE = 28
NUM_CLASSES = 10
MODES = ("row", "pixel")
DEFAULT_VALIDATION_SIZE = 10_000

ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")
DATA_ENV_VAR = "KERAS_LSTM_AE_DATA"
NPZ_NAME = "mnist.npz"

# The original file name of each array.
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

# IDX type codes (third byte of the magic number) and their big-endian dtypes.
IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

# Download URL of keras.datasets.mnist.load_data(), from keras/src/datasets/mnist.py
# in Keras 3.15. Only its host is used here, for a reachability check.
KERAS_MNIST_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
# Seconds to wait for a connection to that host before giving up, and the
# socket timeout applied while Keras downloads, so that no step waits forever.
CONNECT_TIMEOUT = 5.0
DOWNLOAD_SOCKET_TIMEOUT = 60.0

OFFLINE_HINT = (
    f"pass a local copy with --data-path FILE.npz (or a folder of the four IDX files), "
    f"or set {DATA_ENV_VAR} to a folder that contains {NPZ_NAME}"
)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read the four MNIST arrays from an `.npz` archive, without unpickling.

    Args:
        path: Archive with the arrays `x_train`, `y_train`, `x_test`, `y_test`.

    Returns:
        The four arrays by name, unchecked.

    Raises:
        UsageError: the file is not a readable `.npz` archive, is missing one of the
            arrays, or stores an array as pickled objects.
    """
    path = Path(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError:
        # numpy raises ValueError for files that are neither .npy nor .npz;
        # its message speaks of pickled data, which misleads for a text file.
        raise UsageError(
            f"MNIST file {path} is not an .npz archive; "
            "pass the arrays x_train, y_train, x_test, y_test saved with numpy.savez."
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise UsageError(
            f"MNIST file {path} could not be read as an .npz archive ({error}); "
            "pass an archive written by numpy.savez."
        ) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise UsageError(
            f"MNIST file {path} contains a single array, not an .npz archive with "
            f"{', '.join(ARRAY_NAMES)}; save all four with numpy.savez."
        )

    with loaded as archive:
        missing = [name for name in ARRAY_NAMES if name not in archive.files]
        if missing:
            raise UsageError(
                f"MNIST file {path} is missing the arrays {', '.join(missing)} "
                f"(found: {', '.join(archive.files) or 'none'}); an MNIST .npz needs "
                f"{', '.join(ARRAY_NAMES)}."
            )
        try:
            return {name: archive[name] for name in ARRAY_NAMES}
        except ValueError as error:
            # Object arrays need pickle, which stays off for untrusted files.
            raise UsageError(
                f"MNIST file {path} stores an array as Python objects ({error}); "
                "save numeric arrays with numpy.savez."
            ) from None
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            raise UsageError(
                f"MNIST file {path} is a corrupt .npz archive ({error}); "
                "download or write it again."
            ) from None


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file, gzipped or not, into an array of its stored shape.

    An IDX file starts with a 4-byte magic number (two zero bytes, a type code
    and the number of dimensions), then one big-endian uint32 per dimension,
    then the values in row-major order, big-endian.

    Args:
        path: The file. A name ending in `.gz` is read with gzip.

    Returns:
        The array, in native byte order.

    Raises:
        UsageError: the file is missing, is a corrupt gzip stream, or its header
            or length is not valid IDX.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                content = stream.read()
        else:
            content = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"IDX file {path} not found.") from None
    except (OSError, EOFError, zlib.error) as error:
        # gzip.BadGzipFile is an OSError; a cut stream raises EOFError.
        raise UsageError(
            f"IDX file {path} could not be read ({error}); download it again."
        ) from None

    if len(content) < 4 or content[0] != 0 or content[1] != 0 or content[2] not in IDX_DTYPES:
        raise UsageError(
            f"IDX file {path} has an invalid magic number {content[:4].hex() or 'none'}; "
            "expected 0000 followed by a type code and the number of dimensions."
        )
    dtype = IDX_DTYPES[content[2]]
    num_dims = content[3]
    header_size = 4 + 4 * num_dims
    if num_dims == 0 or len(content) < header_size:
        raise UsageError(f"IDX file {path} has a truncated or empty header.")

    shape = tuple(int(size) for size in np.frombuffer(content, dtype=">u4", count=num_dims,
                                                      offset=4))
    expected_bytes = header_size + math.prod(shape) * dtype.itemsize
    if len(content) != expected_bytes:
        raise UsageError(
            f"IDX file {path} contains {len(content)} bytes, but its header shape {shape} "
            f"needs {expected_bytes}; the file is truncated or corrupt."
        )
    values = np.frombuffer(content, dtype=dtype, offset=header_size).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def find_idx_file(folder: Path, name: str) -> Optional[Path]:
    """Return `folder/name` or `folder/name.gz`, whichever exists, else `None`."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    """Read the four original MNIST IDX files from a folder.

    Args:
        folder: Folder with `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
            `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each
            optionally with a `.gz` suffix.

    Returns:
        The four arrays by their Keras names, unchecked.

    Raises:
        UsageError: a file is missing or invalid.
    """
    folder = Path(folder)
    paths = {array: find_idx_file(folder, name) for array, name in IDX_FILES.items()}
    missing = [IDX_FILES[array] for array, path in paths.items() if path is None]
    if missing:
        raise UsageError(
            f"--data-path {folder} is missing the MNIST IDX files {', '.join(missing)} "
            "(with or without .gz); pass a folder with all four, or an .npz file."
        )
    return {array: read_idx(path) for array, path in paths.items()}


def check_arrays(arrays: dict[str, np.ndarray], source: str) -> None:
    """Check that the four arrays have the MNIST shapes, dtypes and labels.

    Images must be uint8 of shape `(n, 28, 28)` with `n > 0`; labels must be
    integers 0-9 of shape `(n,)`, one per image.

    Args:
        arrays: The arrays by name.
        source: Where they came from, for the error message.

    Raises:
        UsageError: the first array that does not fit.
    """
    for part in ("train", "test"):
        images = arrays[f"x_{part}"]
        labels = arrays[f"y_{part}"]
        if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE) or len(images) == 0:
            raise UsageError(
                f"{source}: x_{part} has shape {images.shape}; expected (n, 28, 28) with n > 0."
            )
        if images.dtype != np.uint8:
            raise UsageError(
                f"{source}: x_{part} has dtype {images.dtype}; expected uint8 pixels 0-255."
            )
        if labels.shape != (len(images),):
            raise UsageError(
                f"{source}: y_{part} has shape {labels.shape}; expected ({len(images)},), "
                f"one label per image of x_{part}."
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise UsageError(
                f"{source}: y_{part} has dtype {labels.dtype}; expected integer labels 0-9."
            )
        outside = (labels < 0) | (labels >= NUM_CLASSES)
        if outside.any():
            raise UsageError(
                f"{source}: y_{part} contains {int(outside.sum())} label(s) outside 0-9, the "
                f"first is {int(labels[outside][0])} at index {int(np.flatnonzero(outside)[0])}; "
                "MNIST labels are the digits 0-9."
            )


def keras_cache_path() -> Path:
    """Return where `keras.datasets.mnist.load_data()` caches its download.

    Keras reads `KERAS_HOME` once, when it is imported, so an imported Keras
    is asked for its setting. Otherwise this repeats the rule of Keras 3.15
    without importing it: `$KERAS_HOME`, else `~/.keras`.
    """
    home = None
    if "keras" in sys.modules:
        try:
            from keras.src.backend.config import keras_home  # private in Keras 3.x

            home = keras_home()
        except ImportError:
            pass
    if home is None:
        home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home).expanduser() / "datasets" / NPZ_NAME


def check_reachable(url: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Open and close a TCP connection to the host of `url` within `timeout` seconds.

    Name resolution has no timeout of its own, so the connection runs in a
    daemon thread that is abandoned when the time is up.

    Raises:
        UsageError: the host cannot be reached in time, with `OFFLINE_HINT`.
    """
    parsed = urllib.parse.urlsplit(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    failure: list[str] = []

    def connect():
        try:
            socket.create_connection((parsed.hostname, port), timeout=timeout).close()
        except OSError as error:
            failure.append(str(error) or type(error).__name__)

    thread = threading.Thread(target=connect, name="mnist-reachability", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        failure.append(f"no answer within {timeout:g} s")
    if failure:
        raise UsageError(
            f"MNIST is not cached at {keras_cache_path()} and {parsed.hostname}:{port} could "
            f"not be reached to download it ({failure[0]}); {OFFLINE_HINT}."
        )


def download_with_keras() -> dict[str, np.ndarray]:
    """Load MNIST through `keras.datasets.mnist.load_data()`.

    A cached archive is read without network access. Otherwise the download
    host must accept a connection within `CONNECT_TIMEOUT` seconds, and every
    socket operation of the download then times out after
    `DOWNLOAD_SOCKET_TIMEOUT` seconds.

    Raises:
        UsageError: the archive is not cached and cannot be downloaded.
    """
    # Checked before importing Keras, which takes seconds, so that an offline
    # machine gets its error at once.
    if not keras_cache_path().is_file():
        check_reachable(KERAS_MNIST_ORIGIN)
        logger.info("Downloading MNIST with Keras into %s", keras_cache_path().parent)

    import keras

    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_SOCKET_TIMEOUT)
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # Keras wraps network failures in several types.
        raise UsageError(
            f"MNIST could not be loaded through keras.datasets.mnist.load_data() "
            f"({type(error).__name__}: {error}); {OFFLINE_HINT}."
        ) from None
    finally:
        socket.setdefaulttimeout(previous_timeout)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def load_arrays(data_path: Optional[str] = None) -> dict[str, np.ndarray]:
    """Find, read and check the four MNIST arrays.

    Args:
        data_path: An `.npz` file or a folder of IDX files. `None` tries
            `$KERAS_LSTM_AE_DATA/mnist.npz`, then the Keras download.

    Returns:
        `x_train`, `y_train`, `x_test` and `y_test` in the Keras layout.

    Raises:
        UsageError: the data is missing, unreadable or malformed.
    """
    if data_path is not None:
        path = Path(data_path).expanduser()
        if path.is_dir():
            arrays = read_idx_folder(path)
        elif path.is_file():
            arrays = read_npz(path)
        else:
            raise UsageError(
                f"--data-path {data_path} not found; pass an MNIST .npz file or a folder "
                "with the four IDX files."
            )
        source = f"--data-path {data_path}"
    else:
        data_home = os.environ.get(DATA_ENV_VAR)
        env_file = Path(data_home).expanduser() / NPZ_NAME if data_home else None
        if env_file is not None and env_file.is_file():
            arrays = read_npz(env_file)
            source = f"{env_file} (from {DATA_ENV_VAR})"
        else:
            if env_file is not None:
                logger.info("%s is %s, which contains no %s, so Keras is tried next", DATA_ENV_VAR,
                            data_home, NPZ_NAME)
            arrays = download_with_keras()
            source = "keras.datasets.mnist"
    check_arrays(arrays, source)
    return arrays


def to_sequences(images: np.ndarray, mode: str = "row") -> np.ndarray:
    """Scale uint8 images to [0, 1] and read them as sequences.

    Args:
        images: Shape `(n, 28, 28)`, uint8.
        mode: `"row"` gives shape `(n, 28, 28)`, one row of 28 pixels per time
            step; `"pixel"` gives shape `(n, 784, 1)`, one pixel per step.

    Returns:
        float32 sequences of shape `(batch, time, features)`.
    """
    if mode not in MODES:
        raise UsageError(f"--mnist-mode must be one of {', '.join(MODES)}; got {mode!r}.")
    scaled = images.astype(np.float32) / 255.0
    if mode == "pixel":
        return scaled.reshape(len(images), IMAGE_SIZE * IMAGE_SIZE, 1)
    return scaled


def to_images(sequences: np.ndarray) -> np.ndarray:
    """Turn sequences of either mode back into images of shape `(n, 28, 28)`."""
    return np.asarray(sequences).reshape(len(sequences), IMAGE_SIZE, IMAGE_SIZE)


def load(data_path: Optional[str] = None, mode: str = "row", seed: int = 0,
         validation_size: int = DEFAULT_VALIDATION_SIZE) -> SequenceData:
    """Load MNIST and split it into train, validation and test sequences.

    The validation split is `validation_size` images drawn from the training
    set with `seed`. The rest train the model, and the test set stays as
    published. With the full data set the splits hold 50,000, 10,000 and
    10,000 images.

    Args:
        data_path: An `.npz` file or a folder of IDX files; see `load_arrays`.
        mode: `"row"` (28 steps of 28 values) or `"pixel"` (784 steps of 1).
        seed: Seed of the validation draw.
        validation_size: Training images held out for validation (default
            10,000). It must leave at least one training image.

    Returns:
        A `SequenceData` named `mnist` with labels and `num_classes` 10.

    Raises:
        UsageError: the data is missing or malformed, or `validation_size`
            does not fit the training set.
    """
    arrays = load_arrays(data_path)
    num_train = len(arrays["x_train"])
    if not 0 < validation_size < num_train:
        raise UsageError(
            f"the MNIST validation split of {validation_size} images must be between 1 and "
            f"{num_train - 1}, because the training set contains {num_train} images."
        )

    order = np.random.default_rng(seed).permutation(num_train)
    validation_index, train_index = order[:validation_size], order[validation_size:]
    x_train = to_sequences(arrays["x_train"], mode)
    y_train = arrays["y_train"].astype(np.int64)
    return SequenceData(
        name="mnist",
        train=Split(x_train[train_index], y_train[train_index]),
        validation=Split(x_train[validation_index], y_train[validation_index]),
        test=Split(to_sequences(arrays["x_test"], mode), arrays["y_test"].astype(np.int64)),
        num_classes=NUM_CLASSES,
    )
