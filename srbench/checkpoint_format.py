"""srbench's checkpoint format for user-trained weights: safetensors + a small JSON config.

Methods whose authors released no weights (CycleSR, SSRVAE, the DTU hierarchical-VAE project ...) run
only on checkpoints that users train. Such a checkpoint is one ``.safetensors`` file:

* the tensors are the model's ``state_dict`` (every parameter and buffer, float32 as trained; loaded
  with ``strict=True``, so nothing may be missing or left over);
* the safetensors header's ``__metadata__`` holds one entry, ``"srbench_config"``: a JSON object that
  describes the architecture, so the adapter can build the model before loading the tensors::

      {"format": "srbench-checkpoint", "format_version": 1,
       "arch": "cyclesr.vdsr",            # which network (each adapter documents its names)
       "scale": 4,                        # upscaling factor the network was trained for
       "arch_params": {"nf": 64, ...},    # hyper-parameters of that network
       "method": "cyclesr", "variant": "vdsr",          # optional, informative
       "srbench_version": "0.1.0", "created": "2024-...Z",
       "training": {...}}                 # free-form notes: data, losses, iterations, seed ...

A human-readable copy of the same JSON is written next to the file (``<file>.json``) by
:func:`save_checkpoint`; it is only *read* for checkpoints whose header has no config (weights trained
outside srbench and converted by hand). The embedded config always wins, so copying or importing the
single ``.safetensors`` file is enough. File names ending in ``.srbench.safetensors`` are recorded with
provenance ``trained`` in run manifests (see :mod:`srbench.weights`).

Nothing here unpickles anything: safetensors holds raw tensors, and other files go through
:func:`srbench.weights.load_checkpoint` (``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from srbench.errors import WeightsError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "METADATA_KEY",
    "check_config",
    "load_checkpoint_with_config",
    "read_config",
    "save_checkpoint",
    "sidecar_path",
    "single_weight",
]

FORMAT = "srbench-checkpoint"
FORMAT_VERSION = 1
METADATA_KEY = "srbench_config"


def sidecar_path(path: str | Path) -> Path:
    """``model.srbench.safetensors`` -> ``model.srbench.safetensors.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def _state_of(model_or_state: Any) -> dict[str, Any]:
    state = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") else model_or_state
    if not isinstance(state, Mapping):
        raise TypeError(f"expected a torch module or a state dict, got {type(model_or_state).__name__}")
    import torch

    out = {}
    for k, v in state.items():
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"state entry {k!r} is a {type(v).__name__}, not a tensor")
        # safetensors refuses tensors that share memory; a contiguous CPU copy of each is always accepted
        out[k] = v.detach().to("cpu").contiguous().clone()
    return out


def _json_ready(config: Mapping[str, Any]) -> dict[str, Any]:
    try:
        text = json.dumps(dict(config), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"checkpoint config must be plain JSON (str/int/float/bool/list/dict): {exc}") from exc
    return json.loads(text)


def save_checkpoint(model: Any, path: str | Path, config: Mapping[str, Any], sidecar: bool = True) -> Path:
    """Write ``model``'s state dict and ``config`` as an srbench checkpoint; return the path.

    ``model`` is a torch module (its ``state_dict()`` is saved) or a state dict. When the module has a
    ``checkpoint_config()`` method (every srbench network built for trained-only methods has one), its
    ``arch``/``scale``/``arch_params`` are used for the keys ``config`` does not give. ``config`` must
    then hold at least ``arch``; ``format``, ``format_version``, ``srbench_version`` and ``created`` are
    filled in. ``path`` must end in ``.safetensors`` (``.srbench.safetensors`` recommended).
    """
    from safetensors.torch import save_file

    import srbench

    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"{path}: srbench checkpoints are .safetensors files")
    base: dict[str, Any] = {}
    if hasattr(model, "checkpoint_config"):
        base.update(model.checkpoint_config())
    base.update(dict(config))
    if not base.get("arch"):
        raise ValueError("checkpoint config needs 'arch' (the network's name)")
    base.setdefault("arch_params", {})
    base["format"] = FORMAT
    base["format_version"] = FORMAT_VERSION
    base.setdefault("srbench_version", srbench.__version__)
    base.setdefault("created", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    cfg = _json_ready(base)
    state = _state_of(model)
    for k, v in state.items():
        if v.is_floating_point() and not bool(v.isfinite().all()):
            raise ValueError(f"refusing to save a checkpoint with non-finite values in {k!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={METADATA_KEY: json.dumps(cfg, sort_keys=True)})
    if sidecar:
        sidecar_path(path).write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _embedded_config(path: Path) -> dict[str, Any] | None:
    from srbench.safe_load import safetensors_metadata_safe

    meta = safetensors_metadata_safe(path, "checkpoint", "save it again with srbench.checkpoint_format.save_checkpoint, "
                                                         "or copy it again from where it was trained")
    text = meta.get(METADATA_KEY)
    if text is None:
        return None
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WeightsError(f"{path}: the embedded srbench config is not valid JSON: {exc}") from exc
    if not isinstance(cfg, dict):
        raise WeightsError(f"{path}: the embedded srbench config is not a JSON object")
    return cfg


def read_config(path: str | Path) -> dict[str, Any] | None:
    """The config of a checkpoint: embedded in a safetensors header, else ``<file>.json``, else None."""
    path = Path(path)
    cfg = _embedded_config(path) if path.suffix == ".safetensors" else None
    if cfg is None:
        side = sidecar_path(path)
        if side.is_file():
            try:
                cfg = json.loads(side.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise WeightsError(f"{side}: not valid JSON: {exc}") from exc
            if not isinstance(cfg, dict):
                raise WeightsError(f"{side}: not a JSON object")
    if cfg is not None:
        fmt, ver = cfg.get("format", FORMAT), cfg.get("format_version", FORMAT_VERSION)
        if fmt != FORMAT:
            raise WeightsError(f"{path}: config format {fmt!r} is not {FORMAT!r}")
        if not isinstance(ver, int) or ver > FORMAT_VERSION:
            raise WeightsError(
                f"{path}: checkpoint format version {ver!r} is newer than this srbench understands "
                f"({FORMAT_VERSION}); update srbench"
            )
    return cfg


def load_checkpoint_with_config(path: str | Path, require_config: bool = True) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``(state_dict, config)`` of a checkpoint; WeightsError when it cannot be read.

    With ``require_config=False`` a plain state dict without config (e.g. one saved by the authors'
    training code) is returned with ``config=None``; the adapter may then infer the architecture
    from the tensor shapes.
    """
    from srbench.weights import load_checkpoint

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"checkpoint {path} does not exist")
    cfg = read_config(path)
    if cfg is None and require_config:
        raise WeightsError(
            f"{path} has no srbench config (neither in its safetensors header nor in {sidecar_path(path).name}); "
            "save it with srbench.checkpoint_format.save_checkpoint, or write that JSON file (see docs/checkpoints.md)"
        )
    state = load_checkpoint(path)
    return state, cfg


def single_weight(weights: Mapping[str, Any] | None, method: str, what: str = "weights", scale: int | None = None):
    """The one ResolvedWeight a trained-only method was given; WeightsError when there is none.

    srbench never runs a learned network with random weights: with no checkpoint the adapter refuses.
    With ``scale``, files declared for another scale (``WeightFile.scale``) are ignored, so a loader can
    be handed every file of a variant.
    """
    if weights and scale is not None:
        weights = {
            k: v for k, v in weights.items() if getattr(getattr(v, "file", None), "scale", None) in (None, scale)
        }
    if not weights:
        raise WeightsError(
            f"{method}: no checkpoint given"
            + (f" for x{scale}" if scale is not None else "")
            + f". The authors released no {what}; train the network "
            "(see docs/checkpoints.md) and pass it with `srbench run --weights "
            f"{method}=/path/to/file.srbench.safetensors` or `srbench weights import {method} FILE`."
        )
    if len(weights) != 1:
        raise WeightsError(f"{method}: expected one checkpoint file, got {sorted(weights)}")
    return next(iter(weights.values()))


def check_config(cfg: Mapping[str, Any], path: str | Path, arch: str | tuple[str, ...], scale: int | None) -> dict[str, Any]:
    """Check that a checkpoint config names ``arch`` (one of) and ``scale``; return its arch_params."""
    archs = (arch,) if isinstance(arch, str) else tuple(arch)
    got = cfg.get("arch")
    if got not in archs:
        raise WeightsError(f"{path}: checkpoint is for architecture {got!r}, expected {' or '.join(map(repr, archs))}")
    if scale is not None:
        cs = cfg.get("scale")
        if cs is not None and (not isinstance(cs, (int, float)) or math.isnan(float(cs)) or int(cs) != int(scale)):
            raise WeightsError(f"{path}: checkpoint was trained for x{cs}, not x{scale}")
    params = cfg.get("arch_params", {})
    if not isinstance(params, dict):
        raise WeightsError(f"{path}: 'arch_params' must be a JSON object")
    return dict(params)


#: beside a checkpoint in a method's released layout that srbench trained: its config and provenance (JSON)
TRAINED_MARKER_SUFFIX = ".srbench-trained"


def save_released_layout(model: Any, path: str | Path, config: Mapping[str, Any]) -> Path:
    """Write ``model``'s state dict in a method's *released* layout (a plain tensor dict, ``torch.save``; read
    back with ``torch.load(weights_only=True)`` like the official file) under the released name ``path``, and
    ``<path>.srbench-trained`` beside it: ``config`` (arch, method, scale, training provenance ...) as JSON.
    For methods whose released checkpoints are .pth files (dSRVAE, RefVAE): srbench-trained weights then load
    exactly like the official ones, in srbench and in the official test scripts. Refuses non-finite weights."""
    import torch

    import srbench

    path = Path(path)
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in _state_of(model).items()}
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(v.isfinite().all())]
    if bad:
        raise ValueError(f"refusing to write {path.name}: non-finite values in {bad[0]!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    torch.save(state, tmp)
    tmp.replace(path)
    cfg = {"format": "srbench-trained", "srbench_version": srbench.__version__, **_json_ready(config)}
    path.with_name(path.name + TRAINED_MARKER_SUFFIX).write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n",
                                                                  encoding="utf-8")
    return path
