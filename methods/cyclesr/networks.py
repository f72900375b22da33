"""CycleSR / CycleSRGAN networks (srbench's implementation; imports torch).

Written from the paper (Chen et al., CVPRW 2020) and from the layer layout of the authors' reference
implementation in Huawei Noah's Ark's Vega (``vega/networks/pytorch/cyclesrbodys``, Apache-2.0), so that
state dicts saved by that code (``model_SR.pth``, ``model_G.pth``) load here with ``strict=True``:

* :class:`VDSR` - the "modified VDSR": no bicubic pre-upsampling; a 3x3 head conv, ``nb`` 3x3
  conv(-norm)-ReLU layers and one conv(-norm) inside a global skip, then ``log2(scale)`` x (conv to
  4*nf channels, PixelShuffle(2), ReLU), a 3x3 conv + ReLU and a 3x3 conv to RGB. Module indices follow
  Vega's ``nn.Sequential`` (``model.0`` ... ``model.10`` at x4).
* :class:`SRResNet` - the original SRResNet of Ledig et al. (CVPR 2017): 9x9 head conv + PReLU, 16
  residual blocks (3x3 conv-BN-PReLU-conv-BN), 3x3 conv-BN and a global skip, ``log2(scale)`` x (3x3
  conv to 256 channels, PixelShuffle(2), PReLU), 9x9 conv to RGB - the paper's "original SRResNet".
  Vega's ``SRResNet`` class cannot be instantiated in any release (``resnet_blocks += ResBlock(...)``
  adds a module to a list: ``TypeError: 'ResBlock' object is not iterable``), so no authors' checkpoint
  or layout exists to follow; what it was meant to build is BasicSR's SRResNet (3x3 head, ReLU blocks,
  3x3 HR convs), not the original. The parameter names here are srbench's.
* :class:`CycleGANGenerator` - the degradation generator G1 (synthetic LR -> real-like LR): CycleGAN's
  ResNet generator (c7s1-64, d128, d256, 9 residual blocks, u128, u64, c7s1-3, tanh) with Vega's
  choices: instance norm without affine parameters, zero-padded 3x3 convs inside the residual blocks,
  reflection padding only around the 7x7 convs, transposed-conv upsampling. Children are named
  ``G0`` ... ``G27`` as in Vega's ``Generator(name='G')``.

All networks take and return RGB in [0, 1] (Vega feeds ``to_tensor`` images without normalisation; the
generator's tanh output is used as is).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F

VDSR_ARCH = "cyclesr.vdsr"
SRRESNET_ARCH = "cyclesr.srresnet"
G1_ARCH = "cyclesr.g1"

VDSR_DEFAULTS = {"in_nc": 3, "out_nc": 3, "nf": 64, "nb": 20, "norm": "batch"}
SRRESNET_DEFAULTS = {"in_nc": 3, "out_nc": 3, "nf": 64, "nb": 16}
G1_DEFAULTS = {"in_nc": 3, "out_nc": 3, "ngf": 64, "n_resblocks": 9, "norm": "instance", "name": "G"}

NORMS = ("batch", "instance", "none")


def _norm(kind: str, ch: int) -> list[nn.Module]:
    if kind == "batch":
        return [nn.BatchNorm2d(ch, affine=True)]
    if kind == "instance":
        return [nn.InstanceNorm2d(ch, affine=False)]
    if kind == "none":
        return []
    raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")


def _n_up(scale: int) -> int:
    n = round(math.log2(scale)) if scale > 0 else -1
    if n < 1 or 2**n != scale:
        raise ValueError(f"pixel-shuffle x2 stages support scales 2, 4, 8, not x{scale}")
    return n


class _Shortcut(nn.Module):
    """``x + submodule(x)`` (Vega's ShortcutBlock)."""

    def __init__(self, submodule: nn.Module):
        super().__init__()
        self.submodule = submodule

    def forward(self, x):
        return x + self.submodule(x)


class VDSR(nn.Module):
    """CycleSR's modified VDSR (post-upsampling, residual body); see the module docstring."""

    arch = VDSR_ARCH

    def __init__(self, scale: int = 4, in_nc: int = 3, out_nc: int = 3, nf: int = 64, nb: int = 20, norm: str = "batch"):
        super().__init__()
        self.scale = int(scale)
        self.arch_params = {"in_nc": in_nc, "out_nc": out_nc, "nf": nf, "nb": nb, "norm": norm}
        body: list[nn.Module] = []
        for _ in range(nb):
            body += [nn.Conv2d(nf, nf, 3, 1, 1), *_norm(norm, nf), nn.ReLU(inplace=True)]
        body += [nn.Conv2d(nf, nf, 3, 1, 1), *_norm(norm, nf)]
        layers: list[nn.Module] = [nn.Conv2d(in_nc, nf, 3, 1, 1), _Shortcut(nn.Sequential(*body))]
        for _ in range(_n_up(self.scale)):
            layers += [nn.Conv2d(nf, nf * 4, 3, 1, 1), nn.PixelShuffle(2), nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(nf, nf, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(nf, out_nc, 3, 1, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)

    def checkpoint_config(self) -> dict:
        return {"arch": self.arch, "scale": self.scale, "arch_params": dict(self.arch_params)}


class _SRResBlock(nn.Module):
    def __init__(self, nf: int):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.bn1 = nn.BatchNorm2d(nf)
        self.act = nn.PReLU()
        self.conv2 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(nf)

    def forward(self, x):
        return x + self.bn2(self.conv2(self.act(self.bn1(self.conv1(x)))))


class SRResNet(nn.Module):
    """The original SRResNet (Ledig et al. 2017); see the module docstring."""

    arch = SRRESNET_ARCH

    def __init__(self, scale: int = 4, in_nc: int = 3, out_nc: int = 3, nf: int = 64, nb: int = 16):
        super().__init__()
        self.scale = int(scale)
        self.arch_params = {"in_nc": in_nc, "out_nc": out_nc, "nf": nf, "nb": nb}
        self.head = nn.Conv2d(in_nc, nf, 9, 1, 4)
        self.head_act = nn.PReLU()
        self.body = nn.Sequential(*[_SRResBlock(nf) for _ in range(nb)])
        self.body_conv = nn.Conv2d(nf, nf, 3, 1, 1)
        self.body_bn = nn.BatchNorm2d(nf)
        up: list[nn.Module] = []
        for _ in range(_n_up(self.scale)):
            up += [nn.Conv2d(nf, nf * 4, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU()]
        self.upsampler = nn.Sequential(*up)
        self.tail = nn.Conv2d(nf, out_nc, 9, 1, 4)

    def forward(self, x):
        feat = self.head_act(self.head(x))
        feat = feat + self.body_bn(self.body_conv(self.body(feat)))
        return self.tail(self.upsampler(feat))

    def checkpoint_config(self) -> dict:
        return {"arch": self.arch, "scale": self.scale, "arch_params": dict(self.arch_params)}


class _GResBlock(nn.Module):
    """Vega's ResBlock: ``x + [conv3x3, norm, ReLU, conv3x3, norm](x)`` with zero padding."""

    def __init__(self, ch: int, norm: str):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.Conv2d(ch, ch, 3, 1, 1), *_norm(norm, ch), nn.ReLU(inplace=True), nn.Conv2d(ch, ch, 3, 1, 1), *_norm(norm, ch)
        )

    def forward(self, x):
        return x + self.conv_block(x)


class CycleGANGenerator(nn.Module):
    """CycleSR's translation generator (ResNet generator of CycleGAN, Vega's layout)."""

    arch = G1_ARCH
    #: the two stride-2 convolutions need sizes divisible by 4 to give back the input size
    multiple = 4

    def __init__(self, in_nc: int = 3, out_nc: int = 3, ngf: int = 64, n_resblocks: int = 9, norm: str = "instance", name: str = "G", scale: int | None = None):
        super().__init__()
        self.scale = scale
        self.arch_params = {"in_nc": in_nc, "out_nc": out_nc, "ngf": ngf, "n_resblocks": n_resblocks, "norm": norm, "name": name}
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_nc, ngf, 7, 1, 0), *_norm(norm, ngf), nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(ngf, ngf * 2, 3, 2, 1), *_norm(norm, ngf * 2), nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(ngf * 2, ngf * 4, 3, 2, 1), *_norm(norm, ngf * 4), nn.ReLU(inplace=True)]
        layers += [_GResBlock(ngf * 4, norm) for _ in range(n_resblocks)]
        layers += [nn.ConvTranspose2d(ngf * 4, ngf * 2, 3, 2, 1, output_padding=1), *_norm(norm, ngf * 2), nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(ngf * 2, ngf, 3, 2, 1, output_padding=1), *_norm(norm, ngf), nn.ReLU(inplace=True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_nc, 7, 1, 0), nn.Tanh()]
        self.generator = nn.Sequential(OrderedDict((f"{name}{i}", m) for i, m in enumerate(layers)))

    def forward(self, x):
        return self.generator(x)

    def translate(self, x: torch.Tensor) -> torch.Tensor:
        """Any size: pad (reflect, or replicate for tiny images) to a multiple of 4, run, crop back."""
        h, w = x.shape[-2:]
        ph, pw = (-h) % self.multiple, (-w) % self.multiple
        if ph or pw:
            mode = "reflect" if (ph < h and pw < w) else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        return self.forward(x)[..., :h, :w]

    def checkpoint_config(self) -> dict:
        cfg = {"arch": self.arch, "arch_params": dict(self.arch_params)}
        if self.scale is not None:
            cfg["scale"] = self.scale
        return cfg


# ----------------------------------------------------------------------------------------------------
# Building from a checkpoint config, or from the tensor shapes of a Vega state dict (no config).


def build_sr(arch: str, scale: int, params: dict) -> nn.Module:
    if arch == VDSR_ARCH:
        p = {**VDSR_DEFAULTS, **params}
        return VDSR(scale=scale, **{k: p[k] for k in VDSR_DEFAULTS})
    if arch == SRRESNET_ARCH:
        p = {**SRRESNET_DEFAULTS, **params}
        return SRResNet(scale=scale, **{k: p[k] for k in SRRESNET_DEFAULTS})
    raise ValueError(f"unknown CycleSR SR architecture {arch!r}")


def build_g1(params: dict, scale: int | None = None) -> CycleGANGenerator:
    p = {**G1_DEFAULTS, **params}
    return CycleGANGenerator(scale=scale, **{k: p[k] for k in G1_DEFAULTS})


def infer_vdsr_config(state: dict) -> dict | None:
    """Config of a Vega ``VDSR`` state dict (``model_SR.pth``), from its keys and shapes; None if not one.

    Vega's default ``SR_norm_type: batch`` leaves BatchNorm tensors; without them the layers are taken
    as un-normalised (an ``instance``-norm model has the same tensors: give it a JSON config).
    """
    if "model.0.weight" not in state or "model.1.submodule.0.weight" not in state:
        return None
    nf, in_nc = state["model.0.weight"].shape[:2]
    sub = sorted({int(k.split(".")[3]) for k in state if k.startswith("model.1.submodule.")})
    convs = [i for i in sub if state[f"model.1.submodule.{i}.weight"].dim() == 4]
    norm = "batch" if any(f"model.1.submodule.{i}.running_mean" in state for i in sub) else "none"
    top = sorted({int(k.split(".")[1]) for k in state if k.startswith("model.") and not k.startswith("model.1.")})
    ups = [i for i in top if i != 0 and state[f"model.{i}.weight"].shape[0] == 4 * nf]
    out_nc = state[f"model.{top[-1]}.weight"].shape[0]
    return {
        "arch": VDSR_ARCH,
        "scale": 2 ** len(ups),
        "arch_params": {"in_nc": int(in_nc), "out_nc": int(out_nc), "nf": int(nf), "nb": len(convs) - 1, "norm": norm},
        "inferred_from": "tensor shapes (Vega VDSR layout)",
    }


def infer_g1_config(state: dict) -> dict | None:
    """Config of a Vega ``Generator`` state dict (``model_G.pth``); None if not one.

    Without BatchNorm tensors the norm is taken as ``instance`` (Vega's CycleGAN default ``norm: instance``).
    """
    heads = [k for k in state if k.startswith("generator.") and k.endswith(".weight") and state[k].dim() == 4]
    if not heads:
        return None
    name = heads[0].split(".")[1].rstrip("0123456789")
    idx = sorted({int(k.split(".")[1][len(name):]) for k in state if k.startswith(f"generator.{name}")})
    first = state[f"generator.{name}{idx[0]}.weight"]
    ngf, in_nc = first.shape[:2]
    n_res = len({i for i in idx if f"generator.{name}{i}.conv_block.0.weight" in state})
    out_nc = state[f"generator.{name}{idx[-1]}.weight"].shape[0]
    norm = "batch" if any(k.endswith("running_mean") for k in state) else "instance"
    return {
        "arch": G1_ARCH,
        "arch_params": {"in_nc": int(in_nc), "out_nc": int(out_nc), "ngf": int(ngf), "n_resblocks": n_res, "norm": norm, "name": name},
        "inferred_from": "tensor shapes (Vega Generator layout)",
    }



def receptive_field_radius(net: nn.Module) -> int:
    """An upper bound, in LR pixels, on how far an output pixel sees into the LR input (for exact tiling).

    Each 3x3 conv adds at most one LR pixel (less once the features are upsampled), each 9x9 conv four.
    """
    n_up = _n_up(net.scale)
    if isinstance(net, VDSR):
        return net.arch_params["nb"] + 1 + 1 + n_up + 2
    if isinstance(net, SRResNet):
        return 4 + 2 * net.arch_params["nb"] + 1 + n_up + 4
    raise TypeError(f"no receptive field for {type(net).__name__}")
