"""dSRVAE networks (Liu et al., CVPRW 2020), written for srbench.

Parameter names follow the released checkpoints (``VAE_denoiser.pth``, ``VAE_SR.pth`` of
github.com/Holmes-Alan/dSRVAE, after stripping DataParallel's ``module.``) so that they load with
``strict=True``. Only the test-time path is implemented:

* :class:`Denoiser` - the test-time denoising autoencoder. Its decoder maps a latent ``z`` (512-d) to
  an 8x8x128 tensor and upsamples it by 16 to a 128x128 "noise feature" that is subtracted from the
  features of the LR patch; hence the denoiser only accepts 128x128 LR patches. The Linear encoder
  (``VAE_encoder``, ``q_z_mu``, ``q_z_logvar``) is part of the released checkpoint but unused at test
  time (the latent is drawn from the N(0, I) prior); it is kept so that the checkpoint loads strictly.
* :class:`SRNet` - the Super-Resolution Sub-Network: fixed x4 bicubic upsampling of the (denoised) LR,
  one conv + PReLU, four pre-activation residual blocks, one conv to RGB. No output clamp.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvAct(nn.Module):
    """Conv2d followed by a single-slope PReLU (keys ``conv.*``, ``act.weight``)."""

    def __init__(self, cin: int, cout: int, k: int, s: int, p: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, p, bias=True)
        self.act = nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class DeconvAct(nn.Module):
    """ConvTranspose2d followed by a single-slope PReLU (keys ``deconv.*``, ``act.weight``)."""

    def __init__(self, cin: int, cout: int, k: int, s: int, p: int):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(cin, cout, k, s, p, bias=True)
        self.act = nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.deconv(x))


class PreActResBlock(nn.Module):
    """``r + conv2(relu(conv1(r)))`` with ``r = relu(x)`` (3x3 convs with bias).

    The official block applies an in-place ReLU to its input before the skip connection is added, so
    the skip carries ``relu(x)``, not ``x``; this reproduces that behaviour.
    """

    def __init__(self, ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, 1, 1, bias=True)
        self.conv2 = nn.Conv2d(ch, ch, 3, 1, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = F.relu(x)
        return r + self.conv2(F.relu(self.conv1(r)))


#: spatial size of the noise map the denoiser's decoder produces (= the LR patch it accepts)
PATCH = 128
Z_DIM = 512


class Denoiser(nn.Module):
    """Test-time dSRVAE denoiser: ``denoised = lr - head(res(lr_feat(lr) - decoder(z)))``."""

    def __init__(self, dim: int = 32, feat_size: int = 8, z_dim: int = Z_DIM, in_ch: int = 3):
        super().__init__()
        self.feat_size = feat_size
        self.LR_feat = nn.Sequential(
            ConvAct(in_ch, 2 * dim, 3, 1, 1),
            ConvAct(2 * dim, 2 * dim, 3, 1, 1),
            ConvAct(2 * dim, dim, 3, 1, 1),
        )
        self.decoder = nn.Sequential(
            ConvAct(4 * dim, 4 * dim, 1, 1, 0),
            DeconvAct(4 * dim, 4 * dim, 6, 4, 1),  # 8 -> 32
            DeconvAct(4 * dim, 2 * dim, 6, 4, 1),  # 32 -> 128
            ConvAct(2 * dim, dim, 3, 1, 1),
        )
        self.SR_recon = nn.Sequential(PreActResBlock(dim), PreActResBlock(dim), PreActResBlock(dim))
        self.SR_mu = nn.Sequential(nn.Conv2d(dim, in_ch, 3, 1, 1))
        flat = 4 * dim * feat_size * feat_size  # 8192 in the released model
        # encoder side: in the checkpoint, unused at test time
        self.VAE_encoder = nn.Sequential(nn.Linear(flat, 4096), nn.Sigmoid())
        self.q_z_mu = nn.Linear(4096, z_dim)
        self.q_z_logvar = nn.Sequential(nn.Linear(4096, z_dim), nn.Hardtanh(-6.0, 2.0))
        self.VAE_decoder = nn.Sequential(
            nn.Linear(z_dim, 4096), nn.Sigmoid(), nn.Linear(4096, flat), nn.Sigmoid()
        )

    def noise_map(self, z: torch.Tensor) -> torch.Tensor:
        """Latent (N x 512) -> noise feature map (N x dim x 128 x 128)."""
        h = self.VAE_decoder(z)
        h = h.view(h.size(0), -1, self.feat_size, self.feat_size)
        return self.decoder(h)

    def forward(self, lr: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        res = self.SR_recon(self.LR_feat(lr) - self.noise_map(z))
        return lr - self.SR_mu(res)


class SRNet(nn.Module):
    """The Super-Resolution Sub-Network (SRSN); always x4 (the released model's fixed upsampling)."""

    def __init__(self, dim: int = 64, in_ch: int = 3, n_blocks: int = 4):
        super().__init__()
        self.LR_feat = ConvAct(in_ch, dim, 3, 1, 1)
        self.feat = nn.Sequential(*[PreActResBlock(dim) for _ in range(n_blocks)])
        self.recon = nn.Sequential(nn.Conv2d(dim, in_ch, 3, 1, 1))

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False)
        return self.recon(self.feat(self.LR_feat(up)))
