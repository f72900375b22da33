"""Downloading and safe extraction of dataset archives.

Extraction refuses absolute paths, ``..`` components, links and device files (tar and zip), and only
extracts the members under the declared prefix.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from srbench.errors import DatasetError
from srbench.hashing import sha256_file


def download(url: str, dest_dir: Path, sha256: str | None = None) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    name = PurePosixPath(urllib.request.urlparse(url).path).name or "download"
    dest = dest_dir / name
    if dest.is_file() and (sha256 is None or sha256_file(dest) == sha256):
        return dest
    fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=".part-")
    os.close(fd)
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:  # noqa: S310 - declared URL
            shutil.copyfileobj(r, f)
        if sha256 is not None:
            got = sha256_file(tmp)
            if got != sha256:
                raise DatasetError(f"{url}: archive sha256 {got} does not match the declared {sha256}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def _safe_name(name: str) -> PurePosixPath | None:
    p = PurePosixPath(name)
    if p.is_absolute() or any(part in ("..", "") for part in p.parts) or "\\" in name:
        return None
    return p


def safe_extract(archive: Path, dest: Path, prefix: str = "") -> list[Path]:
    """Extract regular files under ``prefix`` into ``dest``; returns the extracted paths."""
    dest.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                p = _safe_name(info.filename)
                if p is None:
                    raise DatasetError(f"{archive}: refusing unsafe member {info.filename!r}")
                if info.is_dir() or not info.filename.startswith(prefix):
                    continue
                mode = (info.external_attr >> 16) & 0o170000
                if mode and mode != 0o100000:  # symlinks and other non-regular entries
                    raise DatasetError(f"{archive}: refusing non-regular member {info.filename!r}")
                target = dest / p
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                out.append(target)
        return out
    try:
        tf = tarfile.open(archive)
    except tarfile.TarError as exc:
        raise DatasetError(f"{archive}: not a tar or zip archive ({exc})") from exc
    with tf:
        for m in tf:
            p = _safe_name(m.name)
            if p is None:
                raise DatasetError(f"{archive}: refusing unsafe member {m.name!r}")
            if not m.name.startswith(prefix) or m.isdir():
                continue
            if not m.isfile():
                raise DatasetError(f"{archive}: refusing non-regular member {m.name!r} (link or device)")
            target = dest / p
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tf.extractfile(m)
            with src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            out.append(target)
    return out
