import csv
import json
import math

import numpy as np

from keras_lstm_ae import TrainConfig, evaluate, train
from keras_lstm_ae.training import validation_epochs


def test_validation_epochs_includes_last():
    assert validation_epochs(12, 5) == [5, 10, 12]
    assert validation_epochs(10, 5) == [5, 10]
    assert validation_epochs(3, 5) == [3]


def test_training_lowers_loss(tmp_path):
    config = TrainConfig(num_sequences=300, seq_len=10, hidden_size=16, epochs=15,
                         learning_rate=0.01, validate_every=5, export=False, verbose=0,
                         output_dir=str(tmp_path / "run"))
    result = train(config)
    losses = [row["loss"] for row in result.history]
    assert len(losses) == 15
    assert losses[-1] < 0.5 * losses[0]


def test_run_folder_contents(small_run):
    run_dir = small_run.run_dir
    for name in ("config.json", "model.keras", "history.csv", "metrics.json",
                 "figures/example_signals.png", "figures/loss.png",
                 "figures/reconstructions.png"):
        assert (run_dir / name).is_file(), name
    assert any((run_dir / "logs").rglob("events.out.tfevents.*"))
    assert not list(run_dir.parent.glob(".*partial"))


def test_config_records_every_option(small_run):
    config = json.loads((small_run.run_dir / "config.json").read_text())
    assert config["hidden_size"] == 16
    assert config["learning_rate"] == 0.001
    assert config["clip_norm"] == 1.0
    assert config["output_dir"] == str(small_run.run_dir)
    assert set(TrainConfig().to_dict()) <= set(config)


def test_history_has_validation_on_chosen_epochs(small_run):
    with open(small_run.run_dir / "history.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    assert rows[0]["val_loss"] == ""
    assert float(rows[1]["val_loss"]) > 0
    assert float(rows[2]["val_loss"]) > 0


def test_metrics_hold_test_loss(small_run):
    metrics = json.loads((small_run.run_dir / "metrics.json").read_text())
    assert math.isfinite(metrics["test_loss"])
    assert metrics["test_loss"] > 0
    assert metrics["epochs"] == 3


def test_evaluate_reproduces_test_loss(small_run):
    metrics = evaluate(small_run.run_dir)
    assert np.isclose(metrics["test_loss"], small_run.metrics["test_loss"], rtol=1e-5)


def test_same_seed_same_history(tmp_path):
    def run(name):
        config = TrainConfig(num_sequences=100, seq_len=8, hidden_size=8, epochs=2, seed=7,
                             export=False, verbose=0, output_dir=str(tmp_path / name))
        return [row["loss"] for row in train(config).history]

    assert run("first") == run("second")
