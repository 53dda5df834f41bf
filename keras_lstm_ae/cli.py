"""The `keras-lstm-ae` command: parses options and calls the Python API.

Parsing imports no TensorFlow, so `--help` and option errors return at once.
Invalid input ends with one `keras-lstm-ae: error: ...` line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from keras_lstm_ae.config import DATA_SETS, DEFAULT_HIDDEN_SIZE, MNIST_MODES, TASKS, TrainConfig
from keras_lstm_ae.errors import UsageError

PROG = "keras-lstm-ae"
EXIT_USAGE = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130  # the shell's status for a process stopped by SIGINT


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, without the usage text."""

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


def _add_data_options(parser: argparse.ArgumentParser, defaults: TrainConfig) -> None:
    data = parser.add_argument_group("data")
    data.add_argument("--data", choices=DATA_SETS, default=None,
                      help="data set (default: sp500 for --task predict, else synthetic)")
    data.add_argument("--num-sequences", type=int, default=defaults.num_sequences,
                      help="synthetic data: number of sequences before the 60/20/20 split "
                           "(default: %(default)s)")
    data.add_argument("--seq-len", type=int, default=defaults.seq_len,
                      help="time steps per sequence: values of synthetic data, trading days of "
                           "S&P 500 windows (default: %(default)s)")
    data.add_argument("--data-path", default=None,
                      help="file or folder to read MNIST or S&P 500 data from (default: "
                           "mnist.npz or a CSV in the folder named by KERAS_LSTM_AE_DATA; for "
                           "MNIST, else the Keras download cache)")
    data.add_argument("--mnist-mode", choices=MNIST_MODES, default=defaults.mnist_mode,
                      help="MNIST: read each image as 28 time steps of 28 pixels (row) or as "
                           "784 steps of 1 pixel (pixel); pixel mode runs 784 sequential LSTM "
                           "steps per image instead of 28, so each epoch takes many times "
                           "longer (default: %(default)s)")
    data.add_argument("--max-sequences", type=int, default=None, metavar="N",
                      help="use only the first N sequences of each split, for quick runs "
                           "(default: all)")

    stocks = parser.add_argument_group("S&P 500 data")
    stocks.add_argument("--price-column", default=defaults.price_column, metavar="COLUMN",
                        help="CSV column of the prices, any case, e.g. high, close, "
                             "'adj close' (default: %(default)s)")
    stocks.add_argument("--tickers", type=_ticker_list, default=None, metavar="LIST",
                        help="comma-separated stocks to use, e.g. AAPL,AMZN (default: all)")
    stocks.add_argument("--stride", type=int, default=None, metavar="DAYS",
                        help="trading days between the starts of two windows of a stock "
                             "(default: --seq-len, windows do not overlap)")
    stocks.add_argument("--plot-tickers", type=_ticker_list, default=defaults.plot_tickers,
                        metavar="LIST",
                        help="comma-separated stocks of the price plot, those present "
                             f"(default: {','.join(defaults.plot_tickers)})")
    stocks.add_argument("--start", default=None, metavar="YYYY-MM-DD",
                        help="first date of the price plot (default: first trading day)")
    stocks.add_argument("--end", default=None, metavar="YYYY-MM-DD",
                        help="last date of the price plot (default: last trading day)")



def _add_fit_options(group, defaults: TrainConfig, epochs_help: str, batch_size_help: str,
                     verbose_default: int) -> None:
    group.add_argument("--epochs", type=int, default=defaults.epochs,
                       help=f"{epochs_help} (default: %(default)s)")
    group.add_argument("--batch-size", type=int, default=defaults.batch_size,
                       help=f"{batch_size_help} (default: %(default)s)")
    group.add_argument("--validate-every", type=int, default=defaults.validate_every,
                       help="epochs between validation passes; the last epoch is always "
                            "validated (default: %(default)s)")
    group.add_argument("--seed", type=int, default=defaults.seed,
                       help="seed of data generation, splits and initial weights "
                            "(default: %(default)s)")
    group.add_argument("--verbose", type=int, choices=(0, 1, 2), default=verbose_default,
                       help="Keras output: 0 silent, 1 progress bar, 2 one line per epoch "
                            "(default: %(default)s)")


def _add_speed_options(parser: argparse.ArgumentParser) -> None:
    speed = parser.add_argument_group(
        "speed", "each optimization keeps the model's mathematics; turn one off to compare")
    speed.add_argument("--no-fused-lstm", action="store_true",
                       help="train with the stock keras.layers.LSTM instead of the fused loops "
                            "(slower)")
    speed.add_argument("--no-flat-heads", action="store_true",
                       help="apply the sequence heads one time step at a time, as "
                            "keras.layers.TimeDistributed does (slower)")
    speed.add_argument("--no-xla", action="store_true",
                       help="run the fused LSTM loops without XLA compilation (slower)")
    speed.add_argument("--lstm-shards", type=int, default=None, metavar="N",
                       help="parts of each batch that the LSTM loops run in parallel, one per "
                            "core (default: the available cores, at most 8 and at least 16 "
                            "sequences a part)")
    speed.add_argument("--keep-threads", action="store_true",
                       help="keep TensorFlow's thread settings instead of one thread per "
                            "operation and one scheduler thread per core")


def _add_train_options(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    hidden_defaults = ", ".join(f"{name} {size}" for name, size in DEFAULT_HIDDEN_SIZE.items())
    _add_data_options(parser, defaults)

    model = parser.add_argument_group("model and task")
    model.add_argument("--task", choices=TASKS, default=defaults.task,
                       help="what the model learns (default: %(default)s)")
    model.add_argument("--hidden-size", type=int, default=None,
                       help=f"units of the encoder and decoder LSTMs (default: {hidden_defaults})")

    training = parser.add_argument_group("training")
    training.add_argument("--learning-rate", type=float, default=defaults.learning_rate,
                          help="Adam learning rate (default: %(default)s)")
    training.add_argument("--clip-norm", type=float, default=defaults.clip_norm,
                          help="maximum global L2 norm of the gradients; 0 turns clipping off "
                               "(default: %(default)s)")
    _add_fit_options(training, defaults, epochs_help="passes over the training split",
                     batch_size_help="sequences per gradient step",
                     verbose_default=defaults.verbose)

    output = parser.add_argument_group("output")
    output.add_argument("--output-dir", default=None,
                        help="run folder (default: runs/DATA-TASK-YYYYmmdd-HHMMSS)")
    output.add_argument("--export-dir", default=None,
                        help="SavedModel folder (default: exported_models/RUN_NAME)")
    output.add_argument("--no-export", action="store_true",
                        help="do not write a SavedModel")
    output.add_argument("--overwrite", action="store_true",
                        help="replace an existing run folder or SavedModel")

    recovery = parser.add_argument_group("interruption and reproducibility")
    recovery.add_argument("--resume", default=None, metavar="RUN_DIR",
                          help="continue an interrupted run from its last completed epoch; "
                               "every other option is read from the run's config.json")
    recovery.add_argument("--nondeterministic", action="store_true",
                          help="allow nondeterministic TensorFlow ops; the same --seed then no "
                               "longer guarantees the same weights")
    _add_speed_options(parser)


def _ticker_list(text: str) -> list[str]:
    return [ticker.strip() for ticker in text.split(",") if ticker.strip()]


def _add_tune_options(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()

    search = parser.add_argument_group("search")
    search.add_argument("--task", choices=TASKS, default=defaults.task,
                        help="what the model learns (default: %(default)s)")
    search.add_argument("--grid", default=None, metavar="FILE",
                        help="TOML grid file with a [hyperparameters] table "
                             "(default: tuner/DATA.toml, the reference grid)")
    search.add_argument("--directory", default=None, metavar="DIR",
                        help="search folder for the Keras Tuner state and the results "
                             "(default: tuner/DATA-TASK)")
    search.add_argument("--overwrite", action="store_true",
                        help="delete an earlier search in the folder and start again "
                             "(default: continue it)")

    trial = parser.add_argument_group("each trial")
    _add_fit_options(trial, defaults, epochs_help="passes over the training split per trial",
                     batch_size_help="sequences per gradient step, unless the grid tunes it",
                     verbose_default=2)
    _add_data_options(parser, defaults)
    _add_speed_options(parser)


def _explicit_train_options(argv: Sequence[str]) -> set[str]:
    """Return the `TrainConfig` fields whose options `argv` gives, for `train --hparams`."""
    probe = _Parser(prog=PROG)
    _add_train_options(probe)
    for action in probe._actions:
        action.default = argparse.SUPPRESS
    arguments = list(argv)
    explicit, _ = probe.parse_known_args(arguments[arguments.index("train") + 1:])
    return set(vars(explicit))


def build_parser() -> argparse.ArgumentParser:
    """Build the parser of the `keras-lstm-ae` command and its subcommands."""
    from keras_lstm_ae import __version__

    parser = _Parser(
        prog=PROG,
        description="Train, evaluate and export LSTM autoencoders with Keras on TensorFlow.",
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    train = commands.add_parser(
        "train", help="train a model and write a run folder and a SavedModel",
        description="Train an LSTM autoencoder. A run writes config.json, model.keras, "
                    "history.csv, metrics.json, figures/ and logs/ (TensorBoard) into its run "
                    "folder, and a TensorFlow SavedModel into exported_models/.",
    )
    _add_train_options(train)
    train.add_argument("--hparams", default=None, metavar="{best,FILE}",
                       help="take learning rate, clipping, hidden size and batch size from a "
                            "grid search: 'best' reads tuner/DATA-TASK/best_hparams.json, "
                            "FILE a best_hparams.json file or its search folder; options given "
                            "on the command line still win (default: none)")

    tune = commands.add_parser(
        "tune", help="grid-search hyperparameters with Keras Tuner",
        description="Run a grid search with Keras Tuner: one trial per grid point, each "
                    "trained like 'train' and scored by its lowest validation loss. Running "
                    "the same command again continues an interrupted search. Writes "
                    "results.csv, results.json, best_hparams.json (for 'train --hparams "
                    "best'), figures/val_loss.png and logs/ (TensorBoard HParams) into the "
                    "search folder. Set KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and "
                    "KERASTUNER_ORACLE_PORT to run a chief and workers.",
    )
    _add_tune_options(tune)

    evaluate = commands.add_parser(
        "evaluate", help="recompute the test metrics of a run folder",
        description="Load a run's model.keras and config.json, rebuild its test split and "
                    "print the test metrics as JSON.",
    )
    evaluate.add_argument("--model", required=True, metavar="RUN_DIR",
                          help="run folder written by train")
    evaluate.add_argument("--data-path", default=None,
                          help="data file or folder to read instead of the one recorded in "
                               "the run's config.json, when it has moved (default: recorded)")

    export = commands.add_parser(
        "export", help="export a trained model as a TensorFlow SavedModel",
        description="Write the model of a run folder, or a .keras file, as a TensorFlow "
                    "SavedModel. The .keras file is loaded in Keras safe mode.",
    )
    export.add_argument("--model", required=True, metavar="RUN_DIR_OR_MODEL.keras",
                        help="run folder written by train, or a .keras model file")
    export.add_argument("--out", required=True, metavar="DIR", help="SavedModel folder to write")
    export.add_argument("--overwrite", action="store_true",
                        help="replace an existing SavedModel in DIR")

    forecast = commands.add_parser(
        "forecast", help="forecast the next days of S&P 500 stocks with a prediction model",
        description="Forecast the next H trading days of every stock in a CSV that the model "
                    "was not trained or validated on, feeding each forecast back as input. "
                    "Writes forecast.png, error_by_horizon.png, errors.csv and errors.json.",
    )
    forecast.add_argument("--model", required=True, metavar="RUN_DIR",
                          help="run folder written by train --data sp500 --task predict")
    forecast.add_argument("--data-path", default=None, metavar="CSV",
                          help="CSV file or folder of prices (default: the run's --data-path)")
    forecast.add_argument("--horizon", type=int, default=None, metavar="DAYS",
                          help="trading days to forecast (default: half the run's --seq-len)")
    forecast.add_argument("--output-dir", default=None, metavar="DIR",
                          help="folder to write (default: RUN_DIR/forecast)")
    forecast.add_argument("--overwrite", action="store_true",
                          help="replace an existing forecast folder")
    return parser


def _data_and_fit_fields(args: argparse.Namespace) -> dict:
    """Return the `TrainConfig` fields that `train` and `tune` share."""
    return dict(
        data=args.data, task=args.task, epochs=args.epochs, batch_size=args.batch_size,
        validate_every=args.validate_every, seed=args.seed, verbose=args.verbose,
        num_sequences=args.num_sequences, seq_len=args.seq_len, data_path=args.data_path,
        max_sequences=args.max_sequences, mnist_mode=args.mnist_mode,
        price_column=args.price_column, tickers=args.tickers, stride=args.stride,
        plot_tickers=tuple(args.plot_tickers), start=args.start, end=args.end,
        fused_lstm=not args.no_fused_lstm, flat_heads=not args.no_flat_heads,
        lstm_shards=args.lstm_shards, xla_lstm=not args.no_xla,
        set_threads=not args.keep_threads,
    )


def _config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        **_data_and_fit_fields(args), hidden_size=args.hidden_size,
        learning_rate=args.learning_rate, clip_norm=args.clip_norm,
        output_dir=args.output_dir, export_dir=args.export_dir, export=not args.no_export,
        overwrite=args.overwrite, deterministic=not args.nondeterministic,
    )


def _run_train(args: argparse.Namespace) -> None:
    if args.resume:
        from keras_lstm_ae.training import resume

        result = resume(args.resume)
    else:
        config = _config_from_args(args).resolved()
        if args.hparams is not None:
            from keras_lstm_ae import hparams

            path = hparams.resolve_path(args.hparams, config.data, config.task)
            document = hparams.load(path, args.hparams)
            config = hparams.apply(config, document,
                                   _explicit_train_options(args.argv)).resolved()
        from keras_lstm_ae.training import train

        result = train(config)
    print(f"run folder: {result.run_dir}")
    print(f"test loss: {result.metrics['test_loss']:.6g}")
    for name, value in sorted(result.metrics.items()):
        if name.startswith(("test_", "baseline_")) and name != "test_loss":
            print(f"{name.replace('_', ' ')}: {value:.6g}")
    print(f"training time: {result.metrics['train_seconds']:.1f} s")
    if result.export_dir is not None:
        print(f"SavedModel: {result.export_dir}")


def _run_tune(args: argparse.Namespace) -> None:
    from keras_lstm_ae import search_results
    from keras_lstm_ae.tuning import tune

    config = TrainConfig(**_data_and_fit_fields(args))
    result = tune(config, grid_path=args.grid, directory=args.directory,
                  overwrite=args.overwrite)
    if result.role == "worker":
        print(f"worker finished: {result.trials_run} trials trained")
        return
    print(search_results.format_table(result.rows, result.names))
    print(f"trials trained by this run: {result.trials_run}")
    print(f"search folder: {result.state_dir}")
    if result.best is not None:
        print(f"best trial: {result.best['trial_id']} "
              f"(val_loss {result.best['best_val_loss']:.6g} at epoch {result.best['best_epoch']})")


def _run_evaluate(args: argparse.Namespace) -> None:
    from keras_lstm_ae.evaluation import evaluate

    print(json.dumps(evaluate(args.model, data_path=args.data_path), indent=2, sort_keys=True))


def _run_export(args: argparse.Namespace) -> None:
    from keras_lstm_ae import runs
    from keras_lstm_ae.evaluation import load_keras_file, load_run
    from keras_lstm_ae.export import export_saved_model

    runs.check_destination(Path(args.out), args.overwrite, option="--out")
    source = Path(args.model)
    if source.suffix == ".keras":
        config, model = None, load_keras_file(source)
    else:
        config, model = load_run(source)
    path = export_saved_model(model, args.out, config.to_dict() if config else None,
                              overwrite=args.overwrite)
    print(f"SavedModel: {path}")


def _run_forecast(args: argparse.Namespace) -> None:
    from keras_lstm_ae.forecast import forecast

    result = forecast(args.model, data_path=args.data_path, horizon=args.horizon,
                      output_dir=args.output_dir, overwrite=args.overwrite)
    print(f"forecast folder: {result.output_dir}")
    print(f"stocks: {len(result.tickers)}, windows: {result.num_windows}")
    for name, value in sorted(result.summary.items()):
        if name.endswith("_mean"):
            print(f"{name.replace('_', ' ')}: {value:.6g}")


COMMANDS = {"train": _run_train, "tune": _run_tune, "evaluate": _run_evaluate,
            "export": _run_export, "forecast": _run_forecast}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; return the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up notes quiet
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        args = build_parser().parse_args(argv)
        args.argv = argv
        COMMANDS[args.command](args)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        # Imported here: guards imports nothing heavy, but only train raises these.
        from keras_lstm_ae.guards import TrainingDiverged, TrainingInterrupted

        if isinstance(error, TrainingInterrupted):
            print(f"{PROG}: {error}", file=sys.stderr)
            return EXIT_INTERRUPTED
        if isinstance(error, TrainingDiverged):
            print(f"{PROG}: error: {error}", file=sys.stderr)
            return EXIT_DIVERGED
        raise
    return 0
