"""LR consistency: LR-PSNR as the NTIRE 2021 "Learning the Super-Resolution Space" challenge measures it.

Official definition (repository andreas128/NTIRE21_Learning_SR_Space, ``measure.py``, function
``lpips_analysis``; the NTIRE 2022 edition, andreas128/NTIRE22_Learning_SR_Space ``measure.py``, is the
same)::

    gt = gt[:(h//8)*8, :(w//8)*8]            # HR cropped to a multiple of 8 (top-left), whatever the scale
    sr = sr[:h1, :w1]                        # SR cropped to the HR's size
    imgA_lr = imresize(sr, 1 / scale)        # their imresize.py (Python port, see below)
    imgB_lr = imresize(gt, 1 / scale)
    lrpsnr = skimage.metrics.peak_signal_noise_ratio(imgA_lr, imgB_lr)   # RGB uint8, data_range 255

So the reference is the *HR downscaled with the same resizer*, not the LR file the method was given; no
border is shaved; all three RGB channels count; the per-image value is averaged over images
(``pandas.DataFrame.mean``). With several samples per image the challenge reports the mean and the
worst (minimum) LR-PSNR over the samples (see ``srbench.metrics.diversity``).

Their ``imresize.py`` is fatheral/matlab_imresize (MIT). It differs from MATLAB's ``imresize`` (and
from :func:`srbench.imresize.imresize`) in two ways, both reproduced here in :func:`ntire_imresize`:

* out-of-range taps are *mirrored* (``aux = [0..n-1, n-1..0]``, ``aux[index mod 2n]``: half-sample
  symmetric, like MATLAB R2017+), where srbench's MATLAB imresize clamps to the border pixel;
* each uint8 pass is ``np.around(np.clip(x, 0, 255))``: round half to *even*, where MATLAB rounds half
  away from zero.

Everything else (antialiased cubic kernel a=-0.5, output size ``ceil``, sample positions, weight
normalisation, dropping all-zero columns, rows first when the scales are equal, rounding to uint8 after
each pass) is as MATLAB. The differences move the border rows/columns of the LR image (and the 8-crop
drops pixels): on Set5 x4 bicubic (LR = MATLAB imresize of the modcropped HR, SR = its x4 bicubic
upscale) the mean LR-PSNR is 37.2440 dB here and with the official code, 37.2661 dB with MATLAB's
resizer and no crop (per image up to 0.06 dB apart), so the official resizer and crop are what
``lr_psnr`` uses; :func:`ntire_imresize` equals the official ``imresize`` bit for bit.

``lr_psnr_input`` is the other definition found in papers (e.g. SRFlow's test script): PSNR between the
downscaled SR and the LR the method was actually given (``ctx.lr``), which also works when the LR is
not a bicubic downscale of the HR. It uses the same official resizer and the same crop (the LR is
cropped to the cropped HR's size / scale).

``lr_ssim`` / ``lr_ssim_input`` are the SSIM twins of ``lr_psnr`` / ``lr_psnr_input``: the same crop,
the same official resizer and the same pair of LR images, scored with SSIM instead of PSNR. The official
challenge code defines no LR-SSIM (``measure.py`` computes LR-PSNR only), so srbench chose, and
documents, the SSIM: RGB like ``lr_psnr`` (all three channels, no shave), Wang et al.'s SSIM
(:func:`srbench.metrics.fidelity_math.ssim`: 11x11 Gaussian sigma 1.5, valid filtering,
K = (0.01, 0.03), L = 255) on each channel, mean over the channels - the same SSIM as ``ssim_rgb``,
and the value of ``skimage.metrics.structural_similarity(a, b, channel_axis=-1, gaussian_weights=True,
sigma=1.5, use_sample_covariance=False, data_range=255)`` (the library the challenge's PSNR comes from;
its defaults, a 7x7 uniform window with sample covariance, would give another number). The downscaled
images must be at least 11x11 (HR at least 11 * scale after the crop).

RefVAE (Liu et al., CVPRW 2021, Table 2) reports "LR PSNR" / "LR SSIM" ("down-sample SR images by
bicubic"), without saying which resizer, channels or reference. Its released code (Holmes-Alan/RefVAE
``test.py``, an x4 checkpoint-evaluation loop; the same lines are commented out in ``eval_8x.py``)
downscales the SR with ``torch.nn.functional.interpolate(..., mode='bicubic')`` (no antialiasing,
float, not rounded) and compares it with the LR the network was given (PIL bicubic of the HR in
``test.py``), on rounded BT.601 Y with a 1-pixel shave, Wang's SSIM (valid filtering, OpenCV). A
different resizer and a different reference: srbench does not reproduce it, and its numbers are not
comparable with ``lr_psnr`` (Set5 x4 bicubic, measured with a scratch transcription of that code:
53.84 dB / 0.9994 there, ``lr_psnr`` 37.24 dB / ``lr_ssim`` 0.9902 here). ``lr_ssim`` stays on the challenge's pipeline so that ``lr_psnr`` and
``lr_ssim`` score the same pair of images.

This module imports only numpy at import time (the registry imports it for the metadata); the SSIM
functions import scipy when called.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from srbench.metrics.base import MetricContext, MetricInfo

#: The official code crops the HR (and so the SR) to a multiple of 8 at both tracks (x4, x8).
NTIRE_CROP = 8

REFERENCE = (
    "andreas128/NTIRE21_Learning_SR_Space measure.py (lpips_analysis) + imresize.py "
    "(fatheral/matlab_imresize port); golden values in tests/fixtures/ntire21/"
)

_PAIR = (
    "HR and SR cropped top-left to a multiple of lcm(8, scale) (the official code: 8, at x4/x8); both "
    "downscaled by 1/scale with the official Python imresize port (antialiased bicubic, mirrored borders, "
    "uint8 per pass with round-half-even)"
)
_INPUT_PAIR = (
    "SR cropped top-left to a multiple of lcm(8, scale), downscaled by 1/scale with the NTIRE21 "
    "imresize port; compared with the input LR cropped to the same size"
)
_SSIM = (
    "SSIM per RGB channel (Wang et al.: 11x11 Gaussian sigma 1.5, valid filtering, K=(0.01,0.03), L=255), "
    "mean over the channels, no shave; LR images at least 11x11; dataset mean of per-image values"
)
_PSNR = "PSNR over RGB uint8, peak 255, no shave; dataset mean of per-image values"
CONVENTION = f"{_PAIR}; {_PSNR}"

#: lr_ssim vs skimage.metrics.structural_similarity on the same downscaled pairs (tests/metrics)
SSIM_REFERENCE = (
    "skimage.metrics.structural_similarity(channel_axis=-1, gaussian_weights=True, sigma=1.5, "
    "use_sample_covariance=False, data_range=255) on the same downscaled pairs, within 1e-12 (measured: "
    "<= 3e-16); the pairs are those of lr_psnr (official imresize bit for bit, LR-PSNR golden values). "
    "The challenge code defines no LR-SSIM: the SSIM is srbench's choice (module docstring)"
)


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * (
        (ax > 1) & (ax <= 2)
    )


@lru_cache(maxsize=64)
def _contributions(in_len: int, out_len: int, scale: float):
    # as contributions() in the official imresize.py: 0-based indices, mirrored through aux[i mod 2n]
    if scale < 1:

        def h(x):
            return scale * _cubic(scale * x)

        kernel_width = 4.0 / scale
    else:
        h = _cubic
        kernel_width = 4.0
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - kernel_width / 2.0)
    p = math.ceil(kernel_width) + 2
    indices = (left[:, None] + np.arange(p) - 1).astype(np.int64)
    weights = h(u[:, None] - indices - 1)
    weights = weights / weights.sum(axis=1, keepdims=True)
    aux = np.concatenate((np.arange(in_len), np.arange(in_len - 1, -1, -1)))
    indices = aux[np.mod(indices, aux.size)]
    keep = np.any(weights != 0, axis=0)
    weights = np.ascontiguousarray(weights[:, keep])
    indices = np.ascontiguousarray(indices[:, keep])
    weights.setflags(write=False)
    indices.setflags(write=False)
    return weights, indices


def ntire_imresize(img: np.ndarray, scale: float) -> np.ndarray:
    """Bicubic resize exactly as the NTIRE21 challenge's ``imresize.py`` (``mode="vec"``).

    uint8 in -> uint8 out (clip + round half to even after each pass); float in -> float64 out.
    """
    img = np.asarray(img)
    if img.ndim not in (2, 3):
        raise ValueError(f"expected an HxW or HxWxC image, got shape {img.shape}")
    is_uint8 = img.dtype == np.uint8
    scale = float(scale)
    out_lens = [math.ceil(scale * img.shape[k]) for k in range(2)]
    out = img[:, :, None] if img.ndim == 2 else img
    for dim in (0, 1):  # np.argsort of two equal scales: rows first
        weights, indices = _contributions(out.shape[dim], out_lens[dim], scale)
        moved = np.moveaxis(out, dim, 0).astype(np.float64)
        # sum over taps, weights broadcast like imresizevec
        res = np.sum(weights[:, :, None, None] * moved[indices], axis=1)
        res = np.moveaxis(res, 0, dim)
        out = np.around(np.clip(res, 0, 255)).astype(np.uint8) if is_uint8 else res
    return out[:, :, 0] if img.ndim == 2 else out


def psnr_uint8(a: np.ndarray, b: np.ndarray) -> float:
    """``skimage.metrics.peak_signal_noise_ratio`` for uint8 images (peak 255, float64 MSE); +inf if equal."""
    if a.shape != b.shape:
        raise ValueError(f"PSNR of differently shaped images: {a.shape} vs {b.shape}")
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    if mse == 0:
        return math.inf
    return 10.0 * math.log10(255.0 * 255.0 / mse)


def crop_multiple(scale: int) -> int:
    """The crop multiple: 8 as in the official code, widened to lcm(8, scale) for other scales."""
    return NTIRE_CROP * scale // math.gcd(NTIRE_CROP, scale)


def ntire_crop(img: np.ndarray, scale: int) -> np.ndarray:
    m = crop_multiple(scale)
    h, w = img.shape[:2]
    return img[: (h // m) * m, : (w // m) * m]


def _check(sr: np.ndarray, hr: np.ndarray | None, ctx: MetricContext) -> None:
    if hr is None:  # an LR-only dataset: the *_input metrics compare with the given LR alone
        if sr.dtype != np.uint8:
            raise TypeError(f"LR-PSNR / LR-SSIM take uint8 images, got {sr.dtype} ({ctx.image})")
        return
    if sr.shape != hr.shape:
        raise ValueError(f"SR {sr.shape} and HR {hr.shape} differ in shape ({ctx.image})")
    if sr.dtype != np.uint8 or hr.dtype != np.uint8:
        raise TypeError(f"LR-PSNR / LR-SSIM take uint8 images, got {sr.dtype} and {hr.dtype} ({ctx.image})")


def lr_pair(sr: np.ndarray, hr: np.ndarray, scale: int, hr_lr: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The two LR images the challenge compares: the downscaled cropped SR and the downscaled cropped HR
    (``hr_lr``, if already computed)."""
    hr_c = ntire_crop(hr, scale)
    sr_c = sr[: hr_c.shape[0], : hr_c.shape[1]]
    if hr_lr is None:
        hr_lr = ntire_imresize(hr_c, 1.0 / scale)
    return ntire_imresize(sr_c, 1.0 / scale), hr_lr


def lr_psnr_official(sr: np.ndarray, hr: np.ndarray, scale: int, hr_lr: np.ndarray | None = None) -> float:
    """NTIRE21 LR-PSNR of one SR image; ``hr_lr`` = the downscaled cropped HR, if already computed."""
    return psnr_uint8(*lr_pair(sr, hr, scale, hr_lr))


def ssim_lr(a: np.ndarray, b: np.ndarray, scale: int, what: str = "lr_ssim") -> float:
    """SSIM of two LR images as ``lr_ssim`` scores them (per-channel Wang SSIM, mean over channels)."""
    from srbench.metrics.fidelity_math import SSIM_WINDOW, ssim_channels

    if min(a.shape[:2]) < SSIM_WINDOW:
        raise ValueError(
            f"{what}: the downscaled image is {a.shape[0]}x{a.shape[1]}, SSIM needs at least "
            f"{SSIM_WINDOW}x{SSIM_WINDOW} (HR >= {SSIM_WINDOW * scale} px after the crop)"
        )
    return ssim_channels(a, b)


def lr_ssim_official(sr: np.ndarray, hr: np.ndarray, scale: int, hr_lr: np.ndarray | None = None) -> float:
    """LR-SSIM of one SR image on the pair of :func:`lr_psnr_official` (see the module docstring)."""
    return ssim_lr(*lr_pair(sr, hr, scale, hr_lr), scale)


def _input_pair(sr: np.ndarray, ctx: MetricContext, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The downscaled cropped SR and the given LR cropped to its size (``lr_*_input``)."""
    if ctx.lr is None:
        raise ValueError(f"{name} needs the LR image (ctx.lr) ({ctx.image})")
    scale = int(ctx.scale)
    sr_c = ntire_crop(sr, scale)
    lr = np.asarray(ctx.lr)
    if lr.ndim != sr_c.ndim:
        raise ValueError(f"LR {lr.shape} and SR {sr.shape} differ in channels ({ctx.image})")
    lh, lw = sr_c.shape[0] // scale, sr_c.shape[1] // scale
    if lr.shape[0] < lh or lr.shape[1] < lw:
        raise ValueError(f"LR {lr.shape} smaller than SR {sr.shape} / {scale} ({ctx.image})")
    return ntire_imresize(sr_c, 1.0 / scale), lr[:lh, :lw]


def lr_psnr(device: str = "cpu"):
    def f(sr, hr, ctx: MetricContext) -> float:
        _check(sr, hr, ctx)
        return lr_psnr_official(sr, hr, int(ctx.scale))

    return f


def lr_psnr_input(device: str = "cpu"):
    def f(sr, hr, ctx: MetricContext) -> float:
        _check(sr, hr, ctx)
        return psnr_uint8(*_input_pair(sr, ctx, "lr_psnr_input"))

    return f


def lr_ssim(device: str = "cpu"):
    def f(sr, hr, ctx: MetricContext) -> float:
        _check(sr, hr, ctx)
        return ssim_lr(*lr_pair(sr, hr, int(ctx.scale)), int(ctx.scale), f"lr_ssim ({ctx.image})")

    return f


def lr_ssim_input(device: str = "cpu"):
    def f(sr, hr, ctx: MetricContext) -> float:
        _check(sr, hr, ctx)
        return ssim_lr(*_input_pair(sr, ctx, "lr_ssim_input"), int(ctx.scale), f"lr_ssim_input ({ctx.image})")

    return f


METRICS = [
    MetricInfo(
        name="lr_psnr",
        description="LR-PSNR (NTIRE21 Learning the SR Space): PSNR of the downscaled SR vs the downscaled HR, dB",
        higher_is_better=True,
        full_reference=True,
        kind="image",
        version="1",
        factory="srbench.metrics.lr_consistency:lr_psnr",
        convention=CONVENTION,
        reference=REFERENCE,
    ),
    MetricInfo(
        name="lr_psnr_input",
        description="LR-PSNR against the given LR: PSNR of the downscaled SR vs the method's input LR, dB",
        higher_is_better=True,
        full_reference=False,
        kind="image",
        version="1",
        factory="srbench.metrics.lr_consistency:lr_psnr_input",
        convention=(
            "SR cropped top-left to a multiple of lcm(8, scale), downscaled by 1/scale with the NTIRE21 "
            "imresize port; PSNR vs the input LR (cropped to the same size) over RGB uint8, peak 255, no "
            "shave; dataset mean of per-image values"
        ),
        reference="variant of " + REFERENCE,
    ),
    MetricInfo(
        name="lr_ssim",
        description="LR-SSIM: SSIM (RGB, mean over channels) of the downscaled SR vs the downscaled HR, as lr_psnr",
        higher_is_better=True,
        full_reference=True,
        kind="image",
        version="1",
        factory="srbench.metrics.lr_consistency:lr_ssim",
        convention=f"{_PAIR}; {_SSIM}",
        reference=SSIM_REFERENCE,
    ),
    MetricInfo(
        name="lr_ssim_input",
        description="LR-SSIM against the given LR: SSIM (RGB, mean over channels) of the downscaled SR vs the input LR",
        higher_is_better=True,
        full_reference=False,
        kind="image",
        version="1",
        factory="srbench.metrics.lr_consistency:lr_ssim_input",
        convention=f"{_INPUT_PAIR}; {_SSIM}",
        reference=SSIM_REFERENCE.replace("those of lr_psnr", "those of lr_psnr_input"),
    ),
]
