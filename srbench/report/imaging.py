"""Thumbnails, zoom boxes and nearest-neighbour crops for the per-image pages (Pillow + numpy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

THUMB = 320  # longest side of a full-image thumbnail, px
CROP_DISPLAY = 192  # target longest side of an enlarged crop, px

Box = tuple[int, int, int, int]  # x, y, w, h in HR pixels


def parse_crop(text: str) -> Box:
    """``"x,y,w,h"`` -> a box (HR pixel coordinates)."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 4:
        raise ValueError(f"--crop wants x,y,w,h (4 integers), got {text!r}")
    try:
        x, y, w, h = (int(p) for p in parts)
    except ValueError:
        raise ValueError(f"--crop wants x,y,w,h (4 integers), got {text!r}") from None
    if x < 0 or y < 0 or w <= 0 or h <= 0:
        raise ValueError(f"--crop: x, y must be >= 0 and w, h > 0, got {text!r}")
    return (x, y, w, h)


def open_rgb(path: Path) -> Image.Image:
    with Image.open(path) as im:
        im.load()
        return im.convert("RGB") if im.mode != "RGB" else im.copy()


def _luma(im: Image.Image) -> np.ndarray:
    a = np.asarray(im, dtype=np.float64)
    if a.ndim == 3:
        a = a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114
    return a


def auto_crop(im: Image.Image, scale: int) -> Box:
    """The square window with the most detail (sum of |dx|+|dy| of the luminance), deterministic.

    Side ``min(H, W) / 5`` clamped to [16, 96] and rounded to a multiple of ``scale``; candidate corners on
    a grid of multiples of ``scale`` (so the LR crop is pixel-aligned), ``scale`` px away from the border
    when the image allows; ties go to the first window in row-major order.
    """
    w_img, h_img = im.size
    scale = max(1, int(scale))
    side = max(16, min(96, min(w_img, h_img) // 5))
    side = max(scale, side - side % scale)
    side = min(side, w_img, h_img)
    y = _luma(im)
    g = np.zeros_like(y)
    g[:, :-1] += np.abs(np.diff(y, axis=1))
    g[:-1, :] += np.abs(np.diff(y, axis=0))
    integral = np.zeros((h_img + 1, w_img + 1))
    integral[1:, 1:] = g.cumsum(0).cumsum(1)
    margin = scale if min(w_img, h_img) - 2 * scale >= side else 0
    step = max(scale, (side // 4) - (side // 4) % scale)
    xs = np.arange(margin, w_img - side - margin + 1, step)
    ys = np.arange(margin, h_img - side - margin + 1, step)
    if len(xs) == 0:
        xs = np.array([0])
    if len(ys) == 0:
        ys = np.array([0])
    Y, X = np.meshgrid(ys, xs, indexing="ij")
    sums = integral[Y + side, X + side] - integral[Y, X + side] - integral[Y + side, X] + integral[Y, X]
    iy, ix = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return (int(xs[ix]), int(ys[iy]), int(side), int(side))


def clamp_box(box: Box, size: tuple[int, int]) -> Box:
    x, y, w, h = box
    W, H = size
    w, h = max(1, min(w, W)), max(1, min(h, H))
    x, y = max(0, min(x, W - w)), max(0, min(y, H - h))
    return (x, y, w, h)


def enlarge_factor(box: Box) -> int:
    return max(1, CROP_DISPLAY // max(box[2], box[3]))


def _save(im: Image.Image, path: Path) -> None:
    """Thumbnails (``.webp``) are lossy WebP at quality 90: a photo thumbnail is ~15 KB instead of ~140 KB
    as PNG, which keeps a 100-image site small. Crops and full images (``.png``) stay lossless, since those
    are what a reader inspects pixel by pixel."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".webp":
        im.save(path, format="WEBP", quality=90, method=2)
    else:
        im.save(path, format="PNG", compress_level=6)


def _draw_box(im: Image.Image, box: tuple[float, float, float, float]) -> None:
    x0, y0, x1, y1 = box
    d = ImageDraw.Draw(im)
    d.rectangle([x0 - 1, y0 - 1, x1 + 1, y1 + 1], outline=(255, 255, 255), width=1)
    d.rectangle([x0, y0, x1, y1], outline=(230, 0, 0), width=2)


def thumb_with_box(im: Image.Image, box: Box, ref_size: tuple[int, int], lr_scale: int = 1) -> Image.Image:
    """A thumbnail of ``im`` (longest side <= THUMB, shown in the HR frame ``ref_size``) with the box.

    ``lr_scale > 1``: ``im`` is the LR image; it is enlarged (nearest neighbour) to the HR frame so that
    it lines up with the other thumbnails.
    """
    W, H = ref_size
    f = min(1.0, THUMB / max(W, H))
    tw, th = max(1, round(W * f)), max(1, round(H * f))
    if lr_scale > 1:
        t = im.resize((tw, th), Image.NEAREST, box=(0, 0, W / lr_scale, H / lr_scale))
    else:
        t = im.resize((tw, th), Image.LANCZOS, box=(0, 0, W, H)) if (tw, th) != im.size else im.copy()
    x, y, w, h = box
    _draw_box(t, (x * f, y * f, (x + w) * f - 1, (y + h) * f - 1))
    return t


def enlarged_crop(im: Image.Image, box: Box, lr_scale: int = 1) -> Image.Image:
    """The box (HR coordinates) cut from ``im`` and enlarged with nearest neighbour."""
    x, y, w, h = box
    k = enlarge_factor(box)
    s = max(1, lr_scale)
    return im.resize((w * k, h * k), Image.NEAREST, box=(x / s, y / s, (x + w) / s, (y + h) / s))


def write_views(src: Path, out_thumb: Path, out_crop: Path, box: Box, ref_size: tuple[int, int] | None = None,
                lr_scale: int = 1, out_full: Path | None = None) -> tuple[int, int]:
    """Write the thumbnail-with-box and the enlarged crop of one image; returns its size.

    ``ref_size``: the HR frame (needed for the LR, which is shown enlarged to it); default the image's size.
    """
    im = open_rgb(src)
    if ref_size is None:
        ref_size = im.size if lr_scale <= 1 else (im.size[0] * lr_scale, im.size[1] * lr_scale)
    _save(thumb_with_box(im, box, ref_size, lr_scale), out_thumb)
    _save(enlarged_crop(im, box, lr_scale), out_crop)
    if out_full is not None:
        _save(im, out_full)
    return im.size


def write_crop(src: Path, out_crop: Path, box: Box) -> None:
    _save(enlarged_crop(open_rgb(src), box), out_crop)
