"""MATLAB bicubic ``imresize`` on torch batches, for training losses and synthetic LR on the device.

The resize srbench uses everywhere (:func:`srbench.imresize.imresize`: antialiased bicubic, a = -0.5,
replicated borders) is linear along each axis, so along an axis it is a matrix: the one ``imresize``
applies to the identity. :func:`bicubic` multiplies by the two matrices (differentiable, any float
dtype); :func:`bicubic_uint8` adds MATLAB's uint8 path (each pass rounded half away from zero and
saturated), bit-identical to ``imresize`` on the uint8 image. Written once here for every recipe.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_ON_DEVICE: dict = {}


@lru_cache(maxsize=64)
def axis_matrix(n_in: int, n_out: int) -> np.ndarray:
    """The n_out x n_in float64 matrix of MATLAB's bicubic resize of one axis (read-only)."""
    from srbench.imresize import imresize

    m = np.ascontiguousarray(imresize(np.eye(n_in), output_shape=(n_out, n_in)))
    m.setflags(write=False)
    return m


def _matrix(n_in: int, n_out: int, device, dtype):
    import torch

    key = (n_in, n_out, str(device), dtype)
    if key not in _ON_DEVICE:
        _ON_DEVICE[key] = torch.from_numpy(axis_matrix(n_in, n_out).copy()).to(device=device, dtype=dtype)
    return _ON_DEVICE[key]


def bicubic(x, size: tuple[int, int]):
    """``imresize(x, output_shape=size)`` of an N x C x H x W float tensor (no rounding), differentiable."""
    h, w = x.shape[-2:]
    return _matrix(h, int(size[0]), x.device, x.dtype) @ x @ _matrix(w, int(size[1]), x.device, x.dtype).T


def bicubic_down(x, scale: int):
    """:func:`bicubic` by 1/``scale``; H and W must be multiples of ``scale``."""
    h, w = x.shape[-2:]
    if h % scale or w % scale:
        raise ValueError(f"bicubic_down: {h}x{w} is not a multiple of {scale}")
    return bicubic(x, (h // scale, w // scale))


def bicubic_uint8(x, scale: int):
    """MATLAB ``imresize(img, 1/scale)`` of an N x C x H x W batch in [0, 1] holding uint8 values, on the
    uint8 path (rows first, each pass rounded half away from zero and saturated; float64): equal to
    :func:`srbench.imresize.imresize` of the uint8 images. Returns float32 in [0, 1]; no gradient."""
    import torch

    def quant(t):
        return (t.sign() * (t.abs() + 0.5).floor()).clamp_(0, 255)

    h, w = x.shape[-2:]
    v = (x.detach().double() * 255.0).round()
    v = quant(torch.einsum("oh,nchw->ncow", _matrix(h, -(-h // scale), x.device, torch.float64), v))
    v = quant(torch.einsum("ow,nchw->ncho", _matrix(w, -(-w // scale), x.device, torch.float64), v))
    return (v / 255.0).float()
