"""Run folders: staged while a run trains, renamed into place when it ends.

A run trains inside a hidden staging folder beside its final folder
(`runs/.NAME.partial`). Only a finished run is renamed to `runs/NAME`, so a
folder under its final name always contains a complete run. A run replaced with
`--overwrite` stays in place until its successor has finished.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from keras_lstm_ae.errors import UsageError

CONFIG_FILE = "config.json"
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
FIGURES_DIR = "figures"
LOGS_DIR = "logs"


def staging_path(final: Path) -> Path:
    return final.parent / f".{final.name}.partial"


def check_destination(final: Path, overwrite: bool, option: str = "--output-dir") -> None:
    """Reject a destination folder that contains something, unless overwriting.

    Raises:
        UsageError: `final` is a file, or a non-empty folder and `overwrite`
            is false.
    """
    if final.exists() and not final.is_dir():
        raise UsageError(f"{option} {final} is a file; name a folder.")
    if final.is_dir() and any(final.iterdir()) and not overwrite:
        contents = "a run" if (final / CONFIG_FILE).exists() else "files"
        raise UsageError(
            f"{option} {final} already contains {contents}; choose another folder or pass --overwrite."
        )


def start(final: Path, overwrite: bool) -> Path:
    """Create an empty staging folder for a run that will end in `final`.

    Returns:
        The staging folder.
    """
    check_destination(final, overwrite)
    staging = staging_path(final)
    if staging.exists():
        # Callers check first that no resumable run is there, or that
        # --overwrite allows discarding it.
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def publish(source: Path, final: Path) -> None:
    """Rename a finished folder `source` to `final`.

    An existing `final` (allowed by `--overwrite`) is removed only after
    `source` has taken its name.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    retired = final.parent / f".{final.name}.replaced"
    if retired.exists():
        shutil.rmtree(retired)
    if final.exists():
        final.rename(retired)
    source.rename(final)
    if retired.exists():
        shutil.rmtree(retired)
