"""The evaluation conventions of the published SR tables, written once.

Every metric and the runner take these from here: colour conversion to luminance, the crop of the HR
image to a multiple of the scale ("modcrop"), the border shave, rounding, and the default seed.
"""

from __future__ import annotations

import numpy as np

from srbench.imresize import matlab_round

#: Seed used when a run does not name one.
DEFAULT_SEED = 0


def image_seed(seed: int, image_key: str) -> int:
    """The seed a stochastic *degradation* uses for one image: derived from the run's seed and the image's
    pixel hash, so every image gets its own noise field (one seed for all would give every same-size image
    the same noise) and the same image always gets the same one. Methods' ``sample(lr, n, seed)`` get the
    run's seed itself, as their official test scripts do."""
    import hashlib

    return int.from_bytes(hashlib.sha256(f"{int(seed)}:{image_key}".encode()).digest()[:4], "little")

#: ITU-R BT.601 luma with the studio-range offset, as MATLAB's ``rgb2ycbcr`` (inputs scaled to [0, 1]).
_BT601_Y = np.array([65.481, 128.553, 24.966], dtype=np.float64)


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom/right so that height and width are multiples of ``scale`` (top-left kept)."""
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def shave(img: np.ndarray, border: int) -> np.ndarray:
    """Remove ``border`` pixels from each side."""
    if border <= 0:
        return img
    return img[border:-border, border:-border]


def to_luma(img: np.ndarray) -> np.ndarray:
    """Luminance in [0, 255] float64 as the SR tables score it (not rounded).

    * RGB uint8: BT.601 ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255``;
    * single-channel (Set14 ``bridge``): the grey values as they are. This is what the SRCNN/VDSR
      evaluation code does (``rgb2ycbcr`` is only applied to 3-channel images) and what produces the
      published Set14 numbers. A method fed a grey LR gets it replicated to RGB; its RGB output is
      brought back to grey with :func:`rgb_to_grey` before scoring.
    """
    img = np.asarray(img)
    if img.ndim == 2:
        return img.astype(np.float64)
    if img.ndim == 3 and img.shape[2] == 3:
        # 16 + (x @ w) / 255 in place on the matmul result (no two extra image-size temporaries). The matmul
        # stays: its BLAS dot products are the reference bits (no elementwise formula matches them all)
        y = img.astype(np.float64) @ _BT601_Y
        y /= 255.0
        y += 16.0
        return y
    raise ValueError(f"expected an HxW or HxWx3 image, got shape {img.shape}")


def to_luma_uint8(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2ycbcr`` Y of a uint8 image, rounded to uint8 (PIRM / SRCNN convention)."""
    img = np.asarray(img)
    if img.ndim == 2:
        return img.astype(np.uint8)
    return np.clip(matlab_round(to_luma(img)), 0, 255).astype(np.uint8)


def rgb_to_grey(img: np.ndarray) -> np.ndarray:
    """Full-range BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` rounded to uint8; maps grey RGB to itself."""
    img = np.asarray(img)
    if img.ndim == 2:
        return img
    y = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return np.clip(matlab_round(y), 0, 255).astype(np.uint8)


def grey_to_rgb(img: np.ndarray) -> np.ndarray:
    """Replicate a single-channel image to three channels (what RGB methods are fed)."""
    img = np.asarray(img)
    return np.repeat(img[:, :, None], 3, axis=2) if img.ndim == 2 else img


#: How a float network output (already multiplied by 255) becomes uint8. Each method adapter keeps the
#: rule of its official code (``MethodInfo.rounding``, shown by ``srbench list --verbose``) and applies it
#: with :func:`to_uint8`; srbench's own conversions use ``half_away``. Values are clipped to [0, 255]
#: first in every rule.
ROUNDING: dict[str, str] = {
    "half_away": "round half away from zero (MATLAB uint8(), srbench's own convention)",
    "half_even": "round half to even (numpy.round / torch.round, e.g. ESRGAN's test.py)",
    "truncate": "truncate towards zero (np.uint8(x) / tensor.byte() / ToPILImage, e.g. dSRVAE, RefVAE, SRGAN)",
}


def to_uint8(img, rule: str) -> np.ndarray:
    """Float image on the [0, 255] scale -> uint8 with one of the :data:`ROUNDING` rules (clipped first).

    The rounding itself is exact in any float dtype, so float32 network output gives the same bytes as
    the official float32 code path as long as the multiplication by 255 was done in float32 there too.
    """
    if rule not in ROUNDING:
        raise ValueError(f"unknown rounding rule {rule!r}; choose from {', '.join(ROUNDING)}")
    arr = np.asarray(img, dtype=np.float64)
    if not np.isfinite(arr).all():
        from srbench.errors import MethodOutputError

        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise MethodOutputError(f"the network output holds {bad} NaN/inf value(s); refusing to round them to pixels")
    arr = np.clip(arr, 0.0, 255.0)
    if rule == "half_away":
        arr = matlab_round(arr)
    elif rule == "half_even":
        arr = np.round(arr)
    else:
        arr = np.trunc(arr)
    return arr.astype(np.uint8)


def quantize(img: np.ndarray) -> np.ndarray:
    """Float image in [0, 255] to uint8 with srbench's own rule (``half_away``, MATLAB ``uint8``)."""
    return to_uint8(img, "half_away")
