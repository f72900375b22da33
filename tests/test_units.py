"""The plan step: unit keys known without pixels, cached units never scheduled, changed files re-verified."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from srbench import datasets as ds
from srbench.plan import RunConfig
from srbench.runner import run
from srbench.units import Group, WorkUnit, execution_order


def _cfg(out: Path, **kw) -> RunConfig:
    kw.setdefault("metrics", ["psnr_y", "ssim_y"])
    kw.setdefault("scales", [2, 4])
    return RunConfig(methods=["bicubic"], datasets=["demo"], out=out, progress=False, **kw)


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _computed(out: Path) -> tuple[int, int]:
    t = _manifest(out)["timings"].values()
    return sum(x["images_computed"] for x in t), sum(x["metric_values_computed"] for x in t)


@pytest.fixture
def own_demo(fresh_home):
    """The demo images copied into this test's cache (found there first), so their mtimes may change."""
    dest = ds.cache_root("demo") / "HR"
    dest.mkdir(parents=True)
    for ref in ds.resolve("demo").images:
        shutil.copy2(ref.path, dest / ref.path.name)
    ds.specs.cache_clear()
    yield dest
    ds.specs.cache_clear()


def test_a_warm_run_reads_no_image(tmp_path, own_demo, monkeypatch):
    first = run(_cfg(tmp_path / "a"))
    import srbench.datasets
    import srbench.images

    def no_read(*a, **k):
        raise AssertionError("a warm run decoded an image")

    monkeypatch.setattr(srbench.images, "read_image", no_read)
    monkeypatch.setattr(srbench.datasets, "read_image", no_read)
    second = run(_cfg(tmp_path / "b"))
    assert _manifest(second)["executor"] == "none (everything cached)"
    assert _computed(second) == (0, 0)
    for name in ("per_image.csv", "summary.csv"):
        assert (first / name).read_text() == (second / name).read_text()


def test_a_changed_file_is_verified_again_but_nothing_is_recomputed(tmp_path, own_demo):
    run(_cfg(tmp_path / "a"))
    f = sorted(own_demo.iterdir())[0]
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # same pixels, new mtime
    out = run(_cfg(tmp_path / "b"))
    assert _computed(out) == (0, 0)  # verified (read) again, every value from the cache
    assert _manifest(out)["executor"].startswith("serial")


def test_a_replaced_file_fails_its_hash(tmp_path, own_demo):
    import numpy as np

    from srbench.errors import DatasetError
    from srbench.images import read_image, write_png

    run(_cfg(tmp_path / "a"))
    f = sorted(own_demo.iterdir())[0]
    arr = read_image(f).copy()
    arr[0, 0] ^= np.uint8(1)
    write_png(f, arr)
    with pytest.raises(DatasetError, match="does not match the declared"):
        run(_cfg(tmp_path / "b"))


def test_new_metric_only_computes_that_metric(tmp_path, own_demo):
    run(_cfg(tmp_path / "a", metrics=["psnr_y"]))
    out = run(_cfg(tmp_path / "b", metrics=["psnr_y", "ssim_y"]))
    assert _computed(out) == (0, 4 * 2)  # SR from the cache, one new value per unit


def _group(i, method, dataset, scale, n):
    return Group(i, method, scale, dataset, "rgb", [], [], [], 1, n_images=n)


def test_execution_order_keeps_an_images_scales_together():
    groups = [_group(0, "m", "d", 2, 3), _group(1, "m", "d", 4, 3)]  # result order: x2 images, then x4 images
    units = [WorkUnit(i, i // 3, f"im{i % 3}") for i in range(6)]
    order = [(groups[u.group].scale, u.image) for u in execution_order(units, groups)]
    assert order == [(2, "im0"), (4, "im0"), (2, "im1"), (4, "im1"), (2, "im2"), (4, "im2")]
