"""SSRVAE's styleVAE as an srbench degradation: HR -> real-world-like LR, one LR per style code.

The style code is drawn from the prior N(0, I) with a seeded ``torch.Generator`` (same seed, same
device -> same LR; another seed -> another LR), or taken from a reference real-world LR image through
the style encoder (``style_ref=``; its posterior mean, or a posterior sample when a seed is given).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from srbench.checkpoint_format import (
    check_config,
    load_checkpoint_with_config,
    single_weight,
)
from srbench.conventions import DEFAULT_SEED
from srbench.degradation_api import INPUT_HR, Degradation
from srbench.errors import WeightsError
from srbench.method_api import check_options
from srbench.torch_utils import generator, pick_device, to_image, to_tensor
from srbench.weights import load_strict

from .networks import ARCH_VERSION, STYLEVAE_ARCH, StyleVAE, build_stylevae, check_arch

NAME = "ssrvae-stylevae"


class StyleVAEDegradation(Degradation):
    input = INPUT_HR
    stochastic = True

    def __init__(self, net: StyleVAE, device: torch.device, provenance: dict[str, Any]):
        self.net = net.eval().to(device)
        self.device = device
        self.scale = net.scale
        self.provenance = provenance

    @torch.no_grad()
    def style_code(self, seed: int | None = None, style_ref: np.ndarray | None = None) -> torch.Tensor:
        """1 x style_dim code: prior sample (seed), or the reference's posterior mean / sample."""
        gen = generator(DEFAULT_SEED if seed is None else seed, self.device)
        eps = torch.randn((1, self.net.style_dim), generator=gen, device=self.device)
        if style_ref is None:
            return eps
        mu, logvar = self.net.encode_style(to_tensor(style_ref, self.device) * 2 - 1)
        return mu if seed is None else mu + (0.5 * logvar).exp() * eps

    @torch.no_grad()
    def degrade_tensor(self, hr: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """1x3xHxW in [0, 1] -> 1x3x ceil(H/s) x ceil(W/s) in [0, 1] (HR padded to a multiple of s)."""
        s = self.scale
        h, w = hr.shape[-2:]
        ph, pw = (-h) % s, (-w) % s
        if ph or pw:
            mode = "reflect" if (ph < h and pw < w) else "replicate"
            hr = F.pad(hr, (0, pw, 0, ph), mode=mode)
        lr = self.net(hr * 2 - 1, z)
        return ((lr + 1) / 2)[..., : -(-h // s), : -(-w // s)]

    def __call__(self, hr: np.ndarray, seed: int | None = None, style_ref: np.ndarray | None = None) -> np.ndarray:
        hr = np.asarray(hr)
        if hr.dtype != np.uint8:
            raise TypeError(f"{NAME} takes uint8 images, got {hr.dtype}")
        z = self.style_code(seed, style_ref)
        return to_image(self.degrade_tensor(to_tensor(hr, self.device), z), "half_away")  # clamped to [0, 1]


def load(scale: int = 4, device: str = "cpu", weights=None, variant: str | None = None, options=None) -> StyleVAEDegradation:
    from . import DEGRADATIONS

    check_options(DEGRADATIONS[0], options)  # the styleVAE takes none
    rw = single_weight(weights, NAME, what="styleVAE weights", scale=scale)
    state, cfg = load_checkpoint_with_config(rw.path, require_config=True)
    params = check_config(cfg, rw.path, STYLEVAE_ARCH, scale)
    check_arch(cfg, rw.path, STYLEVAE_ARCH)  # a v1 (MUNIT-sized) checkpoint is refused, never mis-loaded
    try:
        net = build_stylevae(scale, params)
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{rw.path}: cannot build {STYLEVAE_ARCH} from arch_params {params}: {exc}") from exc
    load_strict(net, state, source=str(rw.path))
    prov = {"arch": STYLEVAE_ARCH, "arch_version": ARCH_VERSION, "arch_params": net.arch_params, "weights_sha256": rw.sha256, "checkpoint_config": cfg}
    return StyleVAEDegradation(net, pick_device(device), prov)
