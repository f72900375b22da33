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
from srbench.method_api import SRModel, check_options
from srbench.tiling import tiled_forward
from srbench.torch_utils import generator, pick_device, to_image, to_tensor
from srbench.weights import load_strict

from . import METHODS, ROUNDING, TILE_BATCH
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
        self.rounding = ROUNDING

    @torch.no_grad()
    def upscale_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return tiled_forward(self.net, x, 4, self.tile, self.overlap)

    def upscale(self, lr: np.ndarray) -> np.ndarray:
        return to_image(self.upscale_tensor(to_tensor(lr, self.device)), self.rounding)  # clamped to [0, 1]


class HVAE(SRModel):
    """The project's conditional VAE, applied to 8x8 LR tiles (see the method notes)."""

    def __init__(self, net: SRVAE, device: torch.device, provenance: dict[str, Any], tile_batch: int = TILE_BATCH, obs_noise: bool = False):
        self.net = net.to(device)
        self.device = device
        self.scale = 4
        self.tile_batch = max(1, int(tile_batch))
        self.obs_noise = bool(obs_noise)
        self.rounding = ROUNDING
        self.provenance = provenance

    @torch.no_grad()
    def upscale_tensor(self, x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        """1x3xHxW in [0,1] -> 1x3x4Hx4W. ``gen`` None: prior mean; else z ~ p(z|y) drawn from ``gen``.

        The draws (eps of every tile, then the observation noise of every tile) do not depend on
        ``tile_batch``, which only sets how many tiles go through the network at once."""
        tiles, geom = tile_lr(x)
        eps = None
        if gen is not None:
            eps = torch.randn((tiles.shape[0], self.net.latent), generator=gen, device=tiles.device, dtype=tiles.dtype)
        outs = []
        for start in range(0, tiles.shape[0], self.tile_batch):
            stop = start + self.tile_batch
            outs.append(self.net(tiles[start:stop], None if eps is None else eps[start:stop]))
        out = torch.cat(outs)
        if gen is not None and self.obs_noise:
            out = out + OBS_SIGMA * torch.randn(out.shape, generator=gen, device=out.device, dtype=out.dtype)
        return untile_hr(out, geom)

    def upscale(self, lr: np.ndarray) -> np.ndarray:
        """The decoded prior mean (deterministic)."""
        return to_image(self.upscale_tensor(to_tensor(lr, self.device)), self.rounding)  # clamped to [0, 1]

    def sample(self, lr: np.ndarray, n: int, seed: int, ref: Any = None) -> Sequence[np.ndarray]:
        x = to_tensor(lr, self.device)
        gen = generator(seed, self.device)
        return [to_image(self.upscale_tensor(x, gen), self.rounding) for _ in range(n)]


def load_cnn(scale: int = 4, device: str = "cpu", weights=None, variant: str | None = None, options=None) -> HVAECNN:
    """Options (``MethodInfo.options``): ``tile`` (0 = whole image), ``tile_overlap`` (exact at the default)."""
    opts = check_options(METHODS[0], options)
    net, cfg, rw = _load_net("hvae-cnn", CNN_ARCH, scale, weights)
    tile, overlap = opts["tile"] or None, opts["tile_overlap"]
    prov = {
        "variant": variant,
        "arch": CNN_ARCH,
        "arch_params": net.arch_params,
        "weights_sha256": rw.sha256,
        "checkpoint_config": cfg,
        "tile": tile,
        "tile_overlap": overlap if tile else None,
        "tiling_exact": overlap >= cnn_receptive_field_radius() if tile else None,
        "rounding": ROUNDING,
    }
    return HVAECNN(net, pick_device(device), prov, tile, overlap)


def load_vae(scale: int = 4, device: str = "cpu", weights=None, variant: str | None = None, options=None) -> HVAE:
    """Options (``MethodInfo.options``): ``tile_batch``, ``obs_noise``. The VAE is always applied to 8x8 tiles."""
    opts = check_options(METHODS[1], options)
    net, cfg, rw = _load_net("hvae", VAE_ARCH, scale, weights)
    prov = {
        "variant": variant,
        "arch": VAE_ARCH,
        "arch_params": net.arch_params,
        "weights_sha256": rw.sha256,
        "checkpoint_config": cfg,
        "tiling": "8x8 LR tiles -> 32x32 SR tiles, edge-replicated padding, stitched without overlap",
        "tile_batch": opts["tile_batch"],
        "obs_noise": opts["obs_noise"],
        "rounding": ROUNDING,
    }
    return HVAE(net, pick_device(device), prov, tile_batch=opts["tile_batch"], obs_noise=opts["obs_noise"])
