"""CycleSR / CycleSRGAN at test time: only the SR network runs, on the real LR image."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from srbench.checkpoint_format import (
    check_config,
    load_checkpoint_with_config,
    single_weight,
)
from srbench.errors import SrbenchError, WeightsError
from srbench.method_api import SRModel, check_options
from srbench.tiling import tiled_forward
from srbench.torch_utils import pick_device, to_image, to_tensor
from srbench.weights import load_strict

from . import METHODS, ROUNDING, TILE_OVERLAP
from .networks import (
    SRRESNET_ARCH,
    VDSR_ARCH,
    build_sr,
    infer_vdsr_config,
    receptive_field_radius,
)

VARIANT_ARCH = {"vdsr": VDSR_ARCH, "srresnet": SRRESNET_ARCH}


class CycleSRNet(SRModel):
    def __init__(self, net: torch.nn.Module, scale: int, device: torch.device, provenance: dict[str, Any], tile: int | None = None, overlap: int = 0):
        self.net = net.eval().to(device)
        self.scale = scale
        self.device = device
        self.provenance = provenance
        self.tile, self.overlap = tile, overlap
        self.rounding = ROUNDING

    @torch.no_grad()
    def upscale_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return tiled_forward(self.net, x, self.scale, self.tile, self.overlap)

    def upscale(self, lr: np.ndarray) -> np.ndarray:
        return to_image(self.upscale_tensor(to_tensor(lr, self.device)), self.rounding)  # clamped to [0, 1]


def _load(method: str, scale: int, device: str, weights, variant: str | None, options) -> CycleSRNet:
    """Options (``MethodInfo.options``): ``tile`` (0 = whole image), ``tile_overlap``."""
    opts = check_options(next(m for m in METHODS if m.name == method), options)
    variant = variant or "vdsr"
    if variant not in VARIANT_ARCH:
        raise WeightsError(f"{method}: unknown variant {variant!r} (vdsr, srresnet)")
    arch = VARIANT_ARCH[variant]
    rw = single_weight(weights, method, what=f"{method} weights", scale=scale)
    state, cfg = load_checkpoint_with_config(rw.path, require_config=False)
    if cfg is None and arch == VDSR_ARCH:
        cfg = infer_vdsr_config(state)
    if cfg is None:
        raise WeightsError(
            f"{rw.path}: no srbench config and not a state dict of the authors' (Vega) VDSR; "
            "save it with srbench.checkpoint_format.save_checkpoint or add a JSON config (docs/checkpoints.md)"
        )
    params = check_config(cfg, rw.path, arch, scale)
    try:
        net = build_sr(arch, scale, params)
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{rw.path}: cannot build {arch} from arch_params {params}: {exc}") from exc
    load_strict(net, state, source=str(rw.path))
    dev = pick_device(device)
    tile, overlap = opts["tile"] or None, opts["tile_overlap"]
    radius = receptive_field_radius(net)
    if tile and overlap == TILE_OVERLAP < radius:
        # tile is declared exact (not part of the method's identity) at the default overlap
        raise SrbenchError(
            f"{method}: this checkpoint sees {radius} LR px far, more than the default tile_overlap "
            f"{TILE_OVERLAP}; give tile_overlap={radius} for exact tiling (or another value for approximate tiling)"
        )
    provenance = {
        "variant": variant,
        "arch": arch,
        "arch_params": net.arch_params,
        "weights_sha256": rw.sha256,
        "checkpoint_config": cfg,
        "tile": tile,
        "tile_overlap": overlap if tile else None,
        "tiling_exact": overlap >= radius if tile else None,
        "rounding": ROUNDING,
    }
    return CycleSRNet(net, scale, dev, provenance, tile, overlap)


def load_cyclesr(scale: int, device: str = "cpu", weights=None, variant: str | None = None, options=None) -> CycleSRNet:
    return _load("cyclesr", scale, device, weights, variant, options)


def load_cyclesrgan(scale: int, device: str = "cpu", weights=None, variant: str | None = None, options=None) -> CycleSRNet:
    return _load("cyclesrgan", scale, device, weights, variant, options)
