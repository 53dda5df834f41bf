"""S&P 500 stock prices: CSV loading, cleaning, windowing and a split by stock.

Accepted layouts, with column names matched without regard to case:

- Kaggle "S&P 500 stock data": `date,open,high,low,close,volume,Name`, one
  file for all stocks or one file per ticker.
- Yahoo-style exports: `Date,High,Low,Open,Close,Volume,Adj Close` plus a
  ticker column.

The ticker column may be called `symbol`, `Name` or `ticker`. A file without
one contains a single stock named after the file (`AAPL.csv` is `AAPL`).

Cleaning policy: a row is dropped, and counted by reason, when its date is
empty or not a date, its ticker is empty, or its price is empty, not a number
or not positive. A row that repeats the date of an earlier row of the same
stock is dropped too, so the first row of a date is kept. Other columns are not read, so an empty `open`
does not drop a row priced by `high`. A price column in which no value is a
number is rejected as a whole.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from keras_lstm_ae.data.splits import SequenceData, Split
from keras_lstm_ae.errors import UsageError
from keras_lstm_ae.normalizer import Normalizer

logger = logging.getLogger(__name__)

DATA_ENV = "KERAS_LSTM_AE_DATA"
# File of a run folder that records the stocks of each split.
STOCK_SPLIT_FILE = "stocks.json"
DATE_COLUMN = "date"
TICKER_COLUMNS = ("symbol", "name", "ticker")
DEFAULT_PRICE_COLUMN = "high"
# Calendar days without prices above which the loader warns: exchanges close
# for a few days at most, so a longer gap suggests missing or misdated rows.
MAX_GAP_DAYS = 10
# Fractions of stocks in train, validation and test.
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)
LAYOUTS = (
    "a Kaggle S&P 500 CSV (date,open,high,low,close,volume,Name) or a Yahoo-style export "
    "(Date,High,Low,Open,Close,Volume,Adj Close, with or without a symbol/Name/ticker column)"
)


@dataclasses.dataclass
class CleaningReport:
    """Rows read from the CSV files, and rows dropped by reason."""

    rows_read: int = 0
    invalid_date: int = 0
    empty_ticker: int = 0
    empty_price: int = 0
    non_numeric_price: int = 0
    non_positive_price: int = 0
    duplicate_date: int = 0
    rows_kept: int = 0

    def dropped(self) -> dict:
        """Return the number of dropped rows per reason."""
        return {key: value for key, value in dataclasses.asdict(self).items()
                if key not in ("rows_read", "rows_kept")}


@dataclasses.dataclass
class StockWindows:
    """Source stock, dates, prices and normalizer parameters of the windows of one split.

    Attributes:
        tickers: Stock of each window, shape `(batch,)`.
        dates: Trading day of each step, shape `(batch, time)`, datetime64.
        prices: Prices before normalization, shape `(batch, time, 1)`, float64.
        normalizer: Normalization parameters of each window.
    """

    tickers: np.ndarray
    dates: np.ndarray
    prices: np.ndarray
    normalizer: Normalizer

    def __len__(self) -> int:
        return len(self.tickers)

    def head(self, count: int) -> "StockWindows":
        """Return the first `count` windows."""
        return StockWindows(self.tickers[:count], self.dates[:count], self.prices[:count],
                            self.normalizer.subset(slice(0, count)))


@dataclasses.dataclass
class StockSequenceData(SequenceData):
    """Normalized S&P 500 windows, with their prices, dates and stocks.

    Attributes:
        windows: `StockWindows` of each split, keyed `train`, `validation`
            and `test`.
        prices: Cleaned price series of every stock, keyed by ticker, each a
            `pandas.Series` indexed by date.
        report: Counts of the rows read and dropped.
        price_column: Name of the price column, lower case.
    """

    windows: dict = dataclasses.field(default_factory=dict)
    prices: dict = dataclasses.field(default_factory=dict)
    report: CleaningReport = dataclasses.field(default_factory=CleaningReport)
    price_column: str = DEFAULT_PRICE_COLUMN

    def truncated(self, count: int) -> "StockSequenceData":
        truncated = super().truncated(count)
        truncated.windows = {name: windows.head(count) for name, windows in self.windows.items()}
        return truncated

    def split_tickers(self) -> dict:
        """Return the sorted tickers of each split."""
        return {name: sorted(set(windows.tickers.tolist()))
                for name, windows in self.windows.items()}


def default_data_path() -> Path:
    """Find the CSV to read when `--data-path` is not given.

    The folder named by the `KERAS_LSTM_AE_DATA` environment variable is
    searched, first its `sp500/` subfolder, then the folder itself. In the
    first of them that contains CSV files, a file whose name starts with
    `all_stocks` is preferred, otherwise the first CSV in name order is used.

    Raises:
        UsageError: the variable is not set, or no CSV was found.
    """
    folder = os.environ.get(DATA_ENV)
    if not folder:
        raise UsageError(
            f"no S&P 500 data: pass --data-path with {LAYOUTS}, or set {DATA_ENV} to a "
            "folder that contains one."
        )
    for candidate in (Path(folder) / "sp500", Path(folder)):
        csv_files = sorted(candidate.glob("*.csv")) if candidate.is_dir() else []
        if csv_files:
            preferred = [path for path in csv_files if path.name.startswith("all_stocks")]
            chosen = (preferred or csv_files)[0]
            logger.info("No --data-path given; reading %s from %s", chosen, DATA_ENV)
            return chosen
    raise UsageError(
        f"no CSV file in {DATA_ENV}={folder} or its sp500/ subfolder; pass --data-path with "
        f"{LAYOUTS}."
    )


def _canonical(name: str) -> str:
    return " ".join(str(name).strip().lower().replace("_", " ").split())


def _csv_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise UsageError(f"--data-path {path} is a folder without CSV files; pass {LAYOUTS}.")
        return files
    if not path.is_file():
        raise UsageError(f"--data-path {path} not found; pass {LAYOUTS}.")
    return [path]


def _read_table(path: Path, price_column: str):
    """Read one CSV as strings and return its date, ticker and price columns."""
    import pandas as pd

    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UsageError(f"--data-path {path} could not be read as CSV ({reason}); "
                         f"pass {LAYOUTS}.") from None

    columns = {_canonical(name): name for name in table.columns}
    found = ", ".join(str(name) for name in table.columns[:10])
    if DATE_COLUMN not in columns:
        raise UsageError(f"--data-path {path} has no date column (columns: {found}); "
                         f"pass {LAYOUTS}.")
    requested = _canonical(price_column)
    if requested not in columns:
        raise UsageError(f"--data-path {path} has no price column {price_column!r} (columns: "
                         f"{found}); choose one with --price-column.")
    ticker_name = next((columns[name] for name in TICKER_COLUMNS if name in columns), None)
    tickers = table[ticker_name].str.strip() if ticker_name else \
        pd.Series(path.stem, index=table.index)
    return pd.DataFrame({"date": table[columns[DATE_COLUMN]].str.strip(),
                         "ticker": tickers,
                         "price": table[columns[requested]].str.strip()})


def read_prices(data_path, price_column: str = DEFAULT_PRICE_COLUMN,
                tickers: Optional[Sequence[str]] = None) -> tuple[dict, CleaningReport]:
    """Read and clean daily prices from a CSV file or a folder of CSV files.

    Args:
        data_path: A CSV file, or a folder whose `*.csv` files are all read
            (for example one file per ticker).
        price_column: Column to read prices from, matched without regard to
            case, spaces or underscores (default `high`).
        tickers: Stocks to keep, matched without regard to case; `None` keeps
            every stock.

    Returns:
        `(prices, report)`: a dict from ticker to a `pandas.Series` of prices
        (float64) indexed by date and sorted by date, and the cleaning counts.

    Raises:
        UsageError: a file cannot be read, lacks a date or price column, its
            price column contains no number, a requested ticker is missing, or
            no row is left after cleaning.
    """
    import pandas as pd

    path = Path(data_path)
    table = pd.concat([_read_table(file, price_column) for file in _csv_files(path)],
                      ignore_index=True)

    if tickers:
        requested = {ticker.strip().upper() for ticker in tickers}
        present = set(table["ticker"].str.upper())
        missing = sorted(requested - present)
        if missing:
            examples = ", ".join(sorted(present - {""})[:10])
            raise UsageError(f"--tickers {','.join(missing)} not found in {path} "
                             f"(stocks there include {examples}).")
        table = table[table["ticker"].str.upper().isin(requested)]

    report = CleaningReport(rows_read=len(table))
    dates = pd.to_datetime(table["date"], errors="coerce")
    numbers = pd.to_numeric(table["price"], errors="coerce")
    empty_price = table["price"] == ""
    if (~empty_price).any() and numbers.isna().all():
        first = table.loc[~empty_price, "price"].iloc[0]
        raise UsageError(f"--price-column {price_column} of {path} contains no numeric prices "
                         f"(first value {first!r}); choose a numeric column with --price-column.")

    invalid_date = dates.isna()
    empty_ticker = ~invalid_date & (table["ticker"] == "")
    valid = ~invalid_date & ~empty_ticker
    report.invalid_date = int(invalid_date.sum())
    report.empty_ticker = int(empty_ticker.sum())
    report.empty_price = int((valid & empty_price).sum())
    non_numeric = valid & ~empty_price & ~np.isfinite(numbers.fillna(np.nan).astype(float))
    report.non_numeric_price = int(non_numeric.sum())
    valid &= ~empty_price & ~non_numeric
    non_positive = valid & (numbers <= 0)
    report.non_positive_price = int(non_positive.sum())
    valid &= ~non_positive

    clean = pd.DataFrame({"ticker": table["ticker"][valid], "date": dates[valid],
                          "price": numbers[valid].astype(float)})
    clean = clean.sort_values(["ticker", "date"], kind="stable")
    duplicated = clean.duplicated(["ticker", "date"], keep="first")
    report.duplicate_date = int(duplicated.sum())
    clean = clean[~duplicated]
    report.rows_kept = len(clean)

    dropped = {reason: count for reason, count in report.dropped().items() if count}
    logger.info("Read %d rows from %s; kept %d; dropped %s", report.rows_read, path,
                report.rows_kept, dropped or "none")
    if clean.empty:
        raise UsageError(f"no rows of {path} are left after cleaning (dropped: {dropped}); "
                         "check the date and --price-column values.")

    prices = {ticker: group.set_index("date")["price"]
              for ticker, group in clean.groupby("ticker", sort=True)}
    _warn_about_gaps(prices)
    return prices, report


def _warn_about_gaps(prices: dict) -> None:
    """Log the stocks whose dates skip more than `MAX_GAP_DAYS` calendar days.

    Windows are cut by trading day, so a window across such a gap joins
    prices that are far apart in time. The rows are kept as written.
    """
    gaps = {}
    for ticker, series in prices.items():
        steps = np.diff(series.index.to_numpy()).astype("timedelta64[D]").astype(int)
        if len(steps) and steps.max() > MAX_GAP_DAYS:
            position = int(steps.argmax())
            gaps[ticker] = (series.index[position], series.index[position + 1])
    if gaps:
        ticker, (before, after) = next(iter(gaps.items()))
        logger.warning("%d stocks have no prices for more than %d days, e.g. %s from %s to %s",
                       len(gaps), MAX_GAP_DAYS, ticker, before.date(), after.date())


def window_starts(length: int, seq_len: int, stride: int) -> np.ndarray:
    """Return the start index of each window of `seq_len` steps in a series of `length` steps.

    Windows start every `stride` steps; a tail shorter than `seq_len` is left
    out. The result has shape `(count,)`.
    """
    return np.arange(0, length - seq_len + 1, stride)


def windows_of(prices: dict, tickers: Sequence[str], seq_len: int, stride: int,
               fit_steps: Optional[int] = None) -> StockWindows:
    """Cut the price series of `tickers` into normalized windows.

    Args:
        prices: Ticker to price series, from `read_prices`.
        tickers: Stocks to cut.
        seq_len: Trading days per window.
        stride: Trading days between the starts of two windows.
        fit_steps: Fit each window's normalizer on its first `fit_steps` days
            only (see `Normalizer.fit`); `None` fits on the whole window.
    """
    window_tickers, window_dates, window_prices = [], [], []
    for ticker in tickers:
        series = prices[ticker]
        values = series.to_numpy(dtype=np.float64)
        dates = series.index.to_numpy()
        for start in window_starts(len(values), seq_len, stride):
            window_tickers.append(ticker)
            window_dates.append(dates[start:start + seq_len])
            window_prices.append(values[start:start + seq_len])
    if not window_prices:
        empty = np.zeros((0, seq_len, 1))
        return StockWindows(np.array([], dtype=object), np.zeros((0, seq_len), "datetime64[ns]"),
                            empty, Normalizer.fit(empty))
    stacked = np.stack(window_prices)[:, :, None]
    return StockWindows(np.array(window_tickers, dtype=object), np.stack(window_dates), stacked,
                        Normalizer.fit(stacked, steps=fit_steps))


def split_stocks(tickers: Sequence[str], seed: int) -> tuple[list, list, list]:
    """Shuffle the stocks with `seed` and split them 60/20/20 into train, validation and test.

    Validation and test get at least one stock each, so 3 stocks are the minimum.

    Raises:
        UsageError: fewer than 3 stocks.
    """
    tickers = sorted(tickers)
    if len(tickers) < 3:
        raise UsageError(
            f"the S&P 500 split by stock needs at least 3 stocks with a full window, got "
            f"{len(tickers)} ({', '.join(tickers)}); pass more stocks or a shorter --seq-len."
        )
    order = [tickers[index] for index in np.random.default_rng(seed).permutation(len(tickers))]
    num_validation = max(1, round(SPLIT_FRACTIONS[1] * len(tickers)))
    num_test = max(1, round(SPLIT_FRACTIONS[2] * len(tickers)))
    num_train = len(tickers) - num_validation - num_test
    return (sorted(order[:num_train]), sorted(order[num_train:num_train + num_validation]),
            sorted(order[num_train + num_validation:]))


def load(data_path=None, seq_len: int = 50, stride: Optional[int] = None, seed: int = 0,
         price_column: str = DEFAULT_PRICE_COLUMN, tickers: Optional[Sequence[str]] = None,
         fit_steps: Optional[int] = None) -> StockSequenceData:
    """Load S&P 500 prices as normalized windows, split by stock.

    Args:
        data_path: CSV file or folder of CSV files; `None` searches the
            `KERAS_LSTM_AE_DATA` folder (see `default_data_path`).
        seq_len: Trading days per window (default 50).
        stride: Trading days between window starts; `None` uses `seq_len`,
            so windows of a stock do not overlap.
        seed: Seed of the split by stock.
        price_column: Column to read prices from (default `high`).
        tickers: Stocks to use; `None` uses all.
        fit_steps: Days of each window that its normalizer is fitted on;
            `None` uses all of them.

    Returns:
        A `StockSequenceData` whose splits hold windows of shape
        `(batch, seq_len, 1)`, float32, normalized per window. No stock is in
        two splits.

    Raises:
        UsageError: the data cannot be read, or too few stocks are long
            enough for one window.
    """
    path = Path(data_path) if data_path is not None else default_data_path()
    prices, report = read_prices(path, price_column, tickers)
    stride = stride or seq_len

    long_enough = [ticker for ticker, series in prices.items() if len(series) >= seq_len]
    too_short = sorted(set(prices) - set(long_enough))
    if not long_enough:
        longest = max(len(series) for series in prices.values())
        raise UsageError(f"--seq-len {seq_len} is longer than every stock in {path} "
                         f"(the longest has {longest} trading days); pass a smaller --seq-len.")
    if too_short:
        logger.warning("Skipped %d stocks shorter than --seq-len %d trading days: %s",
                       len(too_short), seq_len, ", ".join(too_short))

    parts = dict(zip(("train", "validation", "test"), split_stocks(long_enough, seed)))
    windows = {name: windows_of(prices, names, seq_len, stride, fit_steps)
               for name, names in parts.items()}
    splits = {name: Split(part.normalizer.transform(part.prices).astype(np.float32))
              for name, part in windows.items()}
    logger.info("Stocks: %d train, %d validation, %d test",
                *(len(names) for names in parts.values()))
    return StockSequenceData(name="sp500", train=splits["train"],
                             validation=splits["validation"], test=splits["test"],
                             windows=windows, prices=prices, report=report,
                             price_column=_canonical(price_column))


def write_stock_split(path: Path, data: StockSequenceData) -> None:
    """Write the tickers of each split and the cleaning counts as JSON, atomically.

    `keras-lstm-ae forecast` reads this file to leave out the stocks a model
    was trained and validated on.
    """
    from keras_lstm_ae.files import write_json

    write_json(path, {"price_column": data.price_column, "stocks": data.split_tickers(),
                      "cleaning": dataclasses.asdict(data.report)})


def read_stock_split(run_dir: Path) -> Optional[dict]:
    """Return the contents of a run's `stocks.json`, or `None` when it has none."""
    import json

    path = Path(run_dir) / STOCK_SPLIT_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text())
