"""What a degradation declares and returns. Imports nothing heavy (like :mod:`srbench.method_api`).

A *degradation* makes LR images: MATLAB bicubic downscaling (built in), a fixed blur + subsampling, or a
learned generator that imitates real-world LR images (CycleSR's G1, SSRVAE's styleVAE). An adapter
package declares them in ``DEGRADATIONS`` (a list of :class:`DegradationInfo`) in its light
``__init__.py``; :mod:`srbench.degradations` finds them. The ``loader`` (``"module:function"``) is
imported only when the degradation is used and is called like a method loader::

    function(scale=..., device=..., weights=..., variant=..., options=...) -> Degradation

``weights`` is what :func:`srbench.weights.resolve` returns for :attr:`DegradationInfo.variants` (a
DegradationInfo has the ``name``/``variants``/``default_variant`` that function reads).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from srbench.method_api import OptionSpec, PaperValue, WeightFile

__all__ = ["INPUT_HR", "INPUT_LR", "Degradation", "DegradationInfo", "OptionSpec", "WeightFile"]

#: the degradation takes an HR image and returns an LR image ``scale`` times smaller
INPUT_HR = "hr"
#: the degradation translates an LR image into another LR image of the same size (e.g. CycleSR's G1,
#: fed MATLAB-bicubic LR); :meth:`Degradation.from_hr` composes it with bicubic downscaling
INPUT_LR = "lr"


@dataclass(frozen=True)
class DegradationInfo:
    name: str  # registry name, lower-case, e.g. "cyclesr-g1"
    title: str  # display name
    paper: str  # short reference
    loader: str  # "module:function"
    stochastic: bool = False  # draws a different LR for each seed
    notes: str = ""  # implementation choices, differences to the paper
    citation: str = ""
    scales: tuple[int, ...] = (4,)
    input: str = INPUT_HR  # INPUT_HR or INPUT_LR
    learned: bool = False  # needs weights (declared in `variants`)
    variants: Mapping[str, tuple[WeightFile, ...]] = field(default_factory=dict)
    variant_notes: Mapping[str, str] = field(default_factory=dict)
    code_url: str = ""
    code_license: str = "unknown"
    adapter_version: str = "1"
    param_count: Callable[[], int] | None = None
    options: tuple[OptionSpec, ...] = ()  # every option the loader reads (as MethodInfo.options)
    paper_vs_srbench: tuple[PaperValue, ...] = ()  # srbench.method_api.PaperValue rows (as MethodInfo.paper_vs_srbench)

    def option(self, name: str) -> OptionSpec | None:
        return next((o for o in self.options if o.name == name), None)

    def __post_init__(self):
        if self.input not in (INPUT_HR, INPUT_LR):
            raise ValueError(f"DegradationInfo.input must be {INPUT_HR!r} or {INPUT_LR!r}, got {self.input!r}")

    @property
    def default_variant(self) -> str | None:
        return next(iter(self.variants), None)


class Degradation:
    """A loaded degradation. ``__call__`` maps a uint8 HxWx3 RGB image to a uint8 RGB image.

    * ``input == "hr"``: HR in, LR out (``ceil(H / scale) x ceil(W / scale)``);
    * ``input == "lr"``: LR in, LR of the same size out.

    Stochastic degradations take ``seed`` (same seed, same device -> same image); deterministic ones
    ignore it. :meth:`from_hr` always goes from HR to LR.
    """

    scale: int = 4
    input: str = INPUT_HR
    stochastic: bool = False
    #: provenance recorded in a run manifest (weights sha256, options ...)
    provenance: dict[str, Any] = {}

    def __call__(self, img: np.ndarray, seed: int | None = None) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def from_hr(self, hr: np.ndarray, seed: int | None = None) -> np.ndarray:
        """HR -> LR; LR-to-LR translators are fed MATLAB-bicubic LR (``imresize(hr, 1/scale)``)."""
        if self.input == INPUT_LR:
            from srbench.imresize import imresize

            return self(imresize(np.asarray(hr), 1.0 / self.scale), seed=seed)
        return self(hr, seed=seed)

    def sample(self, img: np.ndarray, n: int, seed: int) -> Sequence[np.ndarray]:
        """``n`` degraded versions of one image (seeds ``seed, seed+1, ...``); n copies when deterministic."""
        if not self.stochastic:
            out = self(img, seed=seed)
            return [out] * n
        return [self(img, seed=seed + i) for i in range(n)]
