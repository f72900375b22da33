"""The runner's stochastic path: n seeded samples per image, per-sample rows, diversity, caching."""

from __future__ import annotations

import dataclasses
import sys
import types

import numpy as np
import pytest

from srbench import registry
from srbench.conventions import quantize
from srbench.imresize import imresize
from srbench.method_api import SRModel
from srbench.results import load as load_results
from srbench.runner import RunConfig, run


class NoisyBicubic(SRModel):
    """Bicubic plus seeded noise: a stochastic method whose samples differ per seed and index."""

    calls = 0

    def __init__(self, scale):
        self.scale = scale

    def upscale(self, lr):
        return imresize(lr, self.scale)

    def sample(self, lr, n, seed, ref=None):
        NoisyBicubic.calls += 1
        rng = np.random.default_rng(seed)
        base = imresize(lr, self.scale).astype(np.float64)
        return [quantize(base + rng.normal(0, 8, base.shape)) for _ in range(n)]  # methods return uint8


def load_noisy(scale, device="cpu", weights=None, variant=None, options=None):
    return NoisyBicubic(scale)


@pytest.fixture
def with_noisy(monkeypatch):
    mod = types.ModuleType("srbench_test_noisy")
    mod.load = load_noisy
    monkeypatch.setitem(sys.modules, "srbench_test_noisy", mod)
    base = registry.methods()["bicubic"]
    noisy = dataclasses.replace(base, name="noisy", stochastic=True, protocols=("rgb",), loader="srbench_test_noisy:load")
    table = {**registry.methods(), "noisy": noisy}
    monkeypatch.setattr(registry, "methods", lambda: table)
    NoisyBicubic.calls = 0
    return noisy


def _cfg(tmp_path, name, **kw):
    return RunConfig(methods=["noisy", "bicubic"], datasets=["demo"], scales=[4], out=tmp_path / name,
                     metrics=["psnr_y", "diversity"], samples=3, seed=7, progress=False, **kw)


def test_samples_rows_diversity_and_cache(tmp_path, fresh_home, with_noisy, monkeypatch, lpips_weights):
    monkeypatch.setenv("SRBENCH_MIRROR", "")
    out = run(_cfg(tmp_path, "a", save_images=True))
    rows = {(r["method"], r["metric"]): r for r in load_results(out).rows()}
    # the stochastic method's samples differ, so its diversity is positive; bicubic's is 0 without copies
    assert rows[("noisy", "diversity")]["value"] > 0
    assert rows[("bicubic", "diversity")]["value"] == 0.0
    assert ("noisy", "lpips_mean") in rows and ("noisy", "lr_psnr_mean") in rows
    per_image = (out / "per_image.csv").read_text().splitlines()
    sample_rows = [r for r in per_image if r.startswith("noisy,demo,4,astronaut,psnr_y,")]
    assert len(sample_rows) == 4  # three samples + their mean
    assert (out / "images" / "noisy" / "demo" / "x4" / "astronaut" / "s2.png").is_file()
    calls = NoisyBicubic.calls
    assert calls == 4  # one sample() call per image
    # same seed: everything comes from the cache
    out2 = run(_cfg(tmp_path, "b"))
    assert NoisyBicubic.calls == calls
    assert load_results(out2).rows() == load_results(out).rows()


def test_other_seed_gives_other_samples(tmp_path, fresh_home, with_noisy, monkeypatch):
    monkeypatch.setenv("SRBENCH_MIRROR", "")
    cfg = _cfg(tmp_path, "a")
    cfg.metrics = ["psnr_y"]
    a = {(r["method"], r["metric"]): r["value"] for r in load_results(run(cfg)).rows()}
    cfg = _cfg(tmp_path, "b")
    cfg.seed, cfg.metrics = 8, ["psnr_y"]
    b = {(r["method"], r["metric"]): r["value"] for r in load_results(run(cfg)).rows()}
    assert a[("noisy", "psnr_y")] != b[("noisy", "psnr_y")]
    assert a[("bicubic", "psnr_y")] == b[("bicubic", "psnr_y")]
