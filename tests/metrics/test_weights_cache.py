"""Standard-cache weight files: resolution, the download path (with file:// URLs), errors, sha256."""

from __future__ import annotations

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
