"""Networks of "Image Super-Resolution using Hierarchical VAEs" (DTU 02456 project, 2020); imports torch.

srbench's implementation, written from the project report and from the layer definitions in the
project's notebooks (github.com/prasad-jagtap/02456-deep-learning, ``cnn_second.ipynb`` and
``SR_VAE_Second.ipynb``; no licence stated). Attribute names follow the notebooks (``conv_1`` ...,
``lin_1``, ``lin_2``, ``lin_pri``), so a ``state_dict()`` of the notebooks' models loads strictly.

* :class:`SRCNN4x` (``hvae-cnn``): conv3x3(3->64)+ReLU, bicubic x2 (+ReLU), conv5x5(64->64)+ReLU,
  bicubic x2 (+ReLU), conv5x5(64->128)+ReLU, conv5x5(128->64)+ReLU, conv5x5(64->3)+ReLU. Fully
  convolutional: any input size, output 4x.
* :class:`SRVAE` (``hvae``): 32x32 HR <-> 8x8 LR.
  - posterior q(z|x) (training only): conv5x5(3->64, no padding)+ReLU, maxpool 2 (+ReLU),
    conv5x5(64->32)+ReLU, conv3x3(32->3)+ReLU -> 3x8x8 = 192 values -> linear(192 -> 2*latent)+ReLU ->
    (mu, log sigma);
  - prior p(z|y): the 8x8 LR flattened (192 values, channel-major) -> linear(192 -> 2*latent)+ReLU ->
    (mu, log sigma);
  - decoder p(x|z): linear(latent -> 192)+ReLU -> 3x8x8 -> conv3x3(3->64)+ReLU, bicubic x2 (+ReLU),
    conv5x5(64->128)+ReLU, bicubic x2 (+ReLU), conv5x5(128->64)+ReLU, conv3x3(64->3), sigmoid = the mean
    of a Gaussian observation model with sigma = 0.01.
  The ReLU on the (mu, log sigma) layers is in the notebook ("ReLU after each step"): mu >= 0 and
  sigma >= 1 for both posterior and prior. Bicubic = ``torch`` bicubic, ``align_corners=False``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

CNN_ARCH = "hvae.cnn"
VAE_ARCH = "hvae.vae"

#: LR tile and HR tile sizes of the VAE (CIFAR-10: 32x32 HR, 8x8 LR)
LR_TILE, HR_TILE = 8, 32
CNN_DEFAULTS = {"c1": 64, "c2": 64, "c3": 128, "c4": 64}
VAE_DEFAULTS = {"latent": 192, "e1": 64, "e2": 32, "d1": 64, "d2": 128, "d3": 64}
OBS_SIGMA = 0.01


class SRCNN4x(nn.Module):
    arch = CNN_ARCH
    scale = 4

    def __init__(self, c1: int = 64, c2: int = 64, c3: int = 128, c4: int = 64):
        super().__init__()
        self.arch_params = {"c1": c1, "c2": c2, "c3": c3, "c4": c4}
        self.conv_1 = nn.Conv2d(3, c1, 3, 1, 1)
        self.up = nn.Upsample(scale_factor=2, mode="bicubic")
        self.conv_2 = nn.Conv2d(c1, c2, 5, 1, 2)
        self.conv_3 = nn.Conv2d(c2, c3, 5, 1, 2)
        self.conv_4 = nn.Conv2d(c3, c4, 5, 1, 2)
        self.conv_5 = nn.Conv2d(c4, 3, 5, 1, 2)

    def forward(self, x):
        x = F.relu(self.conv_1(x))
        x = F.relu(self.up(x))
        x = F.relu(self.conv_2(x))
        x = F.relu(self.up(x))
        x = F.relu(self.conv_3(x))
        x = F.relu(self.conv_4(x))
        return F.relu(self.conv_5(x))

    def checkpoint_config(self) -> dict:
        return {"arch": self.arch, "scale": self.scale, "arch_params": dict(self.arch_params)}


class SRVAE(nn.Module):
    arch = VAE_ARCH
    scale = 4

    def __init__(self, latent: int = 192, e1: int = 64, e2: int = 32, d1: int = 64, d2: int = 128, d3: int = 64):
        super().__init__()
        self.arch_params = {"latent": latent, "e1": e1, "e2": e2, "d1": d1, "d2": d2, "d3": d3}
        self.latent = latent
        flat = 3 * LR_TILE * LR_TILE
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv_1 = nn.Conv2d(3, e1, 5, 1)
        self.conv_2 = nn.Conv2d(e1, e2, 5, 1)
        self.conv_3 = nn.Conv2d(e2, 3, 3, 1)
        self.conv_4 = nn.Conv2d(3, d1, 3, 1, 1)
        self.conv_5 = nn.Conv2d(d1, d2, 5, 1, 2)
        self.conv_6 = nn.Conv2d(d2, d3, 5, 1, 2)
        self.conv_7 = nn.Conv2d(d3, 3, 3, 1, 1)
        self.up = nn.Upsample(scale_factor=2, mode="bicubic")
        self.lin_1 = nn.Linear(flat, 2 * latent)
        self.lin_2 = nn.Linear(latent, flat)
        self.lin_pri = nn.Linear(flat, 2 * latent)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | HR 32x32): (mu, log sigma). Training only."""
        x = F.relu(self.conv_1(x))
        x = F.relu(self.pool(x))
        x = F.relu(self.conv_2(x))
        x = F.relu(self.conv_3(x))
        h = F.relu(self.lin_1(x.reshape(x.shape[0], -1)))
        mu, log_sigma = h.chunk(2, dim=-1)
        return mu, log_sigma

    def prior(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """p(z | LR 8x8): (mu, log sigma)."""
        h = F.relu(self.lin_pri(y.reshape(y.shape[0], -1)))
        mu, log_sigma = h.chunk(2, dim=-1)
        return mu, log_sigma

    def decoder(self, z: torch.Tensor) -> torch.Tensor:
        """Mean of p(x | z): Bx3x32x32 in (0, 1)."""
        x = F.relu(self.lin_2(z))
        x = x.reshape(z.shape[0], 3, LR_TILE, LR_TILE)
        x = F.relu(self.conv_4(x))
        x = F.relu(self.up(x))
        x = F.relu(self.conv_5(x))
        x = F.relu(self.up(x))
        x = F.relu(self.conv_6(x))
        return torch.sigmoid(self.conv_7(x))

    def forward(self, y: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """SR of Bx3x8x8 LR tiles: decoder(prior mean), or decoder(mu + sigma * eps)."""
        mu, log_sigma = self.prior(y)
        z = mu if eps is None else mu + log_sigma.exp() * eps
        return self.decoder(z)

    def checkpoint_config(self) -> dict:
        return {"arch": self.arch, "scale": self.scale, "arch_params": dict(self.arch_params)}


def tile_lr(x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """1x3xHxW -> Nx3x8x8 tiles (row-major), after edge-replicating to multiples of 8."""
    if x.shape[0] != 1:
        raise ValueError("tile_lr takes one image")
    h, w = x.shape[-2:]
    ph, pw = (-h) % LR_TILE, (-w) % LR_TILE
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    nh, nw = (h + ph) // LR_TILE, (w + pw) // LR_TILE
    tiles = x.reshape(3, nh, LR_TILE, nw, LR_TILE).permute(1, 3, 0, 2, 4).reshape(nh * nw, 3, LR_TILE, LR_TILE)
    return tiles, (h, w, nh, nw)


def untile_hr(tiles: torch.Tensor, geom: tuple[int, int, int, int], scale: int = 4) -> torch.Tensor:
    """Nx3x32x32 -> 1x3x(4H)x(4W): stitch row-major tiles and crop the padding away."""
    h, w, nh, nw = geom
    t = tiles.shape[-1]
    out = tiles.reshape(nh, nw, 3, t, t).permute(2, 0, 3, 1, 4).reshape(1, 3, nh * t, nw * t)
    return out[..., : h * scale, : w * scale]


def build(arch: str, params: dict) -> nn.Module:
    if arch == CNN_ARCH:
        p = {**CNN_DEFAULTS, **params}
        return SRCNN4x(**{k: int(p[k]) for k in CNN_DEFAULTS})
    if arch == VAE_ARCH:
        p = {**VAE_DEFAULTS, **params}
        return SRVAE(**{k: int(p[k]) for k in VAE_DEFAULTS})
    raise ValueError(f"unknown architecture {arch!r}")


def infer_config(state: dict) -> dict | None:
    """Config of a state dict saved from the project's notebooks (no srbench config); None if not one."""
    try:
        if "lin_pri.weight" in state:
            return {
                "arch": VAE_ARCH,
                "scale": 4,
                "arch_params": {
                    "latent": int(state["lin_2.weight"].shape[1]),
                    "e1": int(state["conv_1.weight"].shape[0]),
                    "e2": int(state["conv_2.weight"].shape[0]),
                    "d1": int(state["conv_4.weight"].shape[0]),
                    "d2": int(state["conv_5.weight"].shape[0]),
                    "d3": int(state["conv_6.weight"].shape[0]),
                },
                "inferred_from": "tensor shapes (02456 notebook layout)",
            }
        if "conv_5.weight" in state and "conv_6.weight" not in state:
            return {
                "arch": CNN_ARCH,
                "scale": 4,
                "arch_params": {f"c{i}": int(state[f"conv_{i}.weight"].shape[0]) for i in range(1, 5)},
                "inferred_from": "tensor shapes (02456 notebook layout)",
            }
    except (KeyError, AttributeError, IndexError):
        return None
    return None


def cnn_receptive_field_radius() -> int:
    """Upper bound in LR pixels for :class:`SRCNN4x` (exact tiling): conv3x3 (1) + bicubic x2 (2) +
    conv5x5 at 2x (1) + bicubic x2 at 2x (1) + three conv5x5 at 4x (1.5) = 6.5, rounded up with margin."""
    return 8
