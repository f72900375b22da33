"""The float32 golden-comparison helper (tests/helpers/float_outputs.py) itself: what it accepts and rejects."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.float_outputs import (
    FLOAT32_ATOL,
    assert_float_close,
    assert_uint8_matches,
    boundary_distance,
)


def test_tolerance_is_far_below_one_uint8_step():
    assert 10 * FLOAT32_ATOL < 1 / 255


def test_float_bound_is_absolute_in_unit_range_and_relative_beyond():
    ref = np.full((2, 3), 0.5)
    assert assert_float_close(ref + 0.9 * FLOAT32_ATOL, ref) == pytest.approx(0.9 * FLOAT32_ATOL)
    with pytest.raises(AssertionError, match="float32 tolerance"):
        assert_float_close(ref + 1.1 * FLOAT32_ATOL, ref)
    big = np.full((2, 3), 10.0)  # e.g. a latent mean: the bound scales with max |ref|
    assert_float_close(big + 9 * FLOAT32_ATOL, big)
    with pytest.raises(AssertionError):
        assert_float_close(big + 11 * FLOAT32_ATOL, big)


def test_boundaries_of_each_rule():
    v = np.array([0.0, 0.5, 1.0, 1.49, 254.5, 255.0, 255.2])
    np.testing.assert_allclose(boundary_distance(v, "half_away"), [0.5, 0, 0.5, 0.01, 0, 0.5, 0.7], atol=1e-12)
    np.testing.assert_allclose(boundary_distance(v, "half_even"), boundary_distance(v, "half_away"))
    np.testing.assert_allclose(boundary_distance(v, "truncate"), [1, 0.5, 0, 0.49, 0.5, 0, 0.2], atol=1e-12)


@pytest.mark.parametrize("rule", ["half_away", "truncate"])
def test_uint8_flip_allowed_only_within_the_band(rule):
    # 255 * ref: 10.3 (far from any boundary), and a value a hair (well within the band) from the boundary
    edge = 10.5 if rule == "half_away" else 11.0
    ref = np.array([[[10.3, edge - 0.001, 100.2]]]) / 255
    want = np.array([[[10, 10, 100]]], np.uint8)
    assert assert_uint8_matches(want, ref, rule).n_differ == 0
    flipped = np.array([[[10, 11, 100]]], np.uint8)  # the float32 result may land on the other side
    got = assert_uint8_matches(flipped, ref, rule)
    assert (got.n_values, got.n_near_boundary, got.n_differ) == (3, 1, 1)
    with pytest.raises(AssertionError, match="away from any rounding boundary"):
        assert_uint8_matches(np.array([[[11, 10, 100]]], np.uint8), ref, rule)
    with pytest.raises(AssertionError, match="up to 2"):
        assert_uint8_matches(np.array([[[10, 12, 100]]], np.uint8), ref, rule)
    with pytest.raises(AssertionError, match="not uint8"):
        assert_uint8_matches(want.astype(np.float64), ref, rule)


def test_network_layout_is_accepted():
    ref = np.random.default_rng(0).random((1, 3, 4, 5))  # 1xCxHxW, as a network returns it
    assert_uint8_matches(np.round(255 * ref[0].transpose(1, 2, 0)).astype(np.uint8), ref, "half_even")
