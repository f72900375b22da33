"""How a user string (method label, dataset, image name) becomes a file-name component - written once.

The run folder (``images/<method>/<dataset>/x<s>/<image>.png``) and the report site both use
:func:`safe_name`, so what one writes the other finds, whatever characters the names hold.
"""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, maxlen: int = 64) -> str:
    """A file-name-safe form of a user string: ``[A-Za-z0-9._-]`` only, never ``.``/``..``, no separators.

    ``:`` becomes ``__`` (``esrgan:psnr`` -> ``esrgan__psnr``). A name that had to change otherwise gets
    a short hash of the original, so two different user strings never map to the same file
    (``my photo (1)`` and ``my_photo_1_`` differ).
    """
    text = str(text)
    cleaned = _UNSAFE.sub("_", text.replace(":", "__")).strip(".")
    if cleaned != text.replace(":", "__") or len(cleaned) > maxlen or not cleaned:
        digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        cleaned = f"{cleaned[:maxlen]}-{digest}".lstrip(".")
    return cleaned


def method_name(label: str) -> str:
    """The registry name inside a method label: ``esrgan:psnr`` / ``dsrvae[latent=zero]`` -> ``esrgan`` / ``dsrvae``."""
    return str(label).partition("[")[0].partition(":")[0].strip().lower()
