"""LPIPS v0.1 (AlexNet and VGG-16 backbones), full-reference, lower is better.

Convention (what the SR papers' LPIPS columns use): the ``lpips`` package's ``LPIPS(net, version="0.1")``
on the whole RGB uint8 image pair scaled to [-1, 1] (``x / 127.5 - 1``), no border shave and no
resizing - as BasicSR's ``scripts/metrics/calculate_lpips.py`` (its ``crop_border`` is commented out) and
the package's own ``lpips_2imgs.py`` do. Single-channel images (Set14 ``bridge``, or the luminance
protocol's Y planes) are replicated to three channels. The per-image value is the package's default
output (spatial average per layer, summed over the five layers); the dataset value is the mean of the
per-image values (the runner averages).

Calibration: AlexNet LPIPS reproduces the published values of pyiqa's five calibration pairs
(``ResultsCalibra``, TID2013 images; 0.7237 / 0.2572 / 0.05079 / 0.05205 / 0.4253) within 5e-5
(``tests/metrics/test_lpips.py``). The VGG variant runs the same code with the VGG-16 backbone and the
package's ``vgg.pth`` linear layers; its weight mapping is tested, its values are not calibrated here
(no VGG-16 checkpoint in the offline mirror).

The model, weight loading and the spatial map used by ``diversity`` live in
:mod:`srbench.metrics.lpips_backend`.
"""

from __future__ import annotations

from srbench.metrics.base import MetricContext, MetricInfo

# lpips_backend imports neither torch nor lpips at import time, so importing it here is light.
from srbench.metrics.lpips_backend import TRUNK_WEIGHTS

CONVENTION = (
    "lpips package LPIPS v0.1; RGB uint8 -> x/127.5-1 (float32), grey images replicated to 3 channels; "
    "whole image (HR modcropped, no shave, no resize); per-image value = the package's spatial-average "
    "output; dataset value = mean of per-image values"
)

_LIN_NOTE = "linear layers: the lpips package's own weights/v0.1/{net}.pth (shipped with the package)"


class LpipsMetric:
    """``f(sr, hr, ctx) -> float`` for one backbone, with ``provenance()``."""

    def __init__(self, net: str, device: str = "cpu"):
        from srbench.metrics import lpips_backend

        self.net = net
        self.device = device
        self._backend = lpips_backend
        lpips_backend.get_lpips_model(net, device)  # load now: missing weights fail before any SR is computed

    def __call__(self, sr, hr, ctx: MetricContext | None = None) -> float:
        return self._backend.lpips_distance(sr, hr, net=self.net, device=self.device)

    def provenance(self) -> dict:
        return {**self._backend.lpips_provenance(self.net, self.device), "convention": CONVENTION}


def lpips_alex(device: str = "cpu") -> LpipsMetric:
    return LpipsMetric("alex", device)


def lpips_vgg(device: str = "cpu") -> LpipsMetric:
    return LpipsMetric("vgg", device)


METRICS = [
    MetricInfo(
        name="lpips",
        description="LPIPS v0.1, AlexNet backbone (perceptual distance to HR)",
        higher_is_better=False,
        full_reference=True,
        kind="image",
        version="1",
        factory="srbench.metrics.perceptual:lpips_alex",
        convention=CONVENTION + "; " + _LIN_NOTE.format(net="alex"),
        extra="torch",
        requires=("torch", "torchvision", "lpips"),
        weights=(TRUNK_WEIGHTS["alex"],),
        reference="official LPIPS values of pyiqa's ResultsCalibra pairs (5 TID2013 pairs) within 1e-4",
    ),
    MetricInfo(
        name="lpips_vgg",
        description="LPIPS v0.1, VGG-16 backbone (perceptual distance to HR)",
        higher_is_better=False,
        full_reference=True,
        kind="image",
        version="1",
        factory="srbench.metrics.perceptual:lpips_vgg",
        convention=CONVENTION + "; " + _LIN_NOTE.format(net="vgg"),
        extra="torch",
        requires=("torch", "torchvision", "lpips"),
        weights=(TRUNK_WEIGHTS["vgg"],),
        reference="same code path as lpips (calibrated); VGG-16 weight mapping checked against torchvision",
    ),
]
