"""Runner wiring of per-scale weights, trained-checkpoint provenance and --degradation."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from srbench_methods.cyclesr.networks import VDSR  # noqa: E402

from srbench.checkpoint_format import save_checkpoint  # noqa: E402
from srbench.results import load as load_results  # noqa: E402


def _srbench(*args, env=None):
    return subprocess.run([sys.executable, "-m", "srbench", *args, "--no-progress"], capture_output=True, text=True, env=env)


@pytest.fixture
def x4_only_cyclesr(fresh_home):
    """A user-trained cyclesr (vdsr) checkpoint for x4 only, in the cache."""
    torch.manual_seed(0)
    net = VDSR(4, nf=8, nb=2).eval()
    path = save_checkpoint(net, fresh_home / "weights" / "cyclesr" / "cyclesr_vdsr_x4.srbench.safetensors", {})
    return path


def test_per_scale_weights_and_trained_provenance(tmp_path, x4_only_cyclesr, monkeypatch):
    import os

    env = {**os.environ, "SRBENCH_MIRROR": ""}
    out = tmp_path / "run"
    r = _srbench("run", "-m", "cyclesr", "-d", "demo", "--scale", "4", "--out", str(out), env=env)
    assert r.returncode == 0, r.stderr  # x2 weights are absent, but only x4 is asked for
    man = json.loads((out / "manifest.json").read_text())
    files = man["methods"]["cyclesr"]["weights"]
    assert list(files) == ["cyclesr_vdsr_x4.srbench.safetensors"]
    assert files["cyclesr_vdsr_x4.srbench.safetensors"]["provenance"] == "trained"
    assert man["methods"]["cyclesr"]["provenance"]["x4"]  # the loaded model's own provenance is recorded
    rows = load_results(out).rows()
    assert {r["weights_sha256"] for r in rows} == {files["cyclesr_vdsr_x4.srbench.safetensors"]["sha256"]}
    # x2 is refused with a message naming the missing file
    r2 = _srbench("run", "-m", "cyclesr", "-d", "demo", "--scale", "2", "--out", str(tmp_path / "run2"), env=env)
    assert r2.returncode == 2 and "cyclesr_vdsr_x2.srbench.safetensors" in r2.stderr


def test_degradation_changes_lr_and_labels_protocol(tmp_path, fresh_home):
    import os

    env = {**os.environ, "SRBENCH_MIRROR": ""}
    a = _srbench("run", "-m", "bicubic", "-d", "demo", "--out", str(tmp_path / "a"), env=env)
    b = _srbench("run", "-m", "bicubic", "-d", "demo", "--degradation", "hvae-gauss", "--out", str(tmp_path / "b"), env=env)
    assert a.returncode == 0 and b.returncode == 0, b.stderr
    ra = {r["metric"]: r for r in load_results(tmp_path / "a").rows()}
    rb = {r["metric"]: r for r in load_results(tmp_path / "b").rows()}
    assert ra["psnr_y"]["protocol"] == "rgb" and rb["psnr_y"]["protocol"] == "rgb:hvae-gauss"
    assert ra["psnr_y"]["value"] != rb["psnr_y"]["value"]
    man = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert man["degradation"]["name"] == "hvae-gauss"
    bad = _srbench("run", "-m", "bicubic", "-d", "demo", "--degradation", "hvae-gaus", "--out", str(tmp_path / "c"), env=env)
    assert bad.returncode == 2 and "Did you mean" in bad.stderr


def test_made_lr_is_cached_only_when_a_degradation_made_it(tmp_path, fresh_home, monkeypatch):
    """MATLAB bicubic LR is cheaper to redo than to read back: not stored. A degradation's LR is stored by
    content and a later run that needs the LR again reads it instead of degrading again."""
    import numpy as np

    from srbench import protocols
    from srbench.runner import RunConfig, run

    monkeypatch.setenv("SRBENCH_MIRROR", "")
    lr_cache = fresh_home / "cache" / "lr"
    run(RunConfig(methods=["bicubic"], datasets=["demo"], scales=[4], metrics=["psnr_y"], out=tmp_path / "a",
                  progress=False))
    assert not lr_cache.exists() or not any(lr_cache.rglob("*"))
    cfg = RunConfig(methods=["bicubic"], datasets=["demo"], scales=[4], metrics=["psnr_y"], out=tmp_path / "b",
                    progress=False, degradation="hvae-gauss")
    run(cfg)
    cached = sorted(lr_cache.rglob("*.npy"))
    assert len(cached) == 4
    assert all(np.load(p).dtype == np.uint8 for p in cached)
    real = protocols.prepare
    calls = []

    def must_reuse(hr, scale, protocol, degradation=None, seed=0, lr=None):
        calls.append(lr is not None)
        assert degradation is None or lr is not None, "LR was degraded again"
        return real(hr, scale, protocol, degradation, seed, lr=lr)

    monkeypatch.setattr(protocols, "prepare", must_reuse)
    cfg.metrics, cfg.out = ["psnr_y", "ssim_y"], tmp_path / "c"  # ssim_y is new: every unit runs again
    run(cfg)
    assert calls == [True] * 4
    b = (tmp_path / "b" / "summary.csv").read_text().splitlines()
    c = (tmp_path / "c" / "summary.csv").read_text().splitlines()
    assert [r for r in c if ",psnr_y," in r] == [r for r in b if ",psnr_y," in r]
