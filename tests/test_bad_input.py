"""Bad input of every kind: exit status 2, one error line naming the value, no traceback,
and no new files."""

import gzip
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT

GOOD_CSV = "date,open,high,low,close,volume,Name\n" + "".join(
    f"2017-01-{day:02d},1,{10 + day},1,1,100,{ticker}\n"
    for ticker in ("AAA", "BBB", "CCC") for day in range(1, 29)
)


def write_text(name, content):
    def make(folder):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return make


def write_npz(name, **arrays):
    def make(folder):
        np.savez(folder / name, **arrays)
    return make


def mnist_arrays(count=20, **overrides):
    arrays = {
        "x_train": np.zeros((count, 28, 28), np.uint8),
        "y_train": np.zeros(count, np.uint8),
        "x_test": np.zeros((count, 28, 28), np.uint8),
        "y_test": np.zeros(count, np.uint8),
    }
    arrays.update(overrides)
    return arrays


def write_idx_folder(name, corrupt=None, missing=None):
    def make(folder):
        root = folder / name
        root.mkdir()
        images = np.zeros((4, 28, 28), np.uint8)
        labels = np.zeros(4, np.uint8)
        files = {
            "train-images-idx3-ubyte": b"\x00\x00\x08\x03" + np.array([4, 28, 28], ">i4").tobytes()
            + images.tobytes(),
            "train-labels-idx1-ubyte": b"\x00\x00\x08\x01" + np.array([4], ">i4").tobytes()
            + labels.tobytes(),
            "t10k-images-idx3-ubyte": b"\x00\x00\x08\x03" + np.array([4, 28, 28], ">i4").tobytes()
            + images.tobytes(),
            "t10k-labels-idx1-ubyte": b"\x00\x00\x08\x01" + np.array([4], ">i4").tobytes()
            + labels.tobytes(),
        }
        for file_name, content in files.items():
            if file_name == missing:
                continue
            if file_name == corrupt:
                (root / f"{file_name}.gz").write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
            else:
                (root / f"{file_name}.gz").write_bytes(gzip.compress(content))
    return make


def make_run_folder(name):
    return write_text(f"{name}/config.json", "{}")


# (case id, command-line arguments, files to create first, text the error line must contain)
CASES = [
    ("epochs zero", ["train", "--epochs", "0"], None, "--epochs"),
    ("learning rate negative", ["train", "--learning-rate", "-1"], None, "-1"),
    ("hidden size zero", ["train", "--hidden-size", "0"], None, "--hidden-size"),
    ("batch size not a number", ["train", "--batch-size", "abc"], None, "'abc'"),
    ("clip norm negative", ["train", "--clip-norm", "-2"], None, "--clip-norm"),
    ("lstm shards zero", ["train", "--lstm-shards", "0"], None, "--lstm-shards"),
    ("lstm shards above batch size", ["tune", "--lstm-shards", "9", "--batch-size", "8"], None,
     "--lstm-shards 9"),
    ("task unsupported by data", ["train", "--data", "synthetic", "--task", "classify"], None,
     "--task classify"),
    ("pixel mode on synthetic", ["train", "--mnist-mode", "pixel"], None, "--mnist-mode"),
    ("unknown data set", ["train", "--data", "imagenet"], None, "'imagenet'"),
    ("data path for synthetic data", ["train", "--data-path", "signals.csv"], None,
     "signals.csv"),
    ("output folder contains a run", ["train", "--output-dir", "old_run"], make_run_folder("old_run"),
     "old_run"),
    ("csv missing", ["train", "--data", "sp500", "--data-path", "missing.csv"], None,
     "missing.csv"),
    ("csv empty", ["train", "--data", "sp500", "--data-path", "empty.csv"],
     write_text("empty.csv", ""), "empty.csv"),
    ("csv without date column", ["train", "--data", "sp500", "--data-path", "nodate.csv"],
     write_text("nodate.csv", "day,high,Name\n1,10,AAA\n"), "date"),
    ("csv without price column", ["train", "--data", "sp500", "--data-path", "noprice.csv"],
     write_text("noprice.csv", "date,low,Name\n2017-01-02,10,AAA\n"), "high"),
    ("csv non-numeric prices", ["train", "--data", "sp500", "--data-path", "text.csv"],
     write_text("text.csv", "date,high,Name\n2017-01-02,abc,AAA\n2017-01-03,def,AAA\n"), "abc"),
    ("csv nothing left after cleaning", ["train", "--data", "sp500", "--data-path", "nan.csv"],
     write_text("nan.csv", "date,high,Name\n2017-01-02,,AAA\n2017-01-03,-5,AAA\n"), "nan.csv"),
    ("seq len longer than every stock",
     ["train", "--data", "sp500", "--data-path", "short.csv", "--seq-len", "200"],
     write_text("short.csv", GOOD_CSV), "200"),
    ("npz missing", ["train", "--data", "mnist", "--data-path", "missing.npz"], None,
     "missing.npz"),
    ("npz without expected keys", ["train", "--data", "mnist", "--data-path", "keys.npz"],
     write_npz("keys.npz", images=np.zeros((2, 28, 28), np.uint8)), "x_train"),
    ("npz wrong image shape", ["train", "--data", "mnist", "--data-path", "shape.npz"],
     write_npz("shape.npz", **mnist_arrays(x_train=np.zeros((20, 27, 28), np.uint8))), "x_train"),
    ("npz labels out of range", ["train", "--data", "mnist", "--data-path", "labels.npz"],
     write_npz("labels.npz", **mnist_arrays(y_test=np.full(20, 12, np.uint8))), "y_test"),
    ("npz is text", ["train", "--data", "mnist", "--data-path", "text.npz"],
     write_text("text.npz", "not an archive"), "text.npz"),
    ("idx corrupt gzip", ["train", "--data", "mnist", "--data-path", "idx"],
     write_idx_folder("idx", corrupt="train-labels-idx1-ubyte"), "train-labels-idx1-ubyte"),
    ("idx file missing", ["train", "--data", "mnist", "--data-path", "idx"],
     write_idx_folder("idx", missing="t10k-images-idx3-ubyte"), "t10k-images-idx3-ubyte"),
    ("evaluate missing run", ["evaluate", "--model", "no_such_run"], None, "no_such_run"),
    ("evaluate folder without run", ["evaluate", "--model", "empty_folder"],
     write_text("empty_folder/notes.txt", "x"), "empty_folder"),
    ("export corrupt keras file", ["export", "--model", "broken.keras", "--out", "saved"],
     write_text("broken.keras", "not a zip"), "broken.keras"),
    ("resume without checkpoint", ["train", "--resume", "runs/nothing"], None, "runs/nothing"),
    ("hparams file missing", ["train", "--hparams", "best.json"], None, "best.json"),
    ("grid file missing", ["tune", "--grid", "missing.toml"], None, "missing.toml"),
    ("grid unknown hyperparameter", ["tune", "--grid", "dropout.toml"],
     write_text("dropout.toml", "[hyperparameters]\ndropout = [0.1]\n"), "dropout"),
    ("grid empty", ["tune", "--grid", "empty.toml"],
     write_text("empty.toml", "[hyperparameters]\n"), "empty.toml"),
    ("grid invalid value", ["tune", "--grid", "zero.toml"],
     write_text("zero.toml", "[hyperparameters]\nlearning_rate = [0.0]\n"), "learning_rate"),
]


@pytest.mark.parametrize("args, make_files, expected", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_bad_input_exits_2_cleanly(args, make_files, expected, tmp_path):
    if make_files is not None:
        make_files(tmp_path)
    before = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*"))

    completed = subprocess.run(
        [sys.executable, "-m", "keras_lstm_ae", *args],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True, text=True, timeout=180,
    )

    assert completed.returncode == 2, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr
    error_lines = [line for line in completed.stderr.splitlines()
                   if line.startswith("keras-lstm-ae:")]
    assert len(error_lines) == 1, completed.stderr[-2000:]
    assert error_lines[0].startswith("keras-lstm-ae: error: ")
    assert expected in error_lines[0]
    after = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*"))
    assert after == before


def test_bad_input_table_is_large():
    assert len(CASES) >= 20
