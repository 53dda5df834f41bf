import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from keras_lstm_ae.normalizer import Normalizer

# Prices between one cent and a million, in windows of 2 to 60 days.
prices = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=6).map(
        lambda shape: (shape[0], shape[1] * 10 % 59 + 2, shape[2])),
    elements=st.floats(0.01, 1e6, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=100, deadline=None)
@given(prices)
def test_normalizer_round_trip_restores_prices(x):
    normalizer = Normalizer.fit(x)
    restored = normalizer.inverse_transform(normalizer.transform(x))
    np.testing.assert_allclose(restored, x, rtol=1e-9, atol=1e-9 * np.abs(x).max())


@settings(max_examples=100, deadline=None)
@given(prices)
def test_normalizer_mean_is_half_unless_constant(x):
    normalized = Normalizer.fit(x).transform(x)
    constant = np.ptp(x, axis=1) == 0
    means = normalized.mean(axis=1)
    np.testing.assert_allclose(means[~constant], 0.5, rtol=1e-9)
    np.testing.assert_array_equal(means[constant], 0.0)


@settings(max_examples=100, deadline=None)
@given(st.floats(0.01, 1e6), st.integers(2, 60))
def test_normalizer_constant_sequence_is_finite(value, steps):
    x = np.full((1, steps, 1), value)
    normalizer = Normalizer.fit(x)
    normalized = normalizer.transform(x)
    assert np.all(np.isfinite(normalized))
    np.testing.assert_allclose(normalizer.inverse_transform(normalized), x, rtol=1e-12)


def test_normalizer_formula_on_known_values():
    x = np.array([[[2.0], [4.0], [6.0]]])
    # rescaled = (x - 2) / 6 = [0, 1/3, 2/3], mean 1/3, divisor 2/3.
    expected = np.array([[[0.0], [0.5], [1.0]]])
    np.testing.assert_allclose(Normalizer.fit(x).transform(x), expected)


def test_normalizer_keeps_parameters_per_sequence():
    x = np.array([[[1.0], [3.0]], [[10.0], [50.0]]])
    normalizer = Normalizer.fit(x)
    assert normalizer.offset.shape == (2, 1, 1)
    np.testing.assert_array_equal(normalizer.offset[:, 0, 0], [1.0, 10.0])
    np.testing.assert_array_equal(normalizer.scale[:, 0, 0], [3.0, 50.0])
    second = normalizer.subset(slice(1, 2))
    np.testing.assert_allclose(second.inverse_transform(np.array([[[0.0], [1.0]]])),
                               [[[10.0], [50.0]]])


def test_normalizer_fit_steps_ignores_later_days():
    x = np.array([[[1.0], [2.0], [3.0], [1000.0]]])
    assert np.array_equal(Normalizer.fit(x, steps=3).scale, [[[3.0]]])
    assert np.array_equal(Normalizer.fit(x).scale, [[[1000.0]]])


def test_normalizer_inverse_applies_to_shorter_outputs():
    x = np.array([[[5.0], [7.0], [9.0]]])
    normalizer = Normalizer.fit(x)
    np.testing.assert_allclose(normalizer.inverse_transform(normalizer.transform(x)[:, :2]),
                               x[:, :2])
