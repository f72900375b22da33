"""SSRVAE networks (Ma et al., "Style-based Variational Autoencoder for Real-World Super-Resolution",
arXiv:1912.10227; later titled "Exploiting Style and Attention in Real-World Super-Resolution").
srbench's implementation; imports torch. No code or weights were released, so every size not stated
in the paper's description is a documented srbench choice (see the method notes in ``__init__.py``).

SR network (:class:`SSRVAENet`), as the paper describes it: a shallow 3x3 conv, 8 *global attention
residual blocks* (GARB), 8 *local attention residual blocks* (LARB), an upscaling module (sub-pixel
convolution) and a 3x3 reconstruction conv; x4, trained with L1.

* GARB: a residual block ``conv3x3-ReLU-conv3x3`` whose features ``f`` go through non-local (self-)
  attention over all positions (Wang et al. 2018; query/key 1x1 convs to ``nf/reduction`` channels, value
  1x1 conv to ``nf``, softmax of dot products) with a learnable residual scale ``gamma`` (initialised to
  0, as in SAGAN/DANet): ``out = x + f + gamma * A(f)``.
* LARB: the same block with *local relation* attention (Hu et al. 2019): each position attends to its
  ``window x window`` neighbourhood (positions outside the image are excluded), similarity =
  ``-||q_i - k_j||^2`` (squared difference instead of a dot product), softmax over the window.

styleVAE (:class:`StyleVAE`), the degradation model: a content encoder on the HR image (downsampling by
the scale), a style encoder on a real LR image giving a Gaussian posterior (mu, log var) over a style
code (KL-regularised towards N(0, I) during training), an MLP that maps the code to AdaIN parameters, and
an AdaIN-modulated residual decoder that outputs the LR image. The mutual-information estimator and the
discriminators are training-only and not part of the checkpoint. Layer sizes follow MUNIT (Huang et
al. 2018), whose AdaIN style/content design styleVAE builds on.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from . import ATTENTION_CHUNK

SR_ARCH = "ssrvae.sr"
STYLEVAE_ARCH = "ssrvae.stylevae"

SR_DEFAULTS = {"nf": 64, "n_global": 8, "n_local": 8, "reduction": 8, "window": 7}
STYLEVAE_DEFAULTS = {"nf": 64, "n_res": 4, "style_dim": 8, "mlp_dim": 256, "n_style_down": 4}


# ---------------------------------------------------------------------------------------------- SR net


class NonLocalAttention(nn.Module):
    """Softmax(q^T k) v over all positions, times a learnable scale ``gamma`` (init 0).

    Computed in chunks of query positions (``chunk`` queries at a time) so memory stays
    O(chunk * H * W) while the result is the exact global attention.
    """

    def __init__(self, nf: int, reduction: int = 8, chunk: int = ATTENTION_CHUNK):
        super().__init__()
        inner = max(1, nf // reduction)
        self.query = nn.Conv2d(nf, inner, 1)
        self.key = nn.Conv2d(nf, inner, 1)
        self.value = nn.Conv2d(nf, nf, 1)
        self.gamma = nn.Parameter(torch.zeros(1))
        self.chunk = chunk

    def forward(self, f):
        b, c, h, w = f.shape
        q = self.query(f).flatten(2)  # B x c' x N
        k = self.key(f).flatten(2)
        v = self.value(f).flatten(2)  # B x C x N
        outs = []
        for s in range(0, h * w, self.chunk):
            att = torch.softmax(torch.bmm(q[:, :, s : s + self.chunk].transpose(1, 2), k), dim=-1)  # B x n x N
            outs.append(torch.bmm(v, att.transpose(1, 2)))  # B x C x n
        return self.gamma * torch.cat(outs, dim=2).view(b, c, h, w)


class LocalRelationAttention(nn.Module):
    """Attention inside a ``window x window`` neighbourhood with similarity ``-||q_i - k_j||^2``, times
    a learnable scale ``gamma`` (init 0). Out-of-image neighbours get no weight."""

    def __init__(self, nf: int, reduction: int = 8, window: int = 7):
        super().__init__()
        if window % 2 != 1:
            raise ValueError(f"window must be odd, got {window}")
        inner = max(1, nf // reduction)
        self.window = window
        self.query = nn.Conv2d(nf, inner, 1)
        self.key = nn.Conv2d(nf, inner, 1)
        self.value = nn.Conv2d(nf, nf, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, f):
        h, w = f.shape[-2:]
        r = self.window // 2
        q = self.query(f)
        kp = F.pad(self.key(f), (r, r, r, r))
        vp = F.pad(self.value(f), (r, r, r, r))
        inside = F.pad(torch.ones(1, 1, h, w, device=f.device, dtype=torch.bool), (r, r, r, r))
        sims = []
        for dy in range(self.window):
            for dx in range(self.window):
                s = -(q - kp[:, :, dy : dy + h, dx : dx + w]).pow(2).sum(1)
                sims.append(s.masked_fill(~inside[:, 0, dy : dy + h, dx : dx + w], float("-inf")))
        att = torch.softmax(torch.stack(sims, dim=1), dim=1)  # B x window^2 x H x W
        out = torch.zeros_like(f)
        j = 0
        for dy in range(self.window):
            for dx in range(self.window):
                out = out + att[:, j : j + 1] * vp[:, :, dy : dy + h, dx : dx + w]
                j += 1
        return self.gamma * out


class AttentionResBlock(nn.Module):
    """``x + f + attn(f)``, ``f = conv3x3(ReLU(conv3x3(x)))`` (GARB / LARB)."""

    def __init__(self, nf: int, attn: nn.Module):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(nf, nf, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(nf, nf, 3, 1, 1))
        self.attn = attn

    def forward(self, x):
        f = self.body(x)
        return x + f + self.attn(f)


class SSRVAENet(nn.Module):
    """SSRVAE's SR network (x4). RGB in [0, 1] in and out."""

    arch = SR_ARCH

    def __init__(self, scale: int = 4, nf: int = 64, n_global: int = 8, n_local: int = 8, reduction: int = 8, window: int = 7):
        super().__init__()
        n_up = round(math.log2(scale)) if scale > 0 else 0
        if n_up < 1 or 2**n_up != scale:
            raise ValueError(f"the sub-pixel upscaler is built from x2 stages: scale 2, 4 or 8, not {scale}")
        self.scale = int(scale)
        self.arch_params = {"nf": nf, "n_global": n_global, "n_local": n_local, "reduction": reduction, "window": window}
        self.head = nn.Conv2d(3, nf, 3, 1, 1)
        self.global_blocks = nn.Sequential(*[AttentionResBlock(nf, NonLocalAttention(nf, reduction)) for _ in range(n_global)])
        self.local_blocks = nn.Sequential(*[AttentionResBlock(nf, LocalRelationAttention(nf, reduction, window)) for _ in range(n_local)])
        up: list[nn.Module] = []
        for _ in range(n_up):
            up += [nn.Conv2d(nf, 4 * nf, 3, 1, 1), nn.PixelShuffle(2)]
        self.upsampler = nn.Sequential(*up)
        self.tail = nn.Conv2d(nf, 3, 3, 1, 1)

    def set_attention_chunk(self, chunk: int) -> None:
        for m in self.modules():
            if isinstance(m, NonLocalAttention):
                m.chunk = max(1, int(chunk))

    def forward(self, x):
        feat = self.head(x)
        deep = self.local_blocks(self.global_blocks(feat)) + feat
        return self.tail(self.upsampler(deep))

    def checkpoint_config(self) -> dict:
        return {"arch": self.arch, "scale": self.scale, "arch_params": dict(self.arch_params)}


# ---------------------------------------------------------------------------------------------- styleVAE


def _pad(x: torch.Tensor, p: int) -> torch.Tensor:
    """Reflection padding, or edge replication where the image is too small to reflect."""
    if p == 0:
        return x
    mode = "reflect" if min(x.shape[-2:]) > p else "replicate"
    return F.pad(x, (p, p, p, p), mode=mode)


class PadConv(nn.Module):
    """Reflection-padded convolution (MUNIT's ``Conv2dBlock`` padding)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, pad: int = 0):
        super().__init__()
        self.pad = pad
        self.conv = nn.Conv2d(cin, cout, k, stride, 0)

    def forward(self, x):
        return self.conv(_pad(x, self.pad))


class AdaIN(nn.Module):
    """Instance normalisation whose per-sample scale/shift are set from the style code."""

    def __init__(self, nf: int):
        super().__init__()
        self.nf = nf
        self.gamma: torch.Tensor | None = None
        self.beta: torch.Tensor | None = None

    def forward(self, x):
        if self.gamma is None or self.beta is None:
            raise RuntimeError("AdaIN parameters are not set (call StyleVAE.decode)")
        return F.instance_norm(x, eps=1e-5) * self.gamma[:, :, None, None] + self.beta[:, :, None, None]


class _ResBlock(nn.Module):
    def __init__(self, nf: int, adain: bool):
        super().__init__()
        self.conv1 = PadConv(nf, nf, 3, 1, 1)
        self.norm1 = AdaIN(nf) if adain else nn.InstanceNorm2d(nf)
        self.conv2 = PadConv(nf, nf, 3, 1, 1)
        self.norm2 = AdaIN(nf) if adain else nn.InstanceNorm2d(nf)

    def forward(self, x):
        return x + self.norm2(self.conv2(F.relu(self.norm1(self.conv1(x)))))


class ContentEncoder(nn.Module):
    def __init__(self, nf: int, n_down: int, n_res: int):
        super().__init__()
        layers: list[nn.Module] = [PadConv(3, nf, 7, 1, 3), nn.InstanceNorm2d(nf), nn.ReLU(inplace=True)]
        ch = nf
        for _ in range(n_down):
            layers += [PadConv(ch, 2 * ch, 4, 2, 1), nn.InstanceNorm2d(2 * ch), nn.ReLU(inplace=True)]
            ch *= 2
        layers += [_ResBlock(ch, adain=False) for _ in range(n_res)]
        self.model = nn.Sequential(*layers)
        self.out_ch = ch

    def forward(self, x):
        return self.model(x)


class StyleEncoder(nn.Module):
    """Real LR -> (mu, log var) of the style code. No normalisation layers (they would remove style)."""

    def __init__(self, nf: int, n_down: int, style_dim: int):
        super().__init__()
        layers: list[nn.Module] = [PadConv(3, nf, 7, 1, 3), nn.ReLU(inplace=True)]
        ch = nf
        for i in range(n_down):
            out = ch * 2 if i < 2 else ch
            layers += [PadConv(ch, out, 4, 2, 1), nn.ReLU(inplace=True)]
            ch = out
        layers += [nn.AdaptiveAvgPool2d(1)]
        self.model = nn.Sequential(*layers)
        self.head = nn.Conv2d(ch, 2 * style_dim, 1)

    def forward(self, y):
        mu, logvar = self.head(self.model(y)).flatten(1).chunk(2, dim=1)
        return mu, logvar


class StyleVAE(nn.Module):
    """styleVAE generator: HR (content) + style code -> real-world-like LR. RGB in [-1, 1] inside."""

    arch = STYLEVAE_ARCH

    def __init__(self, scale: int = 4, nf: int = 64, n_res: int = 4, style_dim: int = 8, mlp_dim: int = 256, n_style_down: int = 4):
        super().__init__()
        n_down = round(math.log2(scale)) if scale > 0 else 0
        if n_down < 1 or 2**n_down != scale:
            raise ValueError(f"the content encoder downsamples in x2 stages: scale 2, 4 or 8, not {scale}")
        self.scale = int(scale)
        self.style_dim = style_dim
        self.arch_params = {"nf": nf, "n_res": n_res, "style_dim": style_dim, "mlp_dim": mlp_dim, "n_style_down": n_style_down}
        self.content_encoder = ContentEncoder(nf, n_down, n_res)
        dim = self.content_encoder.out_ch
        self.style_encoder = StyleEncoder(nf, n_style_down, style_dim)
        self.decoder_blocks = nn.Sequential(*[_ResBlock(dim, adain=True) for _ in range(n_res)])
        self.decoder_out = PadConv(dim, 3, 7, 1, 3)
        self.n_adain = 2 * sum(m.nf for m in self.modules() if isinstance(m, AdaIN))
        self.mlp = nn.Sequential(
            nn.Linear(style_dim, mlp_dim), nn.ReLU(inplace=True), nn.Linear(mlp_dim, mlp_dim), nn.ReLU(inplace=True), nn.Linear(mlp_dim, self.n_adain)
        )

    def encode_style(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Real LR in [-1, 1] -> (mu, log var)."""
        return self.style_encoder(y)

    def decode(self, content: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        params = self.mlp(z)
        i = 0
        for m in self.decoder_blocks.modules():
            if isinstance(m, AdaIN):
                m.beta = params[:, i : i + m.nf]
                m.gamma = params[:, i + m.nf : i + 2 * m.nf]
                i += 2 * m.nf
        try:
            return torch.tanh(self.decoder_out(self.decoder_blocks(content)))
        finally:
            for m in self.decoder_blocks.modules():
                if isinstance(m, AdaIN):
                    m.gamma = m.beta = None

    def forward(self, hr: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """HR in [-1, 1] (sides multiples of the scale) + style code -> LR in [-1, 1]."""
        return self.decode(self.content_encoder(hr), z)

    def checkpoint_config(self) -> dict:
        return {"arch": self.arch, "scale": self.scale, "arch_params": dict(self.arch_params)}


def build_sr(scale: int, params: dict) -> SSRVAENet:
    p = {**SR_DEFAULTS, **params}
    return SSRVAENet(scale=scale, **{k: int(p[k]) for k in SR_DEFAULTS})


def build_stylevae(scale: int, params: dict) -> StyleVAE:
    p = {**STYLEVAE_DEFAULTS, **params}
    return StyleVAE(scale=scale, **{k: int(p[k]) for k in STYLEVAE_DEFAULTS})
