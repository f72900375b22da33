"""SSRVAE networks (Ma et al., "Style-based Variational Autoencoder for Real-World Super-Resolution",
arXiv:1912.10227; later titled "Exploiting Style and Attention in Real-World Super-Resolution").
srbench's own implementation from the paper's text; imports torch. No code or weights were released.

Architecture version 2 (``ARCH_VERSION``) follows the paper wherever it states a value; every value it
leaves open is an srbench choice, listed with its reason in ``PAPER_VS_SRBENCH_*`` of ``__init__.py``
(shown by ``srbench list --verbose``). Version 1 (srbench <= adapter v1) was sized after MUNIT and is
refused at load time (:func:`check_arch`).

SR network (:class:`SSRVAENet`, Sec. 3.2): one 3x3 conv (shallow features), 8 *global attention residual
blocks* (GARB), 8 *local attention residual blocks* (LARB), an upscaling module (sub-pixel convolution,
an srbench choice) and a 3x3 reconstruction conv; x4 (Sec. 4).

* GA module (Eq. 7-9): ``s_ij = f(x_i)^T g(x_j)``, ``beta_ji = softmax_i(s_ij)``,
  ``o_j = v(sum_i beta_ji h(x_i))``, ``y = lambda * o + x`` with ``f, g, h, v`` 1x1 convs and ``lambda``
  a learnable scalar. ``f, g, h`` map to ``nf / reduction`` channels and ``v`` back to ``nf`` (the sizes
  of SAGAN, whose equations these are; the paper does not give them).
* LA module (Eq. 10-11): the same with the attention restricted to a ``window x window`` neighbourhood
  and the similarity ``-(q - k)^2`` (squared difference, summed over the query/key channels) between the
  1x1-conv query ``f_theta_q(x_p')`` and key ``f_theta_k(x_p)``; neighbours outside the image get no
  weight. Value ``h``, output ``v`` and ``lambda`` as in GA (the paper builds LARB like GARB, Sec. 3.2).
* GARB / LARB: ``x + A(conv3x3(ReLU(conv3x3(x))))``, ``A`` = GA or LA (each includes its own
  ``lambda`` residual), i.e. ``x + F + lambda * o(F)``.

styleVAE (:class:`StyleVAE`, Sec. 3.1 and 4.1), the degradation model; every convolution 3x3, latent
code 256-d:

* ``E_HR`` (content): 3x3 conv + IN + ReLU, ``log2(scale)`` stride-2 3x3 convs (+ IN + ReLU), residual
  blocks with IN; HR image -> content features at LR resolution.
* ``E_LR`` (style / "reference" network): 3x3 conv + ReLU, 8 residual blocks (no normalisation: it
  would remove the style), global average pooling, two fully connected heads giving ``mu`` and
  ``log sigma^2`` of the 256-d style code (KL-regularised towards N(0, I) in training).
* ``G`` ("generate" network): 2 residual blocks, each followed by AdaIN (Eq. 2) whose ``y_s, y_b``
  come from the style code through a fully connected layer of its own (the learned affine transform);
  a 3x3 conv to RGB and tanh.

The MI estimator ``T_theta`` (Eq. 5) is used in training only and is not part of the checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from srbench.errors import WeightsError

from . import ATTENTION_CHUNK

SR_ARCH = "ssrvae.sr"
STYLEVAE_ARCH = "ssrvae.stylevae"
#: the architecture these classes build; checkpoint configs carry it as "arch_version" (absent = 1)
ARCH_VERSION = 2

SR_DEFAULTS = {"nf": 64, "n_global": 8, "n_local": 8, "reduction": 8, "window": 7}
STYLEVAE_DEFAULTS = {"nf": 64, "style_dim": 256, "n_style_res": 8, "n_gen_res": 2, "n_content_res": 2}

#: what version 1 was (for the refusal message of an old checkpoint)
_V1 = {
    SR_ARCH: "attention with query/key/value convs and a scale gamma but no output conv v",
    STYLEVAE_ARCH: "MUNIT-sized: latent 8, 4 residual blocks in the content encoder and the decoder, none in "
    "the style encoder, 7x7/4x4/1x1 convs, AdaIN inside the decoder blocks from an MLP",
}
_V2 = {
    SR_ARCH: "GA/LA with 1x1 f, g, h and output v convs (Eq. 7-11)",
    STYLEVAE_ARCH: "latent 256, 8 residual blocks in the style network and 2 in the generator, AdaIN after "
    "each generator block, all convolutions 3x3",
}


# ---------------------------------------------------------------------------------------------- SR net


class GlobalAttention(nn.Module):
    """GA module (Eq. 7-9): ``x + lambda * v(sum_i softmax_i(f(x_i)^T g(x_j)) h(x_i))``.

    Computed in chunks of ``chunk`` output positions ``j`` so that memory stays O(chunk * H * W) while the
    result is the exact global attention.
    """

    def __init__(self, nf: int, reduction: int = 8, chunk: int = ATTENTION_CHUNK):
        super().__init__()
        inner = max(1, nf // reduction)
        self.f = nn.Conv2d(nf, inner, 1)
        self.g = nn.Conv2d(nf, inner, 1)
        self.h = nn.Conv2d(nf, inner, 1)
        self.v = nn.Conv2d(inner, nf, 1)
        self.lam = nn.Parameter(torch.zeros(1))  # learnable scalar of Eq. 9 (0 at init, as SAGAN's gamma)
        self.chunk = chunk

    def forward(self, x):
        b, _, hh, ww = x.shape
        fx = self.f(x).flatten(2)  # B x c' x N (positions i)
        gx = self.g(x).flatten(2)  # B x c' x N (positions j)
        hx = self.h(x).flatten(2)
        outs = []
        for s in range(0, hh * ww, self.chunk):
            beta = torch.softmax(torch.bmm(gx[:, :, s : s + self.chunk].transpose(1, 2), fx), dim=-1)  # B x n_j x N_i
            outs.append(torch.bmm(hx, beta.transpose(1, 2)))  # B x c' x n_j
        o = self.v(torch.cat(outs, dim=2).view(b, -1, hh, ww))
        return x + self.lam * o


class LocalAttention(nn.Module):
    """LA module (Eq. 10-11): attention inside a ``window x window`` neighbourhood, similarity
    ``-||q_p' - k_p||^2``, value ``h`` and output ``v`` 1x1 convs, ``x + lambda * o``. Neighbours outside the
    image get no weight."""

    def __init__(self, nf: int, reduction: int = 8, window: int = 7):
        super().__init__()
        if window % 2 != 1 or window < 1:
            raise ValueError(f"window must be odd, got {window}")
        inner = max(1, nf // reduction)
        self.window = window
        self.q = nn.Conv2d(nf, inner, 1)  # f_theta_q
        self.k = nn.Conv2d(nf, inner, 1)  # f_theta_k
        self.h = nn.Conv2d(nf, inner, 1)
        self.v = nn.Conv2d(inner, nf, 1)
        self.lam = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        hh, ww = x.shape[-2:]
        r = self.window // 2
        q = self.q(x)
        kp = F.pad(self.k(x), (r, r, r, r))
        hp = F.pad(self.h(x), (r, r, r, r))
        inside = F.pad(torch.ones(1, 1, hh, ww, device=x.device, dtype=torch.bool), (r, r, r, r))[:, 0]
        sims = []
        for dy in range(self.window):
            for dx in range(self.window):
                s = -(q - kp[:, :, dy : dy + hh, dx : dx + ww]).pow(2).sum(1)
                sims.append(s.masked_fill(~inside[:, dy : dy + hh, dx : dx + ww], float("-inf")))
        omega = torch.softmax(torch.stack(sims, dim=1), dim=1)  # B x window^2 x H x W
        agg = torch.zeros_like(q)
        j = 0
        for dy in range(self.window):
            for dx in range(self.window):
                agg = agg + omega[:, j : j + 1] * hp[:, :, dy : dy + hh, dx : dx + ww]
                j += 1
        return x + self.lam * self.v(agg)


class AttentionResBlock(nn.Module):
    """GARB / LARB: ``x + attn(conv3x3(ReLU(conv3x3(x))))`` (the attention module adds its own residual)."""

    def __init__(self, nf: int, attn: nn.Module):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(nf, nf, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(nf, nf, 3, 1, 1))
        self.attn = attn

    def forward(self, x):
        return x + self.attn(self.body(x))


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
        self.global_blocks = nn.Sequential(*[AttentionResBlock(nf, GlobalAttention(nf, reduction)) for _ in range(n_global)])
        self.local_blocks = nn.Sequential(*[AttentionResBlock(nf, LocalAttention(nf, reduction, window)) for _ in range(n_local)])
        up: list[nn.Module] = []
        for _ in range(n_up):
            up += [nn.Conv2d(nf, 4 * nf, 3, 1, 1), nn.PixelShuffle(2)]
        self.upsampler = nn.Sequential(*up)
        self.tail = nn.Conv2d(nf, 3, 3, 1, 1)

    def set_attention_chunk(self, chunk: int) -> None:
        for m in self.modules():
            if isinstance(m, GlobalAttention):
                m.chunk = max(1, int(chunk))

    def forward(self, x):
        feat = self.head(x)
        deep = self.local_blocks(self.global_blocks(feat)) + feat
        return self.tail(self.upsampler(deep))

    def checkpoint_config(self) -> dict:
        return {"arch": self.arch, "arch_version": ARCH_VERSION, "scale": self.scale, "arch_params": dict(self.arch_params)}


# ---------------------------------------------------------------------------------------------- styleVAE


def _pad(x: torch.Tensor, p: int) -> torch.Tensor:
    """Reflection padding, or edge replication where the image is too small to reflect."""
    if p == 0:
        return x
    mode = "reflect" if min(x.shape[-2:]) > p else "replicate"
    return F.pad(x, (p, p, p, p), mode=mode)


class PadConv(nn.Module):
    """Reflection-padded 3x3 convolution (the only kernel size of the styleVAE, Sec. 4.1)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride, 0)

    def forward(self, x):
        return self.conv(_pad(x, 1))


def adain(x: torch.Tensor, y_s: torch.Tensor, y_b: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Eq. 2: ``y_s * (x - mu(x)) / sigma(x) + y_b`` per sample and channel (``y_s, y_b``: B x C)."""
    return F.instance_norm(x, eps=eps) * y_s[:, :, None, None] + y_b[:, :, None, None]


class ResBlock(nn.Module):
    """``x + conv3x3(ReLU(conv3x3(x)))``, optionally with instance normalisation after each conv."""

    def __init__(self, nf: int, norm: bool = False):
        super().__init__()
        self.conv1 = PadConv(nf, nf)
        self.conv2 = PadConv(nf, nf)
        self.norm1 = nn.InstanceNorm2d(nf) if norm else nn.Identity()
        self.norm2 = nn.InstanceNorm2d(nf) if norm else nn.Identity()

    def forward(self, x):
        return x + self.norm2(self.conv2(F.relu(self.norm1(self.conv1(x)))))


class ContentEncoder(nn.Module):
    """E_HR: HR image -> content features at 1/scale resolution (``nf`` channels)."""

    def __init__(self, nf: int, n_down: int, n_res: int):
        super().__init__()
        layers: list[nn.Module] = [PadConv(3, nf), nn.InstanceNorm2d(nf), nn.ReLU(inplace=True)]
        for _ in range(n_down):
            layers += [PadConv(nf, nf, stride=2), nn.InstanceNorm2d(nf), nn.ReLU(inplace=True)]
        layers += [ResBlock(nf, norm=True) for _ in range(n_res)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class StyleEncoder(nn.Module):
    """E_LR: real LR -> (mu, log var) of the style code. No normalisation layers (they would remove style)."""

    def __init__(self, nf: int, n_res: int, style_dim: int):
        super().__init__()
        self.model = nn.Sequential(
            PadConv(3, nf), nn.ReLU(inplace=True), *[ResBlock(nf) for _ in range(n_res)], nn.AdaptiveAvgPool2d(1)
        )
        self.mu = nn.Linear(nf, style_dim)
        self.logvar = nn.Linear(nf, style_dim)

    def forward(self, y):
        h = self.model(y).flatten(1)
        return self.mu(h), self.logvar(h)


class StyledResBlock(nn.Module):
    """A residual block of G followed by AdaIN; ``(y_s, y_b)`` = its own fully connected layer of the code."""

    def __init__(self, nf: int, style_dim: int):
        super().__init__()
        self.res = ResBlock(nf)
        self.affine = nn.Linear(style_dim, 2 * nf)
        with torch.no_grad():  # untrained: y_s around 1, y_b around 0 (as StyleGAN); trained weights replace it
            self.affine.bias.zero_()
            self.affine.bias[:nf] = 1.0

    def forward(self, x, z):
        y_s, y_b = self.affine(z).chunk(2, dim=1)
        return adain(self.res(x), y_s, y_b)


class Generator(nn.Module):
    """G: content features + style code -> LR image in [-1, 1]."""

    def __init__(self, nf: int, n_res: int, style_dim: int):
        super().__init__()
        self.blocks = nn.ModuleList([StyledResBlock(nf, style_dim) for _ in range(n_res)])
        self.out = PadConv(nf, 3)

    def forward(self, content, z):
        x = content
        for block in self.blocks:
            x = block(x, z)
        return torch.tanh(self.out(x))


class StyleVAE(nn.Module):
    """styleVAE generator: HR (content) + style code -> real-world-like LR. RGB in [-1, 1] inside."""

    arch = STYLEVAE_ARCH

    def __init__(self, scale: int = 4, nf: int = 64, style_dim: int = 256, n_style_res: int = 8, n_gen_res: int = 2, n_content_res: int = 2):
        super().__init__()
        n_down = round(math.log2(scale)) if scale > 0 else 0
        if n_down < 1 or 2**n_down != scale:
            raise ValueError(f"the content encoder downsamples in x2 stages: scale 2, 4 or 8, not {scale}")
        self.scale = int(scale)
        self.style_dim = style_dim
        self.arch_params = {"nf": nf, "style_dim": style_dim, "n_style_res": n_style_res, "n_gen_res": n_gen_res, "n_content_res": n_content_res}
        self.content_encoder = ContentEncoder(nf, n_down, n_content_res)
        self.style_encoder = StyleEncoder(nf, n_style_res, style_dim)
        self.generator = Generator(nf, n_gen_res, style_dim)

    def encode_style(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Real LR in [-1, 1] -> (mu, log var)."""
        return self.style_encoder(y)

    def decode(self, content: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.generator(content, z)

    def forward(self, hr: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """HR in [-1, 1] (sides multiples of the scale) + style code -> LR in [-1, 1]."""
        return self.decode(self.content_encoder(hr), z)

    def checkpoint_config(self) -> dict:
        return {"arch": self.arch, "arch_version": ARCH_VERSION, "scale": self.scale, "arch_params": dict(self.arch_params)}


# ---------------------------------------------------------------------------------------------- loading


def check_arch(cfg: Mapping[str, Any], path: Any, arch: str) -> None:
    """Refuse a checkpoint config made for another SSRVAE architecture version (WeightsError says why).

    A config without ``arch_version`` is version 1: srbench's first, MUNIT-sized networks, whose tensors do
    not fit version 2. It is refused, never loaded into the new layers.
    """
    ver = cfg.get("arch_version", 1)
    if type(ver) is not int:
        raise WeightsError(f"{path}: 'arch_version' must be an integer, got {ver!r}")
    if ver == ARCH_VERSION:
        return
    what = "styleVAE" if arch == STYLEVAE_ARCH else "SR network"
    if ver == 1:
        raise WeightsError(
            f"{path}: this checkpoint was made for srbench's SSRVAE {what} architecture v1 ({_V1[arch]}; a config "
            f"without 'arch_version' is v1); adapter v2 builds architecture v{ARCH_VERSION}, which follows the paper "
            f"({_V2[arch]}); v1 weights do not fit it. Retrain the v{ARCH_VERSION} network "
            "(srbench_methods.ssrvae.networks) and export it again with srbench.checkpoint_format.save_checkpoint"
        )
    raise WeightsError(
        f"{path}: SSRVAE architecture v{ver} is not known to this srbench (it builds v{ARCH_VERSION}); update srbench"
    )


def _params(defaults: dict[str, int], params: Mapping[str, Any], arch: str) -> dict[str, int]:
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"unknown arch_params {unknown} for {arch} v{ARCH_VERSION} (known: {', '.join(defaults)})")
    p = {**defaults, **params}
    out = {}
    for k in defaults:
        v = p[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v or int(v) < 1:
            raise ValueError(f"arch_params {k}={v!r} must be a positive integer")
        out[k] = int(v)
    return out


def build_sr(scale: int, params: Mapping[str, Any]) -> SSRVAENet:
    return SSRVAENet(scale=scale, **_params(SR_DEFAULTS, params, SR_ARCH))


def build_stylevae(scale: int, params: Mapping[str, Any]) -> StyleVAE:
    return StyleVAE(scale=scale, **_params(STYLEVAE_DEFAULTS, params, STYLEVAE_ARCH))
