"""The serving signatures of an exported SavedModel, by task and data set.

Every SavedModel has:

- `serving_default`: `sequences` -> every model output, by name.
- `encode`: `sequences` -> `context`, the context vector z, `(batch, hidden)`.
- `reconstruct`: `sequences` -> `reconstruction`.

and by task:

- classify: `classify`: `sequences` -> `probabilities` `(batch, classes)` and
  `label` `(batch,)` int64.
- predict: `predict_next`: `sequences` x(1..T-1) -> `prediction` x̂(2..T) and
  `next_value` x̂(T), the forecast of the day after the input.

Models trained on MNIST also take raw images: `classify_images` and
`reconstruct_images` read `images`, uint8 `(batch, 28, 28)`.

`sequences` is float32 `(batch, time, features)`. The batch dimension is
dynamic; the time dimension is fixed, because `RepeatVector` repeats z a fixed
number of times.
"""

from __future__ import annotations

from typing import Callable

from keras_lstm_ae import tasks

INPUT_NAME = "sequences"
IMAGE_INPUT_NAME = "images"
MNIST_IMAGE_SIZE = 28
MNIST_PIXEL_SCALE = 255.0


def build_endpoints(model, config: dict) -> dict[str, tuple[Callable, list]]:
    """Return `{name: (function, input_signature)}` for every signature of a model.

    Args:
        model: A model from `build_model`, with dict outputs.
        config: The training options (`task`, `data`, and `mnist_mode` for
            MNIST), as `TrainConfig.to_dict` returns them.
    """
    import tensorflow as tf

    from keras_lstm_ae.model import encoder_model

    task = config.get("task") or "reconstruct"
    encoder = encoder_model(model)
    sequence_spec = tf.TensorSpec((None, *model.input.shape[1:]), tf.float32, name=INPUT_NAME)

    def serve(sequences):
        return model(sequences, training=False)

    def encode(sequences):
        return {"context": encoder(sequences, training=False)}

    def reconstruct(sequences):
        return {tasks.RECONSTRUCTION: model(sequences, training=False)[tasks.RECONSTRUCTION]}

    def classify(sequences):
        logits = model(sequences, training=False)[tasks.CLASSIFICATION]
        return {"probabilities": tf.nn.softmax(logits, axis=-1),
                "label": tf.argmax(logits, axis=-1)}

    def predict_next(sequences):
        prediction = model(sequences, training=False)[tasks.PREDICTION]
        return {tasks.PREDICTION: prediction, "next_value": prediction[:, -1, :]}

    endpoints = {
        "serving_default": (serve, [sequence_spec]),
        "encode": (encode, [sequence_spec]),
        "reconstruct": (reconstruct, [sequence_spec]),
    }
    if task == "classify":
        endpoints["classify"] = (classify, [sequence_spec])
    if task == "predict":
        endpoints["predict_next"] = (predict_next, [sequence_spec])

    if config.get("data") == "mnist":
        endpoints.update(_mnist_image_endpoints(model, config, reconstruct, classify, task))
    return endpoints


def _mnist_image_endpoints(model, config, reconstruct, classify, task):
    """Signatures that take raw uint8 MNIST images and return what `reconstruct`
    and `classify` return, with the reconstruction as images in [0, 1]."""
    import tensorflow as tf

    image_spec = tf.TensorSpec((None, MNIST_IMAGE_SIZE, MNIST_IMAGE_SIZE), tf.uint8,
                               name=IMAGE_INPUT_NAME)
    sequence_shape = tuple(model.input.shape[1:])

    def to_sequences(images):
        pixels = tf.cast(images, tf.float32) / MNIST_PIXEL_SCALE
        return tf.reshape(pixels, (-1, *sequence_shape))

    def reconstruct_images(images):
        reconstruction = reconstruct(to_sequences(images))[tasks.RECONSTRUCTION]
        return {tasks.RECONSTRUCTION: tf.reshape(
            reconstruction, (-1, MNIST_IMAGE_SIZE, MNIST_IMAGE_SIZE))}

    def classify_images(images):
        return classify(to_sequences(images))

    endpoints = {"reconstruct_images": (reconstruct_images, [image_spec])}
    if task == "classify":
        endpoints["classify_images"] = (classify_images, [image_spec])
    return endpoints
