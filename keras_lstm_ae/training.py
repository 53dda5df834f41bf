"""Training: from a `TrainConfig` to a finished run folder and a SavedModel."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Optional

from keras_lstm_ae import checkpoints, evaluation, guards, history, pipeline, runs, tasks
from keras_lstm_ae.config import TrainConfig, resolve_paths
from keras_lstm_ae.files import write_json

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class TrainResult:
    """Outputs of a finished training run.

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


def layer_options(config: TrainConfig) -> dict:
    """Return the `build_model` options of a resolved config's speed settings."""
    return {"fused_lstm": config.fused_lstm, "flat_heads": config.flat_heads,
            "lstm_shards": min(config.lstm_shards, config.batch_size) if config.fused_lstm else 1,
            "lstm_xla": config.xla_lstm}


def prepare_tensorflow(config: TrainConfig) -> None:
    """Set threads, seeds and determinism before a resolved config's model is built."""
    import keras
    import tensorflow as tf

    from keras_lstm_ae import threads

    if config.set_threads and config.fused_lstm:
        threads.configure(config.lstm_shards)
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()


def build_and_compile(config: TrainConfig, data):
    """Build the model of a resolved config and compile it with its task's losses."""
    from keras_lstm_ae.model import build_for_task

    model = build_for_task(config.task, data.seq_len, data.num_features, config.hidden_size,
                           num_classes=data.num_classes, **layer_options(config))
    model.compile(optimizer=make_optimizer(config.learning_rate, config.clip_norm),
                  **tasks.compile_arguments(config.task))
    return model


def fit(model, config: TrainConfig, data, callbacks=(), initial_epoch: int = 0,
        rows: Optional[list] = None, stop_requested=None) -> tuple[list[dict], Optional[str], str]:
    """Train a compiled model on the training split, validating on the validation split.

    Args:
        model: A compiled model.
        config: Resolved training options.
        data: The `SequenceData` to train on.
        callbacks: Further Keras callbacks; they run after the epoch log.
        initial_epoch: Number of epochs already trained, for a resumed run.
        rows: History rows of those epochs, extended in place.
        stop_requested: A `threading.Event` that, once set, stops training
            after the current batch. `None` never stops early.

    Returns:
        `(rows, reason, detail)`. `rows` contains one dict of logged values per
        completed epoch, with `val_` values only on validation epochs.
        `reason` is `None` when all epochs ran, else `"interrupted"` or
        `"diverged"`, and `detail` describes where training stopped.
    """
    import threading

    train = tasks.make_arrays(config.task, data.train)
    validation = tasks.make_arrays(config.task, data.validation)
    dataset = pipeline.training_dataset(train.inputs, train.targets, config.batch_size,
                                        config.seed, initial_epoch, config.epochs)

    safe_stop = guards.make_callback(stop_requested or threading.Event())
    epoch_log = history.make_callback(rows, skip=lambda: safe_stop.reason is not None)
    model.fit(
        dataset,
        epochs=config.epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=pipeline.steps_per_epoch(len(train.inputs), config.batch_size),
        validation_data=(validation.inputs, validation.targets),
        validation_freq=validation_epochs(config.epochs, config.validate_every),
        shuffle=False,  # the dataset is already shuffled per epoch
        verbose=config.verbose,
        callbacks=[safe_stop, epoch_log, *callbacks],
    )
    return epoch_log.rows, safe_stop.reason, safe_stop.detail


def train(config: TrainConfig, callbacks=()) -> TrainResult:
    """Train an LSTM autoencoder and write its run folder and SavedModel.

    Steps: validate the options, load the data, build and compile the model,
    and fit it with a checkpoint after every epoch. Then evaluate it on the
    test split, write `config.json`, `model.keras`, `history.csv`,
    `metrics.json`, `figures/` and `logs/` (TensorBoard) into the run folder,
    and export the SavedModel.

    Args:
        config: Training options; `None` fields take their defaults.
        callbacks: Further Keras callbacks, run after the package's own.

    Returns:
        A `TrainResult`.

    Raises:
        UsageError: an option or the data is invalid. Nothing is written then.
        TrainingInterrupted: SIGINT or SIGTERM stopped training; the run can
            be resumed with `resume`.
        TrainingDiverged: the loss became NaN or infinite.
    """
    from keras_lstm_ae import __version__
    from keras_lstm_ae.data import load_data

    config = config.resolved()
    output_dir, export_dir = resolve_paths(config, time.strftime("%Y%m%d-%H%M%S"))
    runs.check_destination(output_dir, config.overwrite)
    if export_dir is not None:
        runs.check_destination(export_dir, config.overwrite, option="--export-dir")
    _check_no_interrupted_run(output_dir, config.overwrite)
    config = dataclasses.replace(config, output_dir=str(output_dir),
                                 export_dir=str(export_dir) if export_dir else None)

    data = load_data(config)
    logger.info("Data %s: %d train, %d validation, %d test sequences of shape %s",
                data.name, len(data.train), len(data.validation), len(data.test),
                data.train.x.shape[1:])

    staging = runs.start(output_dir, config.overwrite)
    with _keep_only_resumable(staging):
        write_json(staging / runs.CONFIG_FILE,
                   {**config.to_dict(), "keras_lstm_ae_version": __version__})
        prepare_tensorflow(config)
        model = build_and_compile(config, data)
    return _train_and_publish(config, data, model, staging, initial_epoch=0, rows=[],
                              seconds_before=0.0, callbacks=callbacks)


def resume(run_dir, callbacks=()) -> TrainResult:
    """Continue an interrupted run from its last completed epoch.

    Args:
        run_dir: The run folder that the interrupted `train` named (its final
            name), or its `.partial` staging folder.
        callbacks: Further Keras callbacks, run after the package's own.

    Returns:
        A `TrainResult`, as `train` returns.

    Raises:
        UsageError: no interrupted run with a checkpoint is there.
    """
    from keras_lstm_ae.data import load_data

    staging = checkpoints.find_resumable(Path(run_dir))
    config = TrainConfig.from_dict(json.loads((staging / runs.CONFIG_FILE).read_text()))
    state = checkpoints.read_state(staging)
    if config.export_dir:
        runs.check_destination(Path(config.export_dir), config.overwrite, option="--export-dir")

    data = load_data(config)
    import keras

    import keras_lstm_ae.layers  # noqa: F401  registers the fast layers of the checkpoint

    prepare_tensorflow(config)
    model = keras.saving.load_model(staging / checkpoints.CHECKPOINT_MODEL, safe_mode=True)
    rows = history.read(staging / runs.HISTORY_FILE)
    logger.info("Resuming %s after epoch %d of %d", config.output_dir, state["epoch"],
                config.epochs)
    return _train_and_publish(config, data, model, staging, initial_epoch=state["epoch"],
                              rows=rows, seconds_before=state["train_seconds"],
                              callbacks=callbacks)


def _check_no_interrupted_run(output_dir: Path, overwrite: bool) -> None:
    from keras_lstm_ae.errors import UsageError

    staging = runs.staging_path(output_dir)
    if not overwrite and checkpoints.read_state(staging) is not None:
        raise UsageError(
            f"--output-dir {output_dir} has an interrupted run; resume it with "
            f"'{checkpoints.resume_command(output_dir)}' or pass --overwrite to start over."
        )


@contextlib.contextmanager
def _keep_only_resumable(staging: Path):
    """Remove the staging folder when the block fails before the first checkpoint."""
    try:
        yield staging
    except BaseException:
        if staging.exists() and checkpoints.read_state(staging) is None:
            shutil.rmtree(staging)
        raise


def _train_and_publish(config: TrainConfig, data, model, staging: Path, initial_epoch: int,
                       rows: list, seconds_before: float, callbacks=()) -> TrainResult:
    import keras

    output_dir = Path(config.output_dir)
    with _keep_only_resumable(staging):
        started = time.perf_counter()
        tensorboard = keras.callbacks.TensorBoard(log_dir=str(staging / runs.LOGS_DIR))
        checkpoint = checkpoints.make_callback(staging, rows, seconds_before)
        with guards.stop_requests() as stop_requested:
            rows, reason, detail = fit(model, config, data,
                                       callbacks=[checkpoint, tensorboard, *callbacks],
                                       initial_epoch=initial_epoch, rows=rows,
                                       stop_requested=stop_requested)
        train_seconds = seconds_before + time.perf_counter() - started
        _raise_if_stopped(reason, detail, staging, output_dir)

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
        for name in (checkpoints.CHECKPOINT_MODEL, checkpoints.CHECKPOINT_STATE):
            (staging / name).unlink(missing_ok=True)
        runs.publish(staging, output_dir)
    logger.info("Run written to %s", output_dir)

    export_dir = Path(config.export_dir) if config.export_dir else None
    if export_dir is not None:
        from keras_lstm_ae.export import export_saved_model

        export_saved_model(model, export_dir, config.to_dict(), overwrite=config.overwrite)
    return TrainResult(output_dir, export_dir, metrics, rows, model)


def _raise_if_stopped(reason: Optional[str], detail: str, staging: Path, output_dir: Path):
    if reason is None:
        return
    state = checkpoints.read_state(staging)
    if state is None:
        checkpoint_note = "no epoch had finished, so there is no checkpoint"
    else:
        checkpoint_note = f"the checkpoint of epoch {state['epoch']} is kept in {staging}"
    if reason == "interrupted":
        if state is None:
            shutil.rmtree(staging)
            raise guards.TrainingInterrupted(
                f"training interrupted {detail}; {checkpoint_note}.")
        raise guards.TrainingInterrupted(
            f"training interrupted {detail}; {checkpoint_note}. "
            f"Resume with: {checkpoints.resume_command(output_dir)}"
        )
    raise guards.TrainingDiverged(
        f"training diverged: {detail}; {checkpoint_note}. "
        "Start a new run with a lower --learning-rate or with --clip-norm set."
    )
