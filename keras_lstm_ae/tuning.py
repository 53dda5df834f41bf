"""Grid search of training hyperparameters with Keras Tuner.

`tune` checks the options, the grid and the search folder, loads the data,
then runs `grid_search.GridSearch`. Its state lives in the search folder,
`tuner/<data>-<task>/` by default: running the same search again reloads it,
reruns a trial that a killed process left unfinished and skips finished
trials. At the end it writes `results.csv`, `results.json`,
`best_hparams.json` (read by `train --hparams`), `figures/val_loss.png` and
TensorBoard logs with HParams under `logs/`.

Distributed search uses Keras Tuner's chief/worker mode, set by the
environment variables `KERASTUNER_TUNER_ID` ("chief" for the process that
runs the oracle, a unique name such as "tuner0" for each worker),
`KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT` (the chief's gRPC
address). The chief writes the results; workers only run trials.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Optional

from keras_lstm_ae import hparams, search_results
from keras_lstm_ae.config import TrainConfig
from keras_lstm_ae.errors import UsageError
from keras_lstm_ae.files import write_json
from keras_lstm_ae.search_space import Grid, default_grid_path, load_grid

logger = logging.getLogger(__name__)

SETTINGS_FILE = "search.json"
ORACLE_FILE = "oracle.json"
LOGS_DIR = "logs"

# TrainConfig fields that change what a trial computes; a search folder is
# only resumed with the same values.
SEARCH_FIELDS = ("data", "task", "hidden_size", "learning_rate", "clip_norm", "epochs",
                 "batch_size", "validate_every", "seed", "num_sequences", "seq_len",
                 "data_path", "max_sequences")

SINGLE, CHIEF, WORKER = "single", "chief", "worker"


@dataclasses.dataclass
class TuneResult:
    """Outcome of a `tune` call.

    Attributes:
        state_dir: Search folder with the Keras Tuner state and the results.
        role: `"single"`, `"chief"` or `"worker"`.
        trials_run: Trials this process trained; 0 on the chief, which only
            runs the oracle.
        rows: One result row per trial, the best first (see
            `search_results.trial_rows`); empty on a worker.
        best: The best row, or `None` on a worker or when no trial finished.
        names: Tuned hyperparameter names, in grid order.
    """

    state_dir: Path
    role: str
    trials_run: int
    rows: list
    best: Optional[dict]
    names: list


def distributed_role(environ=None) -> str:
    """Return this process's part in a search from the `KERASTUNER_*` variables.

    Raises:
        UsageError: `KERASTUNER_ORACLE_IP` is set without the port or the tuner id.
    """
    environ = os.environ if environ is None else environ
    if "KERASTUNER_ORACLE_IP" not in environ:
        return SINGLE
    for name in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        if not environ.get(name):
            raise UsageError(f"KERASTUNER_ORACLE_IP is set but {name} is not; set "
                             f"KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT and "
                             f"KERASTUNER_TUNER_ID for distributed tuning, or none of them.")
    return CHIEF if "chief" in environ["KERASTUNER_TUNER_ID"] else WORKER


def search_settings(config: TrainConfig, grid: Grid) -> dict:
    """Return the options that define a search: the grid and the fixed training options."""
    return {"grid": grid.to_dict(),
            **{name: getattr(config, name) for name in SEARCH_FIELDS}}


def check_state_dir(state_dir: Path, settings: dict, overwrite: bool) -> bool:
    """Check that a search folder is empty, absent or contains this search.

    Returns:
        Whether the folder contains an earlier search with the same settings,
        which the search continues.

    Raises:
        UsageError: the folder is a file, contains files but no search,
            contains a search with other settings (without `overwrite`), or
            its settings file cannot be read.
    """
    if state_dir.exists() and not state_dir.is_dir():
        raise UsageError(f"--directory {state_dir} is a file; name a folder.")
    if not state_dir.is_dir() or not any(state_dir.iterdir()):
        return False

    settings_path = state_dir / SETTINGS_FILE
    if not settings_path.is_file():
        raise UsageError(f"--directory {state_dir} contains files but no search "
                         f"({SETTINGS_FILE} is missing); choose another --directory.")
    if overwrite:
        return False
    try:
        saved = json.loads(settings_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"{settings_path} cannot be read ({error}); pass --overwrite to start "
                         f"the search again.") from None
    for name, value in settings.items():
        if saved.get(name) != value:
            raise UsageError(
                f"the search in {state_dir} used {name} {saved.get(name)!r}, not {value!r}; "
                f"pass the same options to continue it, --overwrite to start again, or "
                f"another --directory."
            )
    return True


def tune(config: TrainConfig, grid_path=None, directory=None,
         overwrite: bool = False) -> TuneResult:
    """Run or continue a grid search and write its results.

    Every trial trains like `train` with `config`, except for the grid's
    hyperparameters, and is scored by its lowest validation loss (`val_loss`,
    computed every `config.validate_every` epochs and at the last epoch).

    Args:
        config: Training options; `epochs` is per trial. Output, export and
            overwrite options are ignored.
        grid_path: TOML grid file. `None` reads `tuner/<data>.toml`.
        directory: Search folder. `None` gives `tuner/<data>-<task>`.
        overwrite: Delete an earlier search in the folder and start again.
            Ignored on a worker, so that a worker never deletes the chief's state.

    Returns:
        A `TuneResult`.

    Raises:
        UsageError: an invalid option, grid file, search folder or data. Nothing
            is written then.
    """
    config = config.resolved()
    role = distributed_role()
    grid = load_grid(grid_path if grid_path is not None else default_grid_path(config.data))
    state_dir = Path(directory) if directory else hparams.default_state_dir(config.data,
                                                                             config.task)
    settings = search_settings(config, grid)
    if role == WORKER and overwrite:
        logger.warning("--overwrite is ignored on a worker; only the chief starts a search "
                       "again.")
        overwrite = False
    resuming = check_state_dir(state_dir, settings, overwrite)

    from keras_lstm_ae.data import load_data

    data = load_data(config)
    logger.info("Data %s: %d train, %d validation sequences of shape %s; grid of %d points",
                data.name, len(data.train), len(data.validation), data.train.x.shape[1:],
                grid.size)

    if overwrite and state_dir.is_dir():
        logger.info("Deleting the earlier search in %s", state_dir)
        shutil.rmtree(state_dir)
    # Workers write it too, so that a worker's own folder on another machine
    # is recognized as a search when the worker starts again.
    write_json(state_dir / SETTINGS_FILE, settings)
    if resuming:
        logger.info("Continuing the search in %s", state_dir)

    import keras

    from keras_lstm_ae.grid_search import GridSearch, LstmAutoencoderHyperModel

    hypermodel = LstmAutoencoderHyperModel(config, data, grid)
    tuner = GridSearch(hypermodel, grid, seed=config.seed,
                       directory=str(state_dir.parent), project_name=state_dir.name)
    if role != WORKER:
        # Saving before the first trial lets a search killed during that trial
        # resume, because Keras Tuner reloads only when the tuner file exists.
        tuner.save()
    # Keras Tuner adds the HParams callback to a TensorBoard callback given to
    # `search`, with one log folder per trial.
    tensorboard = keras.callbacks.TensorBoard(log_dir=str(state_dir / LOGS_DIR),
                                              write_graph=False)
    tuner.search(callbacks=[tensorboard], verbose=config.verbose)
    trials_run = hypermodel.trials_run
    logger.info("This process trained %d trials", trials_run)

    if role == WORKER:
        return TuneResult(state_dir, role, trials_run, [], None, grid.names)

    rows = search_results.trial_rows(tuner.oracle.trials.values(), grid.names)
    search_results.write_results(state_dir, rows, grid.names, settings)
    best = search_results.best_row(rows)
    if best is not None:
        write_json(state_dir / hparams.BEST_HPARAMS_FILE, {
            "data": config.data, "task": config.task,
            "hyperparameters": {name: best[name] for name in grid.names},
            "val_loss": best["best_val_loss"], "best_epoch": best["best_epoch"],
            "trial_id": best["trial_id"], "search": settings,
        })
    else:
        logger.warning("No trial finished with a validation loss, so %s was not written.",
                       hparams.BEST_HPARAMS_FILE)
    return TuneResult(state_dir, role, trials_run, rows, best, grid.names)
