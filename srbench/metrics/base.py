"""Metric metadata and the interfaces the runner calls.

Three kinds of metric:

* ``image``: ``factory(device=...)`` returns ``f(sr, hr, ctx) -> float`` for one SR/HR pair;
* ``dataset``: ``factory(device=..., **options)`` returns an accumulator with ``update(sr, hr, ctx)`` and
  ``result() -> float`` (FID);
* ``samples``: ``factory(device=...)`` returns ``f(samples, hr, ctx) -> dict[str, float]`` over the n SR
  samples of one image (diversity).

``sr`` and ``hr`` are uint8 arrays of the same shape (HxWx3 RGB, or HxW for single-channel images and for
the luminance protocol); ``hr`` is already modcropped. Any returned object may expose ``provenance()``
(weight files with sha256, library versions) which the runner records in the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class MetricWeight:
    """A weight file a metric loads through a standard cache (documentation + error messages)."""

    file: str  # file name, e.g. "alexnet-owt-7be5be79.pth"
    cache: str  # where the standard cache keeps it, e.g. "$TORCH_HOME/hub/checkpoints/"
    url: str  # official download location
    used_by: str = ""


@dataclass(frozen=True)
class MetricInfo:
    name: str
    description: str
    higher_is_better: bool
    full_reference: bool
    kind: str  # "image" | "dataset" | "samples"
    version: str  # bump when the value may change (invalidates cached values)
    factory: str  # "module:callable"
    convention: str = ""  # colour space, crop, averaging ...
    extra: str | None = None  # pip extra providing its dependencies, e.g. "pi"
    requires: tuple[str, ...] = ()  # importable modules it needs
    weights: tuple[MetricWeight, ...] = ()
    default: bool = False  # computed when --metrics is not given
    reference: str = ""  # what it is calibrated against
    options: dict[str, Any] = field(default_factory=dict)
    #: ``samples`` metrics return several values: name -> (higher_is_better, description)
    outputs: dict[str, tuple[bool, str]] = field(default_factory=dict)
    #: evaluation protocols (srbench.protocols) whose images this metric is defined on. The ``luma``
    #: protocol hands metrics single-channel Y planes: only the Y-channel fidelity metrics accept them,
    #: so a grey-image LPIPS/NIQE/FID can never appear in a column of that name.
    protocols: tuple[str, ...] = ("rgb",)
    #: a distribution metric that compares the SR set with a reference image set the user names
    #: (``--fid-ref``, :mod:`srbench.reference_set`) instead of the paired HR; its factory gets ``reference=``
    reference_set: bool = False
    #: scales the metric's convention is defined for (None: any), checked before any work
    scales: tuple[int, ...] | None = None

    @property
    def direction(self) -> str:
        return "higher" if self.higher_is_better else "lower"

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"

    def missing_requirements(self) -> list[str]:
        import importlib.util

        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    def weights_status(self, offline: bool | None = None) -> str:
        """Whether the declared weight files are in their caches: ``available``, ``weights missing``,
        ``weights not cached (downloaded on first use)`` ... (see
        :func:`srbench.metrics.weights_cache.metric_status`); loads, downloads and imports nothing heavy."""
        from srbench.metrics.weights_cache import metric_status

        return metric_status(self.weights, offline)


@dataclass
class MetricContext:
    """What a metric may need besides SR and HR.

    ``memo`` lets the image metrics of one (SR, HR) pair share work (the fidelity metrics' Y planes):
    a context, and so its memo, is valid for that one pair only - give each pair a fresh context. The
    memo changes no value: a metric computes the same number with an empty memo, and an entry is only
    used for the very ``sr`` / ``hr`` objects it was computed from (:func:`memoized`).
    """

    scale: int
    lr: np.ndarray | None = None  # the LR the method was given (uint8)
    device: str = "cpu"
    protocol: str = "rgb"
    image: str = ""  # image name, for messages
    memo: dict = field(default_factory=dict, repr=False, compare=False)


def memoized(ctx: MetricContext | None, key: Any, sr: np.ndarray, hr: np.ndarray, compute):
    """``compute()``, or what it returned before for the same ``key`` and the same ``sr`` and ``hr``
    objects in ``ctx.memo``. A context without a memo computes every time. Share only read-only results."""
    memo = getattr(ctx, "memo", None)
    if memo is None:
        return compute()
    hit = memo.get(key)
    if hit is not None and hit[0] is sr and hit[1] is hr:
        return hit[2]
    value = compute()
    memo[key] = (sr, hr, value)
    return value
