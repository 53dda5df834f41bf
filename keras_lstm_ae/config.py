"""Training options: one dataclass, its defaults and its validation.

Nothing here imports TensorFlow, so the command line can reject bad options
before it pays for that import.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from pathlib import Path
from typing import Optional

from keras_lstm_ae.errors import UsageError

DATA_SETS = ("synthetic", "mnist", "sp500")
TASKS = ("reconstruct", "classify", "predict")

# Hidden size used when --hidden-size is not given. The synthetic value is the
# reference grid's winner; MNIST needs 120 units to pass 98% test accuracy in
# 10 epochs; 120 is the reference setting for S&P 500.
DEFAULT_HIDDEN_SIZE = {"synthetic": 60, "mnist": 120, "sp500": 120}

# The tasks each data set supports: classification needs labels.
SUPPORTED_TASKS = {
    "synthetic": ("reconstruct", "predict"),
    "mnist": ("reconstruct", "classify"),
    "sp500": ("reconstruct", "predict"),
}

# Sequence modes of MNIST images: 28 steps of one 28-pixel row, or 784 steps of one pixel.
MNIST_MODES = ("row", "pixel")


@dataclasses.dataclass
class TrainConfig:
    """Every option of a training run.

    Args:
        data: Data set name, one of `DATA_SETS`. `None` picks `"sp500"` for the
            `predict` task and `"synthetic"` otherwise.
        task: `"reconstruct"`, `"classify"` or `"predict"`.
        hidden_size: Units of the encoder and decoder LSTMs. `None` picks the
            data set's default from `DEFAULT_HIDDEN_SIZE`.
        learning_rate: Adam learning rate.
        clip_norm: Maximum global norm of the gradients, as PyTorch's
            `clip_grad_norm_`. `0` turns clipping off.
        epochs: Passes over the training split.
        batch_size: Sequences per gradient step.
        validate_every: Epochs between two validation passes. The last epoch
            is always validated.
        seed: Seed for data generation, splits and weight initialization.
        num_sequences: Synthetic data set size, before the 60/20/20 split.
        seq_len: Time steps per sequence (synthetic data).
        data_path: File or folder to read real data from.
        mnist_mode: Sequence mode of MNIST images: `"row"` reads 28 steps
            of 28 pixels, `"pixel"` reads 784 steps of 1 pixel, which makes
            each LSTM pass 28 times longer.
        max_sequences: Use at most this many sequences of each split, for
            quick runs. `None` uses them all.
        output_dir: Run folder. `None` gives `runs/<data>-<task>-<timestamp>`.
        export_dir: SavedModel folder. `None` gives
            `exported_models/<run name>`.
        export: Whether to write the SavedModel.
        overwrite: Replace an existing run folder or SavedModel.
        deterministic: Make TensorFlow ops deterministic, so the same seed
            gives the same weights, also across an interruption and resume.
        verbose: Keras progress output: 0 silent, 1 progress bar, 2 one line
            per epoch.
        price_column: S&P 500 data: CSV column to read prices from, matched
            without regard to case (default `high`).
        tickers: S&P 500 data: stocks to use; `None` uses all of them.
        stride: S&P 500 data: trading days between the starts of two windows
            of a stock; `None` uses `seq_len`, so windows do not overlap.
        plot_tickers: S&P 500 data: stocks of the price plot, those present
            in the data (default AMZN and GOOGL).
        start: S&P 500 data: first date of the price plot, `YYYY-MM-DD`;
            `None` starts at the first trading day.
        end: S&P 500 data: last date of the price plot, `YYYY-MM-DD`; `None`
            ends at the last trading day.
        fused_lstm: Train with `keras_lstm_ae.layers.FusedLSTM`, the stock
            LSTM's mathematics in faster loops. False uses `keras.layers.LSTM`.
        flat_heads: Apply each sequence head to all time steps at once
            (`FlatTimeDistributed`). False uses `keras.layers.TimeDistributed`,
            which loops over the steps.
        lstm_shards: Parts of each batch that the fused LSTMs run in
            parallel. `None` picks one per available CPU core, at most 8 and
            at least 16 sequences a part. Ignored without `fused_lstm`.
        xla_lstm: Compile the fused LSTMs' loops with XLA, which fuses each
            time step's small operations. Ignored without `fused_lstm`.
        set_threads: With more than one shard, set TensorFlow to one thread
            per operation and one scheduler thread per core, if its runtime
            has not started yet.
    """

    data: Optional[str] = None
    task: str = "reconstruct"
    hidden_size: Optional[int] = None
    learning_rate: float = 0.001
    clip_norm: float = 1.0
    epochs: int = 300
    batch_size: int = 128
    validate_every: int = 5
    seed: int = 0
    num_sequences: int = 10_000
    seq_len: int = 50
    data_path: Optional[str] = None
    mnist_mode: str = "row"
    max_sequences: Optional[int] = None
    output_dir: Optional[str] = None
    export_dir: Optional[str] = None
    export: bool = True
    overwrite: bool = False
    deterministic: bool = True
    verbose: int = 1
    price_column: str = "high"
    tickers: Optional[list] = None
    stride: Optional[int] = None
    plot_tickers: tuple = ("AMZN", "GOOGL")
    start: Optional[str] = None
    end: Optional[str] = None
    fused_lstm: bool = True
    flat_heads: bool = True
    lstm_shards: Optional[int] = None
    xla_lstm: bool = True
    set_threads: bool = True

    def resolved(self) -> "TrainConfig":
        """Return a validated copy with every `None` default filled in.

        Raises:
            UsageError: an option is invalid.
        """
        config = dataclasses.replace(self)
        if config.data is None:
            config.data = "sp500" if config.task == "predict" else "synthetic"
        validate(config)
        if config.hidden_size is None:
            config.hidden_size = DEFAULT_HIDDEN_SIZE[config.data]
        if config.lstm_shards is None:
            from keras_lstm_ae.threads import default_shards

            config.lstm_shards = default_shards(config.batch_size) if config.fused_lstm else 1
        if config.data == "sp500" and config.data_path is None:
            from keras_lstm_ae.data.sp500 import default_data_path

            config.data_path = str(default_data_path())
        return config

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Build a config from `to_dict` output, ignoring unknown keys."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in names})


def _require_positive_int(value, option: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise UsageError(f"{option} must be a positive whole number, got {value!r}.")


def _require_choice(value, choices, option: str) -> None:
    if value not in choices:
        raise UsageError(f"{option} must be one of {', '.join(choices)}; got {value!r}.")


def validate(config: TrainConfig) -> None:
    """Check every option of a config with `data` already set.

    Raises:
        UsageError: the first invalid option, with its value and the fix.
    """
    _require_choice(config.data, DATA_SETS, "--data")
    _require_choice(config.task, TASKS, "--task")
    if config.task not in SUPPORTED_TASKS[config.data]:
        supported = " or ".join(SUPPORTED_TASKS[config.data])
        raise UsageError(
            f"--task {config.task} is not available for --data {config.data}; "
            f"use --task {supported}."
        )

    if config.hidden_size is not None:
        _require_positive_int(config.hidden_size, "--hidden-size")
    _require_positive_int(config.epochs, "--epochs")
    _require_positive_int(config.batch_size, "--batch-size")
    _require_positive_int(config.validate_every, "--validate-every")
    _require_positive_int(config.num_sequences, "--num-sequences")
    if config.max_sequences is not None:
        _require_positive_int(config.max_sequences, "--max-sequences")
    if config.lstm_shards is not None:
        _require_positive_int(config.lstm_shards, "--lstm-shards")
        if config.lstm_shards > config.batch_size:
            raise UsageError(
                f"--lstm-shards {config.lstm_shards} is more than --batch-size "
                f"{config.batch_size}; use at most one shard per sequence of a batch."
            )

    if not (isinstance(config.learning_rate, (int, float)) and math.isfinite(config.learning_rate)
            and config.learning_rate > 0):
        raise UsageError(
            f"--learning-rate must be a number greater than 0, got {config.learning_rate!r}; "
            "the reference uses 0.001."
        )
    if not (isinstance(config.clip_norm, (int, float)) and math.isfinite(config.clip_norm)
            and config.clip_norm >= 0):
        raise UsageError(
            f"--clip-norm must be 0 (no clipping) or a positive number, got {config.clip_norm!r}."
        )
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or config.seed < 0:
        raise UsageError(f"--seed must be a whole number of 0 or more, got {config.seed!r}.")

    # An autoencoder needs at least 2 steps, and prediction shifts by one more.
    min_seq_len = 3 if config.task == "predict" else 2
    if isinstance(config.seq_len, bool) or not isinstance(config.seq_len, int) \
            or config.seq_len < min_seq_len:
        raise UsageError(
            f"--seq-len must be a whole number of at least {min_seq_len} for --task "
            f"{config.task}, got {config.seq_len!r}."
        )

    _require_choice(config.mnist_mode, MNIST_MODES, "--mnist-mode")
    if config.mnist_mode != "row" and config.data != "mnist":
        raise UsageError(
            f"--mnist-mode {config.mnist_mode} applies only to --data mnist, got --data "
            f"{config.data}; drop --mnist-mode."
        )
    _validate_sp500_options(config)

    if config.data == "synthetic" and config.data_path is not None:
        raise UsageError(
            f"--data-path {config.data_path} is not read for --data synthetic, which generates "
            "its signals; drop --data-path or choose --data mnist or sp500."
        )

    if config.data == "synthetic":
        # The 60/20/20 split needs at least one sequence in each part.
        if config.num_sequences < 5:
            raise UsageError(
                f"--num-sequences must be at least 5 so that the 60/20/20 split leaves one "
                f"sequence in each part, got {config.num_sequences}."
            )


def _parse_date(value, option: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise UsageError(f"{option} must be a date written YYYY-MM-DD, got {value!r}.") from None


def _validate_sp500_options(config: TrainConfig) -> None:
    if not isinstance(config.price_column, str) or not config.price_column.strip():
        raise UsageError(f"--price-column must name a CSV column such as high or close, "
                         f"got {config.price_column!r}.")
    if config.stride is not None:
        _require_positive_int(config.stride, "--stride")
    ticker_options = (("--tickers", config.tickers), ("--plot-tickers", config.plot_tickers))
    for option, tickers in ticker_options:
        if tickers is not None and (isinstance(tickers, str) or not all(
                isinstance(ticker, str) and ticker.strip() for ticker in tickers)):
            raise UsageError(f"{option} must be a comma-separated list of tickers such as "
                             f"AMZN,GOOGL, got {tickers!r}.")
    if config.tickers is not None and not config.tickers:
        raise UsageError("--tickers must name at least one ticker; leave it out to use all.")
    start = _parse_date(config.start, "--start") if config.start is not None else None
    end = _parse_date(config.end, "--end") if config.end is not None else None
    if start and end and start > end:
        raise UsageError(f"--start {config.start} is after --end {config.end}; swap them.")


def default_run_name(config: TrainConfig, timestamp: str) -> str:
    """Name a run folder after its data set, task and start time."""
    return f"{config.data}-{config.task}-{timestamp}"


def resolve_paths(config: TrainConfig, timestamp: str) -> tuple[Path, Optional[Path]]:
    """Return the run folder and the SavedModel folder of a resolved config."""
    output_dir = Path(config.output_dir) if config.output_dir else \
        Path("runs") / default_run_name(config, timestamp)
    if not config.export:
        return output_dir, None
    export_dir = Path(config.export_dir) if config.export_dir else \
        Path("exported_models") / output_dir.name
    return output_dir, export_dir
