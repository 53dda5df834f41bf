"""S&P 500 figures in prices: price history, test stocks and their reconstruction, losses."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from keras_lstm_ae import history, plots, tasks

logger = logging.getLogger(__name__)

NUM_TEST_STOCKS = 3


def plot_price_history(prices: dict, tickers: Sequence[str], path: Path,
                       start: Optional[str] = None, end: Optional[str] = None,
                       price_column: str = "high") -> Path:
    """Plot the daily prices of `tickers` between `start` and `end`.

    Args:
        prices: Ticker to `pandas.Series` of prices indexed by date.
        tickers: Stocks to plot. Those missing from `prices` are left out;
            when none is present, the first two stocks of `prices` are plotted.
        path: PNG file to write.
        start: First date, `YYYY-MM-DD`; `None` starts at the first day.
        end: Last date, `YYYY-MM-DD`; `None` ends at the last day.
        price_column: Name of the plotted column, for the axis label.
    """
    present = [ticker for ticker in tickers if ticker in prices]
    if not present:
        present = sorted(prices)[:2]
        logger.info("None of %s is in the data; the price plot shows %s instead",
                    ", ".join(tickers), ", ".join(present))

    plt = plots._pyplot()
    figure, axis = plt.subplots(figsize=(10, 4.5))
    for ticker in present:
        series = prices[ticker].loc[start:end]
        axis.plot(series.index, series.to_numpy(), linewidth=1, label=ticker)
    axis.set_xlabel("date")
    axis.set_ylabel(f"daily {price_column} (price)")
    axis.set_title(f"Daily {price_column} of {', '.join(present)}")
    axis.grid(True, alpha=0.3)
    axis.legend()
    figure.autofmt_xdate()
    return plots._save(figure, path)


def _one_window_per_stock(tickers: np.ndarray, count: int) -> list[int]:
    chosen, seen = [], set()
    for index, ticker in enumerate(tickers):
        if ticker not in seen:
            seen.add(ticker)
            chosen.append(index)
        if len(chosen) == count:
            break
    return chosen


def plot_test_stocks(windows, reconstruction_price: np.ndarray, path: Path,
                     prediction_price: Optional[np.ndarray] = None,
                     count: int = NUM_TEST_STOCKS) -> Path:
    """Plot one test window of `count` stocks: true prices against the model's, by date.

    Args:
        windows: `StockWindows` of the test split.
        reconstruction_price: Reconstruction in prices, shape `(batch,
            input_time, 1)`; it covers the first `input_time` days of each
            window.
        path: PNG file to write.
        prediction_price: Next-day predictions in prices, shape `(batch,
            input_time, 1)`, plotted one day later than the input day they
            follow; `None` for the reconstruction task.
        count: Number of stocks, one window each.
    """
    indices = _one_window_per_stock(windows.tickers, count)
    plt = plots._pyplot()
    figure, axes = plt.subplots(len(indices), 1, figsize=(9, 2.8 * len(indices)), squeeze=False)
    steps = reconstruction_price.shape[1]
    for axis, index in zip(axes[:, 0], indices):
        dates = windows.dates[index]
        axis.plot(dates, windows.prices[index, :, 0], label="original", linewidth=1.5)
        axis.plot(dates[:steps], reconstruction_price[index, :, 0], label="reconstruction",
                  linestyle="--", linewidth=1.5)
        if prediction_price is not None:
            axis.plot(dates[1:steps + 1], prediction_price[index, :, 0],
                      label="next-day prediction", linestyle=":", linewidth=1.5)
        axis.set_ylabel("price")
        axis.set_title(f"Test stock {windows.tickers[index]}")
        axis.legend(loc="best")
        axis.grid(True, alpha=0.3)
        axis.tick_params(axis="x", labelrotation=30)  # each panel has its own dates
    figure.suptitle("Test stocks and the model output, in prices")
    return plots._save(figure, path)


def plot_prediction_losses(history_rows: list[dict], path: Path) -> Path:
    """Plot the training loss and the prediction loss against epoch, with validation values."""
    epochs = [row["epoch"] for row in history_rows]
    curves = {"training loss (total)": history.series(history_rows, "loss"),
              "prediction loss": history.series(history_rows, "prediction_loss")}
    if any("val_prediction_loss" in row for row in history_rows):
        curves["validation prediction loss"] = history.series(history_rows,
                                                              "val_prediction_loss")
    return plots.plot_curves(epochs, curves, path, ylabel="loss (MSE, normalized units)",
                             title="Training and prediction loss against epoch", log_scale=True)


def write_figures(config, data, model, history_rows: list[dict], figures_dir: Path) -> list[Path]:
    """Write the S&P 500 figures of a finished run into `figures_dir`.

    Returns:
        The paths written: `prices.png`, `test_stocks_prices.png`, and for
        the prediction task `prediction_loss.png`.
    """
    figures_dir = Path(figures_dir)
    written = [plot_price_history(data.prices, config.plot_tickers, figures_dir / "prices.png",
                                  config.start, config.end, data.price_column)]

    windows = data.windows["test"]
    arrays = tasks.make_arrays(config.task, data.test)
    outputs = model.predict(arrays.inputs, verbose=0)
    reconstruction = windows.normalizer.inverse_transform(outputs[tasks.RECONSTRUCTION])
    prediction = None
    if tasks.PREDICTION in outputs:
        prediction = windows.normalizer.inverse_transform(outputs[tasks.PREDICTION])
    written.append(plot_test_stocks(windows, reconstruction,
                                    figures_dir / "test_stocks_prices.png",
                                    prediction_price=prediction))
    if config.task == "predict":
        written.append(plot_prediction_losses(history_rows, figures_dir / "prediction_loss.png"))
    return written
