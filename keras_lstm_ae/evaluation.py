"""Test-set metrics of a trained model, and evaluation of a saved run."""

from __future__ import annotations

import json
from pathlib import Path

from keras_lstm_ae import runs, tasks
from keras_lstm_ae.config import TrainConfig
from keras_lstm_ae.errors import UsageError


def compute_test_metrics(model, data, task: str, batch_size: int = 256) -> dict:
    """Evaluate `model` on the test split.

    Returns:
        `test_loss` (the weighted total loss) and `test_<output>_<metric>` for
        every compiled metric, as floats. The classifier's accuracy is also
        stored as `test_accuracy`.
    """
    arrays = tasks.make_arrays(task, data.test)
    values = model.evaluate(arrays.inputs, arrays.targets, batch_size=batch_size,
                            verbose=0, return_dict=True)
    metrics = {f"test_{name}": float(value) for name, value in values.items()}
    if "test_classification_accuracy" in metrics:
        metrics["test_accuracy"] = metrics["test_classification_accuracy"]
    if data.name == "sp500":
        # Adds errors in prices and the naive baseline. For the prediction
        # task it replaces `test_prediction_mse` (all steps, as compiled) by
        # the last step, the only day the model has not read.
        from keras_lstm_ae.price_metrics import compute_price_metrics

        metrics.update(compute_price_metrics(model, data, task, batch_size))
    return metrics


def load_run(run_dir: Path):
    """Load the config and the Keras model of a finished run folder.

    Returns:
        `(config, model)`, the model loaded in safe mode with its compiled
        losses and metrics.

    Raises:
        UsageError: `run_dir` is not a finished run folder.
    """
    config = read_run_config(run_dir)
    return config, load_keras_file(Path(run_dir) / runs.MODEL_FILE)


def read_run_config(run_dir: Path) -> TrainConfig:
    """Read the config of a finished run folder, without loading TensorFlow.

    Raises:
        UsageError: `run_dir` is not a finished run folder.
    """
    run_dir = Path(run_dir)
    config_path = run_dir / runs.CONFIG_FILE
    model_path = run_dir / runs.MODEL_FILE
    if not run_dir.is_dir():
        raise UsageError(f"--model {run_dir} is not a folder; pass a run folder written by train.")
    if not config_path.is_file() or not model_path.is_file():
        raise UsageError(
            f"--model {run_dir} contains no {runs.CONFIG_FILE} and {runs.MODEL_FILE}; "
            "pass a run folder written by train."
        )
    try:
        config = TrainConfig.from_dict(json.loads(config_path.read_text()))
    except (json.JSONDecodeError, TypeError) as error:
        raise UsageError(f"{config_path} is not a valid run config ({error}).") from None
    return config


def load_keras_file(path: Path):
    """Load a `.keras` file in safe mode.

    Raises:
        UsageError: the file is missing or is not a Keras model.
    """
    import zipfile

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--model {path} not found; pass a run folder or a .keras file.")
    if not zipfile.is_zipfile(path):
        raise UsageError(f"{path} is not a .keras file (a .keras file is a zip archive); "
                         "pass a model saved with model.save('NAME.keras').")
    import keras

    import keras_lstm_ae.layers  # noqa: F401  registers FusedLSTM and FlatTimeDistributed

    try:
        return keras.saving.load_model(path, safe_mode=True)
    except (ValueError, OSError, KeyError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UsageError(f"{path} could not be loaded as a Keras model ({message}).") from None


def evaluate(run_dir: Path, data_path=None) -> dict:
    """Recompute the test metrics of a run folder from its saved model and config.

    Args:
        run_dir: Run folder written by `train`.
        data_path: Data file or folder to read instead of the run's own
            `data_path`, for data that has moved since training.
    """
    import dataclasses

    from keras_lstm_ae.data import load_data

    config = read_run_config(run_dir)
    if data_path is not None:
        config = dataclasses.replace(config, data_path=str(data_path))
    data = load_data(config)
    model = load_keras_file(Path(run_dir) / runs.MODEL_FILE)
    return compute_test_metrics(model, data, config.task, batch_size=max(config.batch_size, 256))
