"""Grid search through the Python API, and `train --hparams` reading its winner."""

import csv
import json

import pytest

from keras_lstm_ae import TrainConfig, UsageError, cli, hparams
from keras_lstm_ae.tuning import check_state_dir, distributed_role, tune

GRID = "[hyperparameters]\nlearning_rate = [0.01]\nhidden_size = [4, 8]\n"
SMALL = dict(epochs=2, validate_every=1, num_sequences=100, seq_len=8, max_sequences=64,
             verbose=0)


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    """A finished 2-point search in `<root>/tuner/synthetic-reconstruct`."""
    root = tmp_path_factory.mktemp("search")
    grid_path = root / "grid.toml"
    grid_path.write_text(GRID)
    state_dir = root / "tuner" / "synthetic-reconstruct"
    result = tune(TrainConfig(**SMALL), grid_path=grid_path, directory=state_dir)
    return root, grid_path, result


def test_tune_runs_every_grid_point(search):
    _, _, result = search
    assert sorted(row["hidden_size"] for row in result.rows) == [4, 8]
    assert result.trials_run == 2


def test_tune_results_rank_best_first(search):
    _, _, result = search
    losses = [row["best_val_loss"] for row in result.rows]
    assert losses == sorted(losses)
    assert result.best == result.rows[0]


def test_tune_best_epoch_is_validated_epoch(search):
    _, _, result = search
    assert all(row["best_epoch"] in (1, 2) for row in result.rows)


def test_tune_writes_result_files(search):
    _, _, result = search
    for name in ("results.csv", "results.json", "best_hparams.json", "figures/val_loss.png",
                 "search.json"):
        assert (result.state_dir / name).is_file(), name


def test_tune_results_csv_has_row_per_trial(search):
    _, _, result = search
    with open(result.state_dir / "results.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 2
    assert set(rows[0]) == {"trial_id", "learning_rate", "hidden_size", "best_val_loss",
                            "best_epoch", "train_seconds", "status"}


def test_tune_best_hparams_match_best_row(search):
    _, _, result = search
    document = json.loads((result.state_dir / "best_hparams.json").read_text())
    assert document["hyperparameters"] == {"learning_rate": 0.01,
                                           "hidden_size": result.best["hidden_size"]}
    assert document["val_loss"] == pytest.approx(result.best["best_val_loss"])


def test_tune_writes_tensorboard_hparams(search):
    _, _, result = search
    event_files = list((result.state_dir / "logs").rglob("events.out.tfevents.*"))
    assert event_files
    assert any(b"hparams" in path.read_bytes() for path in event_files)


def test_tune_again_trains_nothing(search):
    _, grid_path, result = search
    again = tune(TrainConfig(**SMALL), grid_path=grid_path, directory=result.state_dir)
    assert again.trials_run == 0
    assert [row["trial_id"] for row in again.rows] == [row["trial_id"] for row in result.rows]


def test_tune_rejects_changed_settings(search):
    _, grid_path, result = search
    before = sorted(path.name for path in result.state_dir.iterdir())
    changed = TrainConfig(**{**SMALL, "epochs": 3})
    with pytest.raises(UsageError, match="used epochs 2, not 3"):
        tune(changed, grid_path=grid_path, directory=result.state_dir)
    assert sorted(path.name for path in result.state_dir.iterdir()) == before


def test_tune_overwrite_starts_again(tmp_path):
    grid_path = tmp_path / "grid.toml"
    grid_path.write_text("[hyperparameters]\nhidden_size = [4]\n")
    config = TrainConfig(**{**SMALL, "epochs": 1})
    first = tune(config, grid_path=grid_path, directory=tmp_path / "search")
    marker = first.state_dir / f"trial_{first.rows[0]['trial_id']}" / "marker.txt"
    marker.write_text("from the first search")
    again = tune(config, grid_path=grid_path, directory=tmp_path / "search", overwrite=True)
    assert again.trials_run == 1
    assert not marker.exists()


def test_state_dir_with_other_files_rejected(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(UsageError, match="contains files but no search"):
        check_state_dir(tmp_path, {}, overwrite=True)
    assert (tmp_path / "notes.txt").is_file()


def test_distributed_role_needs_port_and_id():
    with pytest.raises(UsageError, match="KERASTUNER_ORACLE_PORT is not"):
        distributed_role({"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_TUNER_ID": "chief"})


def test_distributed_role_from_tuner_id():
    environ = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": "8000"}
    assert distributed_role({**environ, "KERASTUNER_TUNER_ID": "chief"}) == "chief"
    assert distributed_role({**environ, "KERASTUNER_TUNER_ID": "tuner1"}) == "worker"
    assert distributed_role({}) == "single"


def test_hparams_apply_keeps_explicit_options():
    document = {"hyperparameters": {"hidden_size": 8, "learning_rate": 0.01}}
    config = hparams.apply(TrainConfig(hidden_size=5), document, explicit={"hidden_size"})
    assert config.hidden_size == 5
    assert config.learning_rate == 0.01


def test_hparams_resolve_path_accepts_folder(tmp_path):
    assert hparams.resolve_path(str(tmp_path), "synthetic", "reconstruct") == \
        tmp_path / "best_hparams.json"
    assert str(hparams.resolve_path("best", "mnist", "classify")) == \
        "tuner/mnist-classify/best_hparams.json"


def test_hparams_load_rejects_invalid_value(tmp_path):
    path = tmp_path / "best_hparams.json"
    path.write_text(json.dumps({"hyperparameters": {"hidden_size": -3}}))
    with pytest.raises(UsageError, match="hidden_size must be a positive whole number"):
        hparams.load(path, str(path))


def test_train_hparams_best_uses_winner(search, monkeypatch, capsys):
    root, _, result = search
    monkeypatch.chdir(root)
    status = cli.main(["train", "--hparams", "best", "--learning-rate", "0.002",
                       "--epochs", "1", "--num-sequences", "100", "--seq-len", "8",
                       "--verbose", "0", "--no-export", "--output-dir", "run"])
    assert status == 0, capsys.readouterr().err
    config = json.loads((root / "run" / "config.json").read_text())
    assert config["hidden_size"] == result.best["hidden_size"]
    assert config["learning_rate"] == 0.002
