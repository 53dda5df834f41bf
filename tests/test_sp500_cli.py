import csv
import json
import math

import numpy as np
import pandas as pd
import pytest

from keras_lstm_ae import cli
from keras_lstm_ae.forecast import forecast

TICKERS = "A,AAL,AAP,AAPL,ABBV,ABC,ABT,ACN"
QUICK = ["--tickers", TICKERS, "--epochs", "1", "--hidden-size", "8", "--verbose", "0",
         "--no-export"]
METRIC_KEYS = ("test_loss", "test_prediction_mse", "test_prediction_mse_all_steps",
               "baseline_prediction_mse")


@pytest.fixture(scope="module")
def small_csv(real_csv, tmp_path_factory):
    """The training stocks and 3 others of the real CSV, so forecasts stay quick."""
    table = pd.read_csv(real_csv)
    table = table[table["Name"].isin(TICKERS.split(",") + ["AMZN", "BA", "CAT"])]
    path = tmp_path_factory.mktemp("small_csv") / "eleven_stocks.csv"
    table.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def predict_run(real_csv, tmp_path_factory):
    """A 1-epoch S&P 500 prediction run on 8 stocks, trained through the CLI."""
    root = tmp_path_factory.mktemp("sp500_run")
    status = cli.main(["train", "--data", "sp500", "--task", "predict", "--data-path",
                       str(real_csv), *QUICK, "--output-dir", str(root / "run")])
    assert status == 0
    return root / "run"


def run_main(args, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    status = cli.main(args)
    return status, capsys.readouterr()


def test_predict_metrics_normalized_and_price(predict_run):
    metrics = json.loads((predict_run / "metrics.json").read_text())
    for key in METRIC_KEYS:
        assert math.isfinite(metrics[key]), key
        assert math.isfinite(metrics[key + "_price"]), key


def test_predict_baseline_is_previous_day(predict_run, real_csv):
    from keras_lstm_ae.data import load_data
    from keras_lstm_ae.evaluation import load_run

    config, _ = load_run(predict_run)
    windows = load_data(config).windows["test"]
    expected = np.mean((windows.prices[:, -1] - windows.prices[:, -2]) ** 2)
    metrics = json.loads((predict_run / "metrics.json").read_text())
    assert metrics["baseline_prediction_mse_price"] == pytest.approx(expected)


def test_predict_run_figures(predict_run):
    for name in ("prices.png", "test_stocks_prices.png", "prediction_loss.png", "loss.png"):
        assert (predict_run / "figures" / name).is_file(), name


def test_predict_run_records_stock_split(predict_run):
    split = json.loads((predict_run / "stocks.json").read_text())
    stocks = split["stocks"]
    assert sorted(stocks["train"] + stocks["validation"] + stocks["test"]) == TICKERS.split(",")
    assert split["cleaning"]["rows_kept"] > 0


def test_predict_on_yahoo_file(real_csv, tmp_path, monkeypatch, capsys):
    table = pd.read_csv(real_csv)
    table = table[table["Name"].isin(TICKERS.split(","))]
    yahoo = pd.DataFrame({"Date": table["date"], "High": table["high"], "Low": table["low"],
                          "Open": table["open"], "Close": table["close"],
                          "Volume": table["volume"], "Adj Close": table["close"],
                          "symbol": table["Name"]})
    yahoo.to_csv(tmp_path / "yahoo.csv", index=False)
    status, output = run_main(["train", "--data", "sp500", "--task", "predict", "--data-path",
                               "yahoo.csv", *QUICK, "--max-sequences", "16",
                               "--output-dir", "run"],
                              monkeypatch, tmp_path, capsys)
    assert status == 0, output.err[-2000:]
    assert "baseline prediction mse price" in output.out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert math.isfinite(metrics["test_prediction_mse_price"])


def test_evaluate_reproduces_price_metrics(predict_run):
    from keras_lstm_ae import evaluate

    metrics = evaluate(predict_run)
    saved = json.loads((predict_run / "metrics.json").read_text())
    assert metrics["test_prediction_mse_price"] == pytest.approx(
        saved["test_prediction_mse_price"], rel=1e-4)


@pytest.fixture(scope="module")
def forecast_result(predict_run, small_csv, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("forecast") / "out"
    return forecast(predict_run, data_path=small_csv, horizon=4, output_dir=output_dir)


def test_forecast_writes_figure_and_errors(forecast_result):
    for name in ("forecast.png", "error_by_horizon.png", "errors.csv", "errors.json"):
        assert (forecast_result.output_dir / name).is_file(), name
    with open(forecast_result.output_dir / "errors.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["horizon"] for row in rows] == ["1", "2", "3", "4"]
    assert forecast_result.horizon == 4


def test_forecast_leaves_out_training_stocks(predict_run, forecast_result):
    split = json.loads((predict_run / "stocks.json").read_text())["stocks"]
    assert not set(forecast_result.tickers) & set(split["train"] + split["validation"])
    assert set(forecast_result.tickers) == set(split["test"]) | {"AMZN", "BA", "CAT"}


def test_forecast_naive_error_by_horizon(forecast_result, small_csv):
    from keras_lstm_ae.data import sp500

    prices, _ = sp500.read_prices(small_csv, tickers=forecast_result.tickers)
    windows = sp500.windows_of(prices, forecast_result.tickers, 49 + 4, 50)
    expected = np.mean((windows.prices[:, 49 + 3] - windows.prices[:, 48]) ** 2)
    assert forecast_result.errors[3]["naive_mse_price"] == pytest.approx(expected)
    one_day = np.mean((windows.prices[:, 49 + 3] - windows.prices[:, 49 + 2]) ** 2)
    assert forecast_result.errors[3]["naive_one_step_mse_price"] == pytest.approx(one_day)


def test_forecast_first_horizon_equals_one_step(forecast_result):
    result = forecast_result
    first = result.errors[0]
    assert first["multi_step_mse_price"] == pytest.approx(first["one_step_mse_price"])
    assert result.errors[2]["multi_step_mse_price"] != pytest.approx(
        result.errors[2]["one_step_mse_price"])


def test_forecast_default_horizon_is_half_seq_len(predict_run, small_csv, tmp_path,
                                                  monkeypatch, capsys):
    status, output = run_main(["forecast", "--model", str(predict_run), "--data-path",
                               str(small_csv), "--output-dir", "out"],
                              monkeypatch, tmp_path, capsys)
    assert status == 0, output.err[-2000:]
    errors = json.loads((tmp_path / "out" / "errors.json").read_text())
    assert errors["horizon"] == 25
    assert "multi step mse price mean" in output.out


def test_forecast_rejects_existing_folder(predict_run, small_csv, tmp_path, monkeypatch,
                                         capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("keep")
    status, output = run_main(["forecast", "--model", str(predict_run), "--data-path",
                               str(small_csv), "--output-dir", "out"],
                              monkeypatch, tmp_path, capsys)
    assert status == 2
    assert "--overwrite" in output.err
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["keep.txt"]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--horizon", "0"], "--horizon must be a positive whole number"),
        (["--horizon", "2000"], "has 2049 trading days"),
        (["--data-path", "missing.csv"], "--data-path missing.csv not found"),
    ],
)
def test_forecast_rejects_bad_option(predict_run, small_csv, tmp_path, monkeypatch, capsys,
                                     args, expected):
    arguments = ["forecast", "--model", str(predict_run), "--output-dir", "out"]
    if "--data-path" not in args:
        arguments += ["--data-path", str(small_csv)]
    status, output = run_main(arguments + args, monkeypatch, tmp_path, capsys)
    assert status == 2
    assert expected in output.err.strip().splitlines()[-1]
    assert list(tmp_path.iterdir()) == []


BAD_FILES = {
    "binary": bytes(range(256)) * 8,
    "no_date": b"day,high,Name\n2020-01-01,1,AAA\n",
    "no_price": b"date,low,Name\n2020-01-01,1,AAA\n",
    "non_numeric": b"date,high,Name\n2020-01-01,one,AAA\n2020-01-02,two,AAA\n",
    "nothing_left": b"date,high,Name\n2020-01-01,0,AAA\n2020-01-02,,AAA\nsoon,3,AAA\n",
    "too_short": b"date,high,Name\n2020-01-01,1,AAA\n2020-01-02,2,BBB\n2020-01-03,3,CCC\n",
}
BAD_FILE_ERRORS = {
    "binary": "--data-path",
    "no_date": "has no date column",
    "no_price": "has no price column 'high'",
    "non_numeric": "contains no numeric prices",
    "nothing_left": "are left after cleaning",
    "too_short": "--seq-len 50 is longer than every stock",
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_train_rejects_bad_csv(case, tmp_path, monkeypatch, capsys):
    (tmp_path / "prices.csv").write_bytes(BAD_FILES[case])
    status, output = run_main(["train", "--task", "predict", "--data-path", "prices.csv",
                               "--epochs", "1"], monkeypatch, tmp_path, capsys)
    assert status == 2
    last = output.err.strip().splitlines()[-1]
    assert last.startswith("keras-lstm-ae: error: ")
    assert BAD_FILE_ERRORS[case] in last
    assert "Traceback" not in output.err
    assert [path.name for path in tmp_path.iterdir()] == ["prices.csv"]


def test_forecast_rejects_reconstruction_run(small_run, real_csv, tmp_path, monkeypatch,
                                             capsys):
    status, output = run_main(["forecast", "--model", str(small_run.run_dir), "--data-path",
                               str(real_csv)], monkeypatch, tmp_path, capsys)
    assert status == 2
    assert "forecasts need a run of train --data sp500 --task predict" in output.err


def test_help_lists_sp500_options(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--price-column", "--tickers", "--stride", "--plot-tickers", "--start",
                   "--end"):
        assert option in text, option
    assert "(default: high)" in text


def test_reconstruct_price_metrics_and_figures(real_csv, tmp_path):
    from keras_lstm_ae import TrainConfig
    from keras_lstm_ae.data import load_data
    from keras_lstm_ae.evaluation import compute_test_metrics
    from keras_lstm_ae.figures import write_run_figures
    from keras_lstm_ae.training import build_and_compile

    config = TrainConfig(data="sp500", task="reconstruct", data_path=str(real_csv),
                         tickers=TICKERS.split(","), hidden_size=4, max_sequences=12).resolved()
    data = load_data(config)
    model = build_and_compile(config, data)
    metrics = compute_test_metrics(model, data, config.task)
    assert math.isfinite(metrics["test_reconstruction_mse_price"])
    assert metrics["test_loss_price"] == metrics["test_reconstruction_mse_price"]
    assert "baseline_prediction_mse" not in metrics

    rows = [{"epoch": 1, "loss": 0.5}]
    written = write_run_figures(config, data, model, rows, tmp_path / "figures")
    names = sorted(path.name for path in written)
    assert "test_stocks_prices.png" in names
    assert "prices.png" in names
    assert "prediction_loss.png" not in names
