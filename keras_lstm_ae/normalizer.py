"""Per-sequence normalization of prices, with its exact inverse.

Each sequence x of shape `(time, features)` is scaled on its own:

    rescaled = (x - min(x)) / max(x)
    normalized = rescaled / (2 * mean(rescaled))

so that the mean of every normalized sequence is 0.5. The minimum, maximum
and mean are taken over time, per feature, and kept for each sequence, so
model outputs map back to prices with `inverse_transform`.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np


@dataclasses.dataclass
class Normalizer:
    """Per-sequence parameters of the normalization.

    Each array has shape `(batch, 1, features)`, so it broadcasts over the time
    axis of sequences of any length.

    Attributes:
        offset: Minimum of each sequence over time.
        scale: Maximum of each sequence over time; 1 where the maximum is 0.
        divisor: 2 × the mean of the rescaled sequence; 1 where that mean is 0,
            which happens exactly for constant sequences. A constant sequence
            therefore normalizes to zeros, with no NaN or infinity.
    """

    offset: np.ndarray
    scale: np.ndarray
    divisor: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, steps: Optional[int] = None) -> "Normalizer":
        """Compute the parameters of each sequence.

        Args:
            x: Sequences, shape `(batch, time, features)`.
            steps: Fit on the first `steps` time steps only, so that values
                after them (the day to forecast) do not leak into the
                parameters. `None` uses every step.

        Returns:
            A `Normalizer` with one set of parameters per sequence.
        """
        x = _as_sequences(x)
        fitted = x if steps is None else x[:, :steps]
        offset = fitted.min(axis=1, keepdims=True)
        maximum = fitted.max(axis=1, keepdims=True)
        scale = np.where(maximum == 0, 1.0, maximum)
        mean = ((fitted - offset) / scale).mean(axis=1, keepdims=True)
        divisor = np.where(mean == 0, 1.0, 2.0 * mean)
        return cls(offset=offset, scale=scale, divisor=divisor)

    def __len__(self) -> int:
        return len(self.offset)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Normalize sequences of shape `(batch, time, features)`; returns float64."""
        return (_as_sequences(x) - self.offset) / self.scale / self.divisor

    def inverse_transform(self, normalized: np.ndarray) -> np.ndarray:
        """Map normalized sequences of shape `(batch, time, features)` back to prices."""
        return _as_sequences(normalized) * self.divisor * self.scale + self.offset

    def subset(self, indices) -> "Normalizer":
        """Return the parameters of the sequences selected by `indices`, a slice or array."""
        return Normalizer(self.offset[indices], self.scale[indices], self.divisor[indices])


def _as_sequences(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"expected sequences of shape (batch, time, features), got {x.shape}")
    return x
