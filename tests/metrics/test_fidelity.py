"""psnr_y / ssim_y / ssim_y_matlab: conventions and cross-checks against reference implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from srbench.conventions import shave, to_luma
from srbench.metrics.base import MetricContext
from srbench.metrics.fidelity import psnr_y, ssim_y, ssim_y_matlab
from srbench.metrics.fidelity_math import psnr, ssim, ssim_matlab

RNG = np.random.default_rng(1234)


def _pair(h=64, w=80, c=3):
    a = RNG.integers(0, 256, (h, w, c) if c else (h, w), dtype=np.uint8)
    noise = RNG.normal(0, 12, a.shape)
    b = np.clip(a + noise, 0, 255).round().astype(np.uint8)
    return a, b


def test_psnr_matches_skimage_on_random_data():
    a, b = _pair(c=0)
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), abs=1e-10)


def test_psnr_identical_is_inf():
    a, _ = _pair()
    assert math.isinf(psnr(a, a))


def test_ssim_matches_skimage_interior_on_random_data():
    a, b = _pair(96, 96, 0)
    a, b = a.astype(np.float64), b.astype(np.float64)
    # skimage's full SSIM map, restricted to the valid region, is Wang's valid-filtered map
    _, full = structural_similarity(a, b, data_range=255, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, full=True)
    assert ssim(a, b) == pytest.approx(full[5:-5, 5:-5].mean(), abs=1e-6)
    # tolerance 1e-6: scipy's and skimage's Gaussian filters agree to ~1e-12 in the interior; skimage
    # truncates its window at 3.5 sigma (11 taps), the same support


def test_ssim_matlab_is_full_map_with_replicate_padding():
    a, b = _pair(48, 48, 0)
    a, b = a.astype(np.float64), b.astype(np.float64)
    # same map as Wang's in the interior, padded at the borders: the two means differ, the interior agrees
    assert ssim_matlab(a, b) != pytest.approx(ssim(a, b), abs=1e-6)
    assert ssim_matlab(a, a) == pytest.approx(1.0)


def test_y_conversion_bt601_unrounded():
    px = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], np.uint8)
    np.testing.assert_allclose(to_luma(px)[0], [16 + 65.481, 16 + 128.553, 16 + 24.966, 235.0])


def test_grey_images_are_scored_on_their_values():
    a, b = _pair(40, 40, 0)
    ctx = MetricContext(scale=2)
    assert psnr_y()(a, b, ctx) == pytest.approx(psnr(shave(a, 2), shave(b, 2)))


def test_shave_equals_scale():
    a, b = _pair(40, 40)
    b2 = b.copy()
    b2[:3] = 0  # damage only the 3-pixel top border
    assert psnr_y()(a, b2, MetricContext(scale=3)) == pytest.approx(psnr_y()(a, b, MetricContext(scale=3)))
    assert psnr_y()(a, b2, MetricContext(scale=2)) != pytest.approx(psnr_y()(a, b, MetricContext(scale=2)))


def test_shape_mismatch_is_an_error():
    a, _ = _pair(40, 40)
    with pytest.raises(ValueError):
        ssim_y()(a, a[:-1], MetricContext(scale=2))


def test_ssim_y_matlab_factory_runs():
    a, b = _pair(40, 40)
    v = ssim_y_matlab()(a, b, MetricContext(scale=4))
    assert 0 < v < 1
