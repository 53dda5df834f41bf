"""`TimeDistributed` that applies its layer once to all time steps instead of once per step."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="keras_lstm_ae")
class FlatTimeDistributed(keras.layers.TimeDistributed):
    """A `keras.layers.TimeDistributed` that merges the batch and time axes.

    Keras 3's `TimeDistributed` calls its layer once per time step, so a
    50-step sequence adds 50 matrix products to the forward pass and more to
    the backward pass; in pixel-mode MNIST it adds 784. This layer reshapes
    `(batch, steps, features)` to `(batch * steps, features)`, calls the
    layer once and reshapes back. That is exact for layers that treat rows
    independently, such as `Dense`, and the weights and configuration are
    those of `TimeDistributed`.
    """

    def call(self, inputs, training=None, mask=None):
        if mask is not None:
            return super().call(inputs, training=training, mask=mask)
        shape = tf.shape(inputs)
        merged = tf.reshape(inputs, tf.concat([[-1], shape[2:]], axis=0))
        outputs = self.layer(merged, training=training)
        outputs_shape = tf.concat([shape[:2], tf.shape(outputs)[1:]], axis=0)
        result = tf.reshape(outputs, outputs_shape)
        result.set_shape(inputs.shape[:2].concatenate(outputs.shape[1:]))
        return result
