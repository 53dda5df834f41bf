"""The figures of an MNIST run: digits and their reconstructions, loss and accuracy."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_lstm_ae import history, plots, tasks
from keras_lstm_ae.data.mnist import to_images

NUM_IMAGE_PAIRS = 3


def write_mnist_figures(config, data, model, history_rows: list[dict],
                        figures_dir: Path) -> list[Path]:
    """Write the figures of a finished MNIST run into `figures_dir`.

    - `reconstructions.png`: the first 3 test digits above their
      reconstructions, in either sequence mode.
    - `loss.png`: training and validation loss against epoch.
    - `accuracy.png` (classify only): training and validation accuracy
      against epoch.

    Returns:
        The paths written.
    """
    figures_dir = Path(figures_dir)
    inputs = data.test.x[:NUM_IMAGE_PAIRS]
    outputs = model.predict(inputs, verbose=0)
    reconstructions = np.asarray(outputs[tasks.RECONSTRUCTION])
    written = [plots.plot_image_pairs(
        to_images(inputs), to_images(reconstructions), figures_dir / "reconstructions.png",
        title=f"MNIST test digits ({config.mnist_mode} mode): original (top), "
              "reconstruction (bottom)",
    )]

    epochs = [row["epoch"] for row in history_rows]
    if config.task == "classify":
        loss_label = "loss ((MSE + cross-entropy) / 2)"
    else:
        loss_label = "loss (MSE)"
    written.append(plots.plot_curves(
        epochs, _train_and_validation(history_rows, "loss"), figures_dir / "loss.png",
        ylabel=loss_label, title="Loss against epoch", log_scale=True,
    ))
    if config.task == "classify":
        written.append(plots.plot_curves(
            epochs, _train_and_validation(history_rows, "classification_accuracy"),
            figures_dir / "accuracy.png", ylabel="accuracy", title="Accuracy against epoch",
        ))
    return written


def _train_and_validation(history_rows: list[dict], key: str) -> dict[str, list[float]]:
    name = key.replace("classification_", "")
    curves = {f"training {name}": history.series(history_rows, key)}
    if any(f"val_{key}" in row for row in history_rows):
        curves[f"validation {name}"] = history.series(history_rows, f"val_{key}")
    return curves
