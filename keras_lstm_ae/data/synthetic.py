"""Synthetic signals: independent uniform values in [0, 1].

Each sequence contains `seq_len` values drawn from U(0, 1), so its mean is close
to 0.5 and the values carry no structure that the model could exploit: an
autoencoder has to store the whole sequence in its context vector.
"""

from __future__ import annotations

import numpy as np

from keras_lstm_ae.data.splits import SequenceData, Split, split_by_fraction

# Train, validation and test fractions.
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)


def make_signals(num_sequences: int = 10_000, seq_len: int = 50, seed: int = 0) -> np.ndarray:
    """Generate uniform random signals.

    Args:
        num_sequences: Number of sequences.
        seq_len: Time steps per sequence.
        seed: Seed of the generator; the same seed gives the same signals.

    Returns:
        Array of shape `(num_sequences, seq_len, 1)`, float32, values in [0, 1).
    """
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 1.0, size=(num_sequences, seq_len, 1)).astype(np.float32)


def load(num_sequences: int = 10_000, seq_len: int = 50, seed: int = 0) -> SequenceData:
    """Generate signals and split them 60/20/20 into train, validation and test.

    With the defaults the splits hold 6,000, 2,000 and 2,000 sequences of shape
    `(50, 1)`.
    """
    signals = make_signals(num_sequences, seq_len, seed)
    train, validation, test = split_by_fraction(num_sequences, SPLIT_FRACTIONS, seed)
    return SequenceData(
        name="synthetic",
        train=Split(signals[train]),
        validation=Split(signals[validation]),
        test=Split(signals[test]),
    )
