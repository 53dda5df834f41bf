"""`load`: use an exported SavedModel from Python through typed methods.

Other programs need only TensorFlow (`tf.saved_model.load`); this wrapper is
for Python users who have the package and want NumPy in, NumPy out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_lstm_ae.errors import UsageError
from keras_lstm_ae.export import read_metadata


class ExportedModel:
    """A loaded keras-lstm-ae SavedModel, one method per signature.

    Attributes:
        path: The SavedModel folder.
        metadata: The metadata asset: task, shapes, signatures, versions.
        signature_names: The signatures this model has.
    """

    def __init__(self, path):
        import tensorflow as tf

        self.path = Path(path)
        if not (self.path / "saved_model.pb").is_file():
            raise UsageError(f"{self.path} contains no saved_model.pb; pass a SavedModel folder.")
        self.metadata = read_metadata(self.path)
        self._loaded = tf.saved_model.load(str(self.path))
        self.signature_names = sorted(self._loaded.signatures.keys())

    def _call(self, signature: str, **inputs) -> dict:
        import tensorflow as tf

        if signature not in self._loaded.signatures:
            raise ValueError(f"{self.path} has no {signature!r} signature; it has "
                             f"{', '.join(self.signature_names)}.")
        function = self._loaded.signatures[signature]
        tensors = {}
        for name, value in inputs.items():
            dtype = function.structured_input_signature[1][name].dtype
            tensors[name] = tf.convert_to_tensor(np.asarray(value), dtype=dtype)
        return {name: value.numpy() for name, value in function(**tensors).items()}

    def outputs(self, sequences) -> dict:
        """Run `serving_default`: every output, by name, for float32 `(batch, time, features)`."""
        return self._call("serving_default", sequences=sequences)

    def encode(self, sequences) -> np.ndarray:
        """Return the context vectors z, shape `(batch, hidden)`."""
        return self._call("encode", sequences=sequences)["context"]

    def reconstruct(self, sequences) -> np.ndarray:
        """Return the reconstruction, shape `(batch, time, features)`."""
        return self._call("reconstruct", sequences=sequences)["reconstruction"]

    def classify(self, sequences) -> tuple[np.ndarray, np.ndarray]:
        """Return class probabilities `(batch, classes)` and labels `(batch,)`."""
        result = self._call("classify", sequences=sequences)
        return result["probabilities"], result["label"]

    def predict_next(self, sequences) -> tuple[np.ndarray, np.ndarray]:
        """Return the shifted prediction x̂(2..T) `(batch, time, features)` and the
        next-step forecast x̂(T) `(batch, features)`, for inputs x(1..T-1)."""
        result = self._call("predict_next", sequences=sequences)
        return result["prediction"], result["next_value"]

    def reconstruct_images(self, images) -> np.ndarray:
        """Return reconstructed MNIST images in [0, 1], `(batch, 28, 28)`, from uint8 images."""
        return self._call("reconstruct_images", images=images)["reconstruction"]

    def reconstruct_prices(self, prices) -> np.ndarray:
        """Return the reconstruction in prices, `(batch, time, 1)`, of raw price sequences."""
        return self._call("reconstruct_prices", prices=prices)["reconstruction"]

    def predict_next_prices(self, prices) -> tuple[np.ndarray, np.ndarray]:
        """Return the prediction of days 2..T and the next-day price `(batch, 1)`, in prices,
        from raw prices of days 1..T-1."""
        result = self._call("predict_next_prices", prices=prices)
        return result["prediction"], result["next_value"]

    def classify_images(self, images) -> tuple[np.ndarray, np.ndarray]:
        """Return class probabilities and labels for uint8 MNIST images `(batch, 28, 28)`."""
        result = self._call("classify_images", images=images)
        return result["probabilities"], result["label"]


def load(path) -> ExportedModel:
    """Load a SavedModel exported by keras-lstm-ae.

    Example:
        >>> model = keras_lstm_ae.load("exported_models/RUN_NAME")
        >>> model.reconstruct(batch)  # batch: float32 (batch, time, features)
    """
    return ExportedModel(path)
