"""Finding, verifying, importing and safely loading method checkpoints.

Resolution order for each file a method declares (``MethodInfo.variants[variant]``):

1. ``--weights METHOD=PATH`` on the command line (a file, or a folder holding the declared file names);
2. srbench's cache ``$SRBENCH_HOME/weights/<method>/<file>``;
3. download from the declared URLs with sha256 verification (not for ``manual`` Google-Drive files, not
   when offline).

A method whose weights are missing never runs: :class:`WeightsError` says where to get the file and
how to import it (``srbench weights import METHOD FILE``). Checkpoints are read with
``torch.load(weights_only=True)`` or safetensors, never by unpickling arbitrary objects.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from srbench.errors import WeightsError
from srbench.hashing import sha256_file
from srbench.method_api import MethodInfo, WeightFile
from srbench.paths import home, offline


@dataclass(frozen=True)
class ResolvedWeight:
    file: WeightFile
    path: Path
    sha256: str
    provenance: str  # official | user | download | trained

    def manifest(self) -> dict[str, str]:
        return {"sha256": self.sha256, "provenance": self.provenance, "path": str(self.path)}


def cache_dir(method: str) -> Path:
    return home() / "weights" / method


def files_for(info: MethodInfo, variant: str | None, scale: int | None = None) -> tuple[WeightFile, ...]:
    if not info.variants:
        return ()
    files = info.variants[variant or info.default_variant]
    if scale is not None and any(f.scale is not None for f in files):
        files = tuple(f for f in files if f.scale in (None, scale))
    return files


def _provenance(wf: WeightFile, digest: str, default: str) -> str:
    if wf.sha256 and digest == wf.sha256:
        return "official"
    return default


def _trained_marker(path: Path) -> bool:
    return path.with_suffix(path.suffix + ".srbench-trained").exists() or path.name.endswith(".srbench.safetensors")


def how_to_get(info: MethodInfo, wf: WeightFile) -> str:
    lines = [f"  {wf.name}" + (f" ({wf.size:,} bytes)" if wf.size else "")]
    if wf.source:
        lines.append(f"    from: {wf.source}")
    for url in wf.urls:
        lines.append(f"    url:  {url}")
    if wf.sha256:
        lines.append(f"    sha256: {wf.sha256}")
    lines.append(f"    then: srbench weights import {info.name} /path/to/{wf.name}")
    lines.append(f"    or:   srbench run --weights {info.name}=/path/to/{wf.name} ...")
    return "\n".join(lines)


def _download(wf: WeightFile, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in wf.urls:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
        os.close(fd)
        try:
            with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:  # noqa: S310 - declared URL
                shutil.copyfileobj(r, f)
            digest = sha256_file(tmp)
            if wf.sha256 and digest != wf.sha256:
                raise WeightsError(f"{url}: sha256 {digest} does not match the declared {wf.sha256}")
            os.replace(tmp, dest)
            return dest
        except Exception as exc:  # try the next URL
            errors.append(f"{url}: {exc}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise WeightsError("download failed:\n  " + "\n  ".join(errors))


def resolve(
    info: MethodInfo,
    variant: str | None = None,
    scale: int | None = None,
    overrides: Mapping[str, str | Path] | None = None,
    allow_download: bool | None = None,
) -> dict[str, ResolvedWeight]:
    """Find every weight file of ``info``/``variant``; raise WeightsError listing what is missing."""
    files = files_for(info, variant, scale)
    if not files:
        return {}
    override = (overrides or {}).get(info.name) or (overrides or {}).get(f"{info.name}:{variant}")
    allow_download = (not offline()) if allow_download is None else allow_download
    found: dict[str, ResolvedWeight] = {}
    missing: list[WeightFile] = []
    for wf in files:
        path = None
        prov = "user"
        if override:
            p = Path(override).expanduser()
            if p.is_dir():
                p = p / wf.name
            elif len(files) > 1 and p.name != wf.name:
                p = p.parent / wf.name
            if not p.is_file():
                raise WeightsError(f"--weights {info.name}={override}: {p} does not exist")
            path = p
            prov = "trained" if _trained_marker(p) else "user"
        else:
            cached = cache_dir(info.name) / wf.name
            if cached.is_file():
                path, prov = cached, ("trained" if _trained_marker(cached) else "user")
            elif wf.urls and not wf.manual and allow_download:
                path, prov = _download(wf, cached), "download"
        if path is None:
            missing.append(wf)
            continue
        digest = sha256_file(path)
        found[wf.name] = ResolvedWeight(wf, path, digest, _provenance(wf, digest, prov))
    if missing:
        why = "offline mode, downloads disabled" if not allow_download else "no automatic download for these files"
        raise WeightsError(
            f"method {info.name!r}"
            + (f" (variant {variant!r})" if variant else "")
            + f" needs weights that are not present ({why}); it will not run without them.\n"
            + "\n".join(how_to_get(info, wf) for wf in missing)
            + f"\n  cache folder: {cache_dir(info.name)}"
        )
    return found


def status(info: MethodInfo, variant: str | None = None) -> str:
    """"present", "missing", "downloadable" or "n/a" (for `srbench list`), without downloading."""
    files = files_for(info, variant)
    if not files:
        return "n/a"
    present = [(cache_dir(info.name) / wf.name).is_file() for wf in files]
    if all(present):
        return "present"
    if all(wf.urls and not wf.manual for wf, ok in zip(files, present) if not ok):
        return "downloadable"
    return "missing"


def import_file(info: MethodInfo, src: str | Path, variant: str | None = None, name: str | None = None) -> ResolvedWeight:
    """Copy a user-supplied checkpoint into the cache after checking it is one the method declares."""
    src = Path(src).expanduser()
    if not src.is_file():
        raise WeightsError(f"{src} is not a file")
    files = [wf for v in ([variant] if variant else list(info.variants)) for wf in info.variants.get(v, ())]
    if not files:
        raise WeightsError(f"method {info.name!r} declares no weight files")
    digest = sha256_file(src)
    match = [wf for wf in files if wf.sha256 and wf.sha256 == digest]
    if not match:
        match = [wf for wf in files if wf.name == (name or src.name)]
    if not match:
        names = ", ".join(sorted({wf.name for wf in files}))
        raise WeightsError(
            f"{src.name} (sha256 {digest}) is none of the files {info.name!r} declares ({names}); "
            "pass --name to say which one it is"
        )
    wf = match[0]
    # refuse anything that is not a loadable checkpoint before caching it
    load_checkpoint(src)
    dest = cache_dir(info.name) / wf.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
    os.close(fd)
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
    return ResolvedWeight(wf, dest, digest, _provenance(wf, digest, "user"))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a state dict without executing code: safetensors, or ``torch.load(weights_only=True)``."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return dict(load_file(str(path), device="cpu"))
        import torch

        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except WeightsError:
        raise
    except Exception as exc:
        raise WeightsError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(obj, dict):
        raise WeightsError(f"{path} holds a {type(obj).__name__}, not a state dict")
    return obj


def unwrap(state: Mapping[str, Any], *keys: str, strip_prefix: str = "") -> dict[str, Any]:
    """Take ``state[key]`` for the first key present (e.g. "params_ema", "params") and strip a prefix
    such as DataParallel's ``"module."``."""
    for k in keys:
        if k in state and isinstance(state[k], Mapping):
            state = state[k]
            break
    if strip_prefix:
        state = {(k[len(strip_prefix):] if k.startswith(strip_prefix) else k): v for k, v in state.items()}
    return dict(state)


def load_strict(model, state: Mapping[str, Any], source: str = "checkpoint", rename: Callable[[str], str] | None = None):
    """``model.load_state_dict(strict=True)`` with an error that lists missing/unexpected/misshaped keys."""
    if rename is not None:
        state = {rename(k): v for k, v in state.items()}
    own = model.state_dict()
    # checkpoints saved before PyTorch 0.4.1 have no BatchNorm step counters; they are not weights
    # (only used when momentum=None in training), so take the model's own
    state = dict(state)
    for k in set(own) - set(state):
        if k.endswith("num_batches_tracked"):
            state[k] = own[k]
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(state))
        if hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shapes:
        def head(xs):
            return ", ".join(xs[:8]) + (f" ... (+{len(xs) - 8})" if len(xs) > 8 else "")

        parts = []
        if missing:
            parts.append(f"missing keys: {head(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {head(unexpected)}")
        if shapes:
            parts.append(f"shape mismatches: {head(shapes)}")
        raise WeightsError(f"{source} does not fit {type(model).__name__}: " + "; ".join(parts))
    model.load_state_dict(state, strict=True)
    return model
