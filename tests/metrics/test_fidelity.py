"""psnr_y / ssim_y / ssim_y_matlab / psnr_rgb / ssim_rgb: conventions and cross-checks against reference
implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from skimage import data as skdata
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from srbench.conventions import modcrop, shave, to_luma
from srbench.imresize import imresize
from srbench.metrics.base import MetricContext
from srbench.metrics.fidelity import (
    METRICS,
    psnr_rgb,
    psnr_y,
    ssim_rgb,
    ssim_y,
    ssim_y_matlab,
)
from srbench.metrics.fidelity_math import psnr, ssim, ssim_channels, ssim_matlab

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


# --- psnr_rgb / ssim_rgb ------------------------------------------------------------------------------
#
# References: scikit-image, and the NumPy transcription of BasicSR's calculate_psnr / calculate_ssim
# (basicsr/metrics/psnr_ssim.py, test_y_channel=False) below. The transcription replaces OpenCV by NumPy:
# cv2.getGaussianKernel(11, 1.5) is exp(-(i - 5)^2 / (2 * 1.5^2)) normalised to sum 1, and
# cv2.filter2D(x, -1, window)[5:-5, 5:-5] (a correlation; the crop drops every padded output) is the
# valid 2-D correlation, computed here directly with the 11x11 window (srbench filters separably with
# scipy). Measured: psnr_rgb equals both references exactly; ssim_rgb differs by <= 2e-14.

#: psnr_rgb / ssim_rgb vs scikit-image and the BasicSR transcription: float rounding only
TOL_RGB = 1e-12


def _basicsr_reorder(img):
    # reorder_image(img, 'HWC'): a 2-D image gets a channel axis
    return img[..., None] if img.ndim == 2 else img


def basicsr_calculate_psnr(img, img2, crop_border):
    img, img2 = _basicsr_reorder(img), _basicsr_reorder(img2)
    if crop_border != 0:
        img = img[crop_border:-crop_border, crop_border:-crop_border, ...]
        img2 = img2[crop_border:-crop_border, crop_border:-crop_border, ...]
    img, img2 = img.astype(np.float64), img2.astype(np.float64)
    mse = np.mean((img - img2) ** 2)
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 * 255.0 / mse)


def _basicsr_window():
    x = np.arange(11, dtype=np.float64) - 5.0
    k = np.exp(-(x * x) / (2 * 1.5 * 1.5))
    k = (k / k.sum())[:, None]  # cv2.getGaussianKernel(11, 1.5)
    return np.outer(k, k.transpose())


def _filter2d_valid(img, window):
    return np.einsum("ijkl,kl->ij", sliding_window_view(img, window.shape), window)


def _basicsr_ssim(img, img2):
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    w = _basicsr_window()
    mu1, mu2 = _filter2d_valid(img, w), _filter2d_valid(img2, w)
    mu1_sq, mu2_sq, mu1_mu2 = mu1**2, mu2**2, mu1 * mu2
    sigma1_sq = _filter2d_valid(img**2, w) - mu1_sq
    sigma2_sq = _filter2d_valid(img2**2, w) - mu2_sq
    sigma12 = _filter2d_valid(img * img2, w) - mu1_mu2
    ssim_map = ((2 * mu1_mu2 + c1) * (2 * sigma12 + c2)) / ((mu1_sq + mu2_sq + c1) * (sigma1_sq + sigma2_sq + c2))
    return ssim_map.mean()


def basicsr_calculate_ssim(img, img2, crop_border):
    img, img2 = _basicsr_reorder(img), _basicsr_reorder(img2)
    if crop_border != 0:
        img = img[crop_border:-crop_border, crop_border:-crop_border, ...]
        img2 = img2[crop_border:-crop_border, crop_border:-crop_border, ...]
    img, img2 = img.astype(np.float64), img2.astype(np.float64)
    return np.array([_basicsr_ssim(img[..., i], img2[..., i]) for i in range(img.shape[2])]).mean()


def _sk_ssim_rgb(a, b):
    return structural_similarity(a, b, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=255)


def _sr_pairs():
    """(name, SR, HR) uint8 pairs: a bicubic x4 round trip of a photo crop, and the random pair."""
    hr = modcrop(skdata.astronaut()[100:300, 150:390], 4)
    yield "astronaut-bicubic", imresize(imresize(hr, 0.25), 4), hr
    a, b = _pair(72, 90)
    yield "random", b, a


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("case", ["astronaut-bicubic", "random"])
def test_rgb_metrics_match_skimage_and_basicsr(case, scale):
    _, sr, hr = next(p for p in _sr_pairs() if p[0] == case)
    ctx = MetricContext(scale=scale, image=case)
    p, s = psnr_rgb()(sr, hr, ctx), ssim_rgb()(sr, hr, ctx)
    assert abs(p - basicsr_calculate_psnr(sr, hr, crop_border=scale)) <= TOL_RGB
    assert abs(p - peak_signal_noise_ratio(shave(hr, scale), shave(sr, scale), data_range=255)) <= TOL_RGB
    assert abs(s - basicsr_calculate_ssim(sr, hr, crop_border=scale)) <= TOL_RGB
    assert abs(s - _sk_ssim_rgb(shave(sr, scale), shave(hr, scale))) <= TOL_RGB


def test_skimage_defaults_are_not_wang_ssim():
    # the options matter: skimage's defaults (7x7 uniform window, sample covariance) give another number
    _, sr, hr = next(_sr_pairs())
    wang = ssim_rgb()(sr, hr, MetricContext(scale=4))
    default = structural_similarity(shave(sr, 4), shave(hr, 4), channel_axis=-1, data_range=255)
    assert abs(wang - default) > 1e-3


def test_psnr_rgb_is_one_mse_over_all_channels():
    hr = RNG.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    sr = hr.copy()
    sr[..., 0] = np.clip(hr[..., 0].astype(int) + RNG.choice([-20, 20], hr.shape[:2]), 0, 255)  # red only
    sr[..., 1] = np.clip(hr[..., 1].astype(int) + RNG.choice([-2, 2], hr.shape[:2]), 0, 255)
    ctx = MetricContext(scale=2)
    s_hr, s_sr = shave(hr, 2).astype(float), shave(sr, 2).astype(float)
    one_mse = 10 * math.log10(255**2 / np.mean((s_hr - s_sr) ** 2))
    assert psnr_rgb()(sr, hr, ctx) == pytest.approx(one_mse, abs=1e-12)
    # not the mean of per-channel PSNRs (inf for the untouched blue channel) nor the mean of two of them
    per_channel = [psnr(s_hr[..., c], s_sr[..., c]) for c in range(2)]
    assert abs(psnr_rgb()(sr, hr, ctx) - np.mean(per_channel)) > 1.0


def test_ssim_rgb_is_mean_of_channel_ssims():
    _, sr, hr = next(_sr_pairs())
    ctx = MetricContext(scale=4)
    per_channel = [ssim(shave(sr, 4)[..., c], shave(hr, 4)[..., c]) for c in range(3)]
    assert ssim_rgb()(sr, hr, ctx) == pytest.approx(np.mean(per_channel), abs=1e-15)
    assert len(set(np.round(per_channel, 6))) == 3  # the channels differ, so the mean is a real test
    # and it is not SSIM on Y
    assert abs(ssim_rgb()(sr, hr, ctx) - ssim_y()(sr, hr, ctx)) > 1e-3


def test_rgb_shave_equals_scale():
    # same shave function (srbench.conventions.shave) and rule as psnr_y
    a, b = _pair(48, 48)
    b2 = b.copy()
    b2[:, -4:] = 0  # damage only the 4-pixel right border
    for metric in (psnr_rgb(), ssim_rgb()):
        assert metric(a, b2, MetricContext(scale=4)) == metric(a, b, MetricContext(scale=4))
        assert metric(a, b2, MetricContext(scale=3)) != pytest.approx(metric(a, b, MetricContext(scale=3)))


def test_rgb_metrics_on_grey_images_score_the_one_channel():
    a, b = _pair(40, 44, 0)
    ctx = MetricContext(scale=3)
    assert psnr_rgb()(b, a, ctx) == psnr(shave(b, 3), shave(a, 3))
    assert ssim_rgb()(b, a, ctx) == ssim(shave(b, 3), shave(a, 3))
    assert abs(ssim_rgb()(b, a, ctx) - basicsr_calculate_ssim(b, a, 3)) <= TOL_RGB
    # three equal channels give the same values
    rgb = [np.repeat(x[:, :, None], 3, axis=2) for x in (b, a)]
    assert psnr_rgb()(*rgb, ctx) == pytest.approx(psnr_rgb()(b, a, ctx), abs=1e-12)
    assert ssim_rgb()(*rgb, ctx) == pytest.approx(ssim_rgb()(b, a, ctx), abs=1e-15)


def test_rgb_metrics_refuse_what_they_do_not_define():
    a, b = _pair(40, 40)
    ctx = MetricContext(scale=2, image="x")
    for metric in (psnr_rgb(), ssim_rgb()):
        with pytest.raises(TypeError, match="uint8"):
            metric(a.astype(np.float64), b.astype(np.float64), ctx)
        with pytest.raises(ValueError, match="shape"):
            metric(a, b[:-1], ctx)
        with pytest.raises(ValueError, match="RGB"):
            metric(a[..., :2], b[..., :2], ctx)
    assert math.isinf(psnr_rgb()(a, a, ctx)) and ssim_rgb()(a, a, ctx) == pytest.approx(1.0, abs=1e-15)
    with pytest.raises(ValueError):
        ssim_channels(a, b[..., 0])


def test_rgb_metric_metadata():
    infos = {m.name: m for m in METRICS}
    for name in ("psnr_rgb", "ssim_rgb"):
        m = infos[name]
        assert m.protocols == ("rgb",) and m.kind == "image" and m.version == "1"
        assert m.higher_is_better and m.full_reference and not m.default
        assert m.factory == f"srbench.metrics.fidelity:{name}"
        assert "scikit-image" in m.reference and "BasicSR" in m.reference and f"{TOL_RGB:g}" in m.reference
        assert "shave = scale" in m.convention
    assert "luma" in infos["psnr_y"].protocols  # the Y metrics keep both protocols


def _reference_ssim_map(a, b, valid: bool):
    """Wang et al.'s SSIM map the plain way: five fresh correlate1d chains and the formula as written."""
    from scipy.ndimage import correlate1d

    x = np.arange(11) - 5.0
    g = np.exp(-(x * x) / (2 * 1.5 * 1.5))
    g = g / g.sum()
    mode = "constant" if valid else "nearest"

    def filt(img):
        out = correlate1d(correlate1d(img, g, axis=0, mode=mode), g, axis=1, mode=mode)
        return out[5:-5, 5:-5] if valid else out

    mu_a, mu_b = filt(a), filt(b)
    s_aa, s_bb, s_ab = filt(a * a) - mu_a * mu_a, filt(b * b) - mu_b * mu_b, filt(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    return ((2 * mu_a * mu_b + c1) * (2 * s_ab + c2)) / ((mu_a * mu_a + mu_b * mu_b + c1) * (s_aa + s_bb + c2))


def test_ssim_and_psnr_are_bit_identical_to_the_plain_formulation():
    # the in-place moments / formula must not change a bit: cached values (metric version 1) stay valid
    rng = np.random.default_rng(11)
    for i in range(12):
        h, w = (int(n) for n in rng.integers(11, 90, 2))
        a = rng.random((h + 8, w + 8))[4:-4, 4:-4] * 255  # a shaved (non-contiguous) plane, as the metrics pass
        b = np.clip(a + rng.normal(0, 10, a.shape), 0, 255) if i % 2 else rng.random((h, w)) * 255
        assert ssim(a, b) == float(np.mean(_reference_ssim_map(a, b, valid=True)))
        assert ssim_matlab(a, b) == float(np.mean(_reference_ssim_map(a, b, valid=False)))
        assert psnr(a, b) == 10 * math.log10(255.0**2 / np.mean((a - b) ** 2))
        u, v = (rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(2))
        assert psnr(u, v) == 10 * math.log10(255.0**2 / np.mean((u.astype(np.float64) - v.astype(np.float64)) ** 2))


def test_ssim_from_moments_is_the_formula_bit_for_bit():
    from srbench.metrics.fidelity_math import ssim_from_moments

    rng = np.random.default_rng(12)
    mu_a, mu_b = rng.random((2, 3, 20, 30)) * 255
    m_aa, m_bb = mu_a * mu_a + rng.random((20, 30)) * 400, mu_b * mu_b + rng.random((20, 30)) * 400
    m_ab = mu_a * mu_b + rng.normal(0, 100, (20, 30))
    args = [x.copy() for x in (mu_a, mu_b, m_aa, m_bb, m_ab)]
    for cov in (1.0, 49 / 48):
        c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
        s_aa, s_bb, s_ab = cov * (m_aa - mu_a * mu_a), cov * (m_bb - mu_b * mu_b), cov * (m_ab - mu_a * mu_b)
        want = ((2 * (mu_a * mu_b) + c1) * (2 * s_ab + c2)) / ((mu_a * mu_a + mu_b * mu_b + c1) * (s_aa + s_bb + c2))
        got = ssim_from_moments(*args, 255.0, cov)
        assert got.tobytes() == want.tobytes()
    # broadcast batch against one plane (ssim_gaussian_reflect), inputs untouched
    assert ssim_from_moments(mu_a, mu_b[0], m_aa, m_bb[0], m_ab).shape == (3, 20, 30)
    assert all(np.array_equal(x, y) for x, y in zip(args, (mu_a, mu_b, m_aa, m_bb, m_ab)))
