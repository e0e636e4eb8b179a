"""The per-word measurements a caption carries (model.caption.pipeline.Caption): coverage, entropy and
whether a map is nearly flat."""
import numpy as np
import pytest

from model.caption.pipeline import Caption
from tests.caption.test_views import maps, peaked


def of(alphas) -> Caption:
    alphas = np.asarray(alphas)
    words = ["w"] * len(alphas)
    return Caption(" ".join(words), words, list(range(len(words))), alphas, np.full(len(words), 0.5), -1.0, 1.0)


def coverage(alphas):
    return of(alphas).coverage


def attention_entropy(alphas):
    return of(alphas).entropy


def entropy_fraction(alphas):
    return of(alphas).entropy_fraction


def near_uniform(alphas):
    return of(alphas).near_uniform()


def test_coverage_is_the_sum_of_the_maps():
    a = maps(6)
    assert coverage(a).shape == (14, 14)
    np.testing.assert_allclose(coverage(a), a.sum(0))
    assert coverage(a).sum() == pytest.approx(6)


def test_entropy_is_log_n_for_a_flat_map_and_zero_for_one_location():
    flat, one = np.full((14, 14), 1 / 196), np.zeros((14, 14))
    one[2, 5] = 1
    h = attention_entropy(np.stack([flat, one]))
    np.testing.assert_allclose(h, [np.log(196), 0], atol=1e-9)
    np.testing.assert_allclose(entropy_fraction(np.stack([flat, one])), [1, 0], atol=1e-9)


def test_near_uniform_is_true_for_a_flat_map_and_false_for_a_peaked_one():
    flat = np.full((14, 14), 1 / 196)
    assert near_uniform(np.stack([flat, peaked()])).tolist() == [True, False]


def test_near_uniform_catches_a_spread_map_without_a_peak():
    # half the cells at 1.9/N, half at 0.1/N: entropy only 0.91 log N, but no cell has twice its share
    a = np.tile([1.9, 0.1], 98).reshape(14, 14) / 196
    assert entropy_fraction(a[None])[0] < 0.95 and near_uniform(a[None]).tolist() == [True]
