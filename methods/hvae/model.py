"""hvae / hvae-cnn at test time (srbench adapters)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from srbench.checkpoint_format import (
    check_config,
    load_checkpoint_with_config,
    single_weight,
)
from srbench.errors import SrbenchError, WeightsError
from srbench.method_api import SRModel
from srbench.tiling import tile_options, tiled_forward
from srbench.torch_utils import generator, pick_device, to_image, to_tensor
from srbench.weights import load_strict

from .networks import (
    CNN_ARCH,
    OBS_SIGMA,
    SRVAE,
    VAE_ARCH,
    build,
    cnn_receptive_field_radius,
    infer_config,
    tile_lr,
    untile_hr,
)


def _load_net(method: str, arch: str, scale: int, weights) -> tuple[torch.nn.Module, dict[str, Any], Any]:
    if scale != 4:
        raise SrbenchError(f"{method} is a x4 network (8x8 -> 32x32), not x{scale}")
    rw = single_weight(weights, method, what=f"{method} weights", scale=scale)
    state, cfg = load_checkpoint_with_config(rw.path, require_config=False)
    if cfg is None:
        cfg = infer_config(state)
    if cfg is None:
        raise WeightsError(f"{rw.path}: no srbench config and not a state dict of the 02456 notebooks' {method} model")
    params = check_config(cfg, rw.path, arch, scale)
    try:
        net = build(arch, params)
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{rw.path}: cannot build {arch} from arch_params {params}: {exc}") from exc
    load_strict(net, state, source=str(rw.path))
    return net.eval(), cfg, rw


class HVAECNN(SRModel):
    """The project's CNN: fully convolutional, any LR size."""

    def __init__(self, net: torch.nn.Module, device: torch.device, provenance: dict[str, Any], tile: int | None = None, overlap: int = 0):
        self.net = net.to(device)
        self.device = device
        self.scale = 4
        self.provenance = provenance
        self.tile, self.overlap = tile, overlap

    @torch.no_grad()
    def upscale_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return tiled_forward(self.net, x, 4, self.tile, self.overlap)

    def upscale(self, lr: np.ndarray) -> np.ndarray:
        return to_image(self.upscale_tensor(to_tensor(lr, self.device)).clamp_(0.0, 1.0))


class HVAE(SRModel):
    """The project's conditional VAE, applied to 8x8 LR tiles (see the method notes)."""

    def __init__(self, net: SRVAE, device: torch.device, provenance: dict[str, Any], tile_batch: int = 4096, obs_noise: bool = False):
        self.net = net.to(device)
        self.device = device
        self.scale = 4
        self.tile_batch = max(1, int(tile_batch))
        self.obs_noise = bool(obs_noise)
        self.provenance = provenance

    @torch.no_grad()
    def upscale_tensor(self, x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        """1x3xHxW in [0,1] -> 1x3x4Hx4W. ``gen`` None: prior mean; else z ~ p(z|y) drawn from ``gen``."""
        tiles, geom = tile_lr(x)
        outs = []
        for start in range(0, tiles.shape[0], self.tile_batch):
            y = tiles[start : start + self.tile_batch]
            eps = None
            if gen is not None:
                eps = torch.randn((y.shape[0], self.net.latent), generator=gen, device=y.device, dtype=y.dtype)
            out = self.net(y, eps)
            if gen is not None and self.obs_noise:
                out = out + OBS_SIGMA * torch.randn(out.shape, generator=gen, device=out.device, dtype=out.dtype)
            outs.append(out)
        return untile_hr(torch.cat(outs), geom)

    def upscale(self, lr: np.ndarray) -> np.ndarray:
        return to_image(self.upscale_tensor(to_tensor(lr, self.device)).clamp_(0.0, 1.0))

    def sample(self, lr: np.ndarray, n: int, seed: int, ref: Any = None) -> Sequence[np.ndarray]:
        x = to_tensor(lr, self.device)
        gen = generator(seed, self.device)
        return [to_image(self.upscale_tensor(x, gen).clamp_(0.0, 1.0)) for _ in range(n)]


def load_cnn(scale: int = 4, device: str = "cpu", weights=None, variant: str | None = None, options=None) -> HVAECNN:
    net, cfg, rw = _load_net("hvae-cnn", CNN_ARCH, scale, weights)
    # tile / tile_overlap: srbench.tiling, exact at the default overlap; other options are ignored
    tile, overlap = tile_options(options, default_overlap=cnn_receptive_field_radius())
    prov = {
        "variant": variant,
        "arch": CNN_ARCH,
        "arch_params": net.arch_params,
        "weights_sha256": rw.sha256,
        "checkpoint_config": cfg,
        "tile": tile,
        "tile_overlap": overlap if tile else None,
    }
    return HVAECNN(net, pick_device(device), prov, tile, overlap)


def load_vae(scale: int = 4, device: str = "cpu", weights=None, variant: str | None = None, options=None) -> HVAE:
    # options: tile_batch (8x8 tiles per forward pass), obs_noise; others (tile, ref ...) are ignored:
    # the VAE is always applied tile by tile
    options = dict(options or {})
    net, cfg, rw = _load_net("hvae", VAE_ARCH, scale, weights)
    prov = {
        "variant": variant,
        "arch": VAE_ARCH,
        "arch_params": net.arch_params,
        "weights_sha256": rw.sha256,
        "checkpoint_config": cfg,
        "tiling": "8x8 LR tiles -> 32x32 SR tiles, edge-replicated padding, stitched without overlap",
        "obs_noise": _flag(options.get("obs_noise", False)),
    }
    return HVAE(net, pick_device(device), prov, tile_batch=int(options.get("tile_batch", 4096)), obs_noise=_flag(options.get("obs_noise", False)))


def _flag(value: Any) -> bool:
    """Option values may come from a command line as strings."""
    if isinstance(value, str):
        if value.strip().lower() in {"1", "true", "yes", "on"}:
            return True
        if value.strip().lower() in {"", "0", "false", "no", "off"}:
            return False
        raise SrbenchError(f"hvae: option obs_noise={value!r}: expected true/false")
    return bool(value)
