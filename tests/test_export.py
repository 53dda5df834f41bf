import json
import subprocess
import sys

import numpy as np

from keras_lstm_ae.data import synthetic

# Runs in a fresh interpreter that imports TensorFlow only, never keras_lstm_ae.
PLAIN_TENSORFLOW_SCRIPT = """
import sys
import numpy as np
import tensorflow as tf

model = tf.saved_model.load(sys.argv[1])
signature = model.signatures["serving_default"]
inputs = np.load(sys.argv[2])
outputs = signature(sequences=tf.constant(inputs))
np.save(sys.argv[3], outputs["reconstruction"].numpy())
assert "keras_lstm_ae" not in sys.modules
"""


def test_saved_model_matches_keras_in_plain_tensorflow(small_run, tmp_path):
    inputs = synthetic.make_signals(num_sequences=7, seq_len=20, seed=11)
    np.save(tmp_path / "inputs.npy", inputs)
    script = tmp_path / "load.py"
    script.write_text(PLAIN_TENSORFLOW_SCRIPT)

    completed = subprocess.run(
        [sys.executable, str(script), str(small_run.export_dir), str(tmp_path / "inputs.npy"),
         str(tmp_path / "outputs.npy")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]

    served = np.load(tmp_path / "outputs.npy")
    expected = np.asarray(small_run.model.predict(inputs, verbose=0)["reconstruction"])
    assert served.shape == (7, 20, 1)
    np.testing.assert_allclose(served, expected, atol=1e-5)


def test_saved_model_metadata_asset(small_run):
    metadata = json.loads((small_run.export_dir / "assets" / "keras_lstm_ae.json").read_text())
    assert metadata["task"] == "reconstruct"
    assert metadata["sequence_length"] == 20
    assert metadata["input"]["shape"] == [None, 20, 1]
    assert metadata["outputs"] == {"reconstruction": [None, 20, 1]}
    assert metadata["hyperparameters"]["hidden_size"] == 16
    assert metadata["versions"]["tensorflow"]
    assert metadata["versions"]["keras_lstm_ae"]


def test_no_partial_export_left(small_run):
    assert not list(small_run.export_dir.parent.glob(".*partial"))
