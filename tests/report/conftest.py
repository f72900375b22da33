"""Fixtures for the report tests (helpers live in report_fixtures.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_fixtures import COMPARE_ROWS, make_runs


@pytest.fixture(scope="session")
def fixture_runs(tmp_path_factory) -> list[Path]:
    return make_runs(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="session")
def site(fixture_runs, tmp_path_factory) -> Path:
    """The site built once for the session (with a compare file); returns the site folder."""
    import time

    from srbench.report import build_site

    root = tmp_path_factory.mktemp("site")
    compare = root / "compare.json"
    compare.write_text(json.dumps({"rows": COMPARE_ROWS}))
    t0 = time.perf_counter()
    index = build_site(fixture_runs, root / "site", compare)
    elapsed = time.perf_counter() - t0
    out = index.parent
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"\nreport fixture site: {elapsed:.2f} s, {size / 1024:.0f} KiB, {sum(1 for _ in out.rglob('*'))} files")
    return out
