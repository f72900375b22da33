"""Fixtures for the learned / perceptual metric tests.

* ``torch_home``: the offline ``TORCH_HOME`` (``../shared/mirror/torch``) with the LPIPS AlexNet, the FID
  Inception and the NIQE parameters. If ``TORCH_HOME`` is unset and the mirror exists it is set here.
  Missing: skipped on a developer machine, a failure in CI (``CI`` set).
* ``calib``: pyiqa's calibration images (``ResultsCalibra``, installed beside the ``pyiqa`` package).
* ``empty_torch_home``: an empty ``TORCH_HOME`` with ``SRBENCH_OFFLINE=1`` (missing-weights errors).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MIRROR_TORCH = REPO.parent / "shared" / "mirror" / "torch"

if "TORCH_HOME" not in os.environ and MIRROR_TORCH.is_dir():
    os.environ["TORCH_HOME"] = str(MIRROR_TORCH)

MIRROR_FILES = (
    "hub/checkpoints/alexnet-owt-7be5be79.pth",
    "hub/checkpoints/pt_inception-2015-12-05-6726825d.pth",
    "hub/pyiqa/niqe_modelparameters.mat",
)


def _missing(what: str):
    if os.environ.get("CI"):
        pytest.fail(f"{what}; CI must run with ../shared/mirror/torch as TORCH_HOME and srbench[all] installed")
    pytest.skip(what)


@pytest.fixture(scope="session")
def torch_home() -> Path:
    home = Path(os.environ.get("TORCH_HOME", MIRROR_TORCH))
    absent = [f for f in MIRROR_FILES if not (home / f).is_file()]
    if absent:
        _missing(f"TORCH_HOME={home} lacks {', '.join(absent)}")
    return home


@pytest.fixture(scope="session")
def calib() -> Path:
    spec = importlib.util.find_spec("pyiqa")
    if spec is None or spec.origin is None:
        _missing("pyiqa is not installed (its ResultsCalibra images are the calibration pairs)")
    d = Path(spec.origin).resolve().parent.parent / "ResultsCalibra"
    if not (d / "dist_dir").is_dir():
        _missing(f"pyiqa's calibration images not found at {d}")
    return d


@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "torch-home"
    home.mkdir()
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    return home

