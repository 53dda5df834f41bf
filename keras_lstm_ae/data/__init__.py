"""Data sets: each module loads one source and returns a `SequenceData`."""

from keras_lstm_ae.data.splits import SequenceData, Split, split_by_fraction

__all__ = ["SequenceData", "Split", "load_data", "split_by_fraction"]


def load_data(config) -> SequenceData:
    """Load and split the data set that a resolved `TrainConfig` names.

    Raises:
        UsageError: the data cannot be read or is malformed.
    """
    if config.data == "synthetic":
        from keras_lstm_ae.data import synthetic

        data = synthetic.load(config.num_sequences, config.seq_len, config.seed)
    elif config.data == "mnist":
        from keras_lstm_ae.data import mnist

        data = mnist.load(config.data_path, mode=config.mnist_mode, seed=config.seed)
    elif config.data == "sp500":
        from keras_lstm_ae.data import sp500
        from keras_lstm_ae.tasks import input_length

        # Fit each window's normalizer on the days the model reads, so the
        # day that the prediction task forecasts does not leak into its input.
        data = sp500.load(config.data_path, config.seq_len, config.stride, config.seed,
                          config.price_column, config.tickers,
                          fit_steps=input_length(config.task, config.seq_len))
    else:
        raise ValueError(f"no loader for data set {config.data!r}")

    if config.max_sequences is not None:
        data = data.truncated(config.max_sequences)
    return data
