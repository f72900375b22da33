"""Test-wide set-up: an isolated SRBENCH_HOME, and the offline mirror (../shared/mirror) when present.

Tests that need the mirror use the ``mirror`` fixture: it skips on a machine without ../shared, but in
CI (``CI`` set) a missing mirror is a failure, never a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
MIRROR = Path(os.environ["SRBENCH_MIRROR"].split(os.pathsep)[0]) if os.environ.get("SRBENCH_MIRROR") else SHARED / "mirror"
REFERENCE = SHARED / "reference"

if MIRROR.is_dir():
    os.environ.setdefault("SRBENCH_MIRROR", str(MIRROR))
    os.environ.setdefault("TORCH_HOME", str(MIRROR / "torch"))


def _need(path: Path, what: str):
    if path.exists():
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{what} not found at {path}; CI must run with ../shared beside the repository")
    pytest.skip(f"{what} not found at {path} (../shared is not beside the repository)")


@pytest.fixture(scope="session")
def mirror() -> Path:
    return _need(MIRROR / "datasets", "the offline mirror")


@pytest.fixture(scope="session")
def reference() -> Path:
    return _need(REFERENCE, "the reference data")


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory):
    """Each test session gets its own srbench cache unless SRBENCH_HOME is set by the caller."""
    if "SRBENCH_HOME" not in os.environ:
        os.environ["SRBENCH_HOME"] = str(tmp_path_factory.mktemp("srbench-home"))
        # this cache started empty in this session: tests may share what the code under test computed
        os.environ["SRBENCH_TEST_FRESH_HOME"] = os.environ["SRBENCH_HOME"]
    yield


@pytest.fixture
def fresh_home(tmp_path, monkeypatch) -> Path:
    """A private, empty srbench cache for one test."""
    home = tmp_path / "home"
    monkeypatch.setenv("SRBENCH_HOME", str(home))
    return home
