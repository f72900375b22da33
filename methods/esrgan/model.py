"""ESRGAN adapter: loads an official RRDBNet checkpoint strictly and upscales x4.

Pre/post-processing follows the official ``test.py`` of xinntao/ESRGAN: the image (read there with cv2 as
BGR and flipped to RGB by ``img[:, :, [2, 1, 0]]``) goes in as RGB float32 in [0, 1] (``/ 255``); the
output is clamped to [0, 1], flipped back for ``cv2.imwrite`` and quantised by ``(x * 255.0).round()``
on float32 - numpy's round half to even, i.e. :func:`srbench.torch_utils.to_image` with the rule
``half_even`` (``MethodInfo.rounding``). srbench works in RGB throughout, so no channel flip is needed
on either side.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from srbench.errors import ImageError, SrbenchError, WeightsError
from srbench.method_api import SRModel, check_options

from . import ROUNDING

#: the architecture of every released checkpoint (in_nc, out_nc, nf, nb, gc); load() refuses others
RELEASED_ARCH = (3, 3, 64, 23, 32)


def _info():
    from srbench_methods.esrgan import METHODS

    return METHODS[0]


def _pick_weight(weights: Mapping[str, Any] | None, variant: str):
    from srbench.weights import files_for

    if not weights:
        raise WeightsError(
            f"esrgan (variant {variant!r}) needs its checkpoint; none was given (it never runs with random "
            "weights). See `srbench weights status esrgan` or pass --weights esrgan=/path/to/file.pth"
        )
    names = [wf.name for wf in files_for(_info(), variant)]
    for name in names:
        if name in weights:
            return weights[name]
    if len(weights) == 1:
        return next(iter(weights.values()))
    raise WeightsError(f"esrgan (variant {variant!r}) expects {', '.join(names)}; got {', '.join(weights)}")


def state_dict_from_checkpoint(raw: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The RRDBNet state dict in official names from a loaded checkpoint, and its format.

    * official release (``RRDB_ESRGAN_x4.pth``, ``RRDB_PSNR_x4.pth``): a plain state dict, used as is;
    * BasicSR (``ESRGAN_SRx4_DF2KOST_official-ff704c30.pth`` ...): ``{"params": state}`` (or
      ``"params_ema"``; ``params`` is preferred, as BasicSR's own test configs load ``param_key_g:
      params``), keys renamed with :data:`~srbench_methods.esrgan.arch.BASICSR_KEY_MAP`.
    """
    from srbench_methods.esrgan.arch import basicsr_key, is_basicsr_state

    from srbench.weights import unwrap

    wrapped = "params" in raw or "params_ema" in raw
    state = unwrap(raw, "params", "params_ema")
    if wrapped or is_basicsr_state(state):
        return {basicsr_key(k): v for k, v in state.items()}, "basicsr"
    return dict(state), "official"


def build_network(state: Mapping[str, Any], source: str = "checkpoint", expect: tuple | None = None):
    """An RRDBNet sized after ``state`` (number of blocks, features, growth), loaded strictly.

    ``expect`` = ``(in_nc, out_nc, nf, nb, gc)``: refuse a checkpoint of any other size (a different
    RRDBNet, e.g. a Real-ESRGAN model, must not run under the ESRGAN name)."""
    from srbench_methods.esrgan.arch import RRDBNet

    from srbench.weights import load_strict

    def shape(key):
        v = state.get(key)
        if v is None or not hasattr(v, "shape"):
            raise WeightsError(f"{source} has no tensor {key!r}; it is not an ESRGAN/RRDBNet checkpoint")
        return tuple(v.shape)

    nf, in_nc = shape("conv_first.weight")[:2]
    out_nc = shape("conv_last.weight")[0]
    gc = shape("RRDB_trunk.0.RDB1.conv1.weight")[0]
    nb = len({k.split(".")[1] for k in state if k.startswith("RRDB_trunk.")})
    if expect is not None and (in_nc, out_nc, nf, nb, gc) != tuple(expect):
        raise WeightsError(
            f"{source} is an RRDBNet with in_nc={in_nc}, out_nc={out_nc}, nf={nf}, nb={nb}, gc={gc}; "
            f"the released ESRGAN models have in_nc, out_nc, nf, nb, gc = {tuple(expect)}"
        )
    net = RRDBNet(in_nc=in_nc, out_nc=out_nc, nf=nf, nb=nb, gc=gc)
    load_strict(net, state, source=source)
    return net.eval()


def _basicsr_sha_prefix(name: str) -> str | None:
    import re

    m = re.search(r"-([0-9a-f]{8})\.pth$", name)
    return m.group(1) if m else None


class ESRGAN(SRModel):
    def __init__(self, net, device, variant: str, weight, fmt: str, tile, overlap):
        from srbench_methods.esrgan.arch import receptive_field_radius

        self.scale = 4
        self.net = net.to(device)
        self.device = device
        self.tile, self.overlap = tile, overlap
        self.rounding = ROUNDING
        radius = receptive_field_radius(net.nb)
        self.provenance = {
            "variant": variant,
            "weights": {weight.file.name: weight.sha256} if weight is not None else {},
            "checkpoint_format": fmt,
            "architecture": f"RRDBNet nf={net.conv_first.out_channels} nb={net.nb}",
            "io": "RGB float32 [0,1] in; clamp [0,1], x255, round half to even (official test.py)",
            "rounding": self.rounding,
            "tile": tile,
            "tile_overlap": overlap if tile else None,
            "tiling_exact": (tile is None) or overlap >= radius,
            "receptive_field_radius_lr": radius,
        }
        prefix = _basicsr_sha_prefix(weight.file.name) if weight is not None else None
        if prefix:
            # BasicSR names its files <name>-<first 8 hex digits of the sha256>.pth
            self.provenance["sha256_prefix_in_name_matches"] = weight.sha256.startswith(prefix)

    def forward(self, x):
        """Float RGB ``1x3xHxW`` in [0, 1] -> raw (unclamped) ``1x3x4Hx4W`` output."""
        import torch

        from srbench.tiling import tiled_forward

        with torch.inference_mode():
            return tiled_forward(self.net, x.to(self.device), self.scale, self.tile, self.overlap)

    def upscale(self, lr: np.ndarray) -> np.ndarray:
        from srbench.torch_utils import to_image, to_tensor

        arr = np.asarray(lr)
        if arr.dtype != np.uint8 or not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
            raise ImageError(f"esrgan expects an HxWx3 (or HxW) uint8 image, got {arr.dtype} {arr.shape}")
        # official: output.clamp_(0, 1) -> (output * 255.0).round() on float32 (half to even)
        return to_image(self.forward(to_tensor(arr, self.device)), self.rounding)


def load(scale: int, device: str = "cpu", weights=None, variant: str | None = None, options=None) -> ESRGAN:
    """Options (``MethodInfo.options``): ``tile`` (0 = whole image), ``tile_overlap``."""
    from srbench.torch_utils import pick_device
    from srbench.weights import load_checkpoint

    info = _info()
    opts = check_options(info, options)
    if int(scale) != 4:
        raise SrbenchError(f"esrgan has x4 models only; scale {scale} was asked for")
    variant = variant or info.default_variant
    if variant not in info.variants:
        raise SrbenchError(f"esrgan has no variant {variant!r} (known: {', '.join(info.variants)})")
    weight = _pick_weight(weights, variant)
    state, fmt = state_dict_from_checkpoint(load_checkpoint(weight.path))
    net = build_network(state, source=str(weight.path), expect=RELEASED_ARCH)
    return ESRGAN(net, pick_device(device), variant, weight, fmt, opts["tile"] or None, opts["tile_overlap"])
