"""SRGAN adapter (leftthomas/SRGAN generator, x2/x4/x8).

Pre/post-processing follows that repository's ``test_image.py`` at commit b0323c6: the LR PNG is read with
PIL and turned into RGB float32 in [0, 1] by torchvision ``ToTensor`` (uint8 / 255); the generator's
output, in [0, 1] through its ``(tanh + 1) / 2`` head, is saved with ``ToPILImage``, which quantises by
``x.mul(255).byte()`` - truncation, not rounding. That is the default here (``quantize="truncate"``, rule
``truncate``); ``options={"quantize": "round"}`` rounds half away from zero instead (rule ``half_away``,
srbench's usual convention). Both go through :func:`srbench.torch_utils.to_image`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from srbench.errors import ImageError, SrbenchError, WeightsError
from srbench.method_api import SRModel, check_options

from . import QUANTIZE_RULES


def _info():
    from srbench_methods.srgan import METHODS

    return METHODS[0]


def _pick_weight(weights: Mapping[str, Any] | None, variant: str, scale: int):
    from srbench.weights import files_for

    if not weights:
        raise WeightsError(
            f"srgan (variant {variant!r}, x{scale}) needs its checkpoint; none was given (it never runs with "
            "random weights). Pass --weights srgan=/path/to/netG_epoch_<s>_100.pth or import it into the cache"
        )
    names = [wf.name for wf in files_for(_info(), variant, scale)]
    for name in names:
        if name in weights:
            return weights[name]
    if len(weights) == 1:
        return next(iter(weights.values()))
    raise WeightsError(f"srgan (variant {variant!r}, x{scale}) expects {', '.join(names)}; got {', '.join(weights)}")


def build_network(state: Mapping[str, Any], scale: int, source: str = "checkpoint"):
    from srbench_methods.srgan.arch import Generator

    from srbench.weights import load_strict

    net = Generator(scale)
    load_strict(net, state, source=source)
    return net.eval()


class SRGAN(SRModel):
    def __init__(self, net, device, variant: str, weight, tile, overlap, quantize: str):
        from srbench_methods.srgan.arch import receptive_field_radius

        self.scale = net.scale
        self.net = net.to(device)
        self.device = device
        self.tile, self.overlap, self.quantize = tile, overlap, quantize
        self.rounding = QUANTIZE_RULES[quantize]
        radius = receptive_field_radius(net.scale)
        self.provenance = {
            "variant": variant,
            "weights": {weight.file.name: weight.sha256} if weight is not None else {},
            "architecture": "leftthomas/SRGAN@b0323c6 Generator",
            "io": "RGB float32 [0,1] in; output (tanh+1)/2 in [0,1]; "
            + ("x255 truncated to uint8 (ToPILImage, as test_image.py)" if quantize == "truncate" else "x255 rounded half away from zero"),
            "quantize": quantize,
            "rounding": self.rounding,
            "tile": tile,
            "tile_overlap": overlap if tile else None,
            "tiling_exact": (tile is None) or overlap >= radius,
            "receptive_field_radius_lr": radius,
        }

    def forward(self, x):
        """Float RGB ``1x3xHxW`` in [0, 1] -> the generator's ``1x3xsHxsW`` output in [0, 1]."""
        import torch

        from srbench.tiling import tiled_forward

        with torch.inference_mode():
            return tiled_forward(self.net, x.to(self.device), self.scale, self.tile, self.overlap)

    def upscale(self, lr: np.ndarray) -> np.ndarray:
        from srbench.torch_utils import to_image, to_tensor

        arr = np.asarray(lr)
        if arr.dtype != np.uint8 or not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
            raise ImageError(f"srgan expects an HxWx3 (or HxW) uint8 image, got {arr.dtype} {arr.shape}")
        # truncate: torchvision ToPILImage on a float tensor, pic.mul(255).byte()
        return to_image(self.forward(to_tensor(arr, self.device)), self.rounding)


def load(scale: int, device: str = "cpu", weights=None, variant: str | None = None, options=None) -> SRGAN:
    """Options (``MethodInfo.options``): ``tile`` (0 = whole image), ``tile_overlap``, ``quantize``."""
    from srbench.torch_utils import pick_device
    from srbench.weights import load_checkpoint

    info = _info()
    opts = check_options(info, options)
    scale = int(scale)
    if scale not in info.scales:
        raise SrbenchError(f"srgan has x{'/x'.join(map(str, info.scales))} models; scale {scale} was asked for")
    variant = variant or info.default_variant
    if variant not in info.variants:
        raise SrbenchError(f"srgan has no variant {variant!r} (known: {', '.join(info.variants)})")
    weight = _pick_weight(weights, variant, scale)
    state = load_checkpoint(weight.path)
    net = build_network(state, scale, source=str(weight.path))
    return SRGAN(net, pick_device(device), variant, weight, opts["tile"] or None, opts["tile_overlap"], opts["quantize"])
