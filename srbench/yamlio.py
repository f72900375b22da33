"""YAML reading for srbench's declaration files (datasets.yaml, tolerances, reported tables).

PyYAML's C loader when the wheel has libyaml (``CSafeLoader``: datasets.yaml in 8 ms instead of 95 ms,
which every ``srbench`` command pays), else its pure-Python ``SafeLoader``; both build plain
Python objects only (no arbitrary tags)."""

from __future__ import annotations

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(stream):
    """``yaml.safe_load`` with the fastest safe loader available."""
    return yaml.load(stream, Loader=_LOADER)  # noqa: S506 - a safe loader
