"""Results of a grid search: one row per trial, as a table, CSV, JSON and a figure."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Optional, Sequence

from keras_lstm_ae import plots
from keras_lstm_ae.files import write_csv, write_json

RESULTS_CSV = "results.csv"
RESULTS_JSON = "results.json"
FIGURE = "figures/val_loss.png"

RESULT_COLUMNS = ("best_val_loss", "best_epoch", "train_seconds", "status")


def trial_rows(trials, names: Sequence[str]) -> list[dict]:
    """Turn Keras Tuner trials into result rows, the best first.

    Args:
        trials: `keras_tuner` `Trial` objects of one search.
        names: Tuned hyperparameter names, in grid order.

    Returns:
        One dict per trial: `trial_id`, each hyperparameter, `best_val_loss`,
        `best_epoch` (counted from 1), `train_seconds` and `status`. Trials
        without a finite validation loss come last, in trial order.
    """
    rows = []
    for trial in sorted(trials, key=lambda trial: trial.trial_id):
        values = trial.hyperparameters.values
        row = {"trial_id": trial.trial_id, **{name: values.get(name) for name in names}}
        for metric in ("val_loss", "best_epoch", "train_seconds"):
            value = trial.metrics.get_last_value(metric) if trial.metrics.exists(metric) else None
            # JSON has no NaN: a diverged or failed trial gets an empty value.
            row[metric] = value if value is not None and math.isfinite(value) else None
        row["best_val_loss"] = row.pop("val_loss")
        if row["best_epoch"] is not None:
            row["best_epoch"] = int(row["best_epoch"])
        row["status"] = str(trial.status)
        rows.append(row)

    def rank(row):
        loss = row["best_val_loss"]
        finished = row["status"] == "COMPLETED" and loss is not None
        return (0, loss) if finished else (1, 0.0)

    return sorted(rows, key=rank)


def best_row(rows: list[dict]) -> Optional[dict]:
    """Return the first completed row with a validation loss, or `None`."""
    for row in rows:
        loss = row["best_val_loss"]
        if row["status"] == "COMPLETED" and loss is not None:
            return row
    return None


def _format(value, column: str = "") -> str:
    if value is None:
        return "-"
    if column == "clip_norm" and value == 0:
        return "none"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def format_table(rows: list[dict], names: Sequence[str]) -> str:
    """Return the rows as a plain-text table with aligned columns."""
    header = ["trial_id", *names, *RESULT_COLUMNS]
    cells = [header] + [[_format(row.get(column), column) for column in header] for row in rows]
    widths = [max(len(line[index]) for line in cells) for index in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
             for line in cells]
    return "\n".join(lines)


def read_history(path: Path) -> list[dict]:
    """Read a trial's `history.csv`; empty cells become NaN."""
    with open(path, newline="") as stream:
        return [{key: float(value) if value != "" else math.nan for key, value in row.items()}
                for row in csv.DictReader(stream)]


def plot_validation_curves(histories: dict[str, list[dict]], labels: dict[str, str],
                           path: Path) -> Path:
    """Plot validation loss against epoch, one curve per trial.

    Args:
        histories: Epoch logs per trial id.
        labels: Legend label per trial id.
        path: PNG file to write.
    """
    plt = plots._pyplot()
    from matplotlib.ticker import MaxNLocator

    colors = plt.get_cmap("tab20")
    figure, axis = plt.subplots(figsize=(11, 5))
    for index, (trial_id, rows) in enumerate(sorted(histories.items())):
        points = [(int(row["epoch"]), row.get("val_loss", math.nan)) for row in rows]
        points = [(epoch, loss) for epoch, loss in points if math.isfinite(loss)]
        axis.plot([epoch for epoch, _ in points], [loss for _, loss in points],
                  marker="o", markersize=3, color=colors(index % colors.N),
                  label=labels[trial_id])
    axis.set_xlim(left=0)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel("epoch")
    axis.set_ylabel("validation loss")
    axis.set_yscale("log")
    axis.set_title("Validation loss against epoch, per trial")
    axis.grid(True, alpha=0.3)
    # Beside the axes, because a full grid has a dozen entries.
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return plots._save(figure, path)


def write_results(state_dir: Path, rows: list[dict], names: Sequence[str],
                  settings: dict) -> list[Path]:
    """Write `results.csv`, `results.json` and the validation-loss figure.

    The figure has a curve for each trial whose `trial_<id>/history.csv` is in
    `state_dir`; a worker on another machine writes that file on its own disk.

    Returns:
        The paths written.
    """
    header = ["trial_id", *names, *RESULT_COLUMNS]
    write_csv(state_dir / RESULTS_CSV, header,
              [["" if row.get(column) is None else row.get(column) for column in header]
               for row in rows])
    write_json(state_dir / RESULTS_JSON, {"objective": "val_loss", "settings": settings,
                                          "trials": rows, "best": best_row(rows)})
    written = [state_dir / RESULTS_CSV, state_dir / RESULTS_JSON]

    histories, labels = {}, {}
    for row in rows:
        path = state_dir / f"trial_{row['trial_id']}" / "history.csv"
        if path.is_file():
            histories[row["trial_id"]] = read_history(path)
            labels[row["trial_id"]] = f"{row['trial_id']}: " + ", ".join(
                f"{name} {_format(row[name], name)}" for name in names)
    if histories:
        written.append(plot_validation_curves(histories, labels, state_dir / FIGURE))
    return written
