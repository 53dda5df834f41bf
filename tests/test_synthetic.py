import numpy as np
import pytest

from keras_lstm_ae.data import split_by_fraction, synthetic


def test_signals_shape_and_dtype():
    signals = synthetic.make_signals(num_sequences=100, seq_len=50, seed=1)
    assert signals.shape == (100, 50, 1)
    assert signals.dtype == np.float32


def test_signals_range_and_mean():
    signals = synthetic.make_signals(num_sequences=2000, seq_len=50, seed=2)
    assert signals.min() >= 0.0
    assert signals.max() <= 1.0
    per_sequence_mean = signals.mean(axis=(1, 2))
    # Mean of 50 uniform values: standard deviation sqrt(1/12/50) = 0.041.
    assert abs(per_sequence_mean.mean() - 0.5) < 0.01
    assert np.all(np.abs(per_sequence_mean - 0.5) < 0.25)


def test_signals_same_seed_same_values():
    first = synthetic.make_signals(50, 10, seed=3)
    second = synthetic.make_signals(50, 10, seed=3)
    other = synthetic.make_signals(50, 10, seed=4)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_load_split_sizes():
    data = synthetic.load(num_sequences=10_000, seq_len=50, seed=0)
    assert len(data.train) == 6000
    assert len(data.validation) == 2000
    assert len(data.test) == 2000
    assert data.seq_len == 50
    assert data.num_features == 1


def test_load_splits_are_disjoint_and_complete():
    data = synthetic.load(num_sequences=500, seq_len=8, seed=5)
    every = np.concatenate([data.train.x, data.validation.x, data.test.x])
    assert len(every) == 500
    assert len(np.unique(every.reshape(500, -1), axis=0)) == 500


def test_load_is_deterministic():
    first = synthetic.load(num_sequences=200, seq_len=8, seed=6)
    second = synthetic.load(num_sequences=200, seq_len=8, seed=6)
    np.testing.assert_array_equal(first.test.x, second.test.x)


def test_split_by_fraction_rejects_bad_fractions():
    with pytest.raises(ValueError, match="add up to 1"):
        split_by_fraction(10, (0.5, 0.2), seed=0)


def test_max_sequences_truncates_each_split():
    from keras_lstm_ae import TrainConfig
    from keras_lstm_ae.data import load_data

    config = TrainConfig(num_sequences=1000, max_sequences=50).resolved()
    data = load_data(config)
    assert len(data.train) == 50
    assert len(data.validation) == 50
    assert len(data.test) == 50

