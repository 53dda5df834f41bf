import logging

import numpy as np
import pandas as pd
import pytest

from keras_lstm_ae import TrainConfig, UsageError
from keras_lstm_ae.data import load_data, sp500

KAGGLE_HEADER = "date,open,high,low,close,volume,Name"
FEW_TICKERS = ["A", "AAL", "AAP", "AAPL", "ABBV", "ABC", "ABT", "ACN"]


def trading_days(count: int, start: str = "2020-01-01") -> list[str]:
    return [day.strftime("%Y-%m-%d") for day in pd.bdate_range(start, periods=count)]


def write_kaggle(path, stocks: dict) -> None:
    """Write a Kaggle-layout CSV; `stocks` maps a ticker to its daily highs."""
    lines = [KAGGLE_HEADER]
    for ticker, highs in stocks.items():
        for day, high in zip(trading_days(len(highs)), highs):
            lines.append(f"{day},{high},{high},{high},{high},1000,{ticker}")
    path.write_text("\n".join(lines) + "\n")


def ramp(count: int, start: float = 10.0) -> list[float]:
    return [round(start + 0.5 * day, 2) for day in range(count)]


@pytest.fixture(scope="module")
def yahoo_csv(real_csv, tmp_path_factory):
    """The real prices of a few stocks, rewritten in the Yahoo layout with a Symbol column."""
    table = pd.read_csv(real_csv)
    table = table[table["Name"].isin(FEW_TICKERS)]
    yahoo = pd.DataFrame({"Date": table["date"], "High": table["high"], "Low": table["low"],
                          "Open": table["open"], "Close": table["close"],
                          "Volume": table["volume"], "Adj Close": table["close"],
                          "Symbol": table["Name"]})
    path = tmp_path_factory.mktemp("yahoo") / "yahoo_prices.csv"
    yahoo.iloc[::-1].to_csv(path, index=False)
    return path


def test_reader_kaggle_layout(tmp_path):
    path = tmp_path / "prices.csv"
    write_kaggle(path, {"AAA": ramp(5), "BBB": ramp(3, 100.0)})
    prices, report = sp500.read_prices(path)
    assert sorted(prices) == ["AAA", "BBB"]
    assert prices["AAA"].tolist() == ramp(5)
    assert report.rows_kept == 8


def test_reader_yahoo_layout_any_case(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("DATE,HIGH,LOW,OPEN,CLOSE,VOLUME,ADJ CLOSE,ticker\n"
                    "2020-01-02,11,9,10,10.5,100,10.4,XYZ\n"
                    "2020-01-03,12,10,11,11.5,100,11.4,XYZ\n")
    prices, _ = sp500.read_prices(path, price_column="Adj Close")
    assert prices["XYZ"].tolist() == [10.4, 11.4]


def test_reader_file_without_ticker_is_one_stock(tmp_path):
    path = tmp_path / "MSFT.csv"
    path.write_text("Date,High,Low,Open,Close,Volume,Adj Close\n"
                    "2020-01-02,11,9,10,10.5,100,10.4\n")
    prices, _ = sp500.read_prices(path)
    assert list(prices) == ["MSFT"]


def test_reader_folder_of_per_ticker_files(tmp_path):
    write_kaggle(tmp_path / "AAA_data.csv", {"AAA": ramp(4)})
    write_kaggle(tmp_path / "BBB_data.csv", {"BBB": ramp(6)})
    prices, report = sp500.read_prices(tmp_path)
    assert sorted(prices) == ["AAA", "BBB"]
    assert report.rows_read == 10


def test_reader_sorts_rows_by_date(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("date,high,Name\n2020-01-03,3,AAA\n2020-01-01,1,AAA\n2020-01-02,2,AAA\n")
    prices, _ = sp500.read_prices(path)
    assert prices["AAA"].tolist() == [1.0, 2.0, 3.0]
    assert prices["AAA"].index.is_monotonic_increasing


def test_reader_cleaning_counts(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("date,high,Name\n"
                    "2020-01-01,1,AAA\n"
                    "2020-01-01,9,AAA\n"      # duplicate date: the first row is kept
                    "2020-01-02,,AAA\n"       # empty price
                    "2020-01-03,n/a,AAA\n"    # not a number
                    "2020-01-06,-4,AAA\n"     # not positive
                    "2020-01-07,0,AAA\n"      # not positive
                    "not a date,5,AAA\n"
                    "2020-01-08,6,\n"         # empty ticker
                    "2020-01-09,7,AAA\n")
    prices, report = sp500.read_prices(path)
    assert report.rows_read == 9
    assert report.duplicate_date == 1
    assert report.empty_price == 1
    assert report.non_numeric_price == 1
    assert report.non_positive_price == 2
    assert report.invalid_date == 1
    assert report.empty_ticker == 1
    assert report.rows_kept == 2
    assert prices["AAA"].tolist() == [1.0, 7.0]


def test_reader_empty_other_columns_keep_row(real_csv):
    prices, report = sp500.read_prices(real_csv, tickers=["BHF"])
    assert report.empty_price == 1
    closes, close_report = sp500.read_prices(real_csv, price_column="close", tickers=["BHF"])
    assert close_report.empty_price == 0
    assert len(closes["BHF"]) == len(prices["BHF"]) + 1


def test_reader_selects_tickers_any_case(tmp_path):
    path = tmp_path / "prices.csv"
    write_kaggle(path, {"AAA": ramp(3), "BBB": ramp(3), "CCC": ramp(3)})
    prices, _ = sp500.read_prices(path, tickers=["bbb", "CCC"])
    assert sorted(prices) == ["BBB", "CCC"]


@pytest.mark.parametrize(
    "content, kwargs, expected",
    [
        ("high,Name\n1,AAA\n", {}, "has no date column"),
        ("date,low,Name\n2020-01-01,1,AAA\n", {}, "has no price column 'high'"),
        ("date,high,Name\n2020-01-01,abc,AAA\n2020-01-02,def,AAA\n", {},
         "contains no numeric prices (first value 'abc')"),
        ("date,high,Name\n2020-01-01,-1,AAA\n2020-01-02,,AAA\n", {},
         "are left after cleaning"),
        ("date,high,Name\n2020-01-01,1,AAA\n", {"tickers": ["ZZZ"]}, "--tickers ZZZ not found"),
        ("", {}, "could not be read as CSV"),
    ],
)
def test_reader_rejects_bad_file(tmp_path, content, kwargs, expected):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(UsageError) as error:
        sp500.read_prices(path, **kwargs)
    assert expected in str(error.value)
    assert "\n" not in str(error.value)


def test_reader_rejects_missing_file(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        sp500.read_prices(tmp_path / "missing.csv")


def test_reader_rejects_binary_file(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(UsageError, match="--data-path"):
        sp500.read_prices(path)


def test_load_windows_and_stride(tmp_path):
    path = tmp_path / "prices.csv"
    write_kaggle(path, {name: ramp(25, 10.0 * (index + 1))
                        for index, name in enumerate(["AAA", "BBB", "CCC", "DDD", "EEE"])})
    data = sp500.load(path, seq_len=10, stride=5)
    # 25 days give windows starting at days 0, 5, 10 and 15.
    total = len(data.train) + len(data.validation) + len(data.test)
    assert total == 5 * 4
    assert data.train.x.shape[1:] == (10, 1)
    assert data.train.x.dtype == np.float32
    first = data.windows["train"]
    np.testing.assert_allclose(first.normalizer.inverse_transform(data.train.x), first.prices,
                               rtol=1e-5)


def test_load_default_stride_is_seq_len(tmp_path):
    path = tmp_path / "prices.csv"
    write_kaggle(path, {name: ramp(25) for name in ["AAA", "BBB", "CCC"]})
    data = sp500.load(path, seq_len=10)
    assert len(data.train) + len(data.validation) + len(data.test) == 3 * 2


def test_load_splits_by_stock(real_csv):
    data = sp500.load(real_csv, seq_len=50, seed=3, tickers=FEW_TICKERS)
    tickers = data.split_tickers()
    assert not set(tickers["train"]) & set(tickers["validation"])
    assert not set(tickers["train"]) & set(tickers["test"])
    assert not set(tickers["validation"]) & set(tickers["test"])
    assert sorted(tickers["train"] + tickers["validation"] + tickers["test"]) == FEW_TICKERS


def test_load_split_is_seeded(real_csv):
    first = sp500.load(real_csv, seed=1, tickers=FEW_TICKERS).split_tickers()
    again = sp500.load(real_csv, seed=1, tickers=FEW_TICKERS).split_tickers()
    other = [sp500.load(real_csv, seed=seed, tickers=FEW_TICKERS).split_tickers()
             for seed in (2, 3, 4)]
    assert first == again
    assert any(split != first for split in other)


def test_split_stocks_needs_three(tmp_path):
    with pytest.raises(UsageError, match="at least 3 stocks"):
        sp500.split_stocks(["AAA", "BBB"], seed=0)


def test_load_skips_short_stocks_with_warning(tmp_path, caplog):
    path = tmp_path / "prices.csv"
    write_kaggle(path, {"AAA": ramp(30), "BBB": ramp(30), "CCC": ramp(30), "SHORT": ramp(5)})
    with caplog.at_level(logging.WARNING, logger="keras_lstm_ae.data.sp500"):
        data = sp500.load(path, seq_len=10)
    assert "SHORT" in caplog.text
    assert "SHORT" not in sum(data.split_tickers().values(), [])


def test_load_rejects_seq_len_longer_than_every_stock(tmp_path):
    path = tmp_path / "prices.csv"
    write_kaggle(path, {"AAA": ramp(30), "BBB": ramp(40)})
    with pytest.raises(UsageError, match="--seq-len 50 is longer than every stock"):
        sp500.load(path, seq_len=50)


def test_load_real_csv_matches_prices(real_csv):
    data = sp500.load(real_csv, seq_len=50, tickers=FEW_TICKERS)
    windows = data.windows["test"]
    ticker = windows.tickers[0]
    series = data.prices[ticker]
    np.testing.assert_allclose(windows.prices[0, :, 0], series.to_numpy()[:50])
    assert windows.dates[0, 0] == series.index[0]


def test_max_sequences_truncates_windows(real_csv):
    config = TrainConfig(data="sp500", data_path=str(real_csv), tickers=FEW_TICKERS,
                         max_sequences=7).resolved()
    data = load_data(config)
    assert len(data.test) == 7
    assert len(data.windows["test"]) == 7


def test_predict_normalizer_ignores_last_day(real_csv):
    config = TrainConfig(task="predict", data_path=str(real_csv), tickers=FEW_TICKERS).resolved()
    data = load_data(config)
    inputs = data.train.x[:, :-1, 0].astype(np.float64)
    np.testing.assert_allclose(inputs.mean(axis=1), 0.5, rtol=1e-4)
    np.testing.assert_allclose(inputs.min(axis=1), 0.0, atol=1e-6)


def test_predict_task_defaults_to_sp500(monkeypatch, real_csv):
    monkeypatch.setenv(sp500.DATA_ENV, str(real_csv.parent.parent))
    config = TrainConfig(task="predict").resolved()
    assert config.data == "sp500"
    assert config.data_path == str(real_csv)


def test_synthetic_predict_stays_available():
    config = TrainConfig(data="synthetic", task="predict").resolved()
    assert config.data == "synthetic"
    assert config.data_path is None


def test_data_folder_prefers_all_stocks_file(monkeypatch, tmp_path):
    write_kaggle(tmp_path / "AAA.csv", {"AAA": ramp(3)})
    write_kaggle(tmp_path / "all_stocks_mine.csv", {"AAA": ramp(3)})
    monkeypatch.setenv(sp500.DATA_ENV, str(tmp_path))
    assert sp500.default_data_path() == tmp_path / "all_stocks_mine.csv"


def test_data_folder_without_csv_names_data_path(monkeypatch, tmp_path):
    monkeypatch.setenv(sp500.DATA_ENV, str(tmp_path))
    with pytest.raises(UsageError, match="--data-path") as error:
        sp500.default_data_path()
    assert "Yahoo" in str(error.value)


def test_missing_data_path_names_layouts(monkeypatch):
    monkeypatch.delenv(sp500.DATA_ENV, raising=False)
    with pytest.raises(UsageError, match="pass --data-path with a Kaggle S&P 500 CSV"):
        TrainConfig(task="predict").resolved()


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"stride": 0}, "--stride must be a positive whole number"),
        ({"price_column": " "}, "--price-column must name a CSV column"),
        ({"tickers": []}, "--tickers must name at least one ticker"),
        ({"start": "2014-13-01"}, "--start must be a date written YYYY-MM-DD"),
        ({"start": "2016-01-01", "end": "2015-01-01"}, "--start 2016-01-01 is after --end"),
    ],
)
def test_config_rejects_bad_sp500_option(options, expected, real_csv):
    config = TrainConfig(data="sp500", data_path=str(real_csv), **options)
    with pytest.raises(UsageError) as error:
        config.resolved()
    assert expected in str(error.value)


def test_yahoo_file_loads_like_kaggle(real_csv, yahoo_csv):
    kaggle = sp500.load(real_csv, tickers=FEW_TICKERS, seed=5)
    yahoo = sp500.load(yahoo_csv, seed=5)
    assert yahoo.split_tickers() == kaggle.split_tickers()
    np.testing.assert_array_equal(yahoo.test.x, kaggle.test.x)


def test_reader_warns_about_long_gap(tmp_path, caplog):
    path = tmp_path / "prices.csv"
    path.write_text("date,high,Name\n2017-12-28,1,AAA\n2017-12-29,2,AAA\n2021-01-04,3,AAA\n")
    with caplog.at_level(logging.WARNING, logger="keras_lstm_ae.data.sp500"):
        prices, _ = sp500.read_prices(path)
    assert "AAA from 2017-12-29 to 2021-01-04" in caplog.text
    assert len(prices["AAA"]) == 3


def test_price_plot_falls_back_to_first_stocks(tmp_path, caplog):
    from keras_lstm_ae.price_figures import plot_price_history

    path = tmp_path / "prices.csv"
    write_kaggle(path, {"AAA": ramp(30), "BBB": ramp(30), "CCC": ramp(30)})
    prices, _ = sp500.read_prices(path)
    with caplog.at_level(logging.INFO, logger="keras_lstm_ae.price_figures"):
        written = plot_price_history(prices, ["AMZN", "GOOGL"], tmp_path / "plot.png",
                                     start="2020-01-10", end="2020-01-31")
    assert written.is_file()
    assert "shows AAA, BBB instead" in caplog.text
