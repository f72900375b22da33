"""The one rule for tests whose data lives outside the repository (tests/helpers/prerequisites.py):
skip on a developer machine without ../shared, fail in CI, run (and download) when allowed."""

from __future__ import annotations

import pytest
from helpers import prerequisites as pre


@pytest.mark.parametrize("ci,download,downloadable,outcome", [
    (False, False, False, "skip"),
    (False, False, True, "skip"),
    (False, True, True, "run"),  # SRBENCH_TEST_DOWNLOAD=1 and srbench fetches it itself
    (False, True, False, "skip"),  # a file only the mirror has cannot be downloaded
    (True, False, True, "fail"),  # CI: a missing mirror is a failure, never a skip
    (True, True, True, "fail"),
])
def test_missing_prerequisite(monkeypatch, ci, download, downloadable, outcome):
    monkeypatch.setattr(pre, "REQUIRE_MIRROR", ci)
    monkeypatch.setattr(pre, "TEST_DOWNLOAD", download)
    expect = {"skip": pytest.skip.Exception, "fail": pytest.fail.Exception}.get(outcome)
    if expect is None:
        pre.require("the offline mirror", ["set5/baby"], where="nowhere", downloadable=downloadable)
        return
    with pytest.raises(expect, match=r"the offline mirror missing: set5/baby \(nowhere\)"):
        pre.require("the offline mirror", ["set5/baby"], where="nowhere", downloadable=downloadable)


def test_nothing_missing_runs(monkeypatch):
    monkeypatch.setattr(pre, "REQUIRE_MIRROR", True)
    assert pre.require("x", [], where="here") is None


def test_ci_run_requires_the_mirror():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "SRBENCH_REQUIRE_MIRROR=1" in text and "bash scripts/test.sh" in text
