"""Interruption, resume, divergence and determinism of training runs."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import REPO_ROOT

from keras_lstm_ae import TrainConfig, train
from keras_lstm_ae.guards import TrainingDiverged

# A run long enough to be stopped in the middle, short enough for the suite.
RUN_OPTIONS = ["--num-sequences", "600", "--seq-len", "12", "--hidden-size", "8",
               "--batch-size", "16", "--epochs", "12", "--validate-every", "3",
               "--verbose", "0", "--no-export"]


def start_train(cwd, output_dir, *extra):
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "keras_lstm_ae", "train", *RUN_OPTIONS, "--output-dir",
         output_dir, *extra],
        cwd=cwd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for_checkpoint(process, state_file, min_epoch=1, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"train ended before a checkpoint: {process.stderr.read()[-2000:]}")
        try:
            if json.loads(state_file.read_text())["epoch"] >= min_epoch:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    process.kill()
    pytest.fail("no checkpoint within the timeout")


def model_weights(path):
    import keras

    return keras.saving.load_model(path, safe_mode=True).get_weights()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The weights and history of the same run without interruption."""
    cwd = tmp_path_factory.mktemp("uninterrupted")
    process = start_train(cwd, "run")
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-2000:]
    return model_weights(cwd / "run" / "model.keras"), (cwd / "run" / "history.csv").read_text()


@pytest.mark.parametrize("signal_number, expected_status", [
    (signal.SIGINT, 130),
    (signal.SIGTERM, 130),
    (signal.SIGKILL, -signal.SIGKILL),
])
def test_interrupted_run_resumes_to_same_weights(signal_number, expected_status, tmp_path,
                                                 uninterrupted):
    process = start_train(tmp_path, "run")
    wait_for_checkpoint(process, tmp_path / ".run.partial" / "checkpoint.json", min_epoch=2)
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == expected_status
    assert not (tmp_path / "run").exists()
    assert (tmp_path / ".run.partial" / "checkpoint.keras").is_file()
    if signal_number != signal.SIGKILL:
        assert "training interrupted" in stderr
        assert "Resume with: keras-lstm-ae train --resume run" in stderr
        assert "Traceback" not in stderr

    resumed = subprocess.run(
        [sys.executable, "-m", "keras_lstm_ae", "train", "--resume", "run"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True, text=True, timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert not (tmp_path / ".run.partial").exists()
    assert not (tmp_path / "run" / "checkpoint.keras").exists()

    expected_weights, expected_history = uninterrupted
    for resumed_weight, expected_weight in zip(model_weights(tmp_path / "run" / "model.keras"),
                                               expected_weights):
        np.testing.assert_array_equal(resumed_weight, expected_weight)
    resumed_history = (tmp_path / "run" / "history.csv").read_text()
    assert len(resumed_history.splitlines()) == len(expected_history.splitlines())


def test_new_run_refuses_interrupted_output_dir(tmp_path):
    process = start_train(tmp_path, "run")
    wait_for_checkpoint(process, tmp_path / ".run.partial" / "checkpoint.json")
    process.kill()
    process.communicate(timeout=60)

    again = subprocess.run(
        [sys.executable, "-m", "keras_lstm_ae", "train", "--epochs", "1", "--output-dir", "run"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True, text=True, timeout=120,
    )
    assert again.returncode == 2
    assert "has an interrupted run; resume it with" in again.stderr
    assert (tmp_path / ".run.partial" / "checkpoint.keras").is_file()


def test_resume_without_checkpoint_is_usage_error(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "keras_lstm_ae", "train", "--resume", "nothing"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 2
    assert "no interrupted run with a checkpoint" in completed.stderr
    assert list(tmp_path.iterdir()) == []


def poison_after_epoch(epoch_to_poison):
    """A callback that writes NaN into the decoder weights after one epoch."""
    import keras

    class Poison(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == epoch_to_poison:
                layer = self.model.get_layer("reconstruction")
                layer.set_weights([np.full_like(w, np.nan) for w in layer.get_weights()])

    return Poison()


def test_divergence_keeps_last_good_checkpoint(tmp_path):
    config = TrainConfig(num_sequences=200, seq_len=8, hidden_size=4, epochs=5, verbose=0,
                         export=False, output_dir=str(tmp_path / "run"))
    with pytest.raises(TrainingDiverged, match="loss is nan at epoch 3, batch 1"):
        train(config, callbacks=[poison_after_epoch(2)])

    staging = tmp_path / ".run.partial"
    assert json.loads((staging / "checkpoint.json").read_text())["epoch"] == 2
    for weight in model_weights(staging / "checkpoint.keras"):
        assert np.all(np.isfinite(weight))
    assert not (tmp_path / "run").exists()


def test_divergence_exits_nonzero_with_one_line(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "keras_lstm_ae", "train", "--num-sequences", "100",
         "--seq-len", "8", "--hidden-size", "4", "--epochs", "3", "--verbose", "0",
         "--learning-rate", "1e30", "--clip-norm", "0", "--output-dir", "run"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 3
    last_line = completed.stderr.strip().splitlines()[-1]
    assert last_line.startswith("keras-lstm-ae: error: training diverged: loss is ")
    assert "--learning-rate" in last_line
    assert "Traceback" not in completed.stderr
