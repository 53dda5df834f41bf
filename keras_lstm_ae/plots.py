"""Figures, saved as PNG files and closed, never shown on screen."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from keras_lstm_ae.files import atomic_path

DPI = 100


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # headless: figures go to files only
    import matplotlib.pyplot as plt

    return plt


def _integer_locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _save(figure, path: Path) -> Path:
    plt = _pyplot()
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=DPI, format="png")
    plt.close(figure)
    return path


def plot_signals(signals: np.ndarray, path: Path, title: str = "Example signals") -> Path:
    """Plot each sequence of `signals`, shape `(n, time, 1)`, in its own panel."""
    plt = _pyplot()
    figure, axes = plt.subplots(len(signals), 1, figsize=(8, 2.2 * len(signals)), squeeze=False)
    for index, (axis, signal) in enumerate(zip(axes[:, 0], signals)):
        axis.plot(np.arange(1, len(signal) + 1), signal[:, 0], marker=".", linewidth=1)
        axis.set_ylabel("value")
        axis.set_title(f"Signal {index + 1}")
    axes[-1, 0].set_xlabel("time step")
    figure.suptitle(title)
    return _save(figure, path)


def plot_reconstructions(originals: np.ndarray, reconstructions: np.ndarray, path: Path,
                         title: str = "Test signals and their reconstruction") -> Path:
    """Overlay each original sequence with its reconstruction, one panel each."""
    plt = _pyplot()
    count = len(originals)
    figure, axes = plt.subplots(count, 1, figsize=(8, 2.5 * count), squeeze=False)
    for index, axis in enumerate(axes[:, 0]):
        steps = np.arange(1, originals.shape[1] + 1)
        axis.plot(steps, originals[index, :, 0], label="original", linewidth=1.5)
        axis.plot(steps, reconstructions[index, :, 0], label="reconstruction",
                  linestyle="--", linewidth=1.5)
        axis.set_ylabel("value")
        axis.set_title(f"Test signal {index + 1}")
        axis.legend(loc="upper right")
    axes[-1, 0].set_xlabel("time step")
    figure.suptitle(title)
    return _save(figure, path)


def plot_curves(epochs: Sequence[int], curves: Mapping[str, Sequence[float]], path: Path,
                ylabel: str, title: str, log_scale: bool = False) -> Path:
    """Plot named curves against epoch, skipping epochs whose value is missing (NaN)."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(8, 4.5))
    epochs = np.asarray(epochs)
    for label, values in curves.items():
        values = np.asarray(values, dtype=float)
        known = ~np.isnan(values)
        axis.plot(epochs[known], values[known], marker="o", markersize=3, label=label)
    axis.set_xlabel("epoch")
    axis.xaxis.set_major_locator(_integer_locator())
    axis.set_ylabel(ylabel)
    if log_scale:
        axis.set_yscale("log")
    axis.set_title(title)
    axis.grid(True, alpha=0.3)
    axis.legend()
    return _save(figure, path)


def plot_image_pairs(originals: np.ndarray, reconstructions: np.ndarray, path: Path,
                     title: str = "Original (top) and reconstruction (bottom)") -> Path:
    """Show images of shape `(n, height, width)` above their reconstructions."""
    plt = _pyplot()
    count = len(originals)
    figure, axes = plt.subplots(2, count, figsize=(2.2 * count, 4.6), squeeze=False)
    for index in range(count):
        for row, images in enumerate((originals, reconstructions)):
            axis = axes[row, index]
            axis.imshow(np.clip(images[index], 0.0, 1.0), cmap="gray", vmin=0.0, vmax=1.0)
            axis.set_xticks([])
            axis.set_yticks([])
    axes[0, 0].set_ylabel("original")
    axes[1, 0].set_ylabel("reconstruction")
    figure.suptitle(title)
    return _save(figure, path)

