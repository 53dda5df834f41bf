"""The MNIST loader: npz and IDX files, the data folder variable, modes and bad input."""

import gzip
import socket
import time

import numpy as np
import pytest

from conftest import run_cli
from keras_lstm_ae import TrainConfig, UsageError, train
from keras_lstm_ae.data import mnist

NUM_TRAIN = 300
NUM_TEST = 50
VALIDATION_SIZE = 60


@pytest.fixture(scope="session")
def real_npz(test_data_dir):
    path = test_data_dir / "mnist.npz"
    if not path.is_file():
        pytest.fail(f"{path} not found; set KERAS_LSTM_AE_TEST_DATA to a folder with mnist.npz")
    return path


@pytest.fixture(scope="session")
def subset(real_npz):
    """The first 300 training and 50 test images of the real MNIST, with labels."""
    with np.load(real_npz, allow_pickle=False) as archive:
        return {
            "x_train": archive["x_train"][:NUM_TRAIN],
            "y_train": archive["y_train"][:NUM_TRAIN],
            "x_test": archive["x_test"][:NUM_TEST],
            "y_test": archive["y_test"][:NUM_TEST],
        }


@pytest.fixture
def subset_npz(subset, tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, **subset)
    return path


def write_idx(path, array):
    """Write `array` as an IDX file of unsigned bytes, gzipped when `path` ends in .gz."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    content = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as stream:
            stream.write(content)
    else:
        path.write_bytes(content)


def write_idx_folder(folder, arrays, suffix=""):
    folder.mkdir(parents=True, exist_ok=True)
    for name, file_name in mnist.IDX_FILES.items():
        write_idx(folder / f"{file_name}{suffix}", arrays[name])
    return folder


def test_loader_reads_full_npz(real_npz):
    data = mnist.load(str(real_npz))
    assert data.name == "mnist"
    assert data.num_classes == 10
    assert len(data.train) == 50_000
    assert len(data.validation) == 10_000
    assert len(data.test) == 10_000
    assert data.train.x.shape[1:] == (28, 28)
    assert data.train.x.dtype == np.float32
    assert data.train.x.min() == 0.0
    assert data.train.x.max() == 1.0
    assert set(np.unique(data.train.labels)) == set(range(10))


def test_loader_keeps_test_set_order(subset, subset_npz):
    data = mnist.load(str(subset_npz), validation_size=VALIDATION_SIZE)
    np.testing.assert_array_equal(data.test.labels, subset["y_test"])
    np.testing.assert_allclose(data.test.x, subset["x_test"] / 255.0, atol=1e-7)


def test_validation_split_is_seeded(subset, subset_npz):
    first = mnist.load(str(subset_npz), seed=3, validation_size=VALIDATION_SIZE)
    again = mnist.load(str(subset_npz), seed=3, validation_size=VALIDATION_SIZE)
    other = mnist.load(str(subset_npz), seed=4, validation_size=VALIDATION_SIZE)
    assert len(first.validation) == VALIDATION_SIZE
    assert len(first.train) == NUM_TRAIN - VALIDATION_SIZE
    np.testing.assert_array_equal(first.validation.x, again.validation.x)
    assert not np.array_equal(first.validation.x, other.validation.x)


def test_validation_split_is_disjoint_from_train(subset_npz):
    data = mnist.load(str(subset_npz), validation_size=VALIDATION_SIZE)
    train_rows = {image.tobytes() for image in data.train.x}
    validation_rows = {image.tobytes() for image in data.validation.x}
    # The first 300 MNIST training images are all different.
    assert len(train_rows | validation_rows) == NUM_TRAIN
    assert not train_rows & validation_rows


def test_validation_size_too_large_rejected(subset_npz):
    with pytest.raises(UsageError, match="validation split of 300 images"):
        mnist.load(str(subset_npz), validation_size=NUM_TRAIN)


def test_pixel_mode_shape_and_order(subset):
    rows = mnist.to_sequences(subset["x_test"], "row")
    pixels = mnist.to_sequences(subset["x_test"], "pixel")
    assert rows.shape == (NUM_TEST, 28, 28)
    assert pixels.shape == (NUM_TEST, 784, 1)
    np.testing.assert_array_equal(mnist.to_images(pixels), rows)
    np.testing.assert_array_equal(mnist.to_images(rows), rows)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_folder_matches_npz(subset, tmp_path, suffix):
    folder = write_idx_folder(tmp_path / "idx", subset, suffix)
    arrays = mnist.load_arrays(str(folder))
    for name in mnist.ARRAY_NAMES:
        np.testing.assert_array_equal(arrays[name], subset[name], err_msg=name)
        assert arrays[name].dtype == np.uint8, name


def test_idx_header_read_by_magic_number(tmp_path):
    path = tmp_path / "labels"
    values = np.arange(-5, 5, dtype=">i4")
    path.write_bytes(bytes([0, 0, 0x0C, 1]) + np.asarray([10], dtype=">u4").tobytes()
                     + values.tobytes())
    read = mnist.read_idx(path)
    np.testing.assert_array_equal(read, np.arange(-5, 5))
    assert read.dtype == np.dtype("int32")


def test_data_folder_variable_used(subset, tmp_path, monkeypatch):
    folder = tmp_path / "data_home"
    folder.mkdir()
    np.savez(folder / "mnist.npz", **subset)
    monkeypatch.setenv(mnist.DATA_ENV_VAR, str(folder))
    arrays = mnist.load_arrays(None)
    np.testing.assert_array_equal(arrays["y_test"], subset["y_test"])


@pytest.fixture
def offline_keras(tmp_path, monkeypatch):
    """Point the Keras download at a closed loopback port, with nothing cached.

    The connection is refused without any traffic leaving the machine.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setattr(mnist, "keras_cache_path", lambda: tmp_path / "no_cache" / "mnist.npz")
    monkeypatch.setattr(mnist, "KERAS_MNIST_ORIGIN", f"http://127.0.0.1:{closed_port}/mnist.npz")


def test_offline_without_path_fails_fast(offline_keras, tmp_path, monkeypatch):
    monkeypatch.delenv(mnist.DATA_ENV_VAR, raising=False)
    started = time.monotonic()
    with pytest.raises(UsageError) as raised:
        mnist.load_arrays(None)
    assert time.monotonic() - started < 10
    message = str(raised.value)
    assert "--data-path" in message
    assert mnist.DATA_ENV_VAR in message
    assert "\n" not in message
    assert not (tmp_path / "no_cache").exists()


def test_data_folder_without_npz_falls_back(offline_keras, tmp_path, monkeypatch):
    empty = tmp_path / "empty_home"
    empty.mkdir()
    monkeypatch.setenv(mnist.DATA_ENV_VAR, str(empty))
    with pytest.raises(UsageError, match="could not be reached to download it"):
        mnist.load_arrays(None)


def _replace(arrays, **changes):
    return {**arrays, **changes}


def _bad_npz(name, make_arrays):
    def write(subset, folder):
        path = folder / f"{name}.npz"
        np.savez(path, **make_arrays(subset))
        return path
    return write


def _missing_file(subset, folder):
    return folder / "absent.npz"


def _text_file(subset, folder):
    path = folder / "mnist.npz"
    path.write_text("x_train,y_train\n1,2\n")
    return path


def _object_array(subset, folder):
    path = folder / "objects.npz"
    np.savez(path, **_replace(subset, y_train=np.array([{"label": 1}] * NUM_TRAIN, dtype=object)))
    return path


def _corrupt_gzip(subset, folder):
    idx = write_idx_folder(folder / "idx", subset, ".gz")
    train_images = idx / "train-images-idx3-ubyte.gz"
    content = train_images.read_bytes()
    train_images.write_bytes(content[:10] + b"\x00not deflate data" + content[30:])
    return idx


def _truncated_idx(subset, folder):
    idx = write_idx_folder(folder / "idx", subset)
    labels = idx / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-3])
    return idx


def _bad_magic(subset, folder):
    idx = write_idx_folder(folder / "idx", subset)
    labels = idx / "train-labels-idx1-ubyte"
    labels.write_bytes(b"\x08\x01" + labels.read_bytes()[2:])
    return idx


def _missing_idx_file(subset, folder):
    idx = write_idx_folder(folder / "idx", subset)
    (idx / "t10k-images-idx3-ubyte").unlink()
    return idx


BAD_INPUTS = {
    "missing_file": (_missing_file, "not found"),
    "not_npz": (_text_file, "is not an .npz archive"),
    "missing_keys": (_bad_npz("keys", lambda a: {"x_train": a["x_train"]}),
                     "is missing the arrays y_train, x_test, y_test"),
    "wrong_image_shape": (_bad_npz("shape", lambda a: _replace(a, x_train=a["x_train"][:, :, :27])),
                          "x_train has shape (300, 28, 27)"),
    "flat_images": (_bad_npz("flat", lambda a: _replace(a, x_test=a["x_test"].reshape(NUM_TEST, 784))),
                    "x_test has shape (50, 784)"),
    "float_images": (_bad_npz("float", lambda a: _replace(a, x_train=a["x_train"] / 255.0)),
                     "x_train has dtype float64"),
    "float_labels": (_bad_npz("float_labels", lambda a: _replace(a, y_test=a["y_test"] * 1.0)),
                     "y_test has dtype float64"),
    "label_count": (_bad_npz("count", lambda a: _replace(a, y_train=a["y_train"][:-1])),
                    "y_train has shape (299,)"),
    "label_ten": (_bad_npz("ten", lambda a: _replace(a, y_test=np.where(
                      np.arange(NUM_TEST) == 7, 10, a["y_test"]).astype(np.uint8))),
                  "y_test contains 1 label(s) outside 0-9, the first is 10 at index 7"),
    "label_negative": (_bad_npz("negative", lambda a: _replace(
                           a, y_train=a["y_train"].astype(np.int64) - 1)),
                       "label(s) outside 0-9, the first is -1"),
    "object_array": (_object_array, "stores an array as Python objects"),
    "corrupt_gzip": (_corrupt_gzip, "train-images-idx3-ubyte.gz could not be read"),
    "truncated_idx": (_truncated_idx, "the file is truncated or corrupt"),
    "bad_magic": (_bad_magic, "has an invalid magic number 0801"),
    "missing_idx_file": (_missing_idx_file, "is missing the MNIST IDX files t10k-images-idx3-ubyte"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_rejected_before_writing(case, subset, tmp_path):
    make_input, expected = BAD_INPUTS[case]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    data_path = make_input(subset, inputs)
    outputs = tmp_path / "outputs"
    config = TrainConfig(data="mnist", task="classify", data_path=str(data_path), epochs=1,
                         output_dir=str(outputs / "run"), export_dir=str(outputs / "export"),
                         verbose=0)

    with pytest.raises(UsageError) as raised:
        train(config)
    message = str(raised.value)
    assert expected in message
    assert "\n" not in message
    assert not outputs.exists()


@pytest.mark.parametrize("case", ["missing_file", "label_ten"])
def test_cli_bad_input_exits_2(case, subset, tmp_path):
    make_input, expected = BAD_INPUTS[case]
    data_path = make_input(subset, tmp_path)
    before = sorted(tmp_path.iterdir())
    completed = run_cli("train", "--data", "mnist", "--task", "classify", "--data-path",
                        str(data_path), "--epochs", "1", cwd=tmp_path, timeout=120)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert lines[-1].startswith("keras-lstm-ae: error: ")
    assert expected in lines[-1]
    assert "Traceback" not in completed.stderr
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--data", "mnist", "--mnist-mode", "column"], "argument --mnist-mode: invalid choice"),
        (["--data", "synthetic", "--mnist-mode", "pixel"],
         "--mnist-mode pixel applies only to --data mnist"),
    ],
)
def test_mnist_mode_option_rejected(args, expected, tmp_path):
    completed = run_cli("train", *args, cwd=tmp_path, timeout=60)
    assert completed.returncode == 2
    assert expected in completed.stderr
    assert list(tmp_path.iterdir()) == []


def test_help_states_pixel_mode_cost(tmp_path):
    completed = run_cli("train", "--help", cwd=tmp_path, timeout=60)
    text = " ".join(completed.stdout.split())
    assert "--mnist-mode" in text
    assert "784 sequential LSTM steps per image instead of 28" in text
