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
"""

from __future__ import annotations

import numpy as np

from srbench.conventions import shave, to_luma
from srbench.metrics.base import MetricContext, MetricInfo

CONVENTION = (
    "SR uint8; HR modcropped; shave = scale px per border; BT.601 Y = 16 + (65.481R+128.553G+24.966B)/255 "
    "(float64, not rounded; single-channel images used as they are); dataset mean of per-image values"
)


def _planes(sr: np.ndarray, hr: np.ndarray, ctx: MetricContext) -> tuple[np.ndarray, np.ndarray]:
    if sr.shape != hr.shape:
        raise ValueError(f"SR {sr.shape} and HR {hr.shape} differ in shape ({ctx.image})")
    return shave(to_luma(sr), ctx.scale), shave(to_luma(hr), ctx.scale)


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
]
