"""Short row-mode MNIST runs of both tasks on a subset of the real data set."""

import json
import math

import numpy as np
import pytest

from keras_lstm_ae import TrainConfig, evaluate, train

SUBSET = 256


@pytest.fixture(scope="session")
def classify_run(test_data_dir, tmp_path_factory):
    """A row-mode classification run of one epoch on 256 images per split, exported."""
    root = tmp_path_factory.mktemp("mnist_classify")
    config = TrainConfig(data="mnist", task="classify", data_path=str(test_data_dir / "mnist.npz"),
                         hidden_size=16, epochs=1, max_sequences=SUBSET, verbose=0,
                         output_dir=str(root / "run"), export_dir=str(root / "export"))
    return train(config)


@pytest.fixture(scope="session")
def reconstruct_run(test_data_dir, tmp_path_factory):
    """A row-mode reconstruction run of one epoch on 256 images per split."""
    root = tmp_path_factory.mktemp("mnist_reconstruct")
    config = TrainConfig(data="mnist", task="reconstruct",
                         data_path=str(test_data_dir / "mnist.npz"), hidden_size=16, epochs=1,
                         max_sequences=SUBSET, export=False, verbose=0,
                         output_dir=str(root / "run"))
    return train(config)


def test_classify_metrics_file(classify_run):
    metrics = json.loads((classify_run.run_dir / "metrics.json").read_text())
    for name in ("test_loss", "test_accuracy", "test_reconstruction_mse"):
        assert math.isfinite(metrics[name]), name
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert metrics["test_accuracy"] == metrics["test_classification_accuracy"]


def test_classify_loss_is_mean_of_two(classify_run):
    metrics = classify_run.metrics
    mean = (metrics["test_reconstruction_loss"] + metrics["test_classification_loss"]) / 2
    assert metrics["test_loss"] == pytest.approx(mean, rel=1e-4)


def test_classify_figures(classify_run):
    figures = classify_run.run_dir / "figures"
    for name in ("reconstructions.png", "loss.png", "accuracy.png"):
        assert (figures / name).is_file(), name


def test_classify_history_has_accuracy(classify_run):
    row = classify_run.history[-1]
    assert "val_classification_accuracy" in row
    assert "val_loss" in row


def test_classify_saved_model_has_both_outputs(classify_run, test_data_dir):
    import tensorflow as tf

    with np.load(test_data_dir / "mnist.npz", allow_pickle=False) as archive:
        images = archive["x_test"][:5].astype(np.float32) / 255.0
    serve = tf.saved_model.load(str(classify_run.export_dir)).signatures["serving_default"]
    outputs = serve(sequences=tf.constant(images))
    assert outputs["reconstruction"].shape == (5, 28, 28)
    assert outputs["classification"].shape == (5, 10)
    expected = classify_run.model.predict(images, verbose=0)
    np.testing.assert_allclose(outputs["classification"].numpy(), expected["classification"],
                               atol=1e-5)


def test_classify_evaluate_reproduces_accuracy(classify_run):
    metrics = evaluate(classify_run.run_dir)
    assert metrics["test_accuracy"] == pytest.approx(classify_run.metrics["test_accuracy"])
    assert metrics["test_loss"] == pytest.approx(classify_run.metrics["test_loss"], rel=1e-5)


def test_reconstruct_metrics_file(reconstruct_run):
    metrics = json.loads((reconstruct_run.run_dir / "metrics.json").read_text())
    assert metrics["test_loss"] == pytest.approx(metrics["test_mse"], rel=1e-5)
    assert "test_accuracy" not in metrics


def test_reconstruct_figures(reconstruct_run):
    figures = reconstruct_run.run_dir / "figures"
    assert (figures / "reconstructions.png").is_file()
    assert (figures / "loss.png").is_file()
    assert not (figures / "accuracy.png").exists()
