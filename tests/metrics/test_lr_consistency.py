"""LR-PSNR (NTIRE21 "Learning the Super-Resolution Space") against the official code's numbers.

Golden values: tests/fixtures/ntire21/ (README.md there says how they were produced with the official
andreas128/NTIRE21_Learning_SR_Space measure.py + imresize.py).
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

from srbench.conventions import modcrop
from srbench.imresize import imresize
from srbench.metrics.base import MetricContext
from srbench.metrics.lr_consistency import (
    METRICS,
    crop_multiple,
    lr_psnr,
    lr_psnr_input,
    ntire_crop,
    ntire_imresize,
    psnr_uint8,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "ntire21"
GOLDEN = json.loads((FIX / "golden.json").read_text())

#: LR-PSNR is reproduced bit for bit (same resizer output, same float64 MSE): only float noise allowed.
TOL_LR_PSNR = 1e-9


def _read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


def _cases():
    for scale in (4, 8):
        for name in GOLDEN[f"x{scale}"]["images"]:
            yield scale, name


@pytest.mark.parametrize("key", ["out_hr_x1_4", "out_hr_x1_8", "out_rand_x1_3", "out_rand_x2", "out_grey_x4"])
def test_ntire_imresize_bit_exact_vs_official(key):
    ref = np.load(FIX / "official_imresize.npz")
    hr = _read(FIX / "x4" / "hr" / "img1.png")
    inputs = {
        "out_hr_x1_4": (hr, 1 / 4),
        "out_hr_x1_8": (hr, 1 / 8),
        "out_rand_x1_3": (ref["in_rand"], 1 / 3),
        "out_rand_x2": (ref["in_rand"], 2),
        "out_grey_x4": (ref["in_grey"], 4),
    }
    img, scale = inputs[key]
    out = ntire_imresize(img, scale)
    assert out.dtype == np.uint8 and out.shape == ref[key].shape
    np.testing.assert_array_equal(out, ref[key])


def test_ntire_imresize_differs_from_matlab_only_near_borders():
    # documented difference: mirrored borders + round-half-even vs MATLAB's clamped borders + half-away
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)
    a = ntire_imresize(img, 1 / 4).astype(int)
    b = imresize(img, 1 / 4).astype(int)
    assert a.shape == b.shape == (16, 12, 3)
    assert not np.array_equal(a[0], b[0])  # border rows differ
    assert np.abs(a[2:-2, 2:-2] - b[2:-2, 2:-2]).max() <= 1  # interior: at most a rounding tie


@pytest.mark.parametrize("scale,name", list(_cases()))
def test_lr_psnr_golden(scale, name):
    hr = _read(FIX / f"x{scale}" / "hr" / f"{name}.png")
    lr = _read(FIX / f"x{scale}" / "lr" / f"{name}.png")
    ctx = MetricContext(scale=scale, lr=lr, image=name)
    f = lr_psnr()
    expected = GOLDEN[f"x{scale}"]["per_sample"][name]["lr_psnr"]
    got = [f(_read(FIX / f"x{scale}" / "sr" / f"{name}_s{k}.png"), hr, ctx) for k in range(len(expected))]
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL_LR_PSNR)
    per_image = GOLDEN[f"x{scale}"]["per_image"][name]
    assert abs(np.mean(got) - per_image["LRPSNR_mean"]) <= TOL_LR_PSNR
    assert abs(np.min(got) - per_image["LRPSNR_worst"]) <= TOL_LR_PSNR


def test_crop_follows_official():
    # official: gt[:(h//8)*8, :(w//8)*8] at x4 and x8; 60x52 -> 56x48 (golden img1 checks the values)
    assert crop_multiple(4) == 8 and crop_multiple(8) == 8 and crop_multiple(2) == 8
    assert crop_multiple(3) == 24
    assert ntire_crop(np.zeros((60, 52, 3), np.uint8), 4).shape == (56, 48, 3)
    assert GOLDEN["x4"]["per_sample"]["img1"]["hr_cropped_shape"] == [56, 48, 3]


def test_exact_copy_is_infinite():
    hr = _read(FIX / "x4" / "hr" / "img0.png")
    assert lr_psnr()(hr.copy(), hr, MetricContext(scale=4)) == math.inf


def test_bicubic_upscale_is_finite_and_high():
    hr = _read(FIX / "x4" / "hr" / "img0.png")
    lr = imresize(hr, 1 / 4)
    sr = imresize(lr, 4)
    v = lr_psnr()(sr, hr, MetricContext(scale=4, lr=lr))
    assert math.isfinite(v) and 25 < v < 60


def test_lr_psnr_input_equals_lr_psnr_when_lr_is_official_downscale():
    hr = _read(FIX / "x4" / "hr" / "img1.png")
    sr = _read(FIX / "x4" / "sr" / "img1_s2.png")
    lr = ntire_imresize(ntire_crop(hr, 4), 1 / 4)  # 14x12: the crop of a 15x13 LR
    ctx = MetricContext(scale=4, lr=lr)
    assert lr_psnr_input()(sr, hr, ctx) == pytest.approx(lr_psnr()(sr, hr, ctx), abs=1e-12)
    # an LR larger than the cropped part is cropped top-left the same way
    big = np.pad(lr, ((0, 1), (0, 1), (0, 0)))
    assert lr_psnr_input()(sr, hr, MetricContext(scale=4, lr=big)) == lr_psnr_input()(sr, hr, ctx)
    with pytest.raises(ValueError):
        lr_psnr_input()(sr, hr, MetricContext(scale=4))


def test_grey_images():
    hr = _read(FIX / "x4" / "hr" / "img0.png")[:, :, 1]
    sr = _read(FIX / "x4" / "sr" / "img0_s0.png")[:, :, 1]
    v = lr_psnr()(sr, hr, MetricContext(scale=4))
    # three equal channels (what cv2.IMREAD_COLOR makes of a grey PNG) give the same PSNR
    v3 = lr_psnr()(np.repeat(sr[:, :, None], 3, 2), np.repeat(hr[:, :, None], 3, 2), MetricContext(scale=4))
    assert v == pytest.approx(v3, abs=1e-12)


def test_psnr_uint8_matches_skimage():
    from skimage.metrics import peak_signal_noise_ratio

    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    assert psnr_uint8(a, b) == pytest.approx(peak_signal_noise_ratio(a, b), abs=1e-12)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        lr_psnr()(np.zeros((16, 16, 3), np.uint8), np.zeros((16, 24, 3), np.uint8), MetricContext(scale=4))


def test_set5_x4_bicubic_lr_psnr(mirror):
    # LR = MATLAB imresize(modcrop(HR, 4), 1/4), SR = imresize(LR, 4). The expected per-image values were
    # computed with the official imresize.py + skimage PSNR (same crop); srbench reproduces them exactly.
    expected = {
        "baby": 40.245657205975235,
        "bird": 37.19169807557046,
        "butterfly": 31.234754155539672,
        "head": 42.38938810132513,
        "woman": 35.15828654494758,
    }
    f = lr_psnr()
    got = {}
    for name in expected:
        hr = modcrop(np.asarray(Image.open(mirror / "set5" / "HR" / f"{name}.png").convert("RGB")), 4)
        lr = imresize(hr, 1 / 4)
        got[name] = f(imresize(lr, 4), hr, MetricContext(scale=4, lr=lr, image=name))
    for name, v in expected.items():
        assert got[name] == pytest.approx(v, abs=TOL_LR_PSNR), name
    assert np.mean(list(got.values())) == pytest.approx(37.24395681667161, abs=1e-9)


def test_metadata_and_light_import():
    names = {m.name: m for m in METRICS}
    assert names["lr_psnr"].kind == "image" and names["lr_psnr"].higher_is_better
    assert "NTIRE21_Learning_SR_Space" in names["lr_psnr"].reference
    assert names["lr_psnr_input"].kind == "image"
    code = "import sys, srbench.metrics.lr_consistency; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
