"""Content-addressed caches under ``$SRBENCH_HOME/cache``: SR/LR images (PNG) and metric values (SQLite).

Keys are hashes of everything that determines the content (method, adapter version, weights sha256,
input pixels, scale, protocol, seed, sample index; metric name + version + SR/HR hashes). Writes are
atomic (PNG via temporary file + rename; SQLite commits per value), so an interrupted run keeps every
finished image and a re-run resumes where it stopped.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import numpy as np

from srbench import paths
from srbench.errors import OutputDirError
from srbench.fsutil import ensure_writable
from srbench.images import read_image, write_png


class ImageCache:
    def __init__(self, root: Path | None = None, kind: str = "sr"):
        self.root = (root or paths.home() / "cache") / kind

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.png"

    def get(self, key: str) -> np.ndarray | None:
        p = self.path(key)
        if not p.is_file():
            return None
        try:
            return read_image(p)
        except Exception:
            p.unlink(missing_ok=True)  # a damaged cache entry is recomputed, never trusted
            return None

    def put(self, key: str, img: np.ndarray) -> None:
        write_png(self.path(key), img)


class ValueCache:
    """Metric values: key -> JSON (a float or a dict of floats)."""

    def __init__(self, root: Path | None = None):
        path = (root or paths.home() / "cache") / "metrics.sqlite"
        self._lock = threading.Lock()
        try:
            ensure_writable(path.parent)
            self._db = sqlite3.connect(str(path), timeout=60, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS v (k TEXT PRIMARY KEY, val TEXT NOT NULL)")
            self._db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise OutputDirError(
                f"srbench's cache {path.parent} is not writable ({getattr(exc, 'strerror', None) or exc}); "
                "set SRBENCH_HOME to a writable folder"
            ) from exc

    def get(self, key: str):
        with self._lock:
            row = self._db.execute("SELECT val FROM v WHERE k = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO v VALUES (?, ?)", (key, json.dumps(value)))
            self._db.commit()

    def close(self) -> None:
        self._db.close()
