"""MATLAB-exact bicubic ``imresize``.

Why not a library: PIL, OpenCV, scikit-image and torch all differ from MATLAB's ``imresize`` (kernel
support on downscale, boundary handling, or the per-pass uint8 rounding), and every published SR table
was made with MATLAB. This module follows MATLAB's ``imresize.m`` (R2013+) step for step:

* cubic kernel with a = -0.5, support 4; when shrinking, the kernel is widened by 1/scale and scaled
  (antialiasing, MATLAB's default);
* output size ``ceil(in * scale)``; sample positions ``u = x/scale + 0.5*(1 - 1/scale)`` (1-based);
* out-of-range taps are clamped to the border pixel (``min(max(1, indices), n)``, the replicate rule of
  the MATLAB releases the standard benchmark LR sets were made with; newer releases mirror instead, which
  changes the first and last rows/columns: measured here, it breaks 456 of the 457 reference hashes),
  and all-zero weight columns are dropped;
* the dimension with the smaller scale is resized first (rows first when equal);
* each 1-D pass sums an output's taps in tap order in float64, as ``imresizemex`` does: it is a product
  with a cached ``scipy.sparse`` CSR matrix that stores one entry per tap, in tap order (border taps
  clamped onto the same pixel stay separate entries, zero weights are kept), and CSR times a dense
  matrix adds a row's entries left to right. (The gather + einsum this replaced, 4-5x slower, gave the
  same bits except where a pass has a single value per output, a one-pixel-thick grey image: there
  numpy's einsum reduced the taps in a vectorised order, a few ulp off the tap-order sum.)
* for uint8 input, each 1-D pass is rounded half away from zero and saturated to uint8 before the next
  pass (``imresizemex`` returns the input class), which is what makes the result bit-exact.

Float input stays float through both passes (the SRCNN/VDSR luminance protocol relies on that).
It reproduces all 457 reference LR images of ``shared/reference/bicubic_lr_pixels.json`` bit for bit
(``tests/test_imresize.py``).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["VERSION", "cubic", "imresize", "matlab_round"]

#: bump when the output may change (part of the LR cache keys). Still "1" after the sparse rewrite: the same
#: bits on every dataset image (all 657 image x scale pairs, uint8 and float luma, down and up); only a
#: one-pixel-thick grey image can differ in the last bits (see above)
VERSION = "1"


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)."""
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1) + (
        -0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0
    ) * ((ax > 1) & (ax <= 2))


def matlab_round(x: np.ndarray) -> np.ndarray:
    """Round half away from zero, like MATLAB's ``round`` and its uint8 conversion."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _contributions(in_len: int, out_len: int, scale: float, antialias: bool):
    """Weights and 0-based input indices (out_len x taps) of MATLAB's ``contributions``."""
    kernel_width = 4.0
    if scale < 1 and antialias:
        def h(x):
            return scale * cubic(scale * x)
        kernel_width = kernel_width / scale
    else:
        h = cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - kernel_width / 2.0)
    p = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(p, dtype=np.float64)[None, :]
    weights = h(u[:, None] - indices)
    weights = weights / weights.sum(axis=1, keepdims=True)
    indices = np.clip(indices.astype(np.int64), 1, in_len) - 1
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep], indices[:, keep]


@lru_cache(maxsize=256)
def _resize_matrix(in_len: int, out_len: int, scale: float, antialias: bool):
    """The 1-D resize as an out_len x in_len CSR matrix, row o = the taps of output o in tap order.

    Not built through COO (which would sum the clamped border taps that land on the same pixel into one
    weight, and so change the rounding): each tap is its own stored entry, zero weights included, so
    ``matrix @ x`` computes ``((w0*x0 + w1*x1) + w2*x2) + ...`` per output like ``imresizemex``.
    Shared through the cache: never modify it.
    """
    from scipy.sparse import csr_array  # here, not at import: `srbench list` and warm runs never resize

    weights, indices = _contributions(in_len, out_len, scale, antialias)
    taps = weights.shape[1]
    indptr = np.arange(0, out_len * taps + 1, taps)
    return csr_array((weights.ravel(), indices.ravel(), indptr), shape=(out_len, in_len))


def _resize_along(img: np.ndarray, dim: int, out_len: int, scale: float, antialias: bool) -> np.ndarray:
    moved = np.moveaxis(img, dim, 0)
    # CSR @ dense wants the resized axis first, C-contiguous, float64: one converting copy at most
    flat = np.ascontiguousarray(moved, dtype=np.float64).reshape(moved.shape[0], -1)
    out = _resize_matrix(moved.shape[0], out_len, scale, antialias) @ flat
    return np.moveaxis(out.reshape((out_len,) + moved.shape[1:]), 0, dim)


def _to_uint8(x: np.ndarray) -> np.ndarray:
    """``np.clip(matlab_round(x), 0, 255).astype(np.uint8)`` of a pass output, in place and in 3 passes.

    Same bytes: on [0, 255] ``matlab_round`` is ``floor(x + 0.5)``; below 0 both give 0, above 255 both
    give 255 (clipping first cannot change the saturated result); the cast truncates, which is ``floor``
    for ``x + 0.5 >= 0.5``. Keeps the memory layout of ``x``, as the old ufunc chain did.
    """
    np.clip(x, 0.0, 255.0, out=x)
    x += 0.5
    return x.astype(np.uint8)


def imresize(
    img: np.ndarray,
    scale: float | None = None,
    output_shape: tuple[int, int] | None = None,
    antialias: bool = True,
) -> np.ndarray:
    """Resize an HxW or HxWxC image like MATLAB's ``imresize(img, scale, 'bicubic')``.

    ``img`` is uint8 (result uint8, rounded after each pass as MATLAB does) or floating point (result
    float64, no rounding). Give either ``scale`` (e.g. 1/4 or 4) or ``output_shape`` = (H, W).
    """
    img = np.asarray(img)
    if img.ndim not in (2, 3):
        raise ValueError(f"imresize expects an HxW or HxWxC image, got shape {img.shape}")
    is_uint8 = img.dtype == np.uint8
    if not is_uint8 and not np.issubdtype(img.dtype, np.floating):
        raise TypeError(f"imresize takes uint8 or float images, got {img.dtype}")
    in_h, in_w = img.shape[:2]
    if output_shape is not None:
        out_h, out_w = int(output_shape[0]), int(output_shape[1])
        scales = (out_h / in_h, out_w / in_w)
    elif scale is not None:
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        scales = (float(scale), float(scale))
        out_h, out_w = int(math.ceil(in_h * scale)), int(math.ceil(in_w * scale))
    else:
        raise ValueError("give scale or output_shape")
    order = (0, 1) if scales[0] <= scales[1] else (1, 0)
    out_lens = (out_h, out_w)
    out = img
    for dim in order:
        out = _resize_along(out, dim, out_lens[dim], scales[dim], antialias)
        if is_uint8:
            out = _to_uint8(out)
    if not is_uint8:
        out = out.astype(np.float64, copy=False)
    return out
