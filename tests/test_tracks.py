"""Tracks: named protocols (datasets + scale + LR source + metrics + conventions + source)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from srbench import datasets as ds
from srbench import registry
from srbench.cli import main
from srbench.plan import RunConfig, plan
from srbench.results import load as load_results
from srbench.tracks import TRACKS, apply_track, get_track, readiness

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "leaderboards" / "baselines" / "bicubic.csv"

REQUIRED = {"ntire2020-rwsr-t1", "ntire2020-rwsr-t2", "ntire2017-t2-unknown", "ntire2018-t2-mild",
            "ntire2018-t4-wild", "ntire2021-srspace-x4", "ntire2021-srspace-x8", "realsrset-nr",
            "bicubic-x2", "bicubic-x3", "bicubic-x4"}


def test_the_seed_papers_tracks_are_declared_with_sources():
    assert REQUIRED <= set(TRACKS)
    for t in TRACKS.values():
        assert t.source and t.official and t.legs, t.name
        for leg in t.legs:
            spec = ds.get_spec(leg.dataset)  # every dataset is declared
            assert t.scale in spec.scales, (t.name, leg.dataset)
            for m in leg.metrics:
                assert m in registry.metrics(), (t.name, m)


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_track_plans(name):
    """Each track passes the run's checks (metric x protocol x dataset kind) for a method it can run."""
    cfg = RunConfig(methods=["bicubic"])
    apply_track(cfg, name)
    p = plan(cfg)
    assert [leg.spec.name for leg in p.legs] == get_track(name).datasets


def test_ntire18_and_realsrset_tracks_use_the_given_lr():
    from srbench.plan import lr_is_given

    for name in ("ntire2018-t2-mild", "ntire2018-t4-wild", "ntire2017-t2-unknown", "ntire2020-rwsr-t1",
                 "ntire2020-rwsr-t2", "realsrset-nr"):
        t = get_track(name)
        cfg = RunConfig(methods=["bicubic"])
        apply_track(cfg, name)
        assert all(lr_is_given(cfg, ds.get_spec(d), t.scale) for d in t.datasets), name


def test_bicubic_x4_track_reproduces_the_baseline(mirror, tmp_path, capsys):
    """The classic table as one track: each row through the pipeline that produced it (README table)."""
    out = tmp_path / "run"
    assert main(["run", "--track", "bicubic-x4", "-m", "bicubic", "--out", str(out), "--no-progress"]) == 0
    rows = {(r["dataset"], r["protocol"], r["metric"]): r["value"] for r in load_results(out).rows()}
    with open(BASELINE, newline="") as f:
        base = {(r["dataset"], r["protocol"], r["metric"]): float(r["value"])
                for r in csv.DictReader(line for line in f if not line.startswith("#")) if r["scale"] == "4"}
    expected = {("set5", "luma", "psnr_y"), ("set5", "luma", "ssim_y"), ("set14", "luma", "psnr_y"),
                ("set14", "luma", "ssim_y_matlab"), ("b100", "luma", "psnr_y"), ("b100", "luma", "ssim_y"),
                ("urban100", "rgb", "psnr_y"), ("urban100", "rgb", "ssim_y")}
    assert set(rows) == expected
    for key in expected:
        assert rows[key] == pytest.approx(base[key], abs=1e-12), key
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["track"] == "bicubic-x4" and [leg["protocol"]["x4"] for leg in manifest["legs"]] == ["luma", "luma", "luma", "rgb"]


def test_track_refuses_methods_without_the_legs_protocol(capsys, tmp_path):
    from srbench.registry import methods

    if "srgan" not in methods():
        pytest.skip("srgan adapter not registered")
    assert main(["run", "--track", "bicubic-x4", "-m", "srgan", "--out", str(tmp_path / "r")]) == 2
    assert "does not support the 'luma' protocol" in capsys.readouterr().err


def test_list_tracks_says_what_runs_offline(mirror, capsys, monkeypatch):
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    assert readiness(get_track("bicubic-x4")).runnable
    r = readiness(get_track("ntire2018-t2-mild"))
    assert not r.runnable and r.datasets["div2k_val_mild"].startswith("missing")
    assert main(["list", "tracks", "--verbose"]) == 0
    out = capsys.readouterr().out
    block = out[out.index("  bicubic-x4 "):]
    assert "runnable offline here" in block.splitlines()[1]
    assert "source: " in out and "paper table: CycleSR Table 1" in out
    mild = out[out.index("  ntire2018-t2-mild"):]
    assert "not runnable offline here" in mild.splitlines()[1]


def test_a_metric_defined_for_one_scale_is_refused_at_others(capsys, tmp_path):
    assert main(["run", "-m", "bicubic", "-d", "demo", "--scale", "2", "--metrics", "psnr_ntire18",
                 "--out", str(tmp_path / "r")]) == 2
    assert "metric psnr_ntire18 is defined for x4 only" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
