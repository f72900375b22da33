"""Where srbench keeps its cache, and which mirrors it reads."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """``$SRBENCH_HOME``, else the platform's user cache dir (e.g. ``~/.cache/srbench``)."""
    env = os.environ.get("SRBENCH_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("srbench", appauthor=False))


def mirrors() -> list[Path]:
    """Read-only mirror roots from ``SRBENCH_MIRROR`` (os.pathsep-separated)."""
    env = os.environ.get("SRBENCH_MIRROR", "")
    return [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]


def offline() -> bool:
    return os.environ.get("SRBENCH_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
