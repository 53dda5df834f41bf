"""Containers for split data and the seeded random split."""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import numpy as np


@dataclasses.dataclass
class Split:
    """One part of a data set.

    Attributes:
        x: Sequences, shape `(batch, time, features)`, float32.
        labels: Class labels, shape `(batch,)`, int, or `None` when the data
            set has none.
    """

    x: np.ndarray
    labels: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.x)

    def head(self, count: int) -> "Split":
        """Return the first `count` sequences and their labels."""
        labels = None if self.labels is None else self.labels[:count]
        return Split(self.x[:count], labels)


@dataclasses.dataclass
class SequenceData:
    """Train, validation and test splits of one data set.

    Attributes:
        name: Data set name, as `--data` spells it.
        train: Training split.
        validation: Validation split, used for early model selection.
        test: Test split, used only for the final metrics.
        num_classes: Number of label classes, or `None` without labels.
    """

    name: str
    train: Split
    validation: Split
    test: Split
    num_classes: Optional[int] = None

    def truncated(self, count: int) -> "SequenceData":
        """Return a copy whose splits hold at most `count` sequences each."""
        return dataclasses.replace(self, train=self.train.head(count),
                                   validation=self.validation.head(count),
                                   test=self.test.head(count))

    @property
    def seq_len(self) -> int:
        return self.train.x.shape[1]

    @property
    def num_features(self) -> int:
        return self.train.x.shape[2]


def split_by_fraction(
    num_items: int, fractions: Sequence[float], seed: int
) -> list[np.ndarray]:
    """Shuffle `range(num_items)` with `seed` and cut it by `fractions`.

    Args:
        num_items: Number of items to split.
        fractions: Fractions of the parts; they must add up to 1.
        seed: Seed of the shuffle, so the same seed gives the same split.

    Returns:
        One array of indices per fraction. The last part takes what rounding
        leaves over.
    """
    if not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must add up to 1, got {list(fractions)}")

    order = np.random.default_rng(seed).permutation(num_items)
    bounds = np.round(np.cumsum(fractions)[:-1] * num_items).astype(int)
    return np.split(order, bounds)
