"""The Keras Tuner parts of the grid search: hypermodel, oracle and tuner.

This module imports Keras Tuner and therefore TensorFlow; `tuning` imports it
only once the options and the grid have been checked.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from pathlib import Path

import keras_tuner

from keras_lstm_ae import history, training
from keras_lstm_ae.config import TrainConfig
from keras_lstm_ae.files import write_json
from keras_lstm_ae.search_space import Grid

logger = logging.getLogger(__name__)

OBJECTIVE = "val_loss"
TRIAL_HISTORY_FILE = "history.csv"
# Pause of a worker between two requests that got no trial, in seconds.
IDLE_WAIT_SECONDS = 0.2


def make_hyperparameters(grid: Grid) -> keras_tuner.HyperParameters:
    """Declare one `Choice` per grid name, its first listed value as default."""
    hp = keras_tuner.HyperParameters()
    for name, values in grid.values.items():
        hp.Choice(name, list(values))
    return hp


def best_validation(rows: list[dict]) -> tuple[float, int]:
    """Return the lowest `val_loss` of a training log and the epoch, from 1, that reached it.

    Returns NaN and epoch 0 when no epoch has a finite `val_loss`.
    """
    best_loss, best_epoch = math.nan, 0
    for row in rows:
        value = row.get(OBJECTIVE, math.nan)
        if math.isfinite(value) and not value >= best_loss:
            best_loss, best_epoch = value, row["epoch"]
    return best_loss, best_epoch


class LstmAutoencoderHyperModel(keras_tuner.HyperModel):
    """Builds and trains the `train` model with a trial's hyperparameters.

    `build` calls `training.build_and_compile` and `fit` calls `training.fit`,
    so a trial trains exactly as `keras-lstm-ae train` would with the same
    options.

    Args:
        config: Resolved training options; the grid's names replace their values.
        data: The loaded `SequenceData`.
        grid: The grid, whose names are the tuned `TrainConfig` fields.
    """

    def __init__(self, config: TrainConfig, data, grid: Grid):
        super().__init__(name="lstm_autoencoder")
        self.config = config
        self.data = data
        self.grid = grid
        self.last_rows: list[dict] = []
        self.trials_run = 0

    def trial_config(self, hp) -> TrainConfig:
        """Return the training options of one grid point."""
        values = {name: hp.Choice(name, list(choices)) for name, choices in self.grid.values.items()}
        return dataclasses.replace(self.config, **values)

    def build(self, hp):
        config = self.trial_config(hp)
        training.prepare_tensorflow(config)
        return training.build_and_compile(config, self.data)

    def fit(self, hp, model, *args, callbacks=(), **kwargs):
        """Train with `training.fit` and return `val_loss`, `best_epoch` and `train_seconds`.

        Extra arguments that Keras Tuner forwards from `search` are ignored.
        """
        config = self.trial_config(hp)
        started = time.perf_counter()
        self.last_rows, reason, detail = training.fit(model, config, self.data,
                                                      callbacks=list(callbacks))
        seconds = time.perf_counter() - started
        if reason == "diverged":
            # The trial keeps the validation losses of the epochs before the
            # divergence; with none, its objective is NaN.
            logger.warning("Trial with %s diverged: %s", hp.values, detail)
        self.trials_run += 1
        best_loss, best_epoch = best_validation(self.last_rows)
        return {OBJECTIVE: best_loss, "best_epoch": best_epoch,
                "train_seconds": round(seconds, 3)}


class FixedGridOracle(keras_tuner.oracles.GridSearchOracle):
    """A grid search oracle for a grid declared in full before the search.

    Keras Tuner 1.4.8's `GridSearchOracle` derives each new combination from
    a finished trial through a queue that lives only in memory. A reloaded
    search therefore stops early or fails with a `KeyError`, and workers wait
    for one another, because a combination becomes available only when an
    earlier trial ends. This oracle instead hands out the first grid point that
    no trial has taken yet, derived from the saved trials alone, so that every
    worker gets work at once and a reloaded search continues where it stopped.
    Trials left running by a killed process are rerun first by the base
    `Oracle.reload`.

    It also writes its state files atomically: Keras Tuner 1.4.8 truncates
    and rewrites them in place, so a process killed at that moment leaves an
    empty `oracle.json` that cannot be reloaded.
    """

    def __init__(self, grid: Grid, **kwargs):
        # No max_trials: Oracle.create_trial would return STOPPED once every
        # point has started, so idle workers would leave before the last
        # trials end and the chief would wait 20 s more.
        super().__init__(hyperparameters=make_hyperparameters(grid), allow_new_entries=False,
                         tune_new_entries=False, **kwargs)
        self.grid = grid

    def save(self):
        write_json(Path(self._get_oracle_fname()), self.get_state())

    def _save_trial(self, trial):
        # Overrides the private writer of `trial_<id>/trial.json`, in place
        # of `Trial.save`, to write it atomically.
        write_json(Path(self._get_trial_dir(trial.trial_id)) / "trial.json", trial.get_state())

    @staticmethod
    def _key(values: dict) -> tuple:
        return tuple(sorted(values.items()))

    def populate_space(self, trial_id):
        status = keras_tuner.engine.trial.TrialStatus
        started_points = {self._key(trial.hyperparameters.values)
                          for trial in self.trials.values()}
        for point in self.grid.points():
            if self._key(point) not in started_points:
                return {"status": status.RUNNING, "values": point}
        # Like Keras Tuner's GridSearchOracle, keep idle workers waiting while
        # other trials run. The chief then stops as soon as the last trial ends,
        # because it checks only every 20 s once it has stopped a worker.
        if self.ongoing_trials:
            return {"status": status.IDLE, "values": None}
        return {"status": status.STOPPED, "values": None}


class GridSearch(keras_tuner.GridSearch):
    """`keras_tuner.GridSearch` with `FixedGridOracle`, saving each trial's epoch log.

    Args:
        hypermodel: A `LstmAutoencoderHyperModel`.
        grid: The grid to search.
        seed: Oracle seed; Keras Tuner replaces 0 by a random seed. The grid
            order does not depend on it.
        **kwargs: `keras_tuner.Tuner` arguments: `directory`, `project_name`,
            `overwrite`.
    """

    def __init__(self, hypermodel: LstmAutoencoderHyperModel, grid: Grid, seed: int = 0,
                 **kwargs):
        self.seed = seed
        oracle = FixedGridOracle(grid, objective=OBJECTIVE, seed=seed)
        # keras_tuner.GridSearch.__init__ only creates its own oracle, so call
        # the Tuner constructor that it calls, with this oracle.
        keras_tuner.Tuner.__init__(self, oracle, hypermodel, **kwargs)
        self._requested_without_trial = False

    def save(self):
        # As `BaseTuner.save`, with the tuner file written atomically.
        if not self._is_worker():
            self.oracle.save()
        write_json(Path(self._get_tuner_fname()), self.get_state())

    def pre_create_trial(self):
        # `search` requests a trial again at once after an IDLE response, so a
        # second request without a trial in between waits to spare the chief.
        if self._requested_without_trial:
            time.sleep(IDLE_WAIT_SECONDS)
        self._requested_without_trial = True

    def on_trial_begin(self, trial):
        self._requested_without_trial = False
        super().on_trial_begin(trial)

    def run_trial(self, trial, *args, **kwargs):
        results = super().run_trial(trial, *args, **kwargs)
        path = Path(self.get_trial_dir(trial.trial_id)) / TRIAL_HISTORY_FILE
        history.write(path, self.hypermodel.last_rows)
        return results
