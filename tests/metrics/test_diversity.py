"""NTIRE21 diversity score: analytic cases of the numpy core, and golden values of the official code.

Golden values: tests/fixtures/ntire21/golden.json, printed by the official
andreas128/NTIRE21_Learning_SR_Space measure.py (see tests/fixtures/ntire21/README.md).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srbench.metrics.base import MetricContext
from srbench.metrics.diversity import (
    METRICS,
    OUTPUTS,
    diversity_from_maps,
    diversity_stats,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "ntire21"
GOLDEN = json.loads((FIX / "golden.json").read_text())

#: Tolerances against the official numbers. The official code averages LPIPS maps in float32, srbench
#: in float64: measured differences are < 1e-5 on the score (a percentage) and < 1e-8 on LPIPS.
TOL_SCORE = 1e-4
TOL_LPIPS = 1e-6
TOL_LR_PSNR = 1e-9


# ---------------------------------------------------------------- numpy core, analytic cases


def test_identical_maps_score_zero():
    rng = np.random.default_rng(0)
    m = rng.random((6, 5))
    assert diversity_from_maps(np.stack([m] * 4)) == 0.0
    assert diversity_from_maps(m[None]) == 0.0  # a single sample has no diversity


def test_disjoint_perfect_parts_closed_form():
    # n samples; sample k has distance a on its own region R_k (pixel fraction f_k, the R_k partition the
    # image) and b > a elsewhere. Map mean of sample k: a f_k + b (1 - f_k).
    #   global best = min_k = b - (b - a) f_max;   local best = a (every pixel has a sample at a)
    #   score = (b - a)(1 - f_max) / (b - (b - a) f_max) * 100
    # equal parts (f = 1/n): 100 (b - a)(n - 1) / ((n - 1) b + a); a = 0 gives 100.
    a, b, n, h, w = 0.1, 0.5, 4, 8, 12
    maps = np.full((n, h, w), b)
    for k in range(n):
        maps[k, k * h // n : (k + 1) * h // n] = a
    expected = 100 * (b - a) * (n - 1) / ((n - 1) * b + a)
    assert expected == pytest.approx(75.0)
    assert diversity_from_maps(maps) == pytest.approx(expected, abs=1e-12)
    maps0 = np.where(maps == a, 0.0, maps)
    assert diversity_from_maps(maps0) == pytest.approx(100.0, abs=1e-12)

    # unequal parts: columns split 2 / 4 / 6 of 12 -> f = 1/6, 1/3, 1/2
    maps = np.full((3, h, w), b)
    for k, (c0, c1) in enumerate([(0, 2), (2, 6), (6, 12)]):
        maps[k, :, c0:c1] = a
    fmax = 0.5
    expected = (b - a) * (1 - fmax) / (b - (b - a) * fmax) * 100
    s = diversity_stats(maps)
    assert s["diversity"] == pytest.approx(expected, abs=1e-12)
    assert s["lpips_best"] == pytest.approx(b - (b - a) * fmax, abs=1e-15)
    assert s["lpips_local_best"] == pytest.approx(a, abs=1e-15)
    assert s["lpips_mean"] == pytest.approx(np.mean([a * f + b * (1 - f) for f in (1 / 6, 1 / 3, 1 / 2)]))


def test_zero_global_best_is_nan():
    maps = np.zeros((3, 4, 4))
    maps[1] = 1.0
    assert math.isnan(diversity_from_maps(maps))


def test_bad_shape_raises():
    with pytest.raises(ValueError):
        diversity_from_maps(np.zeros((4, 4)))
    with pytest.raises(ValueError):
        diversity_from_maps(np.zeros((0, 4, 4)))


def test_metadata_and_light_import():
    (info,) = METRICS
    assert info.name == "diversity" and info.kind == "samples" and info.higher_is_better
    assert "NTIRE21_Learning_SR_Space" in info.reference
    assert set(OUTPUTS) == {
        "diversity",
        "lpips_mean",
        "lpips_best",
        "lpips_local_best",
        "lr_psnr_mean",
        "lr_psnr_worst",
    }
    code = "import sys, srbench.metrics.diversity; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- with LPIPS (official golden values)


@pytest.fixture(scope="module")
def metric(lpips_weights):
    pytest.importorskip("lpips")
    from srbench.metrics.diversity import diversity

    return diversity(device="cpu")


def _read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


def _load(scale: int, name: str):
    n = len(GOLDEN[f"x{scale}"]["per_sample"][name]["lr_psnr"])
    hr = _read(FIX / f"x{scale}" / "hr" / f"{name}.png")
    samples = [_read(FIX / f"x{scale}" / "sr" / f"{name}_s{k}.png") for k in range(n)]
    lr = _read(FIX / f"x{scale}" / "lr" / f"{name}.png")
    return samples, hr, MetricContext(scale=scale, lr=lr, image=name)


@pytest.mark.parametrize("scale", [4, 8])
def test_golden_official_measure(metric, scale):
    g = GOLDEN[f"x{scale}"]
    per_image = []
    for name in g["images"]:
        got = metric(*_load(scale, name))
        want = g["per_image"][name]
        assert got["diversity"] == pytest.approx(want["score"], abs=TOL_SCORE), name
        assert got["lpips_mean"] == pytest.approx(want["LPIPS_mean"], abs=TOL_LPIPS), name
        assert got["lr_psnr_mean"] == pytest.approx(want["LRPSNR_mean"], abs=TOL_LR_PSNR), name
        assert got["lr_psnr_worst"] == pytest.approx(want["LRPSNR_worst"], abs=TOL_LR_PSNR), name
        lp = g["per_sample"][name]["lpips"]
        assert got["lpips_best"] == pytest.approx(min(lp), abs=TOL_LPIPS), name
        per_image.append(got)
    # dataset value: mean over images of the per-image values (pandas DataFrame.mean in measure.py)
    mean = g["mean"]
    assert np.mean([r["diversity"] for r in per_image]) == pytest.approx(mean["score"], abs=TOL_SCORE)
    assert np.mean([r["lpips_mean"] for r in per_image]) == pytest.approx(mean["LPIPS_mean"], abs=TOL_LPIPS)
    assert np.mean([r["lr_psnr_mean"] for r in per_image]) == pytest.approx(mean["LRPSNR_mean"], abs=TOL_LR_PSNR)


def test_identical_samples_zero_and_exact_copy_nan(metric):
    samples, hr, ctx = _load(4, "img1")
    r = metric([samples[1]] * 3, hr, ctx)
    assert r["diversity"] == 0.0
    assert r["lpips_best"] == r["lpips_mean"] == r["lpips_local_best"]
    assert r["lr_psnr_mean"] == r["lr_psnr_worst"]
    assert set(r) == set(OUTPUTS)
    assert "lpips" in metric.provenance()
    # a sample equal to the HR: LPIPS map exactly 0, official score 0/0 -> NaN
    r = metric([samples[0], hr.copy()], hr, ctx)
    assert r["lpips_best"] == 0.0 and math.isnan(r["diversity"]) and r["lr_psnr_worst"] < math.inf


def test_samples_each_perfect_on_own_band(metric):
    # each sample equals the HR on its own band of rows and is the bicubic image elsewhere: more local
    # than global quality, so the score is clearly positive (LPIPS has a receptive field, no closed form)
    _samples, hr, ctx = _load(4, "img0")
    from srbench.imresize import imresize

    up = imresize(ctx.lr, 4)
    n, h = 4, hr.shape[0]
    banded = []
    for k in range(n):
        s = up.copy()
        s[k * h // n : (k + 1) * h // n] = hr[k * h // n : (k + 1) * h // n]
        banded.append(s)
    r = metric(banded, hr, ctx)
    assert 5 < r["diversity"] < 100
    assert r["lpips_local_best"] < r["lpips_best"] <= r["lpips_mean"]


def test_sample_shape_mismatch_raises(metric):
    samples, hr, ctx = _load(4, "img0")
    with pytest.raises(ValueError):
        metric([samples[0][:-4]], hr, ctx)
    with pytest.raises(ValueError):
        metric([], hr, ctx)


def _official_lpips_map(sr: np.ndarray, hr: np.ndarray) -> np.ndarray:
    """An independent reference: the official measure.py's computation, lpips.LPIPS(spatial=True) on
    2 * (uint8 / 255) - 1, with the lpips package loading its weights itself (through torchvision; a
    test-only path - srbench's own code never lets a library unpickle a weight file)."""
    import warnings

    import lpips
    import torch

    with warnings.catch_warnings():  # torchvision's 'pretrained' deprecation notice, raised inside lpips
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net="alex", version="0.1", spatial=True, verbose=False).eval()

    def t(img: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))[None].astype(np.float32)) / 255
        return 2 * x - 1

    with torch.no_grad():
        return model(t(sr), t(hr))[0, 0].double().numpy()


def test_backend_agrees_with_the_official_computation(metric):
    from srbench.metrics.lpips_backend import lpips_spatial_map

    samples, hr, _ = _load(4, "img1")
    a = lpips_spatial_map(samples[0], hr, net="alex", device="cpu")
    b = _official_lpips_map(samples[0], hr)
    assert a.shape == b.shape == hr.shape[:2]
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
