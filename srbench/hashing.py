"""Content hashes used for verification and caching."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_pixels(arr: np.ndarray) -> str:
    """sha256 of the C-contiguous pixel buffer (the mirror's pixel-hash convention)."""
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def array_key(arr: np.ndarray) -> str:
    """Hash of pixels + shape + dtype (two arrays with the same bytes but other shapes differ)."""
    h = hashlib.sha256(f"{arr.shape}|{arr.dtype}|".encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def json_key(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()
