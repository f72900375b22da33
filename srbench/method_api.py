"""What a method adapter declares and returns. Imports nothing heavy: ``srbench list`` reads this.

An adapter package (``methods/<folder>/__init__.py``, shipped as ``srbench_methods.<folder>``, or any
module named by an entry point of the group ``srbench.methods``) exposes ``METHODS``: a list of
:class:`MethodInfo`. Its ``loader`` names ``"module:function"``; the function is imported only when the
method runs and is called as ``function(scale=..., device=..., weights=..., variant=..., options=...)``.
It returns an :class:`SRModel`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np


@dataclass(frozen=True)
class WeightFile:
    """One checkpoint file a method needs."""

    name: str  # file name as cached, e.g. "RRDB_ESRGAN_x4.pth"
    urls: tuple[str, ...] = ()  # official download locations (tried in order)
    sha256: str | None = None  # of the official file, when known; None = record what is used
    size: int | None = None  # bytes, when known
    license: str = "unknown"
    source: str = ""  # who published it and where (human-readable)
    manual: bool = False  # True for Google-Drive-only files: fetched by hand, then `srbench weights import`
    scale: int | None = None  # scale this file is for, when a method has one file per scale


@dataclass(frozen=True)
class MethodInfo:
    name: str  # registry name, lower-case, e.g. "esrgan"
    title: str  # display name, e.g. "ESRGAN"
    paper: str  # short reference "Wang et al., ECCVW 2018"
    citation: str = ""  # BibTeX or full reference
    code_url: str = ""
    code_license: str = "unknown"
    weights_license: str = "n/a"
    scales: tuple[int, ...] = (4,)
    stochastic: bool = False  # can draw many SR images for one LR (seeded)
    reference_based: bool = False  # takes a reference image
    protocols: tuple[str, ...] = ("rgb",)  # evaluation protocols it supports (see srbench.protocols)
    learned: bool = True  # False for methods without weights (bicubic)
    variants: Mapping[str, tuple[WeightFile, ...]] = field(default_factory=dict)  # variant -> files; first = default
    variant_notes: Mapping[str, str] = field(default_factory=dict)
    loader: str = ""  # "module:function"
    adapter_version: str = "1"  # bump when the adapter's output may change (invalidates caches)
    notes: str = ""  # implementation choices, differences to the paper
    param_count: Callable[[], int] | None = None  # optional: parameter count for `srbench list --verbose`

    @property
    def default_variant(self) -> str | None:
        return next(iter(self.variants), None)


class SRModel:
    """A loaded method. Subclasses implement :meth:`upscale`; stochastic ones also :meth:`sample`.

    Images are numpy arrays, HxWx3 uint8 RGB in and out (float output in [0, 255] is accepted and
    quantised by the runner). ``upscale`` must be deterministic.
    """

    scale: int = 4
    #: provenance recorded in the run manifest (weights sha256, variant, options ...)
    provenance: dict[str, Any] = {}

    def upscale(self, lr: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def sample(self, lr: np.ndarray, n: int, seed: int, ref: Any = None) -> Sequence[np.ndarray]:
        """n SR images for one LR, reproducible for the same seed on the same device.

        Deterministic methods return ``n`` copies of :meth:`upscale` (the runner avoids calling this).
        """
        out = self.upscale(lr)
        return [out] * n

    def upscale_luma(self, lr_y: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        """Luminance protocol: float HxW Y in [0, 1] in, float HxW in [0, 1] out (not rounded)."""
        raise NotImplementedError


def parse_method_name(spec: str) -> tuple[str, str | None]:
    """``"esrgan:psnr"`` -> ``("esrgan", "psnr")``; ``"bicubic"`` -> ``("bicubic", None)``."""
    name, _, variant = spec.partition(":")
    return name.strip().lower(), (variant.strip() or None)
