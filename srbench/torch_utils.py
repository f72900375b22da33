"""Small torch helpers shared by the adapters: image <-> tensor, devices, local RNGs.

Import this only inside a method's loader (it imports torch).
"""

from __future__ import annotations

import numpy as np
import torch

from srbench.conventions import to_uint8


def pick_device(device: str | None) -> torch.device:
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        from srbench.errors import SrbenchError

        raise SrbenchError("--device cuda was asked for, but torch sees no CUDA device")
    return dev


def to_tensor(img: np.ndarray, device: torch.device | str = "cpu", bgr: bool = False) -> torch.Tensor:
    """HxWx3 uint8 RGB -> 1x3xHxW float32 in [0, 1] (optionally BGR channel order)."""
    arr = np.asarray(img)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if bgr:
        arr = arr[:, :, ::-1]
    t = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float().div_(255.0)
    return t.unsqueeze(0).to(device)


def to_image(t: torch.Tensor, rule: str, bgr: bool = False) -> np.ndarray:
    """1x3xHxW (or 3xHxW) float in [0, 1] -> HxWx3 uint8 RGB with the rounding ``rule`` of
    :data:`srbench.conventions.ROUNDING` (``MethodInfo.rounding``; srbench's own conversions: ``half_away``).

    The multiplication by 255 is done in float32, as the official codes do (``x * 255.0`` on a float32
    tensor or array), so the bytes are theirs; :func:`srbench.conventions.to_uint8` clips and rounds.
    """
    if t.dim() == 4:
        t = t[0]
    arr = t.detach().float().cpu().numpy().transpose(1, 2, 0) * np.float32(255.0)
    if bgr:
        arr = arr[:, :, ::-1]
    return to_uint8(arr, rule)


def generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A local RNG (no global state is touched), reproducible for the same seed on the same device."""
    g = torch.Generator(device=torch.device(device))
    g.manual_seed(int(seed))
    return g


def param_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
