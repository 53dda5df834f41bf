"""The LSTM autoencoder, built with the Keras functional API.

Encoder LSTM -> context z (its last hidden state) -> `RepeatVector(T)` ->
decoder LSTM over the T copies of z -> one `TimeDistributed(Dense)` head per
sequence output. Every layer and output is named, and the model uses no
`Lambda` layer, so a saved `.keras` file loads in safe mode.
"""

from __future__ import annotations

from typing import Optional

from keras_lstm_ae import tasks

INPUT_NAME = "sequences"
ENCODER_NAME = "encoder"
CONTEXT_NAME = "repeat_context"
DECODER_NAME = "decoder"


def build_model(
    seq_len: int,
    input_size: int,
    hidden_size: int,
    output_size: Optional[int] = None,
    num_classes: Optional[int] = None,
    predict_next: bool = False,
    name: str = "lstm_autoencoder",
):
    """Build an LSTM autoencoder, like the reference `LSTM_AE(input_size, hidden_size, output_size, labels)`.

    Args:
        seq_len: Time steps T of the input.
        input_size: Features per time step.
        hidden_size: Units of the encoder and decoder LSTMs, and the size of z.
        output_size: Features per step of each sequence output. Defaults to
            `input_size`.
        num_classes: Adds a `classification` output of this many class scores
            (logits), computed from z. `None` adds no classifier.
        predict_next: Adds a `prediction` output, a second head on the decoder
            that learns the sequence shifted by one step.
        name: Model name.

    Returns:
        A `keras.Model` with input `sequences` of shape `(batch, seq_len,
        input_size)` and a dict of outputs: `reconstruction` of shape
        `(batch, seq_len, output_size)`, plus `classification` of shape
        `(batch, num_classes)` or `prediction` of shape `(batch, seq_len,
        output_size)` when requested.
    """
    import keras
    from keras import layers

    output_size = output_size or input_size

    inputs = keras.Input(shape=(seq_len, input_size), name=INPUT_NAME)
    context = layers.LSTM(hidden_size, name=ENCODER_NAME)(inputs)
    repeated = layers.RepeatVector(seq_len, name=CONTEXT_NAME)(context)
    decoded = layers.LSTM(hidden_size, return_sequences=True, name=DECODER_NAME)(repeated)

    outputs = {
        tasks.RECONSTRUCTION: layers.TimeDistributed(
            layers.Dense(output_size), name=tasks.RECONSTRUCTION
        )(decoded)
    }
    if predict_next:
        outputs[tasks.PREDICTION] = layers.TimeDistributed(
            layers.Dense(output_size), name=tasks.PREDICTION
        )(decoded)
    if num_classes:
        outputs[tasks.CLASSIFICATION] = layers.Dense(num_classes, name=tasks.CLASSIFICATION)(
            context
        )
    return keras.Model(inputs, outputs, name=name)


def build_for_task(task: str, seq_len: int, num_features: int, hidden_size: int,
                   num_classes: Optional[int] = None):
    """Build the model that a task trains on sequences of `seq_len` steps."""
    return build_model(
        seq_len=tasks.input_length(task, seq_len),
        input_size=num_features,
        hidden_size=hidden_size,
        num_classes=num_classes if task == "classify" else None,
        predict_next=task == "predict",
    )


def encoder_model(model):
    """Return a model that maps the autoencoder's input to its context z."""
    import keras

    return keras.Model(model.input, model.get_layer(ENCODER_NAME).output, name="encoder_only")
