"""Training: from a `TrainConfig` to a finished run folder and a SavedModel."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
from pathlib import Path
from typing import Optional

from keras_lstm_ae import evaluation, history, runs, tasks
from keras_lstm_ae.config import TrainConfig, resolve_paths
from keras_lstm_ae.files import write_json

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class TrainResult:
    """What a finished training run produced.

    Attributes:
        run_dir: Run folder with config, model, history, metrics and figures.
        export_dir: SavedModel folder, or `None` when export was off.
        metrics: Test metrics, as written to `metrics.json`.
        history: One dict of logged values per epoch.
        model: The trained Keras model.
    """

    run_dir: Path
    export_dir: Optional[Path]
    metrics: dict
    history: list
    model: object


def make_optimizer(learning_rate: float, clip_norm: float):
    """Return Adam, clipping gradients by global norm unless `clip_norm` is 0."""
    import keras

    if clip_norm > 0:
        return keras.optimizers.Adam(learning_rate=learning_rate, global_clipnorm=clip_norm)
    return keras.optimizers.Adam(learning_rate=learning_rate)


def validation_epochs(epochs: int, validate_every: int) -> list[int]:
    """Return the epochs, counted from 1, after which validation runs: every
    `validate_every` epochs and always the last one."""
    return sorted(set(range(validate_every, epochs + 1, validate_every)) | {epochs})


def build_and_compile(config: TrainConfig, data):
    """Build the model of a resolved config and compile it with its task's losses."""
    from keras_lstm_ae.model import build_for_task

    model = build_for_task(config.task, data.seq_len, data.num_features, config.hidden_size,
                           num_classes=data.num_classes)
    model.compile(optimizer=make_optimizer(config.learning_rate, config.clip_norm),
                  **tasks.compile_arguments(config.task))
    return model


def fit(model, config: TrainConfig, data, callbacks=()) -> list[dict]:
    """Train a compiled model on the training split, validating on the validation split.

    Returns:
        One dict of logged values per epoch; `val_` values only on validation epochs.
    """
    train = tasks.make_arrays(config.task, data.train)
    validation = tasks.make_arrays(config.task, data.validation)
    epoch_log = history.make_callback()
    model.fit(
        train.inputs,
        train.targets,
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=(validation.inputs, validation.targets),
        validation_freq=validation_epochs(config.epochs, config.validate_every),
        shuffle=True,
        verbose=config.verbose,
        callbacks=[epoch_log, *callbacks],
    )
    return epoch_log.rows


def train(config: TrainConfig) -> TrainResult:
    """Train an LSTM autoencoder and write its run folder and SavedModel.

    Steps: validate the options, load the data, build and compile the model,
    fit it, evaluate it on the test split, then write `config.json`,
    `model.keras`, `history.csv`, `metrics.json`, `figures/` and `logs/`
    (TensorBoard) into the run folder, and export the SavedModel.

    Args:
        config: Training options; `None` fields take their defaults.

    Returns:
        A `TrainResult`.

    Raises:
        UsageError: an option or the data is invalid. Nothing is written then.
    """
    import keras

    from keras_lstm_ae import __version__
    from keras_lstm_ae.data import load_data

    config = config.resolved()
    output_dir, export_dir = resolve_paths(config, time.strftime("%Y%m%d-%H%M%S"))
    runs.check_destination(output_dir, config.overwrite)
    if export_dir is not None:
        runs.check_destination(export_dir, config.overwrite, option="--export-dir")
    config = dataclasses.replace(config, output_dir=str(output_dir),
                                 export_dir=str(export_dir) if export_dir else None)

    data = load_data(config)
    logger.info("Data %s: %d train, %d validation, %d test sequences of shape %s",
                data.name, len(data.train), len(data.validation), len(data.test),
                data.train.x.shape[1:])

    staging = runs.start(output_dir, config.overwrite)
    try:
        write_json(staging / runs.CONFIG_FILE,
                   {**config.to_dict(), "keras_lstm_ae_version": __version__})
        keras.utils.set_random_seed(config.seed)
        model = build_and_compile(config, data)

        started = time.perf_counter()
        tensorboard = keras.callbacks.TensorBoard(log_dir=str(staging / runs.LOGS_DIR))
        rows = fit(model, config, data, callbacks=[tensorboard])
        train_seconds = time.perf_counter() - started

        metrics = evaluation.compute_test_metrics(model, data, config.task,
                                                  batch_size=max(config.batch_size, 256))
        metrics["train_seconds"] = round(train_seconds, 3)
        metrics["epochs"] = len(rows)

        model.save(staging / runs.MODEL_FILE)
        history.write(staging / runs.HISTORY_FILE, rows)
        write_json(staging / runs.METRICS_FILE, metrics)
        if data.name == "sp500":
            from keras_lstm_ae.data.sp500 import STOCK_SPLIT_FILE, write_stock_split

            write_stock_split(staging / STOCK_SPLIT_FILE, data)
        from keras_lstm_ae.figures import write_run_figures

        write_run_figures(config, data, model, rows, staging / runs.FIGURES_DIR)
        runs.publish(staging, output_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    logger.info("Run written to %s", output_dir)

    if export_dir is not None:
        from keras_lstm_ae.export import export_saved_model

        export_saved_model(model, export_dir, config.to_dict(), overwrite=config.overwrite)
    return TrainResult(output_dir, export_dir, metrics, rows, model)
