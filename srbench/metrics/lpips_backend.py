"""LPIPS (Zhang et al. 2018) through the ``lpips`` package, loaded without any implicit download.

What is computed is exactly ``lpips.LPIPS(net=net, version="0.1")`` of the ``lpips`` package (the code
of richzhang/PerceptualSimilarity); only *where the weights come from* is made explicit:

* the linear calibration layers (``lin0`` ... ``lin4``) are the package's own
  ``lpips/weights/v0.1/<net>.pth`` - the published LPIPS v0.1 weights, nothing is downloaded;
* the backbone is torchvision's ImageNet ``alexnet`` / ``vgg16`` ``features`` (what
  ``tv.alexnet(pretrained=True)`` inside ``lpips`` would load), read from the torch hub cache
  ``$TORCH_HOME/hub/checkpoints/`` (``alexnet-owt-7be5be79.pth`` / ``vgg16-397923af.pth``) with
  ``torch.load(weights_only=True)`` (:mod:`srbench.safe_load`); only the ``features.*`` tensors are used
  (LPIPS never touches the classifier). A missing file is downloaded from download.pytorch.org unless
  offline, otherwise a :class:`~srbench.errors.WeightsError` says which file and where to put it; a
  damaged or replaced file (garbage, truncated, a pickle with code) is a WeightsError that names it and
  says how to replace it.

Every tensor of the model is assigned from those two files and checked (``strict=True``), so a model can
never silently run with a random backbone or random linear layers.

Input convention (``lpips.im2tensor``): uint8 RGB ``x / 127.5 - 1`` (computed in float64, then float32),
grey HxW images replicated to three channels; no border shave, no resizing. The per-image distance is
the package's default output, the spatial average of each layer's map summed over layers; the
spatial map (:func:`lpips_spatial_map`, ``spatial=True``) upsamples each layer's map bilinearly to the
image size before summing, so its mean differs from the distance in the 6th decimal (measured <= 2e-6 on
pyiqa's calibration pairs).

Large images run as one forward pass in float32 under ``torch.no_grad()`` - exact, no tiling. The
memory this needs is dominated by the backbone activations kept for the five layers, per image:
about 9 floats per pixel for AlexNet (a 2040x1356 DIV2K image: ~0.1 GB each for SR and HR) and about
122 floats per pixel for VGG-16 (~1.4 GB each, a peak of roughly 4-5 GB with the temporaries) - fine for
a workstation or a GPU with 8 GB; tiling is not offered because it would change the values (the
backbones' receptive fields span ~200 px and zero padding at tile borders differs from the image's).
"""

from __future__ import annotations

import copy
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from srbench.metrics.base import MetricWeight

__all__ = [
    "LPIPS_VERSION",
    "TRUNK_WEIGHTS",
    "get_lpips_model",
    "image_to_tensor",
    "lpips_distance",
    "lpips_provenance",
    "lpips_spatial_map",
]

LPIPS_VERSION = "0.1"

TRUNK_WEIGHTS: dict[str, MetricWeight] = {
    "alex": MetricWeight(
        file="alexnet-owt-7be5be79.pth",
        cache="$TORCH_HOME/hub/checkpoints/",
        url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
        used_by="lpips (net='alex'): torchvision AlexNet ImageNet features",
    ),
    "vgg": MetricWeight(
        file="vgg16-397923af.pth",
        cache="$TORCH_HOME/hub/checkpoints/",
        url="https://download.pytorch.org/models/vgg16-397923af.pth",
        used_by="lpips (net='vgg'): torchvision VGG-16 ImageNet features",
    ),
}

#: the srbench metric name that uses each backbone (for error messages)
METRIC_OF_NET = {"alex": "lpips", "vgg": "lpips_vgg"}

_lock = threading.Lock()
_bundles: dict[tuple[str, str, str], _Bundle] = {}


def _require():
    try:
        import lpips
        import torch
        import torchvision  # noqa: F401
    except ImportError as exc:
        from srbench.errors import MissingDependencyError

        raise MissingDependencyError(
            f"metrics lpips, lpips_vgg and diversity need torch, torchvision and lpips ({exc}); "
            "install them with: pip install 'srbench[torch]'"
        ) from exc
    import lpips
    import torch

    return torch, lpips


def lin_weights_path(net: str) -> Path:
    """The ``lpips`` package's own v0.1 linear-layer file for ``net``."""
    import lpips

    return Path(lpips.__file__).resolve().parent / "weights" / f"v{LPIPS_VERSION}" / f"{net}.pth"


_REINSTALL = "reinstall the lpips package: pip install --force-reinstall lpips"


class _Bundle:
    def __init__(self, net: str, device, trunk: Path):
        torch, lpips = _require()
        from srbench.errors import WeightsError
        from srbench.metrics.weights_cache import (
            damaged_weights_error,
            file_record,
            load_torch,
            package_versions,
        )
        from srbench.safe_load import torch_load_safe

        metric = METRIC_OF_NET[net]
        weight = TRUNK_WEIGHTS[net]
        lin_path = lin_weights_path(net)
        if not lin_path.is_file():
            raise WeightsError(f"the lpips package has no {lin_path}; {_REINSTALL}")
        with warnings.catch_warnings():  # torchvision's 'pretrained' deprecation notice, raised inside lpips
            warnings.simplefilter("ignore", UserWarning)
            # pnet_rand=True / pretrained=False: lpips downloads nothing; every tensor is assigned below.
            model = lpips.LPIPS(pretrained=False, net=net, version=LPIPS_VERSION, lpips=True, spatial=False,
                                pnet_rand=True, verbose=False)
        state = model.state_dict()
        trunk_sd = load_torch(weight, metric, trunk)
        lin_sd = torch_load_safe(lin_path, f"the lpips package's {net} linear-layer file", _REINSTALL)
        for sd, path in ((trunk_sd, trunk), (lin_sd, lin_path)):
            if not isinstance(sd, dict):
                bad = f"it holds a {type(sd).__name__}, not a state dict"
                if path == trunk:
                    raise damaged_weights_error(weight, metric, path, bad)
                raise WeightsError(f"{path}: {bad}; {_REINSTALL}")
        new: dict[str, Any] = {}
        for name, ref in state.items():
            if name.startswith("scaling_layer."):
                continue  # constants of the package
            if name.startswith("net."):  # net.slice<k>.<torchvision index>.<weight|bias>
                _, _, idx, kind = name.split(".")
                src, sd, path = f"features.{idx}.{kind}", trunk_sd, trunk
            elif name.startswith("lins."):  # the same modules as lin<k>, registered twice
                _, k, rest = name.split(".", 2)
                src, sd, path = f"lin{k}.{rest}", lin_sd, lin_path
            else:
                src, sd, path = name, lin_sd, lin_path
            problem = None
            if src not in sd:
                problem = f"no tensor {src!r}: not a {net} LPIPS/torchvision checkpoint"
            elif not isinstance(sd[src], torch.Tensor) or tuple(sd[src].shape) != tuple(ref.shape):
                got = tuple(sd[src].shape) if isinstance(sd[src], torch.Tensor) else type(sd[src]).__name__
                problem = f"{src} is {got}, expected a tensor of shape {tuple(ref.shape)}"
            if problem:
                if path == trunk:
                    raise damaged_weights_error(weight, metric, path, problem)
                raise WeightsError(f"{path}: {problem}; {_REINSTALL}")
            new[name] = sd[src]
        model.load_state_dict({**state, **new}, strict=True)
        self.model = model.eval().requires_grad_(False).to(device)
        self.device = device
        self.net = net
        self._spatial = None
        self.provenance = {
            "net": net,
            "lpips_version": LPIPS_VERSION,
            "weights": {
                trunk.name: file_record(trunk, "torch hub cache ($TORCH_HOME/hub/checkpoints), features.* only"),
                f"lpips/weights/v{LPIPS_VERSION}/{net}.pth": file_record(lin_path, "lpips package"),
            },
            "packages": package_versions("torch", "torchvision", "lpips"),
            "device": str(device),
            "input": "RGB uint8 / 127.5 - 1 (float32), grey replicated to 3 channels, whole image, no shave",
        }

    @property
    def spatial(self):
        """The same model with ``spatial=True`` (shares every tensor with :attr:`model`)."""
        if self._spatial is None:
            sp = copy.copy(self.model)  # shallow: same submodules and tensors
            sp.spatial = True
            self._spatial = sp
        return self._spatial


def _bundle(net: str, device: str = "cpu") -> _Bundle:
    if net not in TRUNK_WEIGHTS:
        raise ValueError(f"LPIPS net must be one of {sorted(TRUNK_WEIGHTS)}, got {net!r}")
    _require()
    from srbench.metrics.weights_cache import resolve
    from srbench.torch_utils import pick_device

    dev = pick_device(device)
    trunk = resolve(TRUNK_WEIGHTS[net], METRIC_OF_NET[net])
    key = (net, str(dev), str(trunk.resolve()))
    with _lock:
        b = _bundles.get(key)
        if b is None:
            b = _Bundle(net, dev, trunk)
            _bundles[key] = b
    return b


def get_lpips_model(net: str = "alex", device: str = "cpu"):
    """The ``lpips.LPIPS(net=net, version='0.1')`` module (eval, no grad), cached per (net, device, file)."""
    return _bundle(net, device).model


def lpips_provenance(net: str = "alex", device: str = "cpu") -> dict[str, Any]:
    return copy.deepcopy(_bundle(net, device).provenance)


def image_to_tensor(img: np.ndarray, device="cpu"):
    """uint8 HxWx3 (or HxW, replicated) -> 1x3xHxW float32 in [-1, 1], as ``lpips.im2tensor``."""
    import torch

    arr = np.asarray(img)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"LPIPS expects an HxWx3 or HxW image, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise TypeError(f"LPIPS expects uint8 images, got {arr.dtype}")
    x = (arr / 127.5 - 1.0).astype(np.float32).transpose(2, 0, 1)[None]
    return torch.from_numpy(np.ascontiguousarray(x)).to(device)


def _pair(sr, hr, device):
    sr, hr = np.asarray(sr), np.asarray(hr)
    if sr.shape != hr.shape:
        raise ValueError(f"LPIPS: SR {sr.shape} and HR {hr.shape} differ in shape")
    return image_to_tensor(sr, device), image_to_tensor(hr, device)


def lpips_distance(sr: np.ndarray, hr: np.ndarray, net: str = "alex", device: str = "cpu") -> float:
    """LPIPS v0.1 distance of one image pair (the package's default, non-spatial output)."""
    import torch

    b = _bundle(net, device)
    x0, x1 = _pair(sr, hr, b.device)
    with torch.no_grad():
        d = b.model(x0, x1)
    return float(d.reshape(-1)[0].item())


def lpips_spatial_map(sr: np.ndarray, hr: np.ndarray, net: str = "alex", device: str = "cpu") -> np.ndarray:
    """HxW float64 LPIPS map, ``lpips.LPIPS(net=net, version="0.1", spatial=True)(sr, hr)[0, 0]``."""
    import torch

    b = _bundle(net, device)
    x0, x1 = _pair(sr, hr, b.device)
    with torch.no_grad():
        d = b.spatial(x0, x1)
    return d[0, 0].detach().to("cpu", torch.float64).numpy()
