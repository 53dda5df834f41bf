"""Shared fixtures: the data folder, a small trained run, and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Folder of the real data sets used by tests; override with KERAS_LSTM_AE_TEST_DATA.
TEST_DATA_DIR = Path(os.environ.get("KERAS_LSTM_AE_TEST_DATA", REPO_ROOT.parent / "shared" / "data"))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def test_data_dir() -> Path:
    if not TEST_DATA_DIR.is_dir():
        pytest.fail(f"test data folder {TEST_DATA_DIR} not found; set KERAS_LSTM_AE_TEST_DATA")
    return TEST_DATA_DIR


def run_cli(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `python -m keras_lstm_ae ARGS` in `cwd` and capture its output."""
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "keras_lstm_ae", *args],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(scope="session")
def real_csv(test_data_dir) -> Path:
    """The real S&P 500 CSV: 100 stocks, Kaggle layout."""
    return test_data_dir / "sp500" / "all_stocks_5yr_100.csv"


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """A synthetic reconstruction run of 400 sequences and 3 epochs, trained once per session."""
    from keras_lstm_ae import TrainConfig, train

    root = tmp_path_factory.mktemp("small_run")
    config = TrainConfig(
        num_sequences=400, seq_len=20, hidden_size=16, epochs=3, validate_every=2,
        output_dir=str(root / "runs" / "small"), export_dir=str(root / "exported" / "small"),
        verbose=0,
    )
    return train(config)
