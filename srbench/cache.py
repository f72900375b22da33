"""Content-addressed caches under ``$SRBENCH_HOME/cache``: SR/LR images (raw ``.npy``) and metric values
(SQLite).

Keys are hashes of everything that determines the content (method, adapter version, weights sha256,
input pixels, scale, protocol, seed, sample index; metric name + version + SR/HR hashes). Images are raw
arrays, not PNG: encoding every SR/LR as PNG cost 23 % of a cold bicubic run's CPU and a PNG decode
costs more than reading the bytes. Writes are atomic (temporary file + rename; SQLite: one transaction
per batch of values), so an interrupted run keeps every finished image and value and a re-run resumes
where it stopped. Only the driver of a run writes the SQLite file (workers return their values).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import numpy as np

from srbench import paths
from srbench.errors import OutputDirError
from srbench.fsutil import atomic_write_with, ensure_writable


class ImageCache:
    def __init__(self, root: Path | None = None, kind: str = "sr"):
        self.root = (root or paths.home() / "cache") / kind

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        p = self.path(key)
        if not p.is_file():
            return None
        try:
            arr = np.load(p, allow_pickle=False)
            if arr.dtype != np.uint8 or arr.ndim not in (2, 3):
                raise ValueError(f"{arr.dtype} {arr.shape}")
            return arr
        except Exception:
            p.unlink(missing_ok=True)  # a damaged cache entry is recomputed, never trusted
            return None

    def put(self, key: str, img: np.ndarray) -> None:
        arr = np.ascontiguousarray(img)

        def write(tmp):
            with open(tmp, "wb") as f:
                np.save(f, arr, allow_pickle=False)

        atomic_write_with(self.path(key), write, suffix=".npy")


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
        self.put_many({key: value})

    def get_many(self, keys) -> dict:
        """key -> value for those of ``keys`` that are stored (one query per 500 keys)."""
        keys = list(keys)
        out = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                marks = ",".join("?" * len(chunk))
                for k, val in self._db.execute(f"SELECT k, val FROM v WHERE k IN ({marks})", chunk):
                    out[k] = json.loads(val)
        return out

    def put_many(self, items: dict) -> None:
        """Store several values in one transaction."""
        if not items:
            return
        with self._lock:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO v VALUES (?, ?)",
                                     [(k, json.dumps(v)) for k, v in items.items()])

    def close(self) -> None:
        self._db.close()
