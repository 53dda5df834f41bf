"""Signatures of exported SavedModels, checked with plain TensorFlow and other tools."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO_ROOT

import keras_lstm_ae
from keras_lstm_ae.data import synthetic
from keras_lstm_ae.export import export_saved_model

# Runs one signature in a fresh interpreter that never imports keras_lstm_ae.
RUN_SIGNATURE_SCRIPT = """
import sys
import numpy as np
import tensorflow as tf

path, signature_name, inputs_file, outputs_file = sys.argv[1:5]
signature = tf.saved_model.load(path).signatures[signature_name]
inputs = {name: tf.constant(value) for name, value in np.load(inputs_file).items()}
outputs = signature(**inputs)
np.savez(outputs_file, **{name: value.numpy() for name, value in outputs.items()})
assert "keras_lstm_ae" not in sys.modules
"""


def run_signature(tmp_path, export_dir, signature_name, **inputs):
    script = tmp_path / "run_signature.py"
    script.write_text(RUN_SIGNATURE_SCRIPT)
    np.savez(tmp_path / "inputs.npz", **inputs)
    completed = subprocess.run(
        [sys.executable, str(script), str(export_dir), signature_name,
         str(tmp_path / "inputs.npz"), str(tmp_path / "outputs.npz")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return dict(np.load(tmp_path / "outputs.npz"))


@pytest.fixture(scope="module")
def predict_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    config = keras_lstm_ae.TrainConfig(
        data="synthetic", task="predict", num_sequences=200, seq_len=12, hidden_size=8,
        epochs=1, verbose=0, output_dir=str(root / "run"), export_dir=str(root / "export"),
    )
    return keras_lstm_ae.train(config)


@pytest.fixture(scope="module")
def mnist_classifier_export(tmp_path_factory):
    """An untrained MNIST row-mode classifier: the signatures do not depend on training."""
    import keras

    keras.utils.set_random_seed(3)
    model = keras_lstm_ae.build_model(seq_len=28, input_size=28, hidden_size=8, num_classes=10)
    export_dir = tmp_path_factory.mktemp("mnist") / "export"
    export_saved_model(model, export_dir,
                       {"task": "classify", "data": "mnist", "mnist_mode": "row"})
    return model, export_dir


def test_reconstruct_signatures_in_plain_tensorflow(small_run, tmp_path):
    sequences = synthetic.make_signals(5, 20, seed=21)
    model = small_run.model

    served = run_signature(tmp_path, small_run.export_dir, "reconstruct", sequences=sequences)
    expected = np.asarray(model.predict(sequences, verbose=0)["reconstruction"])
    np.testing.assert_allclose(served["reconstruction"], expected, atol=1e-5)

    encoded = run_signature(tmp_path, small_run.export_dir, "encode", sequences=sequences)
    context = np.asarray(model.get_layer("encoder")(sequences))
    assert encoded["context"].shape == (5, 16)
    np.testing.assert_allclose(encoded["context"], context, atol=1e-5)


def test_batch_dimension_is_dynamic(small_run, tmp_path):
    for batch in (1, 9):
        sequences = synthetic.make_signals(batch, 20, seed=batch)
        served = run_signature(tmp_path, small_run.export_dir, "serving_default",
                               sequences=sequences)
        assert served["reconstruction"].shape == (batch, 20, 1)


def test_predict_next_signature(predict_run, tmp_path):
    sequences = synthetic.make_signals(4, 11, seed=22)
    served = run_signature(tmp_path, predict_run.export_dir, "predict_next", sequences=sequences)
    expected = np.asarray(predict_run.model.predict(sequences, verbose=0)["prediction"])
    np.testing.assert_allclose(served["prediction"], expected, atol=1e-5)
    np.testing.assert_allclose(served["next_value"], expected[:, -1, :], atol=1e-5)


def test_classify_images_takes_raw_uint8(mnist_classifier_export, tmp_path, test_data_dir):
    model, export_dir = mnist_classifier_export
    with np.load(test_data_dir / "mnist.npz", allow_pickle=False) as mnist:
        images = mnist["x_test"][:6]

    served = run_signature(tmp_path, export_dir, "classify_images", images=images)
    logits = np.asarray(model(images.astype("float32") / 255.0)["classification"])
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(served["probabilities"], probabilities, atol=1e-5)
    np.testing.assert_array_equal(served["label"], probabilities.argmax(axis=1))

    reconstructed = run_signature(tmp_path, export_dir, "reconstruct_images", images=images)
    assert reconstructed["reconstruction"].shape == (6, 28, 28)
    assert reconstructed["reconstruction"].min() >= 0.0
    assert reconstructed["reconstruction"].max() <= 1.0


def test_metadata_lists_signatures(mnist_classifier_export, predict_run):
    _, export_dir = mnist_classifier_export
    metadata = json.loads((export_dir / "assets" / "keras_lstm_ae.json").read_text())
    assert set(metadata["signatures"]) == {"serving_default", "encode", "reconstruct", "classify",
                                           "classify_images", "reconstruct_images"}
    assert metadata["signatures"]["classify_images"]["inputs"] == {
        "images": {"dtype": "uint8", "shape": [None, 28, 28]}}
    assert metadata["signatures"]["classify"]["outputs"]["label"]["dtype"] == "int64"

    predict_metadata = json.loads(
        (predict_run.export_dir / "assets" / "keras_lstm_ae.json").read_text())
    assert "predict_next" in predict_metadata["signatures"]
    assert predict_metadata["task"] == "predict"


def test_load_returns_typed_methods(mnist_classifier_export, small_run):
    _, export_dir = mnist_classifier_export
    loaded = keras_lstm_ae.load(export_dir)
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    probabilities, labels = loaded.classify_images(images)
    assert probabilities.shape == (2, 10)
    assert labels.shape == (2,)
    assert loaded.encode(np.zeros((2, 28, 28), dtype=np.float32)).shape == (2, 8)

    reconstructor = keras_lstm_ae.load(small_run.export_dir)
    with pytest.raises(ValueError, match="has no 'classify' signature"):
        reconstructor.classify(np.zeros((1, 20, 1), dtype=np.float32))


def saved_model_cli():
    path = Path(sys.executable).parent / "saved_model_cli"
    if not path.exists():
        pytest.skip("saved_model_cli is not installed beside this Python")
    return str(path)


@pytest.fixture(scope="module")
def mnist_classify_run(tmp_path_factory, test_data_dir):
    root = tmp_path_factory.mktemp("mnist_classify")
    config = keras_lstm_ae.TrainConfig(
        data="mnist", task="classify", data_path=str(test_data_dir / "mnist.npz"),
        max_sequences=256, hidden_size=8, epochs=1, verbose=0,
        output_dir=str(root / "run"), export_dir=str(root / "export"),
    )
    return keras_lstm_ae.train(config)


# One model per task: (fixture, signature, output checked, input shape without batch).
REFERENCE_MODELS = {
    "synthetic-reconstruct": ("small_run", "reconstruct", "reconstruction", (20, 1)),
    "mnist-classify": ("mnist_classify_run", "classify", "probabilities", (28, 28)),
    "sp500-predict": ("sp500_predict_run", "predict_next", "prediction", (19, 1)),
}


def reference_model(request, name):
    fixture, signature, output, shape = REFERENCE_MODELS[name]
    run = request.getfixturevalue(fixture)
    inputs = np.random.default_rng(5).random((3, *shape)).astype(np.float32)
    return run, signature, output, inputs


def keras_signature_output(run, signature, output, inputs):
    outputs = run.model.predict(inputs, verbose=0)
    if signature == "classify":
        logits = np.asarray(outputs["classification"])
        return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return np.asarray(outputs[output])


@pytest.mark.parametrize("name", REFERENCE_MODELS)
def test_saved_model_cli_show_and_run(name, request, tmp_path):
    run, signature, output, inputs = reference_model(request, name)
    listing = subprocess.run([saved_model_cli(), "show", "--dir", str(run.export_dir), "--all"],
                           capture_output=True, text=True, timeout=300)
    assert listing.returncode == 0, listing.stderr[-2000:]
    for expected in ("serving_default", "encode", "reconstruct", signature):
        assert f"signature_def['{expected}']" in listing.stdout

    np.save(tmp_path / "sequences.npy", inputs)
    ran = subprocess.run(
        [saved_model_cli(), "run", "--dir", str(run.export_dir), "--tag_set", "serve",
         "--signature_def", signature, "--inputs", f"sequences={tmp_path / 'sequences.npy'}",
         "--outdir", str(tmp_path / "cli_out")],
        capture_output=True, text=True, timeout=300,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    result = np.load(tmp_path / "cli_out" / f"{output}.npy")
    np.testing.assert_allclose(result, keras_signature_output(run, signature, output, inputs),
                               atol=1e-5)


@pytest.mark.parametrize("name", REFERENCE_MODELS)
def test_tfsmlayer_wraps_saved_model(name, request):
    import keras

    run, signature, output, inputs = reference_model(request, name)
    layer = keras.layers.TFSMLayer(str(run.export_dir), call_endpoint=signature)
    sequences = keras.Input(shape=inputs.shape[1:])
    wrapper = keras.Model(sequences, layer(sequences))
    np.testing.assert_allclose(wrapper.predict(inputs, verbose=0)[output],
                               keras_signature_output(run, signature, output, inputs),
                               atol=1e-5)


@pytest.mark.parametrize("name", REFERENCE_MODELS)
def test_onnx_conversion_matches(name, request, tmp_path):
    pytest.importorskip("tf2onnx", reason="the onnx extra is not installed")
    onnxruntime = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    run, signature, output, inputs = reference_model(request, name)
    converted = subprocess.run(
        [sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(run.export_dir),
         "--signature_def", signature, "--output", str(tmp_path / "model.onnx")],
        capture_output=True, text=True, timeout=300,
    )
    assert converted.returncode == 0, converted.stderr[-2000:]

    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"),
                                           providers=["CPUExecutionProvider"])
    (result,) = session.run([output], {"sequences": inputs})
    np.testing.assert_allclose(result, keras_signature_output(run, signature, output, inputs),
                               atol=1e-4)


KILLED_EXPORT_SCRIPT = """
import sys
import keras_lstm_ae
from keras_lstm_ae.export import export_saved_model

model = keras_lstm_ae.build_model(seq_len=50, input_size=1, hidden_size=256)
print("built", flush=True)
export_saved_model(model, sys.argv[1])
"""


def test_killed_export_leaves_no_model(tmp_path):
    script = tmp_path / "export.py"
    script.write_text(KILLED_EXPORT_SCRIPT)
    destination = tmp_path / "exported" / "model"
    staging = tmp_path / "exported" / ".model.partial"
    process = subprocess.Popen([sys.executable, str(script), str(destination)],
                               env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while not staging.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)

    assert not destination.exists()
    shutil.rmtree(staging, ignore_errors=True)


def test_export_replaces_only_with_overwrite(small_run, tmp_path):
    destination = tmp_path / "copy"
    shutil.copytree(small_run.export_dir, destination)
    with pytest.raises(keras_lstm_ae.UsageError, match="--overwrite"):
        export_saved_model(small_run.model, destination, {"task": "reconstruct"})
    export_saved_model(small_run.model, destination, {"task": "reconstruct"}, overwrite=True)
    assert (destination / "saved_model.pb").is_file()


def test_export_command_accepts_keras_file(small_run, tmp_path):
    from conftest import run_cli

    completed = run_cli("export", "--model", str(small_run.run_dir / "model.keras"),
                        "--out", "from_file", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    metadata = json.loads((tmp_path / "from_file" / "assets" / "keras_lstm_ae.json").read_text())
    assert metadata["task"] == "reconstruct"


@pytest.fixture(scope="module")
def sp500_predict_run(tmp_path_factory, real_csv):
    root = tmp_path_factory.mktemp("sp500_predict")
    config = keras_lstm_ae.TrainConfig(
        data="sp500", task="predict", data_path=str(real_csv),
        tickers=["AAL", "AAPL", "ABBV", "ABC", "ABT", "ACN"], seq_len=20, hidden_size=8, epochs=1, verbose=0,
        output_dir=str(root / "run"), export_dir=str(root / "export"),
    )
    return keras_lstm_ae.train(config)


def test_price_signatures_match_package_preprocessing(sp500_predict_run, tmp_path):
    from keras_lstm_ae.data import load_data
    from keras_lstm_ae.normalizer import Normalizer

    config = keras_lstm_ae.TrainConfig.from_dict(
        json.loads((sp500_predict_run.run_dir / "config.json").read_text()))
    windows = load_data(config).windows["test"]
    prices = windows.prices[:5, :-1].astype(np.float32)  # days 1..T-1, as the model reads

    served = run_signature(tmp_path, sp500_predict_run.export_dir, "predict_next_prices",
                           prices=prices)

    normalizer = Normalizer.fit(prices)
    normalized = normalizer.transform(prices).astype(np.float32)
    prediction = np.asarray(sp500_predict_run.model.predict(normalized, verbose=0)["prediction"])
    expected = normalizer.inverse_transform(prediction)
    np.testing.assert_allclose(served["prediction"], expected, rtol=1e-5)
    np.testing.assert_allclose(served["next_value"], expected[:, -1, :], rtol=1e-5)

    reconstructed = run_signature(tmp_path, sp500_predict_run.export_dir, "reconstruct_prices",
                                  prices=prices)
    reconstruction = np.asarray(
        sp500_predict_run.model.predict(normalized, verbose=0)["reconstruction"])
    np.testing.assert_allclose(reconstructed["reconstruction"],
                               normalizer.inverse_transform(reconstruction), rtol=1e-5)


def test_price_signature_constant_prices_are_finite(sp500_predict_run):
    loaded = keras_lstm_ae.load(sp500_predict_run.export_dir)
    prediction, next_value = loaded.predict_next_prices(np.full((2, 19, 1), 42.0, np.float32))
    assert np.all(np.isfinite(prediction))
    assert np.all(np.isfinite(next_value))
    assert next_value.shape == (2, 1)


def test_evaluate_reads_moved_data(sp500_predict_run, tmp_path, real_csv):
    moved = tmp_path / "moved.csv"
    shutil.copy(real_csv, moved)
    metrics = keras_lstm_ae.evaluate(sp500_predict_run.run_dir, data_path=moved)
    assert metrics["test_loss"] == pytest.approx(sp500_predict_run.metrics["test_loss"],
                                                 rel=1e-5)
