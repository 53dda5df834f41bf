"""The LSTM autoencoder, built with the Keras functional API.

Encoder LSTM -> context z (its last hidden state) -> `RepeatVector(T)` ->
decoder LSTM over the T copies of z -> one `TimeDistributed(Dense)` head per
sequence output. Every layer and output is named, and the model uses no
`Lambda` layer, so a saved `.keras` file loads in safe mode.

By default the LSTMs are `FusedLSTM` and the heads `FlatTimeDistributed`
(see `keras_lstm_ae.layers`): subclasses of the stock layers with the same
weights and outputs that train faster on a CPU. `plain_copy` rebuilds a model
with the stock layers.
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
    fused_lstm: bool = True,
    flat_heads: bool = True,
    lstm_shards: int = 1,
    lstm_xla: bool = True,
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
        fused_lstm: Use `FusedLSTM` instead of `keras.layers.LSTM`.
        flat_heads: Use `FlatTimeDistributed` instead of
            `keras.layers.TimeDistributed` for the sequence heads.
        lstm_shards: Parts of the batch that each fused LSTM runs in
            parallel; see `FusedLSTM`.
        lstm_xla: Compile the fused LSTM loops with XLA.

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

    if fused_lstm:
        from keras_lstm_ae.layers import FusedLSTM

        def lstm(constant_input=False, **kwargs):
            return FusedLSTM(hidden_size, constant_input=constant_input, shards=lstm_shards,
                             xla=lstm_xla, **kwargs)
    else:
        def lstm(constant_input=False, **kwargs):
            return layers.LSTM(hidden_size, **kwargs)
    if flat_heads:
        from keras_lstm_ae.layers import FlatTimeDistributed as time_distributed
    else:
        time_distributed = layers.TimeDistributed

    inputs = keras.Input(shape=(seq_len, input_size), name=INPUT_NAME)
    context = lstm(name=ENCODER_NAME)(inputs)
    repeated = layers.RepeatVector(seq_len, name=CONTEXT_NAME)(context)
    decoded = lstm(constant_input=True, return_sequences=True, name=DECODER_NAME)(repeated)

    outputs = {
        tasks.RECONSTRUCTION: time_distributed(
            layers.Dense(output_size), name=tasks.RECONSTRUCTION
        )(decoded)
    }
    if predict_next:
        outputs[tasks.PREDICTION] = time_distributed(
            layers.Dense(output_size), name=tasks.PREDICTION
        )(decoded)
    if num_classes:
        outputs[tasks.CLASSIFICATION] = layers.Dense(num_classes, name=tasks.CLASSIFICATION)(
            context
        )
    return keras.Model(inputs, outputs, name=name)


def build_for_task(task: str, seq_len: int, num_features: int, hidden_size: int,
                   num_classes: Optional[int] = None, **layer_options):
    """Build the model that a task trains on sequences of `seq_len` steps.

    `layer_options` are `build_model`'s `fused_lstm`, `flat_heads`,
    `lstm_shards` and `lstm_xla`.
    """
    return build_model(
        seq_len=tasks.input_length(task, seq_len),
        input_size=num_features,
        hidden_size=hidden_size,
        num_classes=num_classes if task == "classify" else None,
        predict_next=task == "predict",
        **layer_options,
    )


def plain_copy(model):
    """Return a copy of a `build_model` model made of stock Keras layers, with its weights.

    The copy computes the same outputs. Exported SavedModels are traced from
    it, so their graphs hold only the stock layers' operations.
    """
    encoder = model.get_layer(ENCODER_NAME)
    outputs = model.output
    reconstruction = model.get_layer(tasks.RECONSTRUCTION)
    plain = build_model(
        seq_len=model.input.shape[1],
        input_size=model.input.shape[2],
        hidden_size=encoder.units,
        output_size=reconstruction.layer.units,
        num_classes=(model.get_layer(tasks.CLASSIFICATION).units
                     if tasks.CLASSIFICATION in outputs else None),
        predict_next=tasks.PREDICTION in outputs,
        name=model.name,
        fused_lstm=False,
        flat_heads=False,
    )
    for layer in plain.layers:
        layer.set_weights(model.get_layer(layer.name).get_weights())
    return plain


def encoder_model(model):
    """Return a model that maps the autoencoder's input to its context z."""
    import keras

    return keras.Model(model.input, model.get_layer(ENCODER_NAME).output, name="encoder_only")
