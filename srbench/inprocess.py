"""Evaluate a model object of the running Python process without writing an adapter plugin.

``srbench.evaluate(model=..., name="mynet", scale=4)`` wraps ``model`` with :func:`in_process_method`
into an :class:`InProcessMethod`: a synthetic :class:`~srbench.method_api.MethodInfo` plus a loader
(:meth:`InProcessMethod.load`) that returns an :class:`~srbench.method_api.SRModel`. Two kinds of model:

* a **plain callable** ``f(lr) -> sr``: ``lr`` is an HxWx3 uint8 RGB numpy array (a copy: ``f`` may
  modify it), ``sr`` must follow the SRModel output contract (HxWx3 uint8, ``scale*H`` x ``scale*W``).
  Its return value is handed on as a numpy array (a torch tensor is taken as HxWxC and moved to the CPU),
  with no conversion at all: float output reaches the runner, which refuses it ([0, 1] and [0, 255] look
  alike, so srbench never guesses). Convert with :func:`srbench.conventions.to_uint8` inside ``f``.
* a **torch.nn.Module** taking ``1x3xHxW`` float RGB in [0, 1] and returning ``1x3x(sH)x(sW)`` float
  in [0, 1] (``batch_input`` below for other layouts). srbench calls ``.eval()`` and runs it under
  ``torch.inference_mode()``; the input goes to the device of the module's first parameter (or buffer),
  in the dtype of its first floating-point parameter (or buffer); a module with neither gets the
  ``device`` of :func:`in_process_method`, else the device the runner loads with, else the CPU.
  ``device=`` moves the module there once, when it is wrapped. The output becomes uint8 as in the
  adapters (:func:`srbench.torch_utils.to_image`): ``x * 255`` in float32, then
  :func:`srbench.conventions.to_uint8` with ``rounding``. ``tile > 0`` runs it tile by tile
  (:func:`srbench.tiling.tiled_forward`, exact only for a network whose receptive-field radius is at
  most ``tile_overlap``). A tuple, list or dict output is refused (:class:`MethodOutputError`), never
  unpacked: wrap the module so that it returns the SR tensor.

Identity (what caches are keyed on, :meth:`InProcessMethod.identity`): ``version:<version>`` when a
``version`` string is given; otherwise, for a Module, ``state_dict:<sha256>`` over the class (module and
qualname), the structure (every submodule's type and ``extra_repr()``) and the ``state_dict`` (sorted
keys; each key's dtype, shape and bytes, taken on the CPU, so moving the module to another device keeps
the identity). Code changes inside ``forward`` and plain attributes that are not in the state dict are
*not* seen: give ``version`` (and change it) for those. A plain callable without ``version`` has no
identity (``None``); what that means for caching is the runner's decision.

Importing this module does not import torch; a Module is recognised only when torch is already loaded
(it must be, for the object to exist).
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from srbench.conventions import ROUNDING
from srbench.errors import ImageError, MethodOutputError, SrbenchError
from srbench.method_api import MethodInfo, SRModel

__all__ = ["BATCH_INPUTS", "LABEL_PATTERN", "InProcessMethod", "in_process_method", "state_dict_sha256"]

#: an in-process method label: what ``name=`` may be (no ``:`` or ``[``: those mean variant / options)
LABEL_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
#: ``batch_input`` values: the tensor layout a Module takes and returns (see :func:`in_process_method`)
BATCH_INPUTS = ("auto", "nchw", "chw")
ADAPTER_VERSION = "inprocess-1"
#: bump when the state-dict hash changes its definition (changes every identity_text)
_HASH_VERSION = "srbench-inprocess-state-1"


def _torch_module_class():
    torch = sys.modules.get("torch")
    return getattr(getattr(torch, "nn", None), "Module", None) if torch is not None else None


def _is_module(obj: Any) -> bool:
    cls = _torch_module_class()
    return cls is not None and isinstance(obj, cls)


def _qualname(obj: Any, of_class: bool) -> str:
    """``module.QualName`` of ``obj``'s class (``of_class``) or of a function/class itself."""
    target = type(obj) if of_class or not hasattr(obj, "__qualname__") else obj
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__qualname__", None) or type(obj).__qualname__
    return f"{module}.{name}" if module else name


def _tensor_bytes(t) -> bytes:
    """The raw bytes of a tensor on the CPU; dtypes numpy lacks (bfloat16, float8) are viewed as uint8."""
    import torch

    t = t.detach()
    if t.layout != torch.strided or t.is_quantized:
        raise TypeError(f"a {t.layout} {'quantized ' if t.is_quantized else ''}tensor")
    if t.device.type == "meta":
        raise TypeError("a tensor on the meta device (no data)")
    return t.cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def state_dict_sha256(module) -> str:
    """sha256 identifying a ``torch.nn.Module`` by class, structure and weights (module docstring).

    Stable across devices and across two instances built with the same weights; changes with any weight
    value, dtype or shape, any state-dict key, the class or a submodule's type / ``extra_repr()``."""
    h = hashlib.sha256()

    def line(text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        h.update(f"{len(data)}:".encode())
        h.update(data)

    line(_HASH_VERSION)
    line(_qualname(module, of_class=True))
    for name, sub in module.named_modules():
        line(f"module|{name}|{_qualname(sub, of_class=True)}|{sub.extra_repr()}")
    state = module.state_dict()
    for key in sorted(state):
        value = state[key]
        if not hasattr(value, "detach") or not hasattr(value, "dtype"):
            raise SrbenchError(
                f"cannot hash state_dict entry {key!r} of {type(module).__qualname__} (a {type(value).__name__}, "
                "not a tensor); pass version='...' to identify the model"
            )
        try:
            data = _tensor_bytes(value)
        except (TypeError, RuntimeError) as exc:
            raise SrbenchError(
                f"cannot hash state_dict entry {key!r} of {type(module).__qualname__} ({exc}); "
                "pass version='...' to identify the model"
            ) from None
        line(f"tensor|{key}|{value.dtype}|{tuple(value.shape)}|{len(data)}")
        h.update(data)
    return h.hexdigest()


def _first_tensor(module):
    """(device, floating dtype or None) from the module's parameters, then its buffers; (None, None) if none."""
    device = dtype = None
    for group in (module.parameters(), module.buffers()):
        for t in group:
            if device is None:
                device = t.device
            if dtype is None and t.is_floating_point():
                dtype = t.dtype
            if device is not None and dtype is not None:
                return device, dtype
    return device, dtype


def _describe(out: Any) -> str:
    """A short description of what a model returned, for error messages."""
    if isinstance(out, (tuple, list)):
        parts = ", ".join(_describe(o) for o in list(out)[:4]) + (", ..." if len(out) > 4 else "")
        return f"a {type(out).__name__} of {len(out)} ({parts})"
    if isinstance(out, dict):
        keys = ", ".join(repr(k) for k in list(out)[:6])
        return f"a {type(out).__name__} with keys {keys}"
    shape = getattr(out, "shape", None)
    if shape is not None and hasattr(out, "dtype"):
        return f"a {type(out).__name__} of shape {tuple(shape)} and dtype {out.dtype}"
    return f"a {type(out).__name__}"


class _CallableModel(SRModel):
    """A plain callable ``f(lr) -> sr``: the output goes to the runner as it is (as a numpy array)."""

    def __init__(self, fn, label: str, scale: int, provenance: dict[str, Any]):
        self.fn, self.label, self.scale = fn, label, scale
        self.provenance = provenance

    def upscale(self, lr: np.ndarray) -> np.ndarray:
        out = self.fn(np.array(lr, copy=True))
        if out is None or isinstance(out, (tuple, list, dict)):
            raise MethodOutputError(
                f"{self.label}: the callable returned {_describe(out)}; it must return one HxWx3 uint8 image "
                f"({self.scale}x the LR size)"
            )
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(out, torch.Tensor):
            out = out.detach().cpu().numpy()  # taken as HxWxC, as the callable's contract says
        return np.asarray(out)


class _ModuleModel(SRModel):
    """A ``torch.nn.Module`` on ``1x3xHxW`` float RGB in [0, 1] (see the module docstring)."""

    def __init__(self, net, label: str, scale: int, rounding: str, tile: int, overlap: int, batch_input: str,
                 fallback_device: str, provenance: dict[str, Any]):
        self.net, self.label, self.scale = net, label, scale
        self.rounding, self.tile, self.overlap, self.batch_input = rounding, tile, overlap, batch_input
        self.fallback_device = fallback_device
        self.provenance = provenance

    def _call(self, x):
        """The module on a ``1x3xhxw`` tensor; its output checked and brought to ``1xCx(sh)x(sw)``."""
        import torch

        out = self.net(x[0] if self.batch_input == "chw" else x)
        if not isinstance(out, torch.Tensor):
            hint = " (take the SR tensor out of it in a wrapper module)" if isinstance(out, (tuple, list, dict)) else ""
            raise MethodOutputError(
                f"{self.label}: the module returned {_describe(out)}; it must return one float tensor "
                f"1x3xHxW in [0, 1]{hint}"
            )
        if out.dim() == 3 and self.batch_input in ("auto", "chw"):
            out = out.unsqueeze(0)
        if out.dim() != 4 or out.shape[0] != 1:
            layout = "3xHxW" if self.batch_input == "chw" else "1x3xHxW"
            raise MethodOutputError(
                f"{self.label}: the module returned a tensor of shape {tuple(out.shape)}; expected {layout} "
                f"(batch_input={self.batch_input!r})"
            )
        if not out.is_floating_point():
            raise MethodOutputError(
                f"{self.label}: the module returned a {out.dtype} tensor; it must return float in [0, 1] "
                "(srbench converts it to uint8 with the rounding rule)"
            )
        return out

    def forward(self, x):
        """``1x3xHxW`` float in [0, 1] -> the module's raw (unclamped) ``1x3x(sH)x(sW)`` output."""
        import torch

        from srbench.tiling import tiled_forward

        device, dtype = _first_tensor(self.net)
        x = x.to(device=device if device is not None else self.fallback_device, dtype=dtype or torch.float32)
        with torch.inference_mode():
            return tiled_forward(self._call, x, self.scale, self.tile or None, self.overlap)

    def upscale(self, lr: np.ndarray) -> np.ndarray:
        from srbench.torch_utils import to_image, to_tensor

        arr = np.asarray(lr)
        if arr.dtype != np.uint8 or not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
            raise ImageError(f"{self.label} expects an HxWx3 (or HxW) uint8 image, got {arr.dtype} {arr.shape}")
        out = self.forward(to_tensor(arr))
        h, w = arr.shape[:2]
        expected = (1, 3, h * self.scale, w * self.scale)
        if tuple(out.shape) != expected:
            raise MethodOutputError(
                f"{self.label}: the module turned a {h}x{w} LR into a tensor of shape {tuple(out.shape)}; "
                f"expected {'x'.join(map(str, expected))} (RGB at x{self.scale})"
            )
        return to_image(out, self.rounding)


@dataclass
class InProcessMethod:
    """A model object of this process, presented to the planner/runner as a method (module docstring)."""

    label: str  # the method label in results
    info: MethodInfo  # synthetic: name=title=label, learned=False, options=()
    identity_text: str | None  # "version:<v>", "state_dict:<sha256>" or None
    model: Any = None
    kind: str = "callable"  # "callable" | "nn.Module"
    rounding: str = "half_away"
    tile: int = 0
    tile_overlap: int = 16
    device: str | None = None  # where the module was moved (device=), None when it was not
    batch_input: str = "auto"

    @property
    def scales(self) -> tuple[int, ...]:
        return self.info.scales

    def identity(self) -> dict[str, Any] | None:
        """What identifies the model's output for caching; ``None`` when the model has no identity.

        Besides the model (``identity_text``) it holds the settings that can change output pixels:
        the rounding rule, and the tiling when ``tile > 0`` (tiling is exact only for small receptive fields).
        """
        if self.identity_text is None:
            return None
        out: dict[str, Any] = {"inprocess": self.label, "identity": self.identity_text}
        if self.kind == "nn.Module":
            out["rounding"] = self.rounding
            if self.tile:
                out["tile"], out["tile_overlap"] = self.tile, self.tile_overlap
            if self.batch_input != "auto":
                out["batch_input"] = self.batch_input
        return out

    def provenance_for(self, device: str) -> dict[str, Any]:
        """The ``SRModel.provenance`` of a loaded model running on ``device`` (a description)."""
        prov: dict[str, Any] = {
            "kind": self.kind,
            "class": _qualname(self.model, of_class=self.kind == "nn.Module"),
            "identity": self.identity_text or "none (not cached)",
            "device": device,
            "tile": self.tile,
            "rounding": self.rounding if self.kind == "nn.Module" else "none (the callable returns uint8)",
        }
        if self.kind == "nn.Module":
            if self.tile:
                prov["tile_overlap"] = self.tile_overlap
            prov["batch_input"] = self.batch_input
            prov["io"] = "RGB float [0,1] in; x255 in float32, rounded, clipped to uint8"
            if self.device is not None:
                prov["moved_to_device"] = f"{self.device} (srbench moved the module there: device={self.device!r})"
        return prov

    def load(self, scale: int, device: str | None = None) -> SRModel:
        """The :class:`SRModel` for ``scale``; ``device`` (the runner's) is used only by a Module without
        parameters or buffers when no ``device=`` was given (a Module runs where its weights are)."""
        if isinstance(scale, bool) or int(scale) not in self.info.scales:
            have = ", ".join(f"x{s}" for s in self.info.scales)
            raise SrbenchError(f"{self.label} was given for {have} only; x{scale} was asked for")
        scale = int(scale)
        if self.kind == "callable":
            where = "n/a (the callable places its own work)"
            return _CallableModel(self.model, self.label, scale, self.provenance_for(where))
        from srbench.torch_utils import pick_device

        self.model.eval()
        own, _ = _first_tensor(self.model)
        if own is not None:
            fallback, where = str(own), str(own)
        else:
            fallback = str(pick_device(self.device or device or "cpu"))
            where = f"{fallback} (the module has no parameters or buffers)"
        return _ModuleModel(self.model, self.label, scale, self.rounding, self.tile, self.tile_overlap,
                            self.batch_input, fallback, self.provenance_for(where))


def _check_label(name: Any) -> str:
    if not isinstance(name, str) or not LABEL_PATTERN.fullmatch(name):
        raise SrbenchError(
            f"name {name!r} is not a valid method label: it must match [A-Za-z0-9][A-Za-z0-9._+-]* "
            "(letters, digits, '.', '_', '+', '-'; starting with a letter or digit)"
        )
    from srbench.registry import methods

    if name.lower() in {m.lower() for m in methods()}:
        raise SrbenchError(f"name {name} is a registered method; choose another name")
    return name


def _check_scales(scales: Any) -> tuple[int, ...]:
    """``4`` or ``(2, 4)`` -> a tuple of distinct positive ints, in the given order."""
    items = (scales,) if isinstance(scales, (int, np.integer)) else scales
    try:
        items = tuple(items)
    except TypeError:
        items = ()
    good = all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in items)
    if not items or not good:
        raise SrbenchError(f"scales must be positive integers (e.g. 4 or (2, 4)), got {scales!r}")
    return tuple(dict.fromkeys(int(s) for s in items))


def _check_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise SrbenchError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def in_process_method(
    model: Any,
    name: str,
    scales: Sequence[int],
    version: str | None = None,
    *,
    rounding: str = "half_away",
    tile: int = 0,
    tile_overlap: int = 16,
    device: str | None = None,
    batch_input: str = "auto",
) -> InProcessMethod:
    """Wrap ``model`` (a callable or a ``torch.nn.Module``, module docstring) as the method ``name``.

    ``scales``: the scale(s) the model is for (an int or a sequence). ``version``: a string naming the
    model's state (identity ``version:<version>``; without it a Module is identified by its state dict).
    Module-only settings: ``rounding`` (a key of :data:`srbench.conventions.ROUNDING`), ``tile`` /
    ``tile_overlap`` (LR pixels, :mod:`srbench.tiling`; ``tile=0``: whole image), ``device`` (moves the
    module there now; ``"auto"``: CUDA when available) and ``batch_input``, the tensor layout:
    ``"nchw"`` (``1x3xHxW`` in and out), ``"chw"`` (``3xHxW`` in and out) or ``"auto"`` (``1x3xHxW`` in,
    ``1x3xHxW`` or ``3xHxW`` out). Raises :class:`SrbenchError` for anything invalid.
    """
    label = _check_label(name)
    scales_t = _check_scales(scales)
    if version is not None and (not isinstance(version, str) or not version.strip()):
        raise SrbenchError(f"version must be a non-empty string, got {version!r}")
    if rounding not in ROUNDING:
        raise SrbenchError(f"rounding {rounding!r} is not one of {', '.join(ROUNDING)}")
    tile, tile_overlap = _check_int("tile", tile), _check_int("tile_overlap", tile_overlap)
    if batch_input not in BATCH_INPUTS:
        raise SrbenchError(f"batch_input {batch_input!r} is not one of {', '.join(BATCH_INPUTS)}")

    if _is_module(model):
        kind = "nn.Module"
        moved = None
        if device is not None:
            from srbench.torch_utils import pick_device

            moved = str(pick_device(device))
            model.to(moved)
        identity = f"version:{version}" if version is not None else f"state_dict:{state_dict_sha256(model)}"
    elif callable(model):
        kind, moved = "callable", None
        for key, value, default in (("tile", tile, 0), ("device", device, None), ("batch_input", batch_input, "auto"),
                                    ("rounding", rounding, "half_away")):
            if value != default:
                raise SrbenchError(
                    f"{key}={value!r} applies to a torch.nn.Module; a plain callable gets the HxWx3 uint8 LR and "
                    "does its own work"
                )
        identity = f"version:{version}" if version is not None else None
    else:
        raise SrbenchError(
            f"model must be a callable f(lr) -> sr or a torch.nn.Module, got a {type(model).__name__}"
        )

    info = MethodInfo(
        name=label,
        title=label,
        paper="in-process model (srbench.evaluate)",
        scales=scales_t,
        stochastic=False,
        protocols=("rgb",),
        learned=False,
        adapter_version=ADAPTER_VERSION,
        rounding=rounding,
        options=(),
        notes=f"{kind} {_qualname(model, of_class=kind == 'nn.Module')} evaluated in process; identity: "
              f"{identity or 'none'}",
    )
    return InProcessMethod(label=label, info=info, identity_text=identity, model=model, kind=kind,
                           rounding=rounding, tile=tile, tile_overlap=tile_overlap, device=moved,
                           batch_input=batch_input)
