"""Keras layers that train the autoencoder faster than the stock ones, with the same mathematics.

Importing this package registers the layers with Keras, so `.keras` files
that contain them load with `keras.saving.load_model`.
"""

from keras_lstm_ae.layers.fused_lstm import FusedLSTM
from keras_lstm_ae.layers.flat_time_distributed import FlatTimeDistributed

__all__ = ["FusedLSTM", "FlatTimeDistributed"]
