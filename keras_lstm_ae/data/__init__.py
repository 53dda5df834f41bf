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
    else:
        raise ValueError(f"no loader for data set {config.data!r}")

    if config.max_sequences is not None:
        data = data.truncated(config.max_sequences)
    return data
