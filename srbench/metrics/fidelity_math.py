"""PSNR and SSIM, float64, as in the published SR tables (one implementation for every fidelity metric).

SSIM follows Wang et al.'s reference ``ssim_index.m`` (2004): 11x11 Gaussian window with sigma 1.5,
K = (0.01, 0.03), L = 255, ``filter2(..., 'valid')`` (no padding), mean of the SSIM map.
scikit-image's ``structural_similarity`` with ``gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255`` computes the full map with reflect padding and then
averages it with a 5-pixel border cropped (``crop(S, (win_size - 1) // 2)``, win_size 11): that is the
valid region, so its value equals :func:`ssim` up to float rounding (measured: <= 3e-16). Its
defaults (7x7 uniform window, sample covariance) give a different number. Multi-channel images:
:func:`ssim_channels` (mean of the per-channel SSIMs, as ``channel_axis=-1`` there and BasicSR's
``calculate_ssim``); PSNR of a multi-channel image is one MSE over all pixels and channels.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import correlate1d

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K = (0.01, 0.03)


def _gaussian_1d(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()  # the 2-D fspecial window is outer(g, g), normalised the same way


def _filter_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    r = g.size // 2
    out = correlate1d(correlate1d(img, g, axis=0, mode="constant"), g, axis=1, mode="constant")
    return out[r:-r, r:-r]


def _filter_replicate(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    # scipy's "nearest" mode is MATLAB's 'replicate' padding
    return correlate1d(correlate1d(img, g, axis=0, mode="nearest"), g, axis=1, mode="nearest")


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """PSNR in dB of two equally shaped arrays (float64); +inf for identical inputs."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"PSNR of differently shaped images: {a.shape} vs {b.shape}")
    mse = np.mean((a - b) ** 2)
    if mse == 0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / mse)


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Mean SSIM of two single-channel images (Wang et al. 2004, valid filtering)."""
    return _ssim(a, b, data_range, _filter_valid)


def ssim_channels(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Mean over channels of :func:`ssim` for HxWxC images; an HxW image is one channel.

    As BasicSR's ``calculate_ssim(test_y_channel=False)`` and scikit-image's
    ``structural_similarity(..., channel_axis=-1)``: each channel's SSIM map is averaged over its valid
    region, then the C values are averaged (equal weights).
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape or a.ndim not in (2, 3):
        raise ValueError(f"SSIM needs two equally shaped HxW or HxWxC images, got {a.shape} and {b.shape}")
    if a.ndim == 2:
        return ssim(a, b, data_range)
    return float(np.mean([ssim(a[:, :, c], b[:, :, c], data_range) for c in range(a.shape[2])]))


def ssim_matlab(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Mean SSIM as MATLAB's built-in ``ssim`` (R2014a+): replicate padding, mean over the full map."""
    return _ssim(a, b, data_range, _filter_replicate)


def _ssim(a, b, data_range, filt) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"SSIM needs two equally shaped 2-D images, got {a.shape} and {b.shape}")
    if min(a.shape) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {a.shape}")
    c1 = (SSIM_K[0] * data_range) ** 2
    c2 = (SSIM_K[1] * data_range) ** 2
    g = _gaussian_1d()
    mu_a = filt(a, g)
    mu_b = filt(b, g)
    mu_aa, mu_bb, mu_ab = mu_a * mu_a, mu_b * mu_b, mu_a * mu_b
    s_aa = filt(a * a, g) - mu_aa
    s_bb = filt(b * b, g) - mu_bb
    s_ab = filt(a * b, g) - mu_ab
    num = (2.0 * mu_ab + c1) * (2.0 * s_ab + c2)
    den = (mu_aa + mu_bb + c1) * (s_aa + s_bb + c2)
    return float(np.mean(num / den))
