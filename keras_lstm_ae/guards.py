"""Callbacks that stop training safely: on Ctrl-C or SIGTERM, and on a NaN or infinite loss."""

from __future__ import annotations

import contextlib
import math
import signal
import threading
from typing import Iterator, Optional


class TrainingInterrupted(Exception):
    """Training stopped on SIGINT or SIGTERM; the last epoch checkpoint is kept."""


class TrainingDiverged(Exception):
    """The training loss became NaN or infinite; the last good checkpoint is kept."""


@contextlib.contextmanager
def stop_requests() -> Iterator[threading.Event]:
    """Turn SIGINT and SIGTERM into an event for the duration of the block.

    The first signal sets the event so training can stop after the current
    batch. A second signal restores the default handling, so a user who
    presses Ctrl-C twice is not kept waiting. Outside the main thread signals
    cannot be caught, and the event is never set.
    """
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested
        return

    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}

    def handle(number, frame):
        if requested.is_set():
            signal.signal(number, previous[number])
            signal.raise_signal(number)
            return
        requested.set()

    for number in previous:
        signal.signal(number, handle)
    try:
        yield requested
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def make_callback(requested: threading.Event):
    """Return a callback that stops training after the batch during which a stop was
    requested, and on the first NaN or infinite batch loss.

    After `fit` returns, its `reason` is `None`, `"interrupted"` or `"diverged"`,
    and `detail` describes where it stopped.
    """
    import keras

    class SafeStop(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.reason: Optional[str] = None
            self.detail = ""
            self.epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                self.reason = "diverged"
                self.detail = f"loss is {float(loss)} at epoch {self.epoch}, batch {batch + 1}"
                self.model.stop_training = True
            elif requested.is_set():
                self.reason = "interrupted"
                self.detail = f"during epoch {self.epoch}, after batch {batch + 1}"
                self.model.stop_training = True

    return SafeStop()
