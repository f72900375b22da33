"""CycleSR's degradation generator G1 as an srbench degradation (synthetic LR -> real-like LR).

In CycleSR the translation network G (Vega's ``netG``; the paper's G1) maps bicubic-downsampled
("synthetic") LR images to the real-LR domain; the SR network is trained on ``(G1(bicubic(HR)), HR)``.
Here G1 is exposed on its own: ``CycleSRDegradation(lr_uint8) -> lr_uint8`` (same size), and
``from_hr(hr)`` = ``G1(imresize(hr, 1/scale))`` with MATLAB's bicubic (Vega itself downsamples with PIL's
bicubic; srbench uses the benchmark convention). Deterministic: G1 has no noise input.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from srbench.checkpoint_format import (
    check_config,
    load_checkpoint_with_config,
    single_weight,
)
from srbench.degradation_api import INPUT_LR, Degradation
from srbench.errors import WeightsError
from srbench.method_api import check_options
from srbench.torch_utils import pick_device, to_image, to_tensor
from srbench.weights import load_strict

from .networks import G1_ARCH, CycleGANGenerator, build_g1, infer_g1_config

NAME = "cyclesr-g1"


class CycleSRDegradation(Degradation):
    """G1: uint8 HxWx3 (MATLAB-bicubic LR) -> uint8 HxWx3 (real-like LR)."""

    input = INPUT_LR
    stochastic = False

    def __init__(self, net: CycleGANGenerator, scale: int, device: torch.device, provenance: dict[str, Any]):
        self.net = net.eval().to(device)
        self.scale = scale
        self.device = device
        self.provenance = provenance

    @torch.no_grad()
    def translate_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.translate(x)

    def __call__(self, lr: np.ndarray, seed: int | None = None) -> np.ndarray:
        lr = np.asarray(lr)
        if lr.dtype != np.uint8:
            raise TypeError(f"{NAME} takes uint8 images, got {lr.dtype}")
        x = to_tensor(lr, self.device)
        return to_image(self.translate_tensor(x), "half_away")  # clamped to [0, 1], srbench's rounding


def load(scale: int, device: str = "cpu", weights=None, variant: str | None = None, options=None) -> CycleSRDegradation:
    from . import DEGRADATIONS

    check_options(DEGRADATIONS[0], options)  # G1 takes none
    rw = single_weight(weights, NAME, what="CycleSR translation generator (G1) weights", scale=scale)
    state, cfg = load_checkpoint_with_config(rw.path, require_config=False)
    if cfg is None:
        cfg = infer_g1_config(state)
    if cfg is None:
        raise WeightsError(f"{rw.path}: no srbench config and not a state dict of Vega's CycleGAN Generator")
    params = check_config(cfg, rw.path, G1_ARCH, scale)
    try:
        net = build_g1(params, scale=scale)
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{rw.path}: cannot build {G1_ARCH} from arch_params {params}: {exc}") from exc
    load_strict(net, state, source=str(rw.path))
    provenance = {"arch": G1_ARCH, "arch_params": net.arch_params, "weights_sha256": rw.sha256, "checkpoint_config": cfg}
    return CycleSRDegradation(net, scale, pick_device(device), provenance)
