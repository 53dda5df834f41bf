"""Train, tune and export LSTM autoencoders with Keras on TensorFlow.

The public API, importable without loading TensorFlow until a function runs:

- `TrainConfig`, `train`: train a model and write a run folder.
- `tune`: grid-search hyperparameters with Keras Tuner.
- `evaluate`: recompute the test metrics of a run folder.
- `build_model`: the Keras functional LSTM autoencoder.
- `export_saved_model`: write a TensorFlow SavedModel.
- `load`: load an exported SavedModel, with one method per signature.
- `resume`: continue an interrupted training run.
- `load_data`: load and split a data set.
- `UsageError`: raised for invalid options and malformed input.
"""

import importlib

from keras_lstm_ae.config import TrainConfig
from keras_lstm_ae.errors import UsageError

__version__ = "0.1.0"

# Public names loaded on first use, so that `import keras_lstm_ae` and the
# command line's --help stay fast: these modules import TensorFlow.
_LAZY = {
    "train": "keras_lstm_ae.training",
    "resume": "keras_lstm_ae.training",
    "load": "keras_lstm_ae.loading",
    "TrainResult": "keras_lstm_ae.training",
    "evaluate": "keras_lstm_ae.evaluation",
    "build_model": "keras_lstm_ae.model",
    "export_saved_model": "keras_lstm_ae.export",
    "load_data": "keras_lstm_ae.data",
    "tune": "keras_lstm_ae.tuning",
}

__all__ = ["TrainConfig", "UsageError", "__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'keras_lstm_ae' has no attribute {name!r}")
