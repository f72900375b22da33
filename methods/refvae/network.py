"""RefVAE networks (Liu, Siu, Wang, CVPRW 2021), written for srbench.

Parameter names follow the released checkpoints of github.com/Holmes-Alan/RefVAE so that they load
with ``strict=True``:

* :class:`Encoder4` - the VGG-19 encoder up to relu4_1 of Li et al.'s LinearStyleTransfer
  (``vgg_r41.pth``: a 1x1 colour conv, then VGG's 3x3 convs with reflection padding; takes RGB in
  [0, 1]). Only ``r41`` is computed.
* :class:`RefVAENet` - ``VAE_v3_4x`` / ``VAE_v3_8x`` of the official ``model.py`` (identical but for the
  factor of the final bicubic skip): a conditional VAE encodes the reference's r41 features into a
  256-d Gaussian, the sampled latent is decoded to a 16x16x64 map, resized to the LR-feature grid,
  modulated by (1 + var, mu) predicted from the bicubic-upsampled LR's r41 features, and decoded by three
  x2 bilinear upsamplings to an RGB residual on top of the bicubic upsampled LR.
  ``bn`` (BatchNorm1d), ``mu_act`` and ``var_act`` exist in the official class but are unused; ``bn``
  is kept so the checkpoint loads strictly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

Z_DIM = 256
REF_SIZE = 256  # the reference is resized to 256x256 (eval_4x.py / eval_8x.py)


class Encoder4(nn.Module):
    """VGG-19 (normalised) up to relu4_1, as LinearStyleTransfer's ``encoder4``; returns r41."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 3, 1, 1, 0)
        self.conv2 = nn.Conv2d(3, 64, 3, 1, 0)
        self.conv3 = nn.Conv2d(64, 64, 3, 1, 0)
        self.conv4 = nn.Conv2d(64, 128, 3, 1, 0)
        self.conv5 = nn.Conv2d(128, 128, 3, 1, 0)
        self.conv6 = nn.Conv2d(128, 256, 3, 1, 0)
        self.conv7 = nn.Conv2d(256, 256, 3, 1, 0)
        self.conv8 = nn.Conv2d(256, 256, 3, 1, 0)
        self.conv9 = nn.Conv2d(256, 256, 3, 1, 0)
        self.conv10 = nn.Conv2d(256, 512, 3, 1, 0)

    @staticmethod
    def _c(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
        return F.relu(conv(F.pad(x, (1, 1, 1, 1), mode="reflect")))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x = self._c(self.conv2, x)
        x = self._c(self.conv3, x)
        x = F.max_pool2d(x, 2, 2)
        x = self._c(self.conv4, x)
        x = self._c(self.conv5, x)
        x = F.max_pool2d(x, 2, 2)
        x = self._c(self.conv6, x)
        x = self._c(self.conv7, x)
        x = self._c(self.conv8, x)
        x = self._c(self.conv9, x)
        x = F.max_pool2d(x, 2, 2)
        return self._c(self.conv10, x)


class ResBlock(nn.Module):
    """``lrelu(x + conv2(lrelu(conv1(x))))`` (LeakyReLU slope 0.01)."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(ch, ch, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(F.leaky_relu(self.conv1(x)))
        return F.leaky_relu(out + x)


class _Up2(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class RefVAENet(nn.Module):
    def __init__(self, up_factor: int):
        super().__init__()
        if up_factor not in (4, 8):
            raise ValueError("RefVAE has x4 and x8 models")
        self.up_factor = up_factor
        self.init_feat = nn.Sequential(
            nn.Conv2d(512, 64, 1, 1, 0), nn.BatchNorm2d(64), nn.LeakyReLU(),
            nn.Conv2d(64, 64, 3, 1, 1), nn.BatchNorm2d(64), nn.LeakyReLU(),
        )
        self.VAE_encoder = nn.Sequential(nn.Linear(16384, 2 * Z_DIM))
        self.VAE_decoder = nn.Sequential(nn.Linear(Z_DIM, 16384))
        self.dec_feat = nn.Sequential(nn.Conv2d(64, 512, 1, 1, 0), ResBlock(512))
        self.mask = nn.Sequential(
            nn.Conv2d(512, 512, 1, 1, 0), ResBlock(512), ResBlock(512), ResBlock(512), nn.Conv2d(512, 1024, 1, 1, 0)
        )
        self.decoder = nn.Sequential(
            _Up2(), nn.Conv2d(512, 256, 3, 1, 1), nn.LeakyReLU(),
            _Up2(), nn.Conv2d(256, 128, 3, 1, 1), nn.LeakyReLU(),
            _Up2(), nn.Conv2d(128, 64, 3, 1, 1), nn.LeakyReLU(),
            nn.Conv2d(64, 64, 1, 1, 0), nn.LeakyReLU(),
            nn.Conv2d(64, 3, 3, 1, 1),
        )
        self.bn = nn.BatchNorm1d(Z_DIM)  # unused by the official forward; in the checkpoint

    def encode(self, ref_feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reference r41 features -> (mu, logvar), each N x 256."""
        h = self.init_feat(ref_feat)
        h = F.interpolate(h, size=[16, 16], mode="bilinear", align_corners=False)
        mu, logvar = self.VAE_encoder(h.reshape(h.size(0), -1)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, lr: torch.Tensor, lr_feat: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        d = self.VAE_decoder(z).view(lr_feat.size(0), 64, 16, 16)
        d = F.interpolate(d, size=[lr_feat.shape[2], lr_feat.shape[3]], mode="bilinear", align_corners=False)
        feat = self.dec_feat(d)
        mu, var = self.mask(lr_feat).chunk(2, dim=1)
        feat = feat * (1 + var) + mu
        bic = F.interpolate(lr, scale_factor=self.up_factor, mode="bicubic", align_corners=False)
        return self.decoder(feat) + bic

    def forward(self, lr: torch.Tensor, lr_feat: torch.Tensor, ref_feat: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """SR for given standard-normal noise ``eps`` (N x 256): ``z = mu + eps * exp(logvar / 2)``."""
        mu, logvar = self.encode(ref_feat)
        std = torch.exp(0.5 * logvar)
        z = eps.mul(std) + mu
        return self.decode(lr, lr_feat, z)
