"""The figures of a training run, chosen by data set and task."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_lstm_ae import history, plots, tasks

NUM_EXAMPLE_SIGNALS = 3
NUM_TEST_RECONSTRUCTIONS = 2


def write_run_figures(config, data, model, history_rows: list[dict], figures_dir: Path) -> list[Path]:
    """Write the figures of a finished run into `figures_dir`.

    Returns:
        The paths written.
    """
    figures_dir = Path(figures_dir)
    if data.name == "mnist":
        from keras_lstm_ae.mnist_figures import write_mnist_figures

        return write_mnist_figures(config, data, model, history_rows, figures_dir)

    written = [plot_losses(history_rows, figures_dir / "loss.png")]

    examples = data.train.x[:NUM_EXAMPLE_SIGNALS]
    written.append(plots.plot_signals(examples, figures_dir / "example_signals.png",
                                      title=f"Example {data.name} signals"))

    arrays = tasks.make_arrays(config.task, data.test)
    inputs = arrays.inputs[:NUM_TEST_RECONSTRUCTIONS]
    outputs = model.predict(inputs, verbose=0)
    written.append(plots.plot_reconstructions(
        inputs, np.asarray(outputs[tasks.RECONSTRUCTION]), figures_dir / "reconstructions.png"
    ))
    if data.name == "sp500":
        from keras_lstm_ae import price_figures

        written.extend(price_figures.write_figures(config, data, model, history_rows, figures_dir))
    return written


def plot_losses(history_rows: list[dict], path: Path) -> Path:
    """Plot training loss and validation loss against epoch."""
    epochs = [row["epoch"] for row in history_rows]
    curves = {"training loss": history.series(history_rows, "loss")}
    if any("val_loss" in row for row in history_rows):
        curves["validation loss"] = history.series(history_rows, "val_loss")
    return plots.plot_curves(epochs, curves, path, ylabel="loss (MSE)",
                             title="Loss against epoch", log_scale=True)
