"""The SRGAN generator of leftthomas/SRGAN at commit b0323c6 (2018-01-17), written for srbench.

Module names follow ``model.py`` at that commit so that its released ``epochs/netG_epoch_{2,4,8}_100.pth``
load with ``strict=True`` (the repository's later generator changed its last block, so those files fit
only this definition):

    block1   9x9 conv 3->64, PReLU
    block2-6 residual blocks: conv3x3, BN, PReLU, conv3x3, BN, + input
    block7   3x3 conv, PReLU            (the paper has conv + BN here; this commit has PReLU, no BN)
    block8   log2(scale) x [3x3 conv 64->256, pixel shuffle x2, PReLU], then 9x9 conv 64->3
    output   (tanh(block8(block1 + block7)) + 1) / 2  -> RGB in [0, 1]

All PReLUs have a single shared slope (``nn.PReLU()``). The checkpoints predate PyTorch 0.4.1 and hold no
``num_batches_tracked`` buffers, so batch norm here is an inference-only module with exactly the four
tensors the files store (weight, bias, running_mean, running_var; eps 1e-5), numerically the same as
``nn.BatchNorm2d`` in eval mode.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class FrozenBatchNorm2d(nn.Module):
    """Batch norm with fixed statistics (eval-mode ``nn.BatchNorm2d`` without ``num_batches_tracked``)."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn1 = FrozenBatchNorm2d(channels)
        self.prelu = nn.PReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = FrozenBatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bn2(self.conv2(self.prelu(self.bn1(self.conv1(x)))))


class UpsampleBlock(nn.Module):
    def __init__(self, channels: int = 64, factor: int = 2):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels * factor**2, 3, padding=1)
        self.pixel_shuffle = nn.PixelShuffle(factor)
        self.prelu = nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.prelu(self.pixel_shuffle(self.conv(x)))


class Generator(nn.Module):
    def __init__(self, scale: int = 4):
        super().__init__()
        if scale not in (2, 4, 8):
            raise ValueError(f"the leftthomas SRGAN generator is defined for x2, x4, x8, not x{scale}")
        self.scale = scale
        self.block1 = nn.Sequential(nn.Conv2d(3, 64, 9, padding=4), nn.PReLU())
        self.block2 = ResidualBlock(64)
        self.block3 = ResidualBlock(64)
        self.block4 = ResidualBlock(64)
        self.block5 = ResidualBlock(64)
        self.block6 = ResidualBlock(64)
        self.block7 = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.PReLU())
        ups = [UpsampleBlock(64, 2) for _ in range(int(math.log2(scale)))]
        self.block8 = nn.Sequential(*ups, nn.Conv2d(64, 3, 9, padding=4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.block1(x)
        h = b1
        for block in (self.block2, self.block3, self.block4, self.block5, self.block6, self.block7):
            h = block(h)
        return (torch.tanh(self.block8(b1 + h)) + 1) / 2


def receptive_field_radius(scale: int = 4) -> int:
    """LR-pixel radius one output pixel depends on (rounded up).

    9x9 conv (4) + 5 residual blocks x 2 convs (10) + block7 (1) + the first upsampling conv (1) in LR
    space; each further upsampling conv adds 1 pixel at its resolution and the final 9x9 conv 4 pixels at
    the output resolution: 16 + sum_{k=1}^{log2 s - 1} 2^-k + 4/s. x2: 18, x4: 18 (17.5), x8: 18 (17.25).
    """
    n = int(math.log2(scale))
    r = 16 + sum(2.0**-k for k in range(1, n)) + 4.0 / scale
    return math.ceil(r)


def count_parameters(scale: int = 4) -> int:
    with torch.device("meta"):
        net = Generator(scale)
    return sum(p.numel() for p in net.parameters())
