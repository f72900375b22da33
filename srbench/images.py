"""Reading and writing images with clear errors (corrupt, truncated, unsupported)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from srbench.errors import ImageError

#: lossless formats srbench accepts for HR images
LOSSLESS_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
#: formats accepted for reference images (reference-based methods): any lossless one, and JPEG
REFERENCE_SUFFIXES = LOSSLESS_SUFFIXES + (".jpg", ".jpeg")


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image fully (HxWx3 RGB uint8, or HxW for single-channel files)."""
    from PIL import Image, ImageFile, UnidentifiedImageError

    path = Path(path)
    lenient = ImageFile.LOAD_TRUNCATED_IMAGES  # another library (e.g. pyiqa's datasets) may have set it
    try:
        with Image.open(path) as im:
            ImageFile.LOAD_TRUNCATED_IMAGES = False
            try:
                im.load()  # force full decoding: a truncated file fails here, not later
            finally:
                ImageFile.LOAD_TRUNCATED_IMAGES = lenient
            if im.mode in ("RGB", "L"):
                arr = np.asarray(im)
            elif im.mode in ("RGBA", "P", "LA", "CMYK", "YCbCr", "I;16", "1"):
                arr = np.asarray(im.convert("L" if im.mode in ("LA", "I;16", "1") else "RGB"))
            else:
                raise ImageError(f"{path}: unsupported image mode {im.mode}")
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path}: cannot decode image ({type(exc).__name__}: {exc}); the file is corrupt or truncated") from exc
    if arr.dtype != np.uint8:
        raise ImageError(f"{path}: expected 8-bit pixels, got {arr.dtype}")
    return arr


def write_png(path: str | Path, arr: np.ndarray) -> None:
    """Write atomically (temporary file + rename) so an interrupted run leaves no half file."""
    from PIL import Image

    from srbench.fsutil import atomic_write_with

    img = Image.fromarray(np.ascontiguousarray(arr))
    atomic_write_with(path, lambda tmp: img.save(tmp, format="PNG", compress_level=1), suffix=".png")
