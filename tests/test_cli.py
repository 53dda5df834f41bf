import json
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, run_cli


@pytest.mark.parametrize(
    "args, expected",
    [
        (["train", "--epochs", "0"], "--epochs must be a positive whole number, got 0"),
        (["train", "--epochs", "-3"], "--epochs must be a positive whole number, got -3"),
        (["train", "--hidden-size", "0"], "--hidden-size must be a positive whole number"),
        (["train", "--batch-size", "0"], "--batch-size must be a positive whole number"),
        (["train", "--validate-every", "0"], "--validate-every must be a positive whole number"),
        (["train", "--num-sequences", "0"], "--num-sequences must be a positive whole number"),
        (["train", "--num-sequences", "4"], "--num-sequences must be at least 5"),
        (["train", "--learning-rate", "0"], "--learning-rate must be a number greater than 0"),
        (["train", "--learning-rate", "-0.1"], "--learning-rate must be a number greater than 0"),
        (["train", "--learning-rate", "nan"], "--learning-rate must be a number greater than 0"),
        (["train", "--clip-norm", "-1"], "--clip-norm must be 0 (no clipping) or a positive"),
        (["train", "--seq-len", "1"], "--seq-len must be a whole number of at least 2"),
        (["train", "--data", "imagenet"], "argument --data: invalid choice: 'imagenet'"),
        (["train", "--task", "dance"], "argument --task: invalid choice: 'dance'"),
        (["train", "--task", "classify", "--data", "synthetic"],
         "--task classify is not available for --data synthetic"),
        (["train", "--epochs", "ten"], "argument --epochs: invalid int value: 'ten'"),
        (["train", "--bogus"], "unrecognized arguments: --bogus"),
        (["evaluate", "--model", "missing_run"], "--model missing_run is not a folder"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_invalid_option_exits_2_with_one_line(args, expected, tmp_path):
    completed = run_cli(*args, cwd=tmp_path, timeout=120)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert lines[-1].startswith("keras-lstm-ae: error: ")
    assert expected in lines[-1]
    assert "Traceback" not in completed.stderr
    assert list(tmp_path.iterdir()) == []


def test_existing_run_folder_rejected(small_run, tmp_path):
    before = sorted(path.name for path in small_run.run_dir.iterdir())
    completed = run_cli("train", "--epochs", "1", "--output-dir", str(small_run.run_dir),
                        cwd=tmp_path)
    assert completed.returncode == 2
    assert "already contains a run" in completed.stderr
    assert "--overwrite" in completed.stderr
    assert sorted(path.name for path in small_run.run_dir.iterdir()) == before
    assert list(tmp_path.iterdir()) == []


def test_existing_export_folder_rejected(small_run, tmp_path):
    completed = run_cli("train", "--epochs", "1", "--output-dir", str(tmp_path / "run"),
                        "--export-dir", str(small_run.export_dir), cwd=tmp_path)
    assert completed.returncode == 2
    assert "--export-dir" in completed.stderr
    assert list(tmp_path.iterdir()) == []


def test_help_lists_every_train_option_with_default(tmp_path):
    completed = run_cli("train", "--help", cwd=tmp_path)
    assert completed.returncode == 0
    text = " ".join(completed.stdout.split())
    for option in ("--data", "--task", "--hidden-size", "--learning-rate", "--clip-norm",
                   "--epochs", "--batch-size", "--validate-every", "--seed", "--num-sequences",
                   "--seq-len", "--data-path", "--output-dir", "--export-dir", "--no-export",
                   "--overwrite", "--verbose", "--no-fused-lstm", "--no-xla", "--no-flat-heads",
                   "--lstm-shards", "--keep-threads"):
        assert option in text, option
    assert "(default: 300)" in text
    assert "(default: 0.001)" in text


def test_help_does_not_import_tensorflow():
    code = ("import sys\n"
            "from keras_lstm_ae import cli\n"
            "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               cwd=REPO_ROOT, timeout=60)
    assert completed.stdout.strip().splitlines()[-1] == "False False"


def test_train_evaluate_export_end_to_end(tmp_path):
    completed = run_cli("train", "--epochs", "2", "--num-sequences", "100", "--seq-len", "10",
                        "--hidden-size", "8", "--verbose", "0", "--output-dir", "run",
                        cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "test loss:" in completed.stdout
    assert (tmp_path / "run" / "metrics.json").is_file()
    assert (tmp_path / "exported_models" / "run" / "saved_model.pb").is_file()

    evaluated = run_cli("evaluate", "--model", "run", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    metrics = json.loads(evaluated.stdout)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test_loss"] == pytest.approx(saved["test_loss"], rel=1e-5)

    exported = run_cli("export", "--model", "run", "--out", "again", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert (tmp_path / "again" / "saved_model.pb").is_file()

    rejected = run_cli("export", "--model", "run", "--out", "again", cwd=tmp_path)
    assert rejected.returncode == 2
    assert "--overwrite" in rejected.stderr
