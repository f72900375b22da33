"""dSRVAE adapter: the official test path of github.com/Holmes-Alan/dSRVAE (``test.py``), re-implemented.

Official test path (what this module reproduces):

1. LR uint8 RGB -> float in [0, 1] (``ToTensor``), no mean/std normalisation.
2. ``patchify_tensor``: 128x128 LR patches with an overlap of 8 px (the denoiser only accepts 128x128:
   its noise decoder produces a fixed 128x128 map). Patch starts are ``min(i * 120, size - 128)``;
   the count per axis is ``size // 120`` plus one when that does not cover ``size``.
3. Per patch, in order: ``z ~ N(0, I)`` (512-d), ``denoised = Denoiser(patch, z)``, ``SR = SRNet(denoised)``.
4. ``recompose_tensor``: the 512x512 SR patches are blended with a separable weight profile
   (``linspace(0.1, 1, 32)``, ones, ``linspace(1, 0.1, 32)``) and divided by the summed weights.
5. ``clamp(255 * SR, 0, 255)`` and ``np.uint8`` (truncation, not rounding).

srbench additions (the official script has no answer for them):

* a LR side shorter than 128 px (the official code fails there) is padded symmetrically at the
  bottom/right to 128 px and the SR is cropped back to 4x the original size;
* the latent is drawn from a local ``torch.Generator`` (CPU, float32, one 1x512 draw per patch in patch
  order) instead of NumPy's unseeded global RNG; :meth:`DSRVAE.upscale` is
  ``sample(lr, 1, srbench.conventions.DEFAULT_SEED)[0]``; ``options["latent"] = "zero"`` uses the
  prior mean ``z = 0`` instead.

Step 5 is :func:`srbench.torch_utils.to_image` with the rule ``truncate`` (``MethodInfo.rounding``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from srbench.conventions import DEFAULT_SEED
from srbench.errors import SrbenchError, WeightsError
from srbench.method_api import SRModel, check_options
from srbench.torch_utils import to_image

from . import LATENTS, ROUNDING
from .network import PATCH, Z_DIM, Denoiser, SRNet

SCALE = 4
OVERLAP = 8  # LR pixels (test.py: --stride 8, passed to patchify_tensor as ``overlap``)

#: keys of the training-time class ``VAE_denoise`` that its test-time class ``VAE_denoise_vali`` lacks;
#: ``test.py`` drops keys the test-time model does not have, so a checkpoint carrying them is accepted.
TRAINING_ONLY_PREFIXES = ("denoise_feat.", "SR_final.")


# -- the official patching, re-implemented ------------------------------------------------------

def patch_starts(size: int, patch: int, overlap: int) -> list[int]:
    """Start offsets along one axis, as ``patchify_tensor``/``recompose_tensor`` compute them."""
    eff = patch - overlap
    n = size // eff
    if n * eff < size:
        n += 1
    return [min(i * eff, size - patch) for i in range(n)]


def patchify(x: torch.Tensor, patch: int = PATCH, overlap: int = OVERLAP) -> list[torch.Tensor]:
    """1xCxHxW -> patches (row-major order), as the official ``patchify_tensor``."""
    _, _, h, w = x.shape
    return [
        x[:, :, top : top + patch, left : left + patch]
        for top in patch_starts(h, patch, overlap)
        for left in patch_starts(w, patch, overlap)
    ]


def blending_patch(patch: int, overlap: int, device) -> torch.Tensor:
    profile = torch.cat(
        [torch.linspace(0.1, 1.0, overlap), torch.ones(patch - 2 * overlap), torch.linspace(1.0, 0.1, overlap)], 0
    )
    return (profile[None].repeat(patch, 1) * profile[:, None].repeat(1, patch)).to(device)


def recompose(patches: Sequence[torch.Tensor], height: int, width: int, overlap: int) -> torch.Tensor:
    """Blend 1xCxPxP patches into 1xCxHxW, as the official ``recompose_tensor`` (same operation order)."""
    c, p = patches[0].shape[1], patches[0].shape[-1]
    device = patches[0].device
    weight = blending_patch(p, overlap, device)
    tops, lefts = patch_starts(height, p, overlap), patch_starts(width, p, overlap)
    if len(tops) * len(lefts) != len(patches):
        raise ValueError(f"{len(patches)} patches do not tile a {height}x{width} image")
    norm = torch.zeros(1, c, height, width, device=device)
    for top in tops:
        for left in lefts:
            norm[0, :, top : top + p, left : left + p] += weight[None]
    out = torch.zeros(1, c, height, width, device=device)
    i = 0
    for top in tops:
        for left in lefts:
            out[0, :, top : top + p, left : left + p] += patches[i][0] * weight
            i += 1
    out /= norm
    return out


def _symmetric_index(n: int, target: int) -> torch.Tensor:
    """Indices that pad an axis of length ``n`` to ``target`` by mirroring (edge pixel repeated)."""
    idx = []
    period = 2 * n
    for i in range(target):
        j = i % period
        idx.append(j if j < n else period - 1 - j)
    return torch.tensor(idx, dtype=torch.long)


def pad_to_patch(x: torch.Tensor, patch: int = PATCH) -> torch.Tensor:
    _, _, h, w = x.shape
    if h < patch:
        x = x[:, :, _symmetric_index(h, patch).to(x.device)]
    if w < patch:
        x = x[:, :, :, _symmetric_index(w, patch).to(x.device)]
    return x


def _to_tensor(lr: np.ndarray, device) -> torch.Tensor:
    arr = np.asarray(lr)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise SrbenchError(f"dSRVAE expects an HxWx3 uint8 image, got {arr.dtype} {arr.shape}")
    t = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float().div(255.0)
    return t.unsqueeze(0).to(device)


def draw_latents(n: int, gen: torch.Generator | None) -> list[torch.Tensor]:
    """``n`` latents (1x512 float32 on CPU), one draw each; ``gen=None`` gives the prior mean (zeros)."""
    if gen is None:
        return [torch.zeros(1, Z_DIM) for _ in range(n)]
    return [torch.randn(1, Z_DIM, generator=gen, dtype=torch.float32) for _ in range(n)]


class DSRVAE(SRModel):
    scale = SCALE

    def __init__(
        self,
        sr_net: SRNet,
        denoiser: Denoiser | None,
        device: torch.device,
        latent: str = LATENTS[0],
        provenance: dict[str, Any] | None = None,
    ):
        if latent not in LATENTS:
            raise SrbenchError(f"dsrvae: options['latent'] must be one of {', '.join(LATENTS)}, not {latent!r}")
        self.sr_net = sr_net.to(device).eval()
        self.denoiser = denoiser.to(device).eval() if denoiser is not None else None
        self.device = device
        self.latent = latent
        self.rounding = ROUNDING
        self.provenance = dict(provenance or {})

    # -- the official pipeline on float tensors (used by the tests against the official code) --------
    @torch.no_grad()
    def forward_patches(self, x: torch.Tensor, latents: Sequence[torch.Tensor]) -> torch.Tensor:
        """``chop_forward`` of test.py for a 1x3xHxW tensor with H, W >= 128 and given per-patch latents."""
        patches = patchify(x)
        if len(latents) != len(patches):
            raise ValueError(f"{len(patches)} patches need {len(patches)} latents, got {len(latents)}")
        outs = []
        for p, z in zip(patches, latents):
            outs.append(self.sr_net(self.denoiser(p, z.to(x.device))))
        _, _, h, w = x.shape
        return recompose(outs, SCALE * h, SCALE * w, overlap=SCALE * OVERLAP)

    def n_patches(self, h: int, w: int) -> int:
        h, w = max(h, PATCH), max(w, PATCH)
        return len(patch_starts(h, PATCH, OVERLAP)) * len(patch_starts(w, PATCH, OVERLAP))

    @torch.no_grad()
    def _sr_float(self, lr: np.ndarray, gen: torch.Generator | None) -> torch.Tensor:
        x = _to_tensor(lr, self.device)
        h, w = x.shape[-2:]
        if self.denoiser is None:  # variant sr-only: the SR sub-network on the whole LR
            return self.sr_net(x)
        xp = pad_to_patch(x)
        latents = draw_latents(self.n_patches(h, w), gen)
        return self.forward_patches(xp, latents)[:, :, : SCALE * h, : SCALE * w]

    def _gen(self, seed: int) -> torch.Generator:
        g = torch.Generator(device="cpu")
        g.manual_seed(int(seed))
        return g

    # -- SRModel ----------------------------------------------------------------------------------
    def upscale(self, lr: np.ndarray) -> np.ndarray:
        """One SR image: ``sample(lr, 1, DEFAULT_SEED)[0]`` (deterministic; the seed of a run is ``sample``'s)."""
        return self.sample(lr, 1, DEFAULT_SEED)[0]

    def sample(self, lr: np.ndarray, n: int, seed: int, ref: Any = None) -> list[np.ndarray]:
        """n SR images; latents from a CPU generator seeded with ``seed`` (deterministic for the
        'sr-only' variant and with ``options['latent'] = 'zero'``)."""
        if self.denoiser is None or self.latent == "zero":
            return [to_image(self._sr_float(lr, None), self.rounding)] * n
        gen = self._gen(seed)
        return [to_image(self._sr_float(lr, gen), self.rounding) for _ in range(n)]

    @torch.no_grad()
    def denoise(self, lr: np.ndarray, seed: int | None = None) -> np.ndarray:
        """The denoiser alone: LR-size uint8 RGB (not an SR method; a preprocessing step).

        Same 128/8 patching as the SR path, blended at LR scale (``recompose`` with overlap 8); latents
        from ``seed`` (default ``DEFAULT_SEED``; ``z = 0`` with ``latent = "zero"`` and no seed); rounded
        half away from zero (srbench's convention; the official code never saves the denoised LR).
        """
        if self.denoiser is None:
            raise SrbenchError("dsrvae: the denoiser is not loaded (variant 'sr-only')")
        x = _to_tensor(lr, self.device)
        h, w = x.shape[-2:]
        xp = pad_to_patch(x)
        patches = patchify(xp)
        gen = None if (seed is None and self.latent == "zero") else self._gen(DEFAULT_SEED if seed is None else seed)
        latents = draw_latents(len(patches), gen)
        outs = [self.denoiser(p, z.to(self.device)) for p, z in zip(patches, latents)]
        out = recompose(outs, xp.shape[-2], xp.shape[-1], overlap=OVERLAP)[:, :, :h, :w]
        return to_image(out, "half_away")


# -- loading --------------------------------------------------------------------------------------

def _state(path, what: str) -> dict:
    from srbench.weights import load_checkpoint, unwrap

    state = unwrap(load_checkpoint(path), strip_prefix="module.")
    if not state:
        raise WeightsError(f"{path}: empty checkpoint ({what})")
    return state


def _empty(cls, **kw):
    """An uninitialised module (no random init: every tensor is overwritten by the strict load)."""
    with torch.device("meta"):
        m = cls(**kw)
    return m.to_empty(device="cpu")


def load_denoiser(path) -> tuple[Denoiser, list[str]]:
    from srbench.weights import load_strict

    state = _state(path, "VAE_denoiser.pth")
    dropped = sorted(k for k in state if k.startswith(TRAINING_ONLY_PREFIXES))
    state = {k: v for k, v in state.items() if k not in dropped}
    return load_strict(_empty(Denoiser), state, source=str(path)), dropped


def load_sr(path, dim: int = 64) -> SRNet:
    from srbench.weights import load_strict

    return load_strict(_empty(SRNet, dim=dim), _state(path, "VAE_SR.pth"), source=str(path))


def load(scale: int, device: str = "cpu", weights=None, variant: str | None = None, options: dict | None = None) -> DSRVAE:
    """Options (``MethodInfo.options``): ``latent`` (sample | zero). The seed is ``sample``'s."""
    from srbench.torch_utils import pick_device

    from . import METHODS

    opts = check_options(METHODS[0], options)
    if scale != SCALE:
        raise SrbenchError(f"dsrvae is a x4 model, not x{scale}")
    variant = variant or "full"
    if variant not in ("full", "sr-only"):
        raise SrbenchError(f"dsrvae: unknown variant {variant!r} (full, sr-only)")
    need = ["VAE_SR.pth"] + (["VAE_denoiser.pth"] if variant == "full" else [])
    missing = [n for n in need if not weights or n not in weights]
    if missing:
        raise WeightsError(
            f"dsrvae ({variant}) needs {', '.join(missing)}; it never runs with random weights "
            "(srbench weights import dsrvae FILE)"
        )
    dev = pick_device(device)
    sr = load_sr(weights["VAE_SR.pth"].path)
    denoiser, dropped = (None, [])
    if variant == "full":
        denoiser, dropped = load_denoiser(weights["VAE_denoiser.pth"].path)
    latent = opts["latent"]
    prov = {
        "variant": variant,
        "weights": {n: weights[n].sha256 for n in need},
        "latent": latent if variant == "full" else "n/a",
        "patching": f"{PATCH}px LR patches, overlap {OVERLAP}" if variant == "full" else "whole image",
        "quantisation": "np.uint8(clamp(255*x, 0, 255)) (truncation, as test.py)",
        "rounding": ROUNDING,
    }
    if dropped:
        prov["dropped_training_keys"] = len(dropped)
    return DSRVAE(sr, denoiser, dev, latent=latent, provenance=prov)
