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

Models trained on S&P 500 prices also take raw prices: `reconstruct_prices`
and, for the predict task, `predict_next_prices` read `prices`, float32
`(batch, time, 1)`, normalize each sequence inside the graph as
`normalizer.Normalizer` does, and return prices.

`sequences` is float32 `(batch, time, features)`. The batch dimension is
dynamic; the time dimension is fixed, because `RepeatVector` repeats z a fixed
number of times.
"""

from __future__ import annotations

from typing import Callable

from keras_lstm_ae import tasks

INPUT_NAME = "sequences"
IMAGE_INPUT_NAME = "images"
PRICE_INPUT_NAME = "prices"
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
    if config.get("data") == "sp500":
        endpoints.update(_price_endpoints(model, reconstruct, predict_next, task))
    return endpoints


def _price_endpoints(model, reconstruct, predict_next, task):
    """Signatures that take and return prices, with the per-sequence normalizer in the graph.

    The normalizer is fitted on the input prices, which for the predict task
    are the T-1 days the model reads, as in training.
    """
    import tensorflow as tf

    price_spec = tf.TensorSpec((None, *model.input.shape[1:]), tf.float32, name=PRICE_INPUT_NAME)

    def fit(prices):
        prices = tf.cast(prices, tf.float64)
        offset = tf.reduce_min(prices, axis=1, keepdims=True)
        maximum = tf.reduce_max(prices, axis=1, keepdims=True)
        scale = tf.where(maximum == 0, tf.ones_like(maximum), maximum)
        mean = tf.reduce_mean((prices - offset) / scale, axis=1, keepdims=True)
        divisor = tf.where(mean == 0, tf.ones_like(mean), 2.0 * mean)
        normalized = tf.cast((prices - offset) / scale / divisor, tf.float32)
        return normalized, (offset, scale, divisor)

    def to_prices(normalized, parameters):
        offset, scale, divisor = parameters
        return tf.cast(tf.cast(normalized, tf.float64) * divisor * scale + offset, tf.float32)

    def reconstruct_prices(prices):
        normalized, parameters = fit(prices)
        reconstruction = reconstruct(normalized)[tasks.RECONSTRUCTION]
        return {tasks.RECONSTRUCTION: to_prices(reconstruction, parameters)}

    def predict_next_prices(prices):
        normalized, parameters = fit(prices)
        prediction = predict_next(normalized)[tasks.PREDICTION]
        prediction = to_prices(prediction, parameters)
        return {tasks.PREDICTION: prediction, "next_value": prediction[:, -1, :]}

    endpoints = {"reconstruct_prices": (reconstruct_prices, [price_spec])}
    if task == "predict":
        endpoints["predict_next_prices"] = (predict_next_prices, [price_spec])
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
        # The linear head can overshoot; clip so the images are valid pixel intensities.
        images = tf.clip_by_value(reconstruction, 0.0, 1.0)
        return {tasks.RECONSTRUCTION: tf.reshape(
            images, (-1, MNIST_IMAGE_SIZE, MNIST_IMAGE_SIZE))}

    def classify_images(images):
        return classify(to_sequences(images))

    endpoints = {"reconstruct_images": (reconstruct_images, [image_spec])}
    if task == "classify":
        endpoints["classify_images"] = (classify_images, [image_spec])
    return endpoints
