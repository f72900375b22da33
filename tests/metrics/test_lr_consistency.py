"""LR-PSNR (NTIRE21 "Learning the Super-Resolution Space") against the official code's numbers, and
LR-SSIM (srbench's SSIM on the same pairs) against scikit-image.

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
    lr_pair,
    lr_psnr,
    lr_psnr_input,
    lr_ssim,
    lr_ssim_input,
    lr_ssim_official,
    ntire_crop,
    ntire_imresize,
    psnr_uint8,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "ntire21"
GOLDEN = json.loads((FIX / "golden.json").read_text())

#: LR-PSNR is reproduced bit for bit (same resizer output, same float64 MSE): only float noise allowed.
TOL_LR_PSNR = 1e-9
#: LR-SSIM vs skimage.metrics.structural_similarity (Wang options) on the same downscaled pairs: float
#: rounding only (measured: <= 3e-16)
TOL_LR_SSIM = 1e-12


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


# --- LR-SSIM ------------------------------------------------------------------------------------------


def _sk_ssim(a, b):
    from skimage.metrics import structural_similarity

    return structural_similarity(a, b, channel_axis=-1 if a.ndim == 3 else None, gaussian_weights=True,
                                 sigma=1.5, use_sample_covariance=False, data_range=255)


def _x4_cases():
    for name in GOLDEN["x4"]["images"]:
        for k in range(len(GOLDEN["x4"]["per_sample"][name]["lr_psnr"])):
            yield name, k


@pytest.mark.parametrize("name,k", list(_x4_cases()))
def test_lr_ssim_matches_skimage_on_the_lr_psnr_pairs(name, k):
    hr = _read(FIX / "x4" / "hr" / f"{name}.png")
    sr = _read(FIX / "x4" / "sr" / f"{name}_s{k}.png")
    a, b = lr_pair(sr, hr, 4)
    # the pair is the one the official LR-PSNR was computed on (golden value, bit for bit)
    assert abs(psnr_uint8(a, b) - GOLDEN["x4"]["per_sample"][name]["lr_psnr"][k]) <= TOL_LR_PSNR
    v = lr_ssim()(sr, hr, MetricContext(scale=4, image=name))
    assert abs(v - _sk_ssim(a, b)) <= TOL_LR_SSIM
    assert v == lr_ssim_official(sr, hr, 4)
    assert 0.9 < v < 0.999  # the noisy samples are not their HR's downscale


def test_lr_ssim_matches_skimage_on_a_photo():
    # the fixture LRs are tiny (16x16, 14x12: a 6x6 / 4x2 valid region); a 128x128 LR tests the interior
    from skimage import data as skdata

    hr = skdata.astronaut()
    lr = imresize(hr, 1 / 4)
    noise = np.random.default_rng(5).normal(0, 6, hr.shape)
    sr = np.clip(imresize(lr, 4) + noise, 0, 255).round().astype(np.uint8)
    ctx = MetricContext(scale=4, lr=lr)
    a, b = lr_pair(sr, hr, 4)
    assert a.shape == (128, 128, 3)
    assert abs(lr_ssim()(sr, hr, ctx) - _sk_ssim(a, b)) <= TOL_LR_SSIM
    assert abs(lr_ssim_input()(sr, hr, ctx) - _sk_ssim(a, lr)) <= TOL_LR_SSIM


def test_lr_ssim_is_rgb_mean_not_y_and_not_skimage_defaults():
    from skimage.metrics import structural_similarity

    from srbench.conventions import to_luma
    from srbench.metrics.fidelity_math import ssim

    hr = _read(FIX / "x4" / "hr" / "img0.png")
    sr = _read(FIX / "x4" / "sr" / "img0_s3.png")
    a, b = lr_pair(sr, hr, 4)
    v = lr_ssim()(sr, hr, MetricContext(scale=4))
    assert v == pytest.approx(np.mean([ssim(a[..., c], b[..., c]) for c in range(3)]), abs=1e-15)
    assert abs(v - ssim(to_luma(a), to_luma(b))) > 1e-3
    assert abs(v - structural_similarity(a, b, channel_axis=-1, data_range=255)) > 1e-3


def test_lr_ssim_input_equals_lr_ssim_when_lr_is_official_downscale():
    hr = _read(FIX / "x4" / "hr" / "img1.png")
    sr = _read(FIX / "x4" / "sr" / "img1_s1.png")
    lr = ntire_imresize(ntire_crop(hr, 4), 1 / 4)
    ctx = MetricContext(scale=4, lr=lr)
    assert lr_ssim_input()(sr, hr, ctx) == lr_ssim()(sr, hr, ctx)
    # against the MATLAB-bicubic LR the method was given (fixture lr/): skimage on the same pair
    given = _read(FIX / "x4" / "lr" / "img1.png")
    v = lr_ssim_input()(sr, hr, MetricContext(scale=4, lr=given))
    a = ntire_imresize(ntire_crop(sr, 4), 1 / 4)
    assert abs(v - _sk_ssim(a, given[: a.shape[0], : a.shape[1]])) <= TOL_LR_SSIM
    assert v != lr_ssim()(sr, hr, ctx)  # MATLAB's border rule differs from the official resizer's
    with pytest.raises(ValueError, match="needs the LR"):
        lr_ssim_input()(sr, hr, MetricContext(scale=4))


def test_lr_ssim_grey_exact_copy_and_small_images():
    hr = _read(FIX / "x4" / "hr" / "img0.png")
    sr = _read(FIX / "x4" / "sr" / "img0_s0.png")
    ctx = MetricContext(scale=4)
    g = lr_ssim()(sr[:, :, 1], hr[:, :, 1], ctx)
    assert abs(g - _sk_ssim(*lr_pair(sr[:, :, 1], hr[:, :, 1], 4))) <= TOL_LR_SSIM
    rgb = [np.repeat(x[:, :, 1:2], 3, axis=2) for x in (sr, hr)]
    assert lr_ssim()(*rgb, ctx) == pytest.approx(g, abs=1e-15)
    assert lr_ssim()(hr.copy(), hr, ctx) == pytest.approx(1.0, abs=1e-15)
    # x8 fixture: 72x64 HR -> 9x8 LR, smaller than the 11x11 window
    hr8 = _read(FIX / "x8" / "hr" / "img0.png")
    with pytest.raises(ValueError, match="at least 11x11"):
        lr_ssim()(hr8.copy(), hr8, MetricContext(scale=8))
    with pytest.raises(TypeError, match="uint8"):
        lr_ssim()(sr.astype(np.float32), hr.astype(np.float32), ctx)


def test_lr_ssim_metadata():
    names = {m.name: m for m in METRICS}
    for name, full_ref in (("lr_ssim", True), ("lr_ssim_input", False)):
        m = names[name]
        assert m.kind == "image" and m.higher_is_better and m.version == "1" and m.full_reference is full_ref
        assert m.protocols == ("rgb",) and m.factory == f"srbench.metrics.lr_consistency:{name}"
        assert "structural_similarity" in m.reference and f"{TOL_LR_SSIM:g}" in m.reference
        assert "mean over the channels" in m.convention
