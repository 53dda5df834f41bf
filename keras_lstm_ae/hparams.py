"""Best-hyperparameters files: written by a grid search, read by `train --hparams`.

The file is JSON with a `hyperparameters` object that maps `TrainConfig` field
names to values, plus the data set, the task and the search result:

    {"data": "synthetic", "task": "reconstruct",
     "hyperparameters": {"clip_norm": 0.0, "hidden_size": 60, "learning_rate": 0.01},
     "val_loss": 0.0123, "best_epoch": 300, "trial_id": "05", ...}
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Iterable

from keras_lstm_ae.config import TrainConfig
from keras_lstm_ae.errors import UsageError
from keras_lstm_ae.search_space import check_hyperparameters

logger = logging.getLogger(__name__)

BEST_HPARAMS_FILE = "best_hparams.json"
STATE_ROOT = Path("tuner")


def default_state_dir(data: str, task: str) -> Path:
    """Return the folder of a search's state and results, `tuner/<data>-<task>`."""
    return STATE_ROOT / f"{data}-{task}"


def resolve_path(spec: str, data: str, task: str) -> Path:
    """Return the best-hyperparameters file that `--hparams SPEC` names.

    Args:
        spec: `"best"` for the default search folder of `data` and `task`, a
            search folder, or a JSON file.
        data: Data set of the training run.
        task: Task of the training run.
    """
    if spec == "best":
        return default_state_dir(data, task) / BEST_HPARAMS_FILE
    path = Path(spec)
    if path.is_dir():
        return path / BEST_HPARAMS_FILE
    return path


def load(path: Path, spec: str) -> dict:
    """Read a best-hyperparameters file and check its values.

    Args:
        path: The JSON file.
        spec: The `--hparams` value, for messages.

    Returns:
        The whole file, with `hyperparameters` checked and in `TrainConfig` form.

    Raises:
        UsageError: the file is missing, unreadable, not JSON or contains
            an unknown name or an invalid value.
    """
    source = f"--hparams {spec}"
    if not path.is_file():
        hint = ("run 'keras-lstm-ae tune' with the same --data and --task first"
                if spec == "best" else "name a best_hparams.json file written by tune")
        raise UsageError(f"{source}: {path} not found; {hint}.")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"{source}: {path} cannot be read as JSON ({error}); "
                         f"name a best_hparams.json file written by tune.") from None
    values = document.get("hyperparameters") if isinstance(document, dict) else None
    if not isinstance(values, dict) or not values:
        raise UsageError(f"{source}: {path} has no \"hyperparameters\" object; "
                         f"name a best_hparams.json file written by tune.")
    document["hyperparameters"] = check_hyperparameters(values, f"{source} ({path})")
    return document


def apply(config: TrainConfig, document: dict, explicit: Iterable[str] = ()) -> TrainConfig:
    """Return a copy of `config` with the file's hyperparameters.

    Args:
        config: Training options before `resolved()`.
        document: A file read by `load`.
        explicit: `TrainConfig` fields given on the command line; they keep
            their value.
    """
    explicit = set(explicit)
    for key in ("data", "task"):
        if document.get(key) not in (None, getattr(config, key)):
            logger.warning("The hyperparameters were tuned for %s %s, and this run uses %s.",
                           key, document[key], getattr(config, key))
    updates = {name: value for name, value in document["hyperparameters"].items()
               if name not in explicit}
    if updates:
        logger.info("Hyperparameters from the search: %s",
                    ", ".join(f"{name}={value}" for name, value in sorted(updates.items())))
    return dataclasses.replace(config, **updates)
