"""Weight files that learned metrics load through the *standard* caches (torch hub, pyiqa).

The metrics of this package do not keep their weights in srbench's own cache: they use the files that
torchvision, ``pytorch-fid`` and ``pyiqa`` themselves look for, so a machine that already has them (or
an offline mirror used as ``TORCH_HOME``) needs no second copy:

* ``$TORCH_HOME/hub/checkpoints/<file>`` - torchvision backbones (LPIPS) and the FID Inception;
* ``$TORCH_HOME/hub/pyiqa/<file>`` - pyiqa's NIQE / NRQM parameter files.

``$TORCH_HOME/hub`` is what ``torch.hub.get_dir()`` returns (``$TORCH_HOME/hub`` if ``TORCH_HOME`` is
set, else ``$XDG_CACHE_HOME/torch/hub``, else ``~/.cache/torch/hub``), computed by the same rule without
importing torch (``srbench list`` stays fast) and read anew on every call so that a changed
``TORCH_HOME`` is honoured; a folder set with ``torch.hub.set_dir`` is honoured when torch is loaded.

:func:`resolve` returns the path of a present file. A missing file is downloaded from the declared URL
unless srbench is offline (``SRBENCH_OFFLINE=1`` / ``--offline``); when that is not possible a
:class:`~srbench.errors.WeightsError` names the file, where to download it and the folder to put it in.
A file that is present but damaged (or replaced by something else) is a WeightsError from
:func:`load_torch` / :func:`damaged_weights_error` that names it and says how to replace it
(:func:`remedy`). :func:`status` / :func:`metric_status` say whether the files are there, without
loading or downloading anything (for ``srbench list``).
The sha256 recorded in provenance is that of the file actually found (computed once per file
version), never a hard-coded upstream value: some mirrors carry re-packed files.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from srbench.errors import WeightsError
from srbench.metrics.base import MetricWeight

__all__ = [
    "cache_dir",
    "damaged_weights_error",
    "file_record",
    "hub_dir",
    "load_torch",
    "metric_status",
    "missing_weights_error",
    "package_versions",
    "remedy",
    "resolve",
    "sha256_of",
    "status",
]

_lock = threading.Lock()
_sha_cache: dict[tuple[str, int, int], str] = {}


def hub_dir() -> Path:
    """``torch.hub.get_dir()`` (``$TORCH_HOME/hub``), without importing torch.

    torch.hub's rule: ``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``, else ``~/.cache/torch``, plus
    ``hub``. When torch.hub is already imported its ``get_dir()`` is asked (it honours ``set_dir``).
    """
    hub = sys.modules.get("torch.hub")
    if hub is not None and hasattr(hub, "get_dir"):
        return Path(hub.get_dir())
    home = os.getenv("TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch"))
    return Path(os.path.expanduser(home)) / "hub"


def cache_dir(weight: MetricWeight) -> Path:
    """The folder ``weight.cache`` names, e.g. ``$TORCH_HOME/hub/checkpoints/`` -> an absolute path."""
    spec = weight.cache.strip()
    prefix = "$TORCH_HOME/hub"
    if spec.startswith(prefix):
        rest = spec[len(prefix):].strip("/")
        return hub_dir() / rest if rest else hub_dir()
    return Path(os.path.expandvars(os.path.expanduser(spec)))


def missing_weights_error(weight: MetricWeight, metric: str, reason: str = "") -> WeightsError:
    folder = cache_dir(weight)
    lines = [
        f"metric {metric!r} needs the weight file {weight.file}, which is not in {folder}"
        + (f" ({reason})" if reason else "") + ".",
        f"  download: {weight.url}",
        f"  put it in: {folder}{os.sep}{weight.file}",
        f"  ({weight.cache}; that folder is $TORCH_HOME/hub, set TORCH_HOME to use another cache)",
    ]
    if weight.used_by:
        lines.append(f"  used by: {weight.used_by}")
    return WeightsError("\n".join(lines))


def remedy(weight: MetricWeight, path: str | Path | None = None) -> str:
    """How to replace a damaged copy of ``weight`` (for error messages)."""
    path = Path(path) if path is not None else cache_dir(weight) / weight.file
    return (f"delete {path}: srbench downloads it again from {weight.url} on its next run that is not "
            f"offline; or put the genuine {weight.file} there (e.g. copied from a machine that has it)")


def damaged_weights_error(weight: MetricWeight, metric: str, path: str | Path, reason: str) -> WeightsError:
    """The file is there but unusable: name it, say why, say how to replace it."""
    path = Path(path)
    return WeightsError(
        f"metric {metric!r}: the weight file {path} is damaged or not the {weight.file} it should be "
        f"({reason}). {remedy(weight, path)[:1].upper()}{remedy(weight, path)[1:]}."
    )


def load_torch(weight: MetricWeight, metric: str, path: str | Path):
    """``torch.load(weights_only=True)`` of a metric's weight file through :mod:`srbench.safe_load`: a
    damaged, truncated or malicious file is a WeightsError that names it and says how to replace it."""
    from srbench.safe_load import torch_load_safe

    return torch_load_safe(path, f"metric {metric!r} weight file", remedy(weight, path))


def status(weight: MetricWeight) -> str:
    """``present``, ``empty`` (a 0-byte file: damaged) or ``missing``; nothing is loaded or downloaded."""
    path = cache_dir(weight) / weight.file
    try:
        size = path.stat().st_size if path.is_file() else None
    except OSError:
        size = None
    if size is None:
        return "missing"
    return "present" if size > 0 else "empty"


def metric_status(weights, offline: bool | None = None) -> str:
    """What ``srbench list metrics`` says about a metric's weight files (``MetricInfo.weights``):

    * ``available`` - every file is in its cache (or the metric needs none);
    * ``weights missing`` - a file is absent or empty and cannot be fetched now (offline, or no URL);
    * ``weights not cached (downloaded on first use)`` - absent, online, and every absent file has a URL;
    * ``weights damaged (empty file)`` - a file is there with 0 bytes (delete it).
    """
    states = [status(w) for w in weights]
    if "empty" in states:
        return "weights damaged (empty file)"
    absent = [w for w, st in zip(weights, states) if st != "present"]
    if not absent:
        return "available"
    is_offline = _offline() if offline is None else offline
    if is_offline or not all(w.url for w in absent):
        return "weights missing"
    return "weights not cached (downloaded on first use)"


def _offline() -> bool:
    try:
        from srbench.paths import offline
    except ImportError:  # pragma: no cover - paths is a core module
        return os.environ.get("SRBENCH_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    return offline()


def _download(weight: MetricWeight, dest: Path) -> None:
    """Download to a temporary file next to ``dest``, then move it into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{weight.file}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        try:
            from torch.hub import download_url_to_file

            # torchvision's files carry the first hex digits of their sha256 in the name
            # ("alexnet-owt-7be5be79.pth") and torchvision checks that prefix on download; do the same.
            prefix = None
            if "download.pytorch.org/models/" in weight.url:
                stem = weight.file.rsplit(".", 1)[0]
                cand = stem.rsplit("-", 1)[-1]
                if len(cand) >= 8 and all(c in "0123456789abcdef" for c in cand):
                    prefix = cand
            download_url_to_file(weight.url, tmp, hash_prefix=prefix, progress=False)
        except ImportError:
            import urllib.request

            with urllib.request.urlopen(weight.url, timeout=60) as r, open(tmp, "wb") as f:
                shutil.copyfileobj(r, f)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def resolve(weight: MetricWeight, metric: str, download: bool | None = None) -> Path:
    """Path of ``weight`` in its standard cache; download it if missing and allowed, else WeightsError."""
    path = cache_dir(weight) / weight.file
    if path.is_file():
        return path
    if download is None:
        download = not _offline()
    if not download:
        raise missing_weights_error(weight, metric, "offline: SRBENCH_OFFLINE is set")
    try:
        _download(weight, path)
    except Exception as exc:  # network errors, hash mismatch, read-only cache ...
        raise missing_weights_error(weight, metric, f"download failed: {type(exc).__name__}: {exc}") from exc
    return path


def sha256_of(path: str | Path) -> str:
    """sha256 of a file, computed once per (path, size, mtime)."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    with _lock:
        hit = _sha_cache.get(key)
    if hit is None:
        from srbench.hashing import sha256_file

        hit = sha256_file(p)
        with _lock:
            _sha_cache[key] = hit
    return hit


def file_record(path: str | Path, source: str = "") -> dict[str, Any]:
    p = Path(path)
    rec: dict[str, Any] = {"path": str(p), "sha256": sha256_of(p), "size": p.stat().st_size}
    if source:
        rec["source"] = source
    return rec


def package_versions(*names: str) -> dict[str, str]:
    """Installed versions of the given distributions (missing ones are left out)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for n in names:
        try:
            out[n] = version(n)
        except PackageNotFoundError:
            pass
    return out
