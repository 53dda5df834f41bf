"""Tasks: what the model reads, what each output learns, and their losses.

- `reconstruct`: input x(1..T), output `reconstruction` = x(1..T).
- `classify`: input x(1..T), outputs `reconstruction` and `classification`
  (class scores, as logits); loss = (MSE + cross-entropy) / 2.
- `predict`: input x(1..T-1), outputs `reconstruction` = x(1..T-1) and
  `prediction` = x(2..T); loss = (MSE reconstruction + MSE prediction) / 2.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_lstm_ae.data.splits import Split

RECONSTRUCTION = "reconstruction"
CLASSIFICATION = "classification"
PREDICTION = "prediction"

OUTPUTS = {
    "reconstruct": (RECONSTRUCTION,),
    "classify": (RECONSTRUCTION, CLASSIFICATION),
    "predict": (RECONSTRUCTION, PREDICTION),
}


@dataclasses.dataclass
class TaskArrays:
    """Model inputs and one target array per output name."""

    inputs: np.ndarray
    targets: dict[str, np.ndarray]


def input_length(task: str, seq_len: int) -> int:
    """Return the number of time steps the model reads for a task."""
    return seq_len - 1 if task == "predict" else seq_len


def make_arrays(task: str, split: Split) -> TaskArrays:
    """Build the inputs and targets of one split for a task.

    Args:
        task: Task name, a key of `OUTPUTS`.
        split: Sequences of shape `(batch, time, features)`, with labels for
            `classify`.
    """
    x = split.x
    if task == "reconstruct":
        return TaskArrays(x, {RECONSTRUCTION: x})
    if task == "classify":
        if split.labels is None:
            raise ValueError("the classify task needs labels, and this split has none")
        return TaskArrays(x, {RECONSTRUCTION: x, CLASSIFICATION: split.labels})
    if task == "predict":
        inputs = x[:, :-1]
        return TaskArrays(inputs, {RECONSTRUCTION: inputs, PREDICTION: x[:, 1:]})
    raise ValueError(f"unknown task {task!r}")


def compile_arguments(task: str) -> dict:
    """Return the `loss`, `loss_weights` and `metrics` arguments of `Model.compile`.

    With two outputs each loss gets weight 0.5, so the total loss is their mean.
    """
    import keras

    names = OUTPUTS[task]
    losses = {}
    metrics = {}
    for name in names:
        if name == CLASSIFICATION:
            losses[name] = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            metrics[name] = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        else:
            losses[name] = keras.losses.MeanSquaredError()
            metrics[name] = [keras.metrics.MeanSquaredError(name="mse")]
    weight = 1.0 / len(names)
    return {
        "loss": losses,
        "loss_weights": {name: weight for name in names},
        "metrics": metrics,
    }
