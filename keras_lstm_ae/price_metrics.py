"""S&P 500 test metrics in normalized units and in prices, beside a naive baseline.

The prediction task reads x(1..T-1) and its `prediction` head outputs
x̂(2..T). The encoder has read the whole input window, so x̂(2..T-1) repeat
days of the input, and only the last step x̂(T) forecasts a day the model has
not seen. That last step is the true next-day forecast, `test_prediction_mse`.
The baseline forecasts "tomorrow equals today": x(T) ≈ x(T-1).

Price errors are squared differences in the units of the price column
(dollars for the Kaggle and Yahoo files), averaged over windows, so stocks
with high prices weigh more.
"""

from __future__ import annotations

import numpy as np

from keras_lstm_ae import tasks


def _mse(first: np.ndarray, second: np.ndarray) -> float:
    difference = np.asarray(first, np.float64) - np.asarray(second, np.float64)
    return float(np.mean(np.square(difference)))


def next_day_errors(predicted: np.ndarray, observed: np.ndarray, last_known: np.ndarray) -> dict:
    """Return the MSE of a next-day forecast and of the naive forecast on the same days.

    Args:
        predicted: Forecasts of the next day, shape `(batch, features)`.
        observed: True values of that day, shape `(batch, features)`.
        last_known: Values of the day before, the naive forecast, shape
            `(batch, features)`.

    Returns:
        `model` and `baseline`, as floats in the units of the inputs.
    """
    return {"model": _mse(predicted, observed), "baseline": _mse(last_known, observed)}


def compute_price_metrics(model, data, task: str, batch_size: int = 256) -> dict:
    """Compute the test metrics of an S&P 500 model in normalized units and in prices.

    Args:
        model: Trained model of `task`.
        data: `StockSequenceData` whose test windows keep their prices and
            normalizer parameters.
        task: `reconstruct` or `predict`.
        batch_size: Windows per `model.predict` batch.

    Returns:
        `test_loss_price` and `test_reconstruction_mse_price`. For `predict`
        also `test_prediction_mse` (last step only, the next-day forecast),
        `test_prediction_mse_all_steps`, `baseline_prediction_mse` and each of
        them in prices, with the suffix `_price`. Values are floats.
    """
    windows = data.windows["test"]
    arrays = tasks.make_arrays(task, data.test)
    outputs = model.predict(arrays.inputs, batch_size=batch_size, verbose=0)
    normalizer = windows.normalizer
    steps = arrays.inputs.shape[1]

    reconstruction = np.asarray(outputs[tasks.RECONSTRUCTION])
    reconstruction_price = normalizer.inverse_transform(reconstruction)
    metrics = {"test_reconstruction_mse_price":
               _mse(reconstruction_price, windows.prices[:, :steps])}
    if task != "predict":
        metrics["test_loss_price"] = metrics["test_reconstruction_mse_price"]
        return metrics

    normalized = data.test.x
    prediction = np.asarray(outputs[tasks.PREDICTION])
    prediction_price = normalizer.inverse_transform(prediction)
    next_day = next_day_errors(prediction[:, -1], normalized[:, -1], normalized[:, -2])
    next_day_price = next_day_errors(prediction_price[:, -1], windows.prices[:, -1],
                                     windows.prices[:, -2])
    metrics.update({
        "test_prediction_mse": next_day["model"],
        "test_prediction_mse_price": next_day_price["model"],
        "test_prediction_mse_all_steps": _mse(prediction, normalized[:, 1:]),
        "test_prediction_mse_all_steps_price": _mse(prediction_price, windows.prices[:, 1:]),
        "baseline_prediction_mse": next_day["baseline"],
        "baseline_prediction_mse_price": next_day_price["baseline"],
    })
    metrics["test_loss_price"] = 0.5 * (metrics["test_reconstruction_mse_price"]
                                        + metrics["test_prediction_mse_all_steps_price"])
    return metrics
