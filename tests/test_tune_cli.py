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


def start_cli(args, cwd: Path, name: str, environ=None) -> subprocess.Popen:
    """Start `python -m keras_lstm_ae ARGS`, writing its output to `cwd/NAME.out` and `.err`.

    Files instead of pipes, so that a process that writes much while another
    is awaited cannot block on a full pipe.
    """
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(environ or {})}
    with open(cwd / f"{name}.out", "w") as stdout, open(cwd / f"{name}.err", "w") as stderr:
        return subprocess.Popen([sys.executable, "-m", "keras_lstm_ae", *args], cwd=cwd,
                                env=environment, stdout=stdout, stderr=stderr)


def output(cwd: Path, name: str) -> tuple[str, str]:
    """Return what a process started by `start_cli` wrote: stdout and stderr."""
    return (cwd / f"{name}.out").read_text(), (cwd / f"{name}.err").read_text()


def stop_all(processes) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def ended_trials(state_dir: Path) -> list[str]:
    """Return the ids of the trials whose end the oracle has recorded in oracle.json."""
    path = state_dir / "oracle.json"
    if not path.is_file():
        return []
    return sorted(json.loads(path.read_text())["end_order"])


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

    process = start_cli(args, tmp_path, "first")
    try:
        deadline = time.monotonic() + 120
        while not ended_trials(state_dir) and process.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        stop_all([process])
    finished_first = ended_trials(state_dir)
    assert 1 <= len(finished_first) < 3, output(tmp_path, "first")[1][-2000:]
    first_logs = {trial_id: (state_dir / f"trial_{trial_id}" / "history.csv").stat().st_mtime_ns
                  for trial_id in finished_first}

    completed = run_cli(*args, cwd=tmp_path, timeout=180)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert f"trials trained by this run: {3 - len(finished_first)}" in completed.stdout
    for trial_id, mtime in first_logs.items():
        assert (state_dir / f"trial_{trial_id}" / "history.csv").stat().st_mtime_ns == mtime
    oracle = json.loads((state_dir / "oracle.json").read_text())
    assert len(set(oracle["end_order"])) == 3
    assert len(oracle["end_order"]) == 3
    assert set(oracle["run_times"].values()) == {1}
    with open(state_dir / "results.csv", newline="") as stream:
        sizes = sorted(int(row["hidden_size"]) for row in csv.DictReader(stream))
    assert sizes == [4, 6, 8]


def test_tune_chief_and_two_workers_share_grid(tmp_path):
    write_grid(tmp_path / "grid.toml", [4, 5, 6, 8])
    args = ["tune", "--grid", "grid.toml", "--directory", "search", *TINY]
    address = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(free_port())}
    state_dir = tmp_path / "search"

    names = ["chief", "tuner0", "tuner1"]
    processes = [start_cli(args, tmp_path, "chief", {**address, "KERASTUNER_TUNER_ID": "chief"})]
    try:
        # The chief writes search.json before it starts the oracle service.
        deadline = time.monotonic() + 90
        while not (state_dir / "search.json").is_file() and processes[0].poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        for worker in names[1:]:
            processes.append(start_cli(args, tmp_path, worker,
                                       {**address, "KERASTUNER_TUNER_ID": worker}))
        deadline = time.monotonic() + 150
        for process in processes:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        stop_all(processes)

    outputs = [output(tmp_path, name) for name in names]
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-2000:]
    trained = [int(stdout.split("worker finished: ")[1].split()[0]) for stdout, _ in outputs[1:]]
    assert sum(trained) == 4
    oracle = json.loads((state_dir / "oracle.json").read_text())
    assert len(set(oracle["end_order"])) == 4
    assert len(oracle["end_order"]) == 4
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
