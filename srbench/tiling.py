"""Tiled inference: run a network on overlapping tiles of the LR image and stitch the outputs.

Used by adapters that declare the options of :func:`srbench.method_api.tile_option_specs` (``tile``,
``tile_overlap``) to bound memory on large images. The LR image is cut into a grid of *core* tiles of ``tile`` x ``tile`` pixels (the last row and
column may be smaller). Each core tile is run with ``overlap`` extra LR pixels of context on every side
(clipped at the image border), and only the part of the output that belongs to the core tile is kept -
no blending.

Exactness. For a fully convolutional network whose output pixel depends on LR pixels within a radius
``r`` (its receptive-field radius, in LR pixels), the stitched result equals whole-image inference
whenever ``overlap >= r``: every kept output pixel then sees exactly the same input values, and a tile
side that coincides with the image border gets the same zero padding as the whole image does. With a
smaller overlap the result is an approximation (differences concentrate along tile seams). Networks with
global operations (attention over the whole image, global pooling, normalisation with image statistics)
are never exact under tiling. Each adapter documents the radius of its network (e.g.
``srbench_methods.esrgan.arch.receptive_field_radius``); tests check exactness at ``overlap = r``.

Floating-point results can still differ in the last bits between tiled and whole-image runs because
convolution kernels may pick different algorithms for different input sizes (observed below 1e-5).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from srbench.errors import SrbenchError

__all__ = ["tile_grid", "tiled_forward"]


def tile_grid(height: int, width: int, tile: int, overlap: int) -> list[tuple[tuple[int, int, int, int], tuple[int, int, int, int]]]:
    """The tiles covering an ``height`` x ``width`` image: a list of ``(core, window)`` boxes, each
    ``(y0, y1, x0, x1)`` in LR pixels (end exclusive). ``core`` boxes partition the image; ``window`` is
    the core box grown by ``overlap`` on every side and clipped to the image."""
    if tile < 1 or overlap < 0:
        raise ValueError(f"tile must be >= 1 and overlap >= 0, got tile={tile}, overlap={overlap}")
    boxes = []
    for y0 in range(0, height, tile):
        y1 = min(y0 + tile, height)
        for x0 in range(0, width, tile):
            x1 = min(x0 + tile, width)
            window = (max(0, y0 - overlap), min(height, y1 + overlap), max(0, x0 - overlap), min(width, x1 + overlap))
            boxes.append(((y0, y1, x0, x1), window))
    return boxes


def tiled_forward(
    fn: Callable[[Any], Any],
    x,
    scale: int,
    tile: int | None,
    overlap: int = 16,
):
    """Run ``fn`` on ``x`` (a ``1 x C x H x W`` tensor) tile by tile and stitch the ``scale``-times larger
    outputs into one ``1 x C' x sH x sW`` tensor.

    ``tile=None`` (or a tile at least as large as the image) runs ``fn(x)`` once. ``fn`` must map an
    ``h x w`` input to an ``s*h x s*w`` output; any other output size raises :class:`SrbenchError`.
    Call it under ``torch.no_grad()``/``inference_mode()``: it does not switch gradients off itself.
    """
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"tiled_forward expects a 1xCxHxW tensor, got shape {tuple(x.shape)}")
    scale = int(scale)
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    height, width = int(x.shape[2]), int(x.shape[3])
    if tile is None or (tile >= height and tile >= width):
        return fn(x)
    tile, overlap = int(tile), int(overlap)
    out = None
    for (y0, y1, x0, x1), (wy0, wy1, wx0, wx1) in tile_grid(height, width, tile, overlap):
        y = fn(x[:, :, wy0:wy1, wx0:wx1])
        expected = ((wy1 - wy0) * scale, (wx1 - wx0) * scale)
        if y.dim() != 4 or y.shape[0] != 1 or tuple(y.shape[2:]) != expected:
            raise SrbenchError(
                f"tiled inference: a {wy1 - wy0}x{wx1 - wx0} tile gave an output of shape {tuple(y.shape)}, "
                f"expected 1xCx{expected[0]}x{expected[1]} for scale {scale}"
            )
        if out is None:
            out = y.new_empty((1, y.shape[1], height * scale, width * scale))
        oy, ox = (y0 - wy0) * scale, (x0 - wx0) * scale
        out[:, :, y0 * scale : y1 * scale, x0 * scale : x1 * scale] = y[
            :, :, oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale
        ]
    return out
