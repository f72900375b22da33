"""Where the tests find what is kept outside the repository, and the one rule for when it is missing.

Used by the fixtures of tests/conftest.py (``mirror``, ``benchmark_datasets``, ``in_mirror``, ``reference``,
``torch_weights``, ``torch_home``) and tests/metrics/conftest.py; tests use those fixtures.

* mirror roots: ``$SRBENCH_MIRROR`` (os.pathsep-separated), else ``../shared/mirror`` beside the repository;
  datasets under ``<root>/datasets/<name>/HR/``, other files (``weights/...``) under ``<root>/``;
* reference data: ``../shared/reference``, else the ``reference`` folder beside a mirror root;
* metric weights: ``$TORCH_HOME/hub/...``; TORCH_HOME defaults to ``<root>/torch``.

The rule (:func:`require`): CI (``CI`` set, or ``SRBENCH_REQUIRE_MIRROR=1``) fails; ``SRBENCH_TEST_DOWNLOAD=1``
lets a test run whose missing files srbench downloads itself; otherwise the test is skipped with a reason.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"


def flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in {"", "0", "false", "no", "off"}


#: a missing prerequisite is a failure (CI), never a skip
REQUIRE_MIRROR = flag("CI") or flag("SRBENCH_REQUIRE_MIRROR")
#: tests may download what srbench downloads itself (datasets of a run, metric weights)
TEST_DOWNLOAD = flag("SRBENCH_TEST_DOWNLOAD")


def set_up_environment() -> None:
    """Session defaults: SRBENCH_MIRROR (``../shared/mirror`` if unset and present), TORCH_HOME (the first
    mirror root's ``torch/``, if unset), and ``SRBENCH_OFFLINE=1`` unless ``SRBENCH_TEST_DOWNLOAD=1``."""
    if not os.environ.get("SRBENCH_MIRROR", "").strip() and (SHARED / "mirror").is_dir():
        os.environ["SRBENCH_MIRROR"] = str(SHARED / "mirror")
    if not os.environ.get("TORCH_HOME"):
        for root in mirror_roots():
            if (root / "torch").is_dir():
                os.environ["TORCH_HOME"] = str(root / "torch")
                break
    # `srbench run` from the CLI picks its worker count itself; tests that monkeypatch adapters into this
    # process need the work done here (the executor tests ask for workers explicitly)
    os.environ.setdefault("SRBENCH_WORKERS", "1")
    if TEST_DOWNLOAD:
        os.environ.pop("SRBENCH_OFFLINE", None)
    else:
        os.environ["SRBENCH_OFFLINE"] = "1"


def mirror_roots() -> list[Path]:
    return [Path(p).expanduser() for p in os.environ.get("SRBENCH_MIRROR", "").split(os.pathsep) if p.strip()]


def roots_text() -> str:
    return "SRBENCH_MIRROR=" + (os.pathsep.join(map(str, mirror_roots())) or f"(unset, and no {SHARED / 'mirror'})")


def torch_home() -> Path:
    """``$TORCH_HOME`` as torch resolves it (``$XDG_CACHE_HOME/torch`` or ``~/.cache/torch`` when unset)."""
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache")), "torch"
    )
    return Path(home).expanduser()


def _short(items: Sequence[str], n: int = 4) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


def require(what: str, missing: Sequence[str], *, where: str, downloadable: bool = False) -> None:
    """Return if nothing is ``missing``; otherwise fail (CI), let the test download, or skip.

    ``what`` names the prerequisite, ``missing`` the absent items, ``where`` the places searched.
    ``downloadable``: srbench fetches the items itself when allowed, so with ``SRBENCH_TEST_DOWNLOAD=1`` the
    test runs (and downloads) instead of skipping.
    """
    if not missing:
        return
    msg = f"{what} missing: {_short(list(missing))} ({where})"
    if REQUIRE_MIRROR:
        pytest.fail(f"{msg}; CI / SRBENCH_REQUIRE_MIRROR=1 must run with the offline mirror", pytrace=False)
    if downloadable and TEST_DOWNLOAD:
        return
    pytest.skip(msg + ("; or SRBENCH_TEST_DOWNLOAD=1 to download" if downloadable else ""))
