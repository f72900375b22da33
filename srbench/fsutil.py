"""Atomic file writes with one file mode for everything srbench writes.

A file is written to a temporary file in the same folder and renamed into place, so an interrupted
write never leaves half a file. ``tempfile.mkstemp`` creates files readable by the owner only (0600);
every file srbench writes gets the mode an ordinary ``open(path, "w")`` would give instead
(``0666 & ~umask``, typically 0644), so the files of a run folder or a cache never differ in mode.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path


def file_mode() -> int:
    """``0o666 & ~umask`` (read without changing it where the platform allows)."""
    try:  # Linux: no race with other threads
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_path(path: str | Path, suffix: str = ""):
    """Yield a temporary path beside ``path``; on success it is given :func:`file_mode` and renamed to
    ``path``; on an exception it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def ensure_writable(folder: str | Path) -> Path:
    """Create ``folder`` (and parents) and prove a file can be written in it; ``OSError`` otherwise.

    A probe file, not ``os.access``: root passes every permission check, and a path through a regular
    file or a read-only mount only fails on an actual write."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / ".write-test"
    probe.write_text("ok")
    probe.unlink()
    return folder


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            f.write(text)


def atomic_write_with(path: str | Path, write: Callable[[Path], None], suffix: str = "") -> None:
    """``write(tmp_path)`` fills the temporary file; then it is moved into place."""
    with atomic_path(path, suffix) as tmp:
        write(tmp)
