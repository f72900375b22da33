"""SSRVAE at test time: the SR network alone (the styleVAE only makes training data)."""

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

from . import METHODS, ROUNDING
from .networks import ARCH_VERSION, SR_ARCH, SSRVAENet, build_sr, check_arch


class SSRVAE(SRModel):
    def __init__(self, net: SSRVAENet, device: torch.device, provenance: dict[str, Any], tile: int | None = None, overlap: int = 0):
        self.net = net.eval().to(device)
        self.device = device
        self.scale = net.scale
        self.provenance = provenance
        self.tile, self.overlap = tile, overlap
        self.rounding = ROUNDING

    @torch.no_grad()
    def upscale_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return tiled_forward(self.net, x, self.scale, self.tile, self.overlap)

    def upscale(self, lr: np.ndarray) -> np.ndarray:
        return to_image(self.upscale_tensor(to_tensor(lr, self.device)), self.rounding)  # clamped to [0, 1]


def load(scale: int = 4, device: str = "cpu", weights=None, variant: str | None = None, options=None) -> SSRVAE:
    """Options (``MethodInfo.options``): ``attention_chunk``, ``tile`` (0 = whole image; never exact here: the
    global attention then only sees one tile plus its overlap), ``tile_overlap``."""
    opts = check_options(METHODS[0], options)
    tile, overlap = opts["tile"] or None, opts["tile_overlap"]
    if scale != 4:
        raise SrbenchError(f"ssrvae is a x4 method, not x{scale}")
    rw = single_weight(weights, "ssrvae", what="SSRVAE weights", scale=scale)
    state, cfg = load_checkpoint_with_config(rw.path, require_config=True)
    params = check_config(cfg, rw.path, SR_ARCH, scale)
    check_arch(cfg, rw.path, SR_ARCH)  # a v1 (pre-paper-sizes) checkpoint is refused, never mis-loaded
    try:
        net = build_sr(scale, params)
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{rw.path}: cannot build {SR_ARCH} from arch_params {params}: {exc}") from exc
    load_strict(net, state, source=str(rw.path))
    net.set_attention_chunk(opts["attention_chunk"])
    prov = {
        "variant": variant,
        "arch": SR_ARCH,
        "arch_version": ARCH_VERSION,
        "arch_params": net.arch_params,
        "weights_sha256": rw.sha256,
        "checkpoint_config": cfg,
        "tile": tile,
        "tile_overlap": overlap if tile else None,
        "tiling_exact": False if tile else None,
        "attention_chunk": opts["attention_chunk"],
        "rounding": ROUNDING,
    }
    return SSRVAE(net, pick_device(device), prov, tile, overlap)
