"""Y-channel PSNR and SSIM with the convention of the published SR tables.

SR quantised to uint8, HR modcropped, ``scale`` pixels shaved from each border, BT.601 luminance
(``srbench.conventions.to_luma``: not rounded; grey images used as they are), float64; the dataset value
is the mean of the per-image values.

Two SSIM conventions circulate in the tables SR papers copy, and this module offers both:

* ``ssim_y`` - Wang et al.'s ``ssim_index.m`` (valid filtering). The Set5 and B100 bicubic rows of the
  standard table come from it (measured: Set5 0.9299/0.8682/0.8104, B100 0.8431/0.7384/0.6674), and so
  does the Urban100 row, computed through the RGB pipeline (0.8405/0.7352/0.6581 vs 0.8403/0.7349/0.6577).
* ``ssim_y_matlab`` - MATLAB's built-in ``ssim`` (``imgaussfilt`` with replicate padding, mean over the
  full map). The Set14 column comes from it (measured 0.8689/0.7742/0.7026 vs the table's
  0.8688/0.7742/0.7027; ``ssim_y`` gives 0.8687/0.7736/0.7019).

``psnr_rgb`` / ``ssim_rgb`` are for the papers and challenges that score RGB instead of Y (the
BasicSR / scikit-image defaults): the same uint8 SR, modcropped HR and shave (:func:`srbench.conventions.shave`,
``scale`` px per border) and the same :mod:`srbench.metrics.fidelity_math` functions, on the three RGB
channels without colour conversion:

* ``psnr_rgb`` - one MSE over all pixels and all three channels together, float64, peak 255 (BasicSR
  ``calculate_psnr(test_y_channel=False)``, scikit-image ``peak_signal_noise_ratio``); not the mean of
  three per-channel PSNRs;
* ``ssim_rgb`` - Wang et al.'s SSIM (as ``ssim_y``: 11x11 Gaussian sigma 1.5, valid filtering,
  K = (0.01, 0.03), L = 255) on each channel, then the mean of the three values (BasicSR
  ``calculate_ssim(test_y_channel=False)``; scikit-image ``structural_similarity`` with
  ``channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255``
  gives the same number).

Single-channel images (Set14 ``bridge``) are scored on their one channel, as BasicSR does with a 2-D
image. Both are defined on the ``rgb`` protocol only (the ``luma`` protocol hands metrics Y planes).
"""

from __future__ import annotations

import numpy as np

from srbench.conventions import shave, to_luma
from srbench.metrics.base import MetricContext, MetricInfo, memoized

CONVENTION = (
    "SR uint8; HR modcropped; shave = scale px per border; BT.601 Y = 16 + (65.481R+128.553G+24.966B)/255 "
    "(float64, not rounded; single-channel images used as they are); dataset mean of per-image values"
)


def _planes(sr: np.ndarray, hr: np.ndarray, ctx: MetricContext) -> tuple[np.ndarray, np.ndarray]:
    """Shaved Y planes of SR and HR, computed once per (SR, HR) pair for all Y metrics (``ctx.memo``)."""
    if sr.shape != hr.shape:
        raise ValueError(f"SR {sr.shape} and HR {hr.shape} differ in shape ({ctx.image})")
    return memoized(ctx, ("fidelity.luma_planes", ctx.scale), sr, hr,
                    lambda: (_luma_plane(sr, ctx.scale), _luma_plane(hr, ctx.scale)))


def _luma_plane(img: np.ndarray, scale: int) -> np.ndarray:
    y = shave(to_luma(img), scale)
    y.flags.writeable = False  # shared by the pair's Y metrics through the memo: none may change it
    return y


RGB_CONVENTION = (
    "SR and HR uint8 RGB, no colour conversion (single-channel images: their one channel); HR modcropped; "
    "shave = scale px per border (as psnr_y); float64"
)
_MEAN = "; dataset mean of per-image values"


def _rgb_pair(sr: np.ndarray, hr: np.ndarray, ctx: MetricContext) -> tuple[np.ndarray, np.ndarray]:
    sr, hr = np.asarray(sr), np.asarray(hr)
    if sr.shape != hr.shape:
        raise ValueError(f"SR {sr.shape} and HR {hr.shape} differ in shape ({ctx.image})")
    if sr.dtype != np.uint8 or hr.dtype != np.uint8:
        raise TypeError(f"RGB PSNR/SSIM take uint8 images, got {sr.dtype} and {hr.dtype} ({ctx.image})")
    if not (sr.ndim == 2 or (sr.ndim == 3 and sr.shape[2] == 3)):
        raise ValueError(f"expected HxWx3 RGB or HxW grey images, got {sr.shape} ({ctx.image})")
    return shave(sr, ctx.scale), shave(hr, ctx.scale)


def psnr_y(device: str = "cpu"):
    from srbench.metrics.fidelity_math import psnr

    def f(sr, hr, ctx: MetricContext) -> float:
        return psnr(*_planes(sr, hr, ctx))

    return f


def ssim_y(device: str = "cpu"):
    from srbench.metrics.fidelity_math import ssim

    def f(sr, hr, ctx: MetricContext) -> float:
        return ssim(*_planes(sr, hr, ctx))

    return f


def ssim_y_matlab(device: str = "cpu"):
    from srbench.metrics.fidelity_math import ssim_matlab

    def f(sr, hr, ctx: MetricContext) -> float:
        return ssim_matlab(*_planes(sr, hr, ctx))

    return f


def psnr_rgb(device: str = "cpu"):
    from srbench.metrics.fidelity_math import psnr

    def f(sr, hr, ctx: MetricContext) -> float:
        return psnr(*_rgb_pair(sr, hr, ctx))  # one MSE over every pixel and channel

    return f


def ssim_rgb(device: str = "cpu"):
    from srbench.metrics.fidelity_math import ssim_channels

    def f(sr, hr, ctx: MetricContext) -> float:
        return ssim_channels(*_rgb_pair(sr, hr, ctx))

    return f


METRICS = [
    MetricInfo(
        name="psnr_y",
        description="PSNR on the luminance (Y) channel, dB",
        higher_is_better=True,
        full_reference=True,
        kind="image",
        version="1",
        factory="srbench.metrics.fidelity:psnr_y",
        protocols=("rgb", "luma"),
        convention=CONVENTION,
        default=True,
        reference="standard bicubic table (Set5/Set14/B100/Urban100 x2/x3/x4) within 0.01 dB",
    ),
    MetricInfo(
        name="ssim_y",
        description="SSIM (Wang et al. ssim_index.m, 11x11 Gaussian sigma 1.5, valid filtering) on Y",
        higher_is_better=True,
        full_reference=True,
        kind="image",
        version="1",
        factory="srbench.metrics.fidelity:ssim_y",
        protocols=("rgb", "luma"),
        convention=CONVENTION + "; K=(0.01,0.03), L=255, valid region only",
        default=True,
        reference="standard bicubic table, Set5/B100 columns, within 0.0005; scikit-image on random data",
    ),
    MetricInfo(
        name="ssim_y_matlab",
        description="SSIM as MATLAB's built-in ssim() (replicate padding, full map) on Y",
        higher_is_better=True,
        full_reference=True,
        kind="image",
        version="1",
        factory="srbench.metrics.fidelity:ssim_y_matlab",
        protocols=("rgb", "luma"),
        convention=CONVENTION + "; K=(0.01,0.03), L=255, Gaussian sigma 1.5 (11 taps), replicate padding",
        reference="standard bicubic table, Set14 column, within 0.0005",
    ),
    MetricInfo(
        name="psnr_rgb",
        description="PSNR on the three RGB channels (one MSE over all pixels and channels), dB",
        higher_is_better=True,
        full_reference=True,
        kind="image",
        version="1",
        factory="srbench.metrics.fidelity:psnr_rgb",
        protocols=("rgb",),
        convention=RGB_CONVENTION + "; one MSE over all pixels and channels, peak 255" + _MEAN,
        reference=(
            "scikit-image peak_signal_noise_ratio and a NumPy transcription of BasicSR "
            "calculate_psnr(test_y_channel=False), both within 1e-12 dB (measured: 0) (tests/metrics/test_fidelity.py)"
        ),
    ),
    MetricInfo(
        name="ssim_rgb",
        description="SSIM (Wang et al. ssim_index.m, valid filtering) per RGB channel, mean over the channels",
        higher_is_better=True,
        full_reference=True,
        kind="image",
        version="1",
        factory="srbench.metrics.fidelity:ssim_rgb",
        protocols=("rgb",),
        convention=RGB_CONVENTION + "; per channel: 11x11 Gaussian sigma 1.5, K=(0.01,0.03), L=255, valid region "
        "only; mean of the channel values" + _MEAN,
        reference=(
            "scikit-image structural_similarity(channel_axis=-1, gaussian_weights=True, sigma=1.5, "
            "use_sample_covariance=False, data_range=255) and a NumPy transcription of BasicSR "
            "calculate_ssim(test_y_channel=False), both within 1e-12 (measured: <= 2e-14) (tests/metrics/test_fidelity.py)"
        ),
    ),
]
