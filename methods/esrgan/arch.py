"""RRDBNet, the ESRGAN generator (Wang et al., ECCVW 2018), written for srbench.

The module and parameter names follow the official release (xinntao/ESRGAN ``RRDBNet_arch.py``) so that
``RRDB_ESRGAN_x4.pth`` and ``RRDB_PSNR_x4.pth`` load with ``strict=True``:

    conv_first, RRDB_trunk.<i>.RDB<1..3>.conv<1..5>, trunk_conv, upconv1, upconv2, HRconv, conv_last

BasicSR (XPixelGroup/BasicSR ``basicsr/archs/rrdbnet_arch.py``) re-released the same network under other
names; :func:`basicsr_key` maps them onto these (see :data:`BASICSR_KEY_MAP`).

Network: 3x3 conv -> ``nb`` RRDBs (each three residual dense blocks of five 3x3 convs, growth ``gc``,
LeakyReLU 0.2, residual scaling 0.2 inside and around each RRDB) -> 3x3 conv, long skip -> two times
(nearest x2 upsampling -> 3x3 conv -> LeakyReLU) -> 3x3 conv -> LeakyReLU -> 3x3 conv. No batch norm,
no output activation (the caller clamps to [0, 1]).
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn


class ResidualDenseBlock(nn.Module):
    """Five 3x3 convs with dense connections; the fifth maps back to ``nf`` channels (x 0.2 + input)."""

    def __init__(self, nf: int = 64, gc: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, gc, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf + gc, gc, 3, 1, 1)
        self.conv3 = nn.Conv2d(nf + 2 * gc, gc, 3, 1, 1)
        self.conv4 = nn.Conv2d(nf + 3 * gc, gc, 3, 1, 1)
        self.conv5 = nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            feats.append(F.leaky_relu(conv(torch.cat(feats, 1)), 0.2))
        return self.conv5(torch.cat(feats, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Residual in residual dense block: three dense blocks, output x 0.2 + input."""

    def __init__(self, nf: int = 64, gc: int = 32):
        super().__init__()
        self.RDB1 = ResidualDenseBlock(nf, gc)
        self.RDB2 = ResidualDenseBlock(nf, gc)
        self.RDB3 = ResidualDenseBlock(nf, gc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.RDB3(self.RDB2(self.RDB1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN generator, x4. Defaults = the released models (3 -> 3 channels, 64 features, 23 RRDBs, growth 32)."""

    scale = 4

    def __init__(self, in_nc: int = 3, out_nc: int = 3, nf: int = 64, nb: int = 23, gc: int = 32):
        super().__init__()
        self.nb = nb
        self.conv_first = nn.Conv2d(in_nc, nf, 3, 1, 1)
        self.RRDB_trunk = nn.Sequential(*[RRDB(nf, gc) for _ in range(nb)])
        self.trunk_conv = nn.Conv2d(nf, nf, 3, 1, 1)
        self.upconv1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.upconv2 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.HRconv = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, out_nc, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = self.conv_first(x)
        fea = fea + self.trunk_conv(self.RRDB_trunk(fea))
        for conv in (self.upconv1, self.upconv2):
            fea = F.leaky_relu(conv(F.interpolate(fea, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.HRconv(fea), 0.2))


def receptive_field_radius(nb: int = 23) -> int:
    """Radius, in LR pixels, of the LR region one output pixel depends on: ``15 * nb + 4``.

    conv_first (1) + nb RRDBs x 15 convs (15 nb) + trunk_conv (1) in LR space; after that upconv1 at x2,
    upconv2/HRconv/conv_last at x4 add 3x3 neighbourhoods that, through the two nearest-neighbour
    upsamplings, reach 2 more LR pixels. 349 for the released 23-block models, so exact tiled inference
    of the full model needs an overlap of 349 LR pixels; any smaller overlap approximates.
    """
    return 15 * int(nb) + 4


#: BasicSR RRDBNet name -> official ESRGAN name (prefix rewrites, applied to the start of each key).
BASICSR_KEY_MAP = (
    (r"^conv_first\.", "conv_first."),
    (r"^body\.(\d+)\.rdb([123])\.conv([1-5])\.", r"RRDB_trunk.\1.RDB\2.conv\3."),
    (r"^conv_body\.", "trunk_conv."),
    (r"^conv_up1\.", "upconv1."),
    (r"^conv_up2\.", "upconv2."),
    (r"^conv_hr\.", "HRconv."),
    (r"^conv_last\.", "conv_last."),
)
_BASICSR_PATTERNS = tuple((re.compile(p), r) for p, r in BASICSR_KEY_MAP)


def basicsr_key(key: str) -> str:
    """Map one BasicSR RRDBNet state-dict key to the official ESRGAN name; unknown keys are returned
    unchanged (so a strict load reports them)."""
    for pattern, repl in _BASICSR_PATTERNS:
        new, n = pattern.subn(repl, key, count=1)
        if n:
            return new
    return key


def is_basicsr_state(state) -> bool:
    """True if a (unwrapped) state dict uses BasicSR's names (``body.*`` / ``conv_body.*``)."""
    return any(k.startswith(("body.", "conv_body.", "conv_up1.")) for k in state)


def count_parameters(nf: int = 64, nb: int = 23, gc: int = 32) -> int:
    with torch.device("meta"):
        net = RRDBNet(nf=nf, nb=nb, gc=gc)
    return sum(p.numel() for p in net.parameters())
