"""RefVAE adapter: the inference path of github.com/Holmes-Alan/RefVAE (``eval_4x.py``/``eval_8x.py``).

Official path (what this module reproduces), per SR image:

1. LR uint8 RGB -> float in [0, 1] (``ToTensor``); the whole image in one pass (no tiling).
2. Reference -> 256x256 RGB in [0, 1]:
   * ``--use_img_self`` ("Our(LR)"): ``LR.resize((256, 256))``, PIL's default filter (bicubic since
     Pillow 7), followed by ``transforms.Resize((256, 256))`` which leaves a 256x256 image unchanged;
   * ``--use_ref`` (an external image): ``transforms.Resize((256, 256))`` = PIL bilinear;
   * random ("Our(random)"): ``np.uint8(128 * U[0, 1)^(256x256x3))``.
3. ``LR_feat = enc(bicubic_up(LR))``, ``ref_feat = enc(ref)`` (relu4_1 of the VGG encoder ``vgg_r41.pth``).
4. ``SR = model(LR, LR_feat, ref_feat)`` in ``eval()`` mode; the model encodes the reference into
   (mu, logvar) and draws ``z = mu + eps * exp(logvar / 2)`` with ``eps = torch.randn_like`` - so even
   "Our(LR)" is random in the official code.
5. ``np.uint8(clamp(255 * SR, 0, 255))`` (truncation, not rounding).

srbench choices (documented in the method notes):

* ``eps`` (and the random reference) come from a local CPU ``torch.Generator``: per sample, first the
  256x256x3 float64 uniform reference (mode ``noise`` only), then a 1x256 float32 normal ``eps``.
  :meth:`RefVAE.upscale` is ``sample(lr, 1, srbench.conventions.DEFAULT_SEED)[0]``;
  ``options["latent"] = "mean"`` uses ``eps = 0`` (z = mu).
* Step 5 is :func:`srbench.torch_utils.to_image` with the rule ``truncate`` (``MethodInfo.rounding``);
  external reference images are decoded with :func:`srbench.images.read_image` (``ImageError`` for a
  corrupt or truncated file).
* The eval scripts crop the LR to a multiple of the scale (``modcrop``); srbench does not crop (the SR
  must be s times the LR). At x4 the encoder grid needs an even LR side: an odd side is padded by one
  mirrored pixel at the bottom/right and the SR cropped back. The "lr" reference is made from the
  unpadded LR.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from srbench.conventions import DEFAULT_SEED
from srbench.errors import SrbenchError, WeightsError
from srbench.images import read_image
from srbench.method_api import SRModel, check_options
from srbench.torch_utils import to_image

from . import LATENTS, ROUNDING
from .network import REF_SIZE, Z_DIM, Encoder4, RefVAENet

SCALES = (4, 8)
CHECKPOINTS = {4: "ConVAE_4x.pth", 8: "ConVAE_8x.pth"}
ENCODER = "vgg_r41.pth"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


# -- references --------------------------------------------------------------------------------

def _pil(arr: np.ndarray):
    from PIL import Image

    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    return Image.fromarray(np.ascontiguousarray(arr.astype(np.uint8)), "RGB")


def ref_from_lr(lr: np.ndarray) -> np.ndarray:
    """``LR.resize((256, 256))`` with PIL's default (bicubic) filter: the paper's "Our(LR)"."""
    from PIL import Image

    return np.asarray(_pil(lr).resize((REF_SIZE, REF_SIZE), Image.BICUBIC))


def ref_from_image(img) -> np.ndarray:
    """An external reference (path or HxWx3 uint8) resized as ``transforms.Resize((256, 256))`` (PIL bilinear).

    A path is decoded fully with :func:`srbench.images.read_image` (``ImageError`` naming the file when it
    is corrupt or truncated); grey images are replicated to RGB, as PIL's ``convert("RGB")`` does."""
    from PIL import Image

    pil = _pil(read_image(img) if isinstance(img, (str, os.PathLike)) else img)
    if pil.size != (REF_SIZE, REF_SIZE):  # PIL returns a copy for an unchanged size
        pil = pil.resize((REF_SIZE, REF_SIZE), Image.BILINEAR)
    return np.asarray(pil)


def ref_noise(gen: torch.Generator) -> np.ndarray:
    """``np.uint8(128 * U[0, 1))`` of shape 256x256x3, drawn from ``gen`` (float64 uniform)."""
    a = torch.rand((REF_SIZE, REF_SIZE, 3), generator=gen, dtype=torch.float64).numpy()
    return (a * 128).astype(np.uint8)


def list_refs(folder: Path) -> list[Path]:
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise SrbenchError(f"refvae: no reference images in {folder}")
    return files


class RefSpec:
    """What ``options["ref"]`` / ``sample(ref=...)`` may be: ``"lr"``, ``"noise"``, an image path, a folder
    of images (sample i uses the i-th file in sorted order, cycling), or an HxWx3 uint8 array.

    A single file is decoded here, so a corrupt one fails when the method is loaded
    (:class:`~srbench.errors.ImageError`); the files of a folder are decoded when they are used."""

    def __init__(self, ref: Any):
        self.kind: str
        self.files: list[Path] = []
        self.array = None
        if ref is None or (isinstance(ref, str) and ref.lower() in ("lr", "self")):
            self.kind = "lr"
        elif isinstance(ref, str) and ref.lower() in ("noise", "random"):
            self.kind = "noise"
        elif isinstance(ref, np.ndarray):
            self.kind, self.array = "array", ref
        elif isinstance(ref, (str, os.PathLike)):
            p = Path(ref).expanduser()
            if p.is_dir():
                self.kind, self.files = "folder", list_refs(p)
            elif p.is_file():
                self.kind, self.files = "file", [p]
                self.array = ref_from_image(p)
            else:
                raise SrbenchError(f"refvae: reference {ref!r} is not 'lr', 'noise', an image file or a folder")
        else:
            raise SrbenchError(f"refvae: cannot use a {type(ref).__name__} as a reference")

    def describe(self) -> str:
        if self.kind in ("file", "folder"):
            return f"{self.kind}:{self.files[0] if self.kind == 'file' else self.files[0].parent}"
        return self.kind

    def image(self, lr: np.ndarray, i: int, gen: torch.Generator) -> np.ndarray:
        if self.kind == "lr":
            return ref_from_lr(lr)
        if self.kind == "noise":
            return ref_noise(gen)
        if self.kind in ("array", "file"):
            return ref_from_image(self.array)  # a 256x256 array is returned as it is
        return ref_from_image(self.files[i % len(self.files)])


# -- model ---------------------------------------------------------------------------------------

def _tensor(img: np.ndarray, device) -> torch.Tensor:
    arr = np.asarray(img)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise SrbenchError(f"refvae expects HxWx3 uint8 images, got {arr.dtype} {arr.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float().div(255.0).unsqueeze(0).to(device)


def _pad_multiple(x: torch.Tensor, m: int) -> torch.Tensor:
    """Mirror-pad (edge pixel repeated) bottom/right so that H and W are multiples of ``m`` (m <= 2)."""
    _, _, h, w = x.shape
    ph, pw = (-h) % m, (-w) % m
    if ph:
        x = torch.cat([x, x[:, :, h - ph :].flip(2)], 2)
    if pw:
        x = torch.cat([x, x[:, :, :, w - pw :].flip(3)], 3)
    return x


class RefVAE(SRModel):
    def __init__(
        self,
        net: RefVAENet,
        encoder: Encoder4,
        device: torch.device,
        ref: Any = "lr",
        latent: str = LATENTS[0],
        provenance: dict[str, Any] | None = None,
    ):
        if latent not in LATENTS:
            raise SrbenchError(f"refvae: options['latent'] must be one of {', '.join(LATENTS)}, not {latent!r}")
        self.net = net.to(device).eval()
        self.encoder = encoder.to(device).eval()
        self.device = device
        self.scale = net.up_factor
        self.ref = RefSpec(ref)
        self.latent = latent
        self.rounding = ROUNDING
        self.provenance = dict(provenance or {})

    @torch.no_grad()
    def forward(self, lr: torch.Tensor, ref: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """The official ``chop_forward`` on tensors: LR 1x3xHxW and ref 1x3x256x256 in [0, 1], eps 1x256."""
        up = F.interpolate(lr, scale_factor=self.scale, mode="bicubic", align_corners=False)
        lr_feat = self.encoder(up)
        ref_feat = self.encoder(ref)
        return self.net(lr, lr_feat, ref_feat, eps.to(lr.device))

    def _one(self, lr: np.ndarray, ref_img: np.ndarray, eps: torch.Tensor) -> np.ndarray:
        x = _tensor(lr, self.device)
        h, w = x.shape[-2:]
        m = 8 // math.gcd(self.scale, 8)  # the r41 grid is (s*H)/8: x4 needs even sides
        sr = self.forward(_pad_multiple(x, m), _tensor(ref_img, self.device), eps)
        return to_image(sr[:, :, : self.scale * h, : self.scale * w], self.rounding)

    def _gen(self, seed: int) -> torch.Generator:
        g = torch.Generator(device="cpu")
        g.manual_seed(int(seed))
        return g

    def _draw(self, lr, spec: RefSpec, i: int, gen: torch.Generator, mean: bool):
        ref_img = spec.image(lr, i, gen)  # draws the noise reference first (mode "noise")
        eps = torch.zeros(1, Z_DIM) if mean else torch.randn(1, Z_DIM, generator=gen, dtype=torch.float32)
        return ref_img, eps

    def upscale(self, lr: np.ndarray) -> np.ndarray:
        """One SR image: ``sample(lr, 1, DEFAULT_SEED)[0]`` with the loader's reference (deterministic)."""
        return self.sample(lr, 1, DEFAULT_SEED)[0]

    def sample(self, lr: np.ndarray, n: int, seed: int, ref: Any = None) -> Sequence[np.ndarray]:
        spec = self.ref if ref is None else RefSpec(ref)
        gen = self._gen(seed)
        out = []
        for i in range(n):
            ref_img, eps = self._draw(lr, spec, i, gen, self.latent == "mean")
            out.append(self._one(lr, ref_img, eps))
        return out


# -- loading -------------------------------------------------------------------------------------

def _empty(cls, *args):
    """An uninitialised module (no random init: every tensor is overwritten by the strict load)."""
    with torch.device("meta"):
        m = cls(*args)
    return m.to_empty(device="cpu")


def load_net(path, scale: int) -> RefVAENet:
    from srbench.weights import load_checkpoint, load_strict, unwrap

    state = unwrap(load_checkpoint(path), strip_prefix="module.")
    return load_strict(_empty(RefVAENet, scale), state, source=str(path))


def load_encoder(path) -> Encoder4:
    from srbench.weights import load_checkpoint, load_strict, unwrap

    state = unwrap(load_checkpoint(path), strip_prefix="module.")
    return load_strict(_empty(Encoder4), state, source=str(path))


def load(scale: int, device: str = "cpu", weights=None, variant: str | None = None, options: dict | None = None) -> RefVAE:
    """Options (``MethodInfo.options``): ``ref`` (lr | noise | image | folder), ``latent`` (sample | mean).
    The seed is ``sample``'s."""
    from srbench.torch_utils import pick_device

    from . import METHODS

    opts = check_options(METHODS[0], options)
    if scale not in SCALES:
        raise SrbenchError(f"refvae has x4 and x8 models, not x{scale}")
    need = [CHECKPOINTS[scale], ENCODER]
    missing = [n for n in need if not weights or n not in weights]
    if missing:
        raise WeightsError(
            f"refvae x{scale} needs {', '.join(missing)}; it never runs with random weights "
            "(the official scripts silently keep a random VGG encoder when vgg_r41.pth is absent; srbench refuses)"
        )
    dev = pick_device(device)
    net = load_net(weights[CHECKPOINTS[scale]].path, scale)
    enc = load_encoder(weights[ENCODER].path)
    model = RefVAE(net, enc, dev, ref=opts["ref"], latent=opts["latent"])
    model.provenance = {
        "variant": variant or "official",
        "weights": {n: weights[n].sha256 for n in need},
        "ref": model.ref.describe(),
        "latent": model.latent,
        "quantisation": "np.uint8(clamp(255*x, 0, 255)) (truncation, as eval_*x.py)",
        "rounding": ROUNDING,
    }
    return model
