"""`keras-lstm-ae tune` as a user runs it: bad input, interruption, chief and workers."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO_ROOT, run_cli

TINY = ["--epochs", "1", "--num-sequences", "100", "--seq-len", "8", "--max-sequences", "64",
        "--verbose", "0"]


def write_grid(path: Path, hidden_sizes) -> Path:
    path.write_text("[hyperparameters]\nlearning_rate = [0.01]\n"
                    f"hidden_size = [{', '.join(str(size) for size in hidden_sizes)}]\n")
    return path


def start_cli(args, cwd: Path, environ=None) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(environ or {})}
    return subprocess.Popen([sys.executable, "-m", "keras_lstm_ae", *args], cwd=cwd,
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def stop_all(processes) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def completed_trials(state_dir: Path) -> list[str]:
    ids = []
    for path in state_dir.glob("trial_*/trial.json"):
        try:
            trial = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue  # being written
        if trial["status"] == "COMPLETED":
            ids.append(trial["trial_id"])
    return sorted(ids)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "grid_text, expected",
    [
        ("[hyperparameters]\ndropout = [0.1]\n", "unknown hyperparameter 'dropout'"),
        ("[hyperparameters]\n", "the grid is empty"),
        ("[hyperparameters]\nhidden_size = [0, 8]\n", "hidden_size must be a positive whole"),
        ("[hyperparameters\n", "is not valid TOML"),
    ],
)
def test_tune_bad_grid_exits_2_without_writing(grid_text, expected, tmp_path):
    (tmp_path / "grid.toml").write_text(grid_text)
    completed = run_cli("tune", "--grid", "grid.toml", cwd=tmp_path, timeout=120)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("keras-lstm-ae: error: --grid grid.toml")
    assert expected in lines[0]
    assert [path.name for path in tmp_path.iterdir()] == ["grid.toml"]


def test_tune_missing_grid_exits_2(tmp_path):
    completed = run_cli("tune", "--grid", "missing.toml", cwd=tmp_path, timeout=120)
    assert completed.returncode == 2
    assert "--grid missing.toml not found" in completed.stderr
    assert list(tmp_path.iterdir()) == []


def test_train_hparams_best_missing_exits_2(tmp_path):
    completed = run_cli("train", "--hparams", "best", cwd=tmp_path, timeout=120)
    assert completed.returncode == 2
    assert "tuner/synthetic-reconstruct/best_hparams.json not found" in completed.stderr
    assert list(tmp_path.iterdir()) == []


def test_tune_killed_resumes_remaining_trials(tmp_path):
    write_grid(tmp_path / "grid.toml", [4, 6, 8])
    args = ["tune", "--grid", "grid.toml", "--directory", "search", *TINY]
    state_dir = tmp_path / "search"

    process = start_cli(args, tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not completed_trials(state_dir) and process.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        stop_all([process])
    finished_first = completed_trials(state_dir)
    assert 1 <= len(finished_first) < 3, process.stderr.read()[-2000:]
    first_logs = {trial_id: (state_dir / f"trial_{trial_id}" / "history.csv").stat().st_mtime_ns
                  for trial_id in finished_first}

    completed = run_cli(*args, cwd=tmp_path, timeout=180)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert f"trials trained by this run: {3 - len(finished_first)}" in completed.stdout
    for trial_id, mtime in first_logs.items():
        assert (state_dir / f"trial_{trial_id}" / "history.csv").stat().st_mtime_ns == mtime
    oracle = json.loads((state_dir / "oracle.json").read_text())
    assert sorted(oracle["end_order"]) == ["0", "1", "2"]
    assert set(oracle["run_times"].values()) == {1}
    with open(state_dir / "results.csv", newline="") as stream:
        sizes = sorted(int(row["hidden_size"]) for row in csv.DictReader(stream))
    assert sizes == [4, 6, 8]


def test_tune_chief_and_two_workers_share_grid(tmp_path):
    write_grid(tmp_path / "grid.toml", [4, 5, 6, 8])
    args = ["tune", "--grid", "grid.toml", "--directory", "search", *TINY]
    address = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(free_port())}
    state_dir = tmp_path / "search"

    processes = [start_cli(args, tmp_path, {**address, "KERASTUNER_TUNER_ID": "chief"})]
    try:
        # The chief writes search.json before it starts the oracle service.
        deadline = time.monotonic() + 90
        while not (state_dir / "search.json").is_file() and processes[0].poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        for worker in ("tuner0", "tuner1"):
            processes.append(start_cli(args, tmp_path, {**address, "KERASTUNER_TUNER_ID": worker}))
        outputs = [process.communicate(timeout=150) for process in processes]
    finally:
        stop_all(processes)

    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-2000:]
    trained = [int(stdout.split("worker finished: ")[1].split()[0]) for stdout, _ in outputs[1:]]
    assert sum(trained) == 4
    oracle = json.loads((state_dir / "oracle.json").read_text())
    assert sorted(oracle["end_order"]) == ["0", "1", "2", "3"]
    assert set(oracle["run_times"].values()) == {1}
    with open(state_dir / "results.csv", newline="") as stream:
        sizes = sorted(int(row["hidden_size"]) for row in csv.DictReader(stream))
    assert sizes == [4, 5, 6, 8]


def test_tune_help_lists_options(tmp_path):
    completed = run_cli("tune", "--help", cwd=tmp_path, timeout=60)
    assert completed.returncode == 0
    text = " ".join(completed.stdout.split())
    for option in ("--data", "--task", "--grid", "--directory", "--overwrite", "--epochs",
                   "--validate-every", "--max-sequences"):
        assert option in text, option
    assert "(default: 300)" in text
