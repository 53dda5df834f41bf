"""Epoch checkpoints of a run in progress, and how to resume from them.

After every epoch the staging folder of a run receives `checkpoint.keras`
(model, weights and optimizer state), `history.csv` so far and
`checkpoint.json` (the epoch count and the training time so far). Each file is
written atomically, so a process killed at any moment, SIGKILL included,
leaves the previous complete checkpoint.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Optional

from keras_lstm_ae import history, runs
from keras_lstm_ae.errors import UsageError
from keras_lstm_ae.files import atomic_path, write_json

logger = logging.getLogger(__name__)

CHECKPOINT_MODEL = "checkpoint.keras"
CHECKPOINT_STATE = "checkpoint.json"


def make_callback(staging: Path, rows: list, seconds_before: float = 0.0):
    """Return a callback that checkpoints the run after every epoch.

    Args:
        staging: Staging folder of the run.
        rows: The history rows list that the epoch log fills; it is written
            with each checkpoint.
        seconds_before: Training time of earlier sessions of a resumed run.
    """
    import keras

    class EpochCheckpoint(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if not rows or rows[-1]["epoch"] != epoch + 1:
                return  # the epoch log callback must run first
            with atomic_path(staging / CHECKPOINT_MODEL) as temporary:
                # Keras refuses a file name that does not end in .keras.
                keras_file = temporary.with_name(temporary.name + ".keras")
                self.model.save(keras_file)
                keras_file.replace(temporary)
            history.write(staging / runs.HISTORY_FILE, rows)
            write_json(staging / CHECKPOINT_STATE, {
                "epoch": epoch + 1,
                "train_seconds": seconds_before + time.perf_counter() - self.started,
            })

    return EpochCheckpoint()


def read_state(staging: Path) -> Optional[dict]:
    """Return the last checkpoint's state, or `None` when there is none yet."""
    path = staging / CHECKPOINT_STATE
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def find_resumable(run_dir: Path) -> Path:
    """Return the staging folder of an interrupted run named by its final or staging path.

    Raises:
        UsageError: there is no interrupted run with a checkpoint there.
    """
    run_dir = Path(run_dir)
    candidates = [run_dir] if run_dir.name.endswith(".partial") else [runs.staging_path(run_dir)]
    for staging in candidates:
        if (staging / runs.CONFIG_FILE).is_file() and (staging / CHECKPOINT_STATE).is_file():
            return staging
    if (run_dir / runs.METRICS_FILE).is_file():
        raise UsageError(f"--resume {run_dir}: this run has already finished; "
                         "start a new run with another --output-dir.")
    raise UsageError(f"--resume {run_dir}: no interrupted run with a checkpoint was found; "
                     "pass the run folder that an interrupted train printed.")


def resume_command(final: Path) -> str:
    return f"keras-lstm-ae train --resume {final}"
