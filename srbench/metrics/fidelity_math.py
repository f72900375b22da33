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

The SSIM formula is written once, in :func:`ssim_from_moments`; the variants differ only in how the
local moments are filtered and which part of the map is averaged:

* :func:`ssim` / :func:`ssim_matlab`: one plane, valid / replicate-padded Gaussian (above);
* :func:`ssim_channels`: :func:`ssim` per channel, mean over channels (NTIRE 2017 scoring function);
* :func:`ssim_gaussian_reflect`: scikit-image's Gaussian-weighted SSIM (``gaussian_filter`` with
  ``mode="reflect"``, population covariance, map cropped by 5 px) over a batch of equally sized windows,
  with the filter written as two small matrices (exact same weights, any summation order), so thousands
  of windows cost a few matrix products (NTIRE 2018 shift search).
"""

from __future__ import annotations

import math

import numpy as np

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K = (0.01, 0.03)


def _gaussian_1d(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()  # the 2-D fspecial window is outer(g, g), normalised the same way


def _local_moments(a: np.ndarray, b: np.ndarray, valid: bool) -> np.ndarray:
    """Gaussian-filtered ``a, b, a*a, b*b, a*b`` as one (5, h, w) array: ``filter2(..., 'valid')`` when
    ``valid`` (h, w = H - 10, W - 10), else the full map with replicate padding (scipy's ``nearest``).

    Plane by plane through two reused image-size buffers (scipy's per-line arithmetic, so the same bits
    as one fresh ``correlate1d`` chain per plane; filtering the five planes stacked, in two calls, was
    measured slower: the stack does not fit in the cache). In the valid case the second (row) pass only
    runs over the rows the valid region keeps: rows are filtered independently, so they are unchanged.
    """
    from scipy.ndimage import correlate1d  # here: the metric registry imports this module to list metrics

    g = _gaussian_1d()
    r = g.size // 2
    mode, keep = ("constant", slice(r, -r)) if valid else ("nearest", slice(None))
    product, cols = np.empty_like(a), np.empty_like(a)
    out = np.empty((5,) + cols[keep].shape)
    for k, (x, y) in enumerate(((a, None), (b, None), (a, a), (b, b), (a, b))):
        plane = x if y is None else np.multiply(x, y, out=product)
        correlate1d(plane, g, axis=0, mode=mode, output=cols)
        correlate1d(cols[keep], g, axis=1, mode=mode, output=out[k])
    return out[:, :, keep]


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """PSNR in dB of two equally shaped arrays (float64); +inf for identical inputs."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"PSNR of differently shaped images: {a.shape} vs {b.shape}")
    d = np.subtract(a, b, dtype=np.float64)  # casts as it goes: no float64 copies of a and b
    mse = np.mean(np.square(d, out=d))
    if mse == 0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / mse)


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Mean SSIM of two single-channel images (Wang et al. 2004, valid filtering)."""
    return _ssim(a, b, data_range, valid=True)


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
    return _ssim(a, b, data_range, valid=False)


def _ssim(a, b, data_range, valid: bool) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"SSIM needs two equally shaped 2-D images, got {a.shape} and {b.shape}")
    if min(a.shape) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {a.shape}")
    return float(np.mean(ssim_from_moments(*_local_moments(a, b, valid), data_range)))


def ssim_from_moments(mu_a, mu_b, m_aa, m_bb, m_ab, data_range: float = 255.0, cov_norm: float = 1.0) -> np.ndarray:
    """The SSIM map from local moments: weighted means ``mu_a, mu_b`` and raw second moments
    ``m_aa = E[a^2], m_bb = E[b^2], m_ab = E[ab]`` (float arrays of one shape, or a batch and one plane).

    ``cov_norm`` scales the (co)variances: 1 for the population covariance of Wang et al., ``n/(n-1)`` for
    scikit-image's default sample covariance over an n-pixel uniform window. K = (0.01, 0.03).
    """
    c1 = (SSIM_K[0] * data_range) ** 2
    c2 = (SSIM_K[1] * data_range) ** 2
    # num = (2 mu_ab + c1)(2 s_ab + c2), den = (mu_aa + mu_bb + c1)(s_aa + s_bb + c2), s_xy = cov_norm
    # (m_xy - mu_xy): written in place on 4 buffers (not ~15 temporaries), each value by the same operations
    # in the same order as the formula (the products are commutative, so also the same bits)
    num = np.multiply(mu_a, mu_b)  # mu_ab
    t = np.subtract(m_ab, num)  # s_ab
    _scale(t, cov_norm)
    t *= 2.0
    t += c2
    num *= 2.0
    num += c1
    num *= t
    den = np.multiply(mu_a, mu_a, out=t)  # mu_aa
    mu_bb = np.multiply(mu_b, mu_b)
    s_sum = np.subtract(m_aa, den)  # s_aa
    _scale(s_sum, cov_norm)
    den += mu_bb
    den += c1
    s_bb = np.subtract(m_bb, mu_bb, out=mu_bb)
    _scale(s_bb, cov_norm)
    s_sum += s_bb
    s_sum += c2
    den *= s_sum
    num /= den
    return num


def _scale(x: np.ndarray, cov_norm: float) -> None:
    if cov_norm != 1.0:  # x * 1.0 is x: the same bits without the pass
        x *= cov_norm


def reflect_filter_matrix(n: int, weights: np.ndarray) -> np.ndarray:
    """``M`` (n x n) with ``M @ x == scipy.ndimage.correlate1d(x, weights, mode="reflect")`` for length-n x.

    ``reflect`` is scipy's half-sample symmetric extension ``(d c b a | a b c d | d c b a)``; the weights
    (odd length, centred) are folded onto the pixels they land on.
    """
    weights = np.asarray(weights, dtype=np.float64)
    r = weights.size // 2
    m = np.zeros((n, n), dtype=np.float64)
    for p in range(n):
        for k, w in enumerate(weights):
            q = (p + k - r) % (2 * n)
            m[p, q if q < n else 2 * n - 1 - q] += w
    return m


def ssim_gaussian_reflect(a: np.ndarray, b: np.ndarray, radius: int, crop: int = 5,
                          data_range: float = 255.0) -> np.ndarray:
    """scikit-image's Gaussian-weighted SSIM with population covariance for a batch of windows.

    ``a``: (..., H, W); ``b``: (H, W) or the shape of ``a``. Per window: moments filtered with a Gaussian of
    sigma 1.5 and ``radius`` taps each side (``scipy.ndimage.gaussian_filter`` with ``truncate * 1.5 + 0.5``
    rounded down: radius 6 for truncate 4.0 - scikit-image's ``compare_ssim`` of 2018 and the NTIRE scoring
    bundles' ``myssim.py`` -, radius 5 for truncate 3.5 - later ``structural_similarity``), ``reflect``
    borders, K = (0.01, 0.03); the map is averaged after dropping ``crop`` px per side
    (``(win_size - 1) // 2`` with ``win_size = 11`` in both). Returns the mean SSIM of each window,
    shape ``a.shape[:-2]``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    h, w = a.shape[-2:]
    if b.shape != a.shape and b.shape != (h, w):
        raise ValueError(f"SSIM windows {a.shape} and {b.shape} do not match")
    if min(h, w) <= 2 * crop or min(h, w) <= radius:
        raise ValueError(f"SSIM windows of {h}x{w} px are too small for radius {radius} and crop {crop}")
    g = _gaussian_1d(2 * radius + 1, SSIM_SIGMA)
    rows = reflect_filter_matrix(h, g)[crop : h - crop]  # only the rows/columns the mean keeps
    cols = reflect_filter_matrix(w, g)[crop : w - crop]

    def filt(x):  # rows @ x @ cols.T on the last two axes, broadcast over the batch
        return np.matmul(rows, np.matmul(x, cols.T))

    mu_a, mu_b = filt(a), filt(b)
    smap = ssim_from_moments(mu_a, mu_b, filt(a * a), filt(b * b), filt(a * b), data_range)
    return smap.mean(axis=(-2, -1))
