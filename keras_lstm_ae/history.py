"""A per-epoch training log that keeps validation values on the epochs that have them."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Callable, Optional

from keras_lstm_ae.files import write_csv


def make_callback(rows: Optional[list] = None, skip: Callable[[], bool] = lambda: False):
    """Return a Keras callback that appends the logs of every epoch to `.rows`.

    Args:
        rows: Rows of earlier epochs, for a resumed run; the list is extended
            in place.
        skip: Called at each epoch end; when it returns true the epoch is not
            recorded, because training stopped in the middle of it.
    """
    import keras

    class EpochLog(keras.callbacks.Callback):
        """Stores `{"epoch": n, **logs}` per epoch, `n` counted from 1."""

        def __init__(self):
            super().__init__()
            self.rows = [] if rows is None else rows

        def on_epoch_end(self, epoch, logs=None):
            if skip():
                return
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


def read(path: Path) -> list[dict]:
    """Read rows written by `write`; empty values are left out of their row."""
    with open(path, newline="") as stream:
        rows = []
        for record in csv.DictReader(stream):
            row = {"epoch": int(record.pop("epoch"))}
            row.update({key: float(value) for key, value in record.items() if value != ""})
            rows.append(row)
    return rows
