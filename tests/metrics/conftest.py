"""Fixtures for the learned / perceptual metric tests.

``torch_home`` (the TORCH_HOME with the mirror's metric weights) is in tests/conftest.py with the other
prerequisites, and follows their rule (skip, CI failure, ``SRBENCH_TEST_DOWNLOAD=1``).

* ``calib``: pyiqa's calibration images (``ResultsCalibra``, installed beside the ``pyiqa`` package).
* ``empty_torch_home``: an empty ``TORCH_HOME`` with ``SRBENCH_OFFLINE=1`` (missing-weights errors).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from helpers.prerequisites import require


@pytest.fixture(scope="session")
def calib() -> Path:
    spec = importlib.util.find_spec("pyiqa")
    where = "installed with srbench[all] (bash scripts/install.sh)"
    if spec is None or spec.origin is None:
        require("pyiqa's ResultsCalibra images (the calibration pairs)", ["the pyiqa package"], where=where)
    d = Path(spec.origin).resolve().parent.parent / "ResultsCalibra"
    require("pyiqa's ResultsCalibra images (the calibration pairs)",
            [] if (d / "dist_dir").is_dir() else [str(d / "dist_dir")], where=where)
    return d


@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "torch-home"
    home.mkdir()
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    return home
