"""Standard-cache weight files: resolution, the download path (with file:// URLs), errors, sha256."""

from __future__ import annotations

import functools

import hashlib

import pytest

from srbench.errors import WeightsError
from srbench.metrics.base import MetricWeight
from srbench.metrics.weights_cache import cache_dir, resolve, sha256_of


def test_cache_dir_follows_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    w = MetricWeight(file="x.pth", cache="$TORCH_HOME/hub/checkpoints/", url="https://example.invalid/x.pth")
    assert cache_dir(w) == tmp_path / "hub" / "checkpoints"
    assert cache_dir(MetricWeight("y.mat", "$TORCH_HOME/hub/pyiqa/", "u")) == tmp_path / "hub" / "pyiqa"


def test_download_when_online_and_error_when_offline(tmp_path, monkeypatch):
    src = tmp_path / "src" / "model.mat"
    src.parent.mkdir()
    src.write_bytes(b"weights")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    w = MetricWeight(file="model.mat", cache="$TORCH_HOME/hub/pyiqa/", url=src.as_uri())

    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    with pytest.raises(WeightsError, match="offline") as err:
        resolve(w, "nrqm")
    assert "model.mat" in str(err.value) and src.as_uri() in str(err.value)

    monkeypatch.delenv("SRBENCH_OFFLINE")
    path = resolve(w, "nrqm")
    assert path == tmp_path / "home" / "hub" / "pyiqa" / "model.mat" and path.read_bytes() == b"weights"
    assert sha256_of(path) == hashlib.sha256(b"weights").hexdigest()
    assert [p.name for p in path.parent.iterdir()] == ["model.mat"]  # no partial files left behind

    bad = MetricWeight(file="gone.mat", cache="$TORCH_HOME/hub/pyiqa/", url=(tmp_path / "nope.mat").as_uri())
    with pytest.raises(WeightsError, match="download failed") as err:
        resolve(bad, "nrqm")
    assert str(tmp_path / "home" / "hub" / "pyiqa") in str(err.value)
    assert not (tmp_path / "home" / "hub" / "pyiqa" / "gone.mat").exists()


# ---------------------------------------------------------------- $TORCH_HOME/hub without torch


def _hub_dir_in_subprocess(env: dict, ask_torch: bool) -> tuple[str, bool]:
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        + ("import torch.hub; d = torch.hub.get_dir()\n" if ask_torch else
           "from srbench.metrics.weights_cache import hub_dir; d = str(hub_dir())\n")
        + "print(json.dumps([d, 'torch' in sys.modules]))\n"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("TORCH_HOME", "XDG_CACHE_HOME")}
    r = subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return out[0], out[1]


@pytest.mark.parametrize("which", ["TORCH_HOME", "XDG_CACHE_HOME", "HOME"])
def test_hub_dir_follows_torch_hub_rule_without_importing_torch(tmp_path, which):
    env = {"HOME": str(tmp_path / "home")}
    if which == "TORCH_HOME":
        env["TORCH_HOME"] = str(tmp_path / "th")
        env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")  # TORCH_HOME wins
    elif which == "XDG_CACHE_HOME":
        env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    ours, imported = _hub_dir_in_subprocess(env, ask_torch=False)
    theirs, _ = _hub_dir_in_subprocess(env, ask_torch=True)
    assert not imported  # `srbench list` must stay fast
    assert ours == theirs
    expect = {"TORCH_HOME": tmp_path / "th" / "hub", "XDG_CACHE_HOME": tmp_path / "xdg" / "torch" / "hub",
              "HOME": tmp_path / "home" / ".cache" / "torch" / "hub"}[which]
    assert ours == str(expect)


def test_hub_dir_honours_torch_hub_set_dir(tmp_path, monkeypatch):
    import torch.hub

    from srbench.metrics.weights_cache import hub_dir

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "env"))
    assert hub_dir() == tmp_path / "env" / "hub"
    monkeypatch.setattr(torch.hub, "_hub_dir", None)  # restored after the test
    torch.hub.set_dir(str(tmp_path / "set"))
    assert hub_dir() == tmp_path / "set"


# ---------------------------------------------------------------- status (srbench list)


def test_status_and_metric_status(tmp_path, monkeypatch):
    from srbench.metrics.weights_cache import metric_status, status

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    a = MetricWeight("a.pth", "$TORCH_HOME/hub/checkpoints/", "https://example.invalid/a.pth")
    b = MetricWeight("b.mat", "$TORCH_HOME/hub/pyiqa/", "https://example.invalid/b.mat")
    assert status(a) == status(b) == "missing"
    assert metric_status((), offline=True) == "available"
    assert metric_status((a, b), offline=True) == "weights missing"
    assert metric_status((a, b), offline=False) == "weights not cached (downloaded on first use)"
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    assert metric_status((a,)) == "weights missing"  # the environment decides when not told
    monkeypatch.delenv("SRBENCH_OFFLINE")
    assert metric_status((a,)) == "weights not cached (downloaded on first use)"
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "hub" / "checkpoints" / "a.pth").write_bytes(b"x")
    assert status(a) == "present" and metric_status((a,), offline=True) == "available"
    assert metric_status((a, b), offline=True) == "weights missing"
    (tmp_path / "hub" / "pyiqa").mkdir(parents=True)
    (tmp_path / "hub" / "pyiqa" / "b.mat").write_bytes(b"")
    assert status(b) == "empty" and metric_status((a, b), offline=False) == "weights damaged (empty file)"


def test_registered_metrics_report_their_weights(empty_torch_home, monkeypatch):
    from srbench import registry

    metrics = registry.metrics()
    for name in ("lpips", "lpips_vgg", "niqe", "nrqm", "pi", "fid", "fid_patch", "diversity"):
        assert metrics[name].weights, name
        assert metrics[name].weights_status() == "weights missing", name
        assert metrics[name].weights_status(offline=False) == "weights not cached (downloaded on first use)", name
    for name in ("psnr_y", "ssim_y", "lr_psnr", "lr_psnr_input"):
        assert metrics[name].weights_status() == "available", name


# ---------------------------------------------------------------- damaged files


def test_damaged_file_error_names_the_file_and_the_fix(tmp_path, monkeypatch):
    from srbench.metrics.weights_cache import load_torch

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    w = MetricWeight("net.pth", "$TORCH_HOME/hub/checkpoints/", "https://example.invalid/net.pth")
    path = tmp_path / "hub" / "checkpoints" / "net.pth"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"<html>rate limited</html>")
    with pytest.raises(WeightsError) as err:
        load_torch(w, "toymetric", path)
    msg = str(err.value)
    assert f"metric 'toymetric' weight file {path}" in msg and "HTML page" in msg and "damaged" in msg
    assert f"Delete {path}: srbench downloads it again from https://example.invalid/net.pth" in msg
    assert "weights_only" not in msg


# ---------------------------------------------------------------- factories are a complete pre-flight


def _metric_names():
    from srbench import registry

    return sorted(registry.metrics())


@pytest.mark.parametrize("name", _metric_names())
def test_factory_resolves_and_loads_its_weights(empty_torch_home, name):
    """Item 3: creating a metric loads its weight files, so a missing one fails before any SR image."""
    from srbench import registry

    info = registry.metrics()[name]
    if info.missing_requirements():
        pytest.skip(f"{name} needs {info.missing_requirements()}")
    factory = registry.import_object(info.factory)
    if info.reference_set:  # fid_ref: its factory also takes the reference set (--fid-ref)
        from srbench.reference_set import ReferenceSet

        factory = functools.partial(factory, reference=ReferenceSet("ref", "folder", "0" * 64, []))
    if info.weights:
        with pytest.raises(WeightsError) as err:
            factory(device="cpu", **dict(info.options))
        assert any(w.file in str(err.value) for w in info.weights)
        assert str(empty_torch_home / "hub") in str(err.value)
    else:
        assert callable(factory(device="cpu", **dict(info.options)))
