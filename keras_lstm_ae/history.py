"""A per-epoch training log that keeps validation values on the epochs that have them."""

from __future__ import annotations

import math
from pathlib import Path

from keras_lstm_ae.files import write_csv


def make_callback():
    """Return a Keras callback that stores the logs of every epoch in `.rows`."""
    import keras

    class EpochLog(keras.callbacks.Callback):
        """Stores `{"epoch": n, **logs}` per epoch, `n` counted from 1."""

        def __init__(self):
            super().__init__()
            self.rows = []

        def on_epoch_end(self, epoch, logs=None):
            row = {"epoch": epoch + 1}
            row.update({key: float(value) for key, value in (logs or {}).items()})
            self.rows.append(row)

    return EpochLog()


def columns(rows: list[dict]) -> list[str]:
    """Return `epoch`, the training columns, then the `val_` columns, each sorted."""
    keys = {key for row in rows for key in row if key != "epoch"}
    training = sorted(key for key in keys if not key.startswith("val_"))
    validation = sorted(key for key in keys if key.startswith("val_"))
    return ["epoch", *training, *validation]


def series(rows: list[dict], key: str) -> list[float]:
    """Return one column, with NaN on the epochs that lack it."""
    return [row.get(key, math.nan) for row in rows]


def write(path: Path, rows: list[dict]) -> None:
    """Write the rows as CSV; a value an epoch lacks is left empty."""
    header = columns(rows)
    write_csv(path, header, [[row.get(key, "") for key in header] for row in rows])
