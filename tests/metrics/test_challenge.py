"""Challenge scoring conventions (srbench.metrics.challenge) against their reference code.

* NTIRE 2017: an independent NumPy transcription of ``NTIRE_PeakSNR_imgs.m`` / ``NTIRE_SSIM_imgs.m`` and
  Wang's ``ssim_index.m`` (2-D ``fspecial`` window, ``filter2(..., 'valid')`` as a 2-D correlation),
  written below, on random images and on Set5 HR vs its x4 bicubic (``srbench.imresize``) upscale.
* NTIRE 2018: golden numbers of the scoring function itself, run on the pairs :func:`make_pair` builds from
  the seeded recipes in tests/fixtures/ntire18/golden.json (README.md there says how).
* NTIRE 2020 RWSR track 1: scikit-image itself, and srbench's own PSNR / SSIM formula as a cross-check
  of what the convention text says scikit-image does.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import uniform_filter
from scipy.signal import correlate2d

from srbench import registry
from srbench.conventions import modcrop
from srbench.imresize import imresize
from srbench.metrics import challenge
from srbench.metrics.base import MetricContext
from srbench.metrics.fidelity_math import psnr, ssim_from_moments, ssim_gaussian_reflect

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "ntire18"
GOLDEN = json.loads((FIX / "golden.json").read_text())

NAMES = ("psnr_rgb_ntire17", "ssim_rgb_ntire17", "psnr_ntire18", "ssim_ntire18", "psnr_rgb_skimage", "ssim_rgb_skimage")

#: NTIRE 2017: same formulas; separable vs 2-D window, other summation orders (measured max 7.1e-15 dB,
#: 1.4e-14 SSIM on the random and Set5 pairs)
TOL17_PSNR = 1e-12
TOL17_SSIM = 1e-12
#: NTIRE 2018: exact integer sums vs the scorer's float64 (measured max 7.1e-15 dB), matrix-form vs scipy
#: Gaussian filtering (measured max 1.5e-14)
TOL18_PSNR = 1e-12
TOL18_SSIM = 1e-12


def _metric(name: str):
    info = registry.get_metric(name)
    return registry.import_object(info.factory)(device="cpu")


def _noisy(a: np.ndarray, sigma: float, rng) -> np.ndarray:
    return np.clip(np.rint(a + rng.normal(0, sigma, a.shape)), 0, 255).astype(np.uint8)


def _bicubic_pair(hr: np.ndarray, scale: int = 4) -> tuple[np.ndarray, np.ndarray]:
    hr = modcrop(hr, scale)
    return imresize(imresize(hr, 1.0 / scale), scale), hr


# -- NTIRE 2017: transcription of the MATLAB scoring functions ------------------------------------------


def _fspecial_gaussian(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    # MATLAB fspecial('gaussian', size, sigma)
    r = (size - 1) / 2.0
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    h = np.exp(-(x * x + y * y) / (2.0 * sigma * sigma))
    h[h < np.finfo(float).eps * h.max()] = 0
    return h / h.sum()


def _matlab_ssim_index(img1, img2):
    # ssim_index.m with its default settings (nargin == 2)
    window = _fspecial_gaussian()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    window = window / window.sum()
    img1, img2 = img1.astype(np.float64), img2.astype(np.float64)

    def filter2(x):  # filter2(window, x, 'valid') = valid correlation with the window
        return correlate2d(x, window, mode="valid")

    mu1, mu2 = filter2(img1), filter2(img2)
    mu1_sq, mu2_sq, mu1_mu2 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    sigma1_sq = filter2(img1 * img1) - mu1_sq
    sigma2_sq = filter2(img2 * img2) - mu2_sq
    sigma12 = filter2(img1 * img2) - mu1_mu2
    ssim_map = ((2 * mu1_mu2 + c1) * (2 * sigma12 + c2)) / ((mu1_sq + mu2_sq + c1) * (sigma1_sq + sigma2_sq + c2))
    return ssim_map.mean()


def _matlab_crop(img, scale):
    b = 6 + scale
    return img[b:-b, b:-b]  # F(b+1:end-b, b+1:end-b, :)


def _ntire_peaksnr_imgs(f, g, scale):
    f, g = _matlab_crop(f, scale), _matlab_crop(g, scale)
    f = f / 255.0 if f.max() > 1 else f  # im2double
    g = g / 255.0 if g.max() > 1 else g
    e = f - g
    return 10 * math.log10(e.size / np.sum(e * e))


def _ntire_ssim_imgs(f, g, scale):
    f, g = _matlab_crop(f, scale), _matlab_crop(g, scale)
    f, g = f.reshape(f.shape[0], f.shape[1], -1), g.reshape(g.shape[0], g.shape[1], -1)
    return np.mean([_matlab_ssim_index(f[:, :, i], g[:, :, i]) for i in range(f.shape[2])])


def _random_pairs():
    rng = np.random.default_rng(2017)
    for h, w, scale, sigma in [(64, 80, 2, 8.0), (75, 61, 3, 20.0), (96, 96, 4, 3.0), (120, 88, 4, 40.0)]:
        hr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        yield f"rand{h}x{w}x{scale}", _noisy(hr, sigma, rng), hr, scale


@pytest.mark.parametrize("case", list(_random_pairs()), ids=lambda c: c[0])
def test_ntire17_matches_matlab_transcription_on_random_images(case):
    _, sr, hr, scale = case
    ctx = MetricContext(scale=scale)
    assert _metric("psnr_rgb_ntire17")(sr, hr, ctx) == pytest.approx(_ntire_peaksnr_imgs(hr, sr, scale), abs=TOL17_PSNR)
    assert _metric("ssim_rgb_ntire17")(sr, hr, ctx) == pytest.approx(_ntire_ssim_imgs(hr, sr, scale), abs=TOL17_SSIM)


def test_ntire17_matches_matlab_transcription_on_set5_bicubic(mirror):
    from srbench.images import read_image

    ctx = MetricContext(scale=4)
    psnr_f, ssim_f = _metric("psnr_rgb_ntire17"), _metric("ssim_rgb_ntire17")
    for path in sorted((mirror / "set5" / "HR").glob("*.png")):
        sr, hr = _bicubic_pair(read_image(path))
        assert psnr_f(sr, hr, ctx) == pytest.approx(_ntire_peaksnr_imgs(hr, sr, 4), abs=TOL17_PSNR), path.name
        assert ssim_f(sr, hr, ctx) == pytest.approx(_ntire_ssim_imgs(hr, sr, 4), abs=TOL17_SSIM), path.name


def test_ntire17_border_is_6_plus_scale():
    rng = np.random.default_rng(5)
    hr = rng.integers(0, 256, (60, 70, 3), dtype=np.uint8)
    sr = _noisy(hr, 5, rng)
    ctx = MetricContext(scale=3)
    base = (_metric("psnr_rgb_ntire17")(sr, hr, ctx), _metric("ssim_rgb_ntire17")(sr, hr, ctx))
    inside, kept = sr.copy(), sr.copy()
    inside[8, 30] ^= 0xFF  # row 8 is within the 9-px border
    kept[9, 30] ^= 0xFF  # row 9 is the first one scored
    assert (_metric("psnr_rgb_ntire17")(inside, hr, ctx), _metric("ssim_rgb_ntire17")(inside, hr, ctx)) == base
    assert _metric("psnr_rgb_ntire17")(kept, hr, ctx) != base[0]
    assert _metric("ssim_rgb_ntire17")(kept, hr, ctx) != base[1]


def test_ntire17_psnr_pools_channels_and_ssim_averages_them():
    rng = np.random.default_rng(6)
    hr = rng.integers(0, 256, (50, 50, 3), dtype=np.uint8)
    sr = hr.copy()
    sr[:, :, 0] = _noisy(hr[:, :, 0], 2, rng)
    sr[:, :, 2] = _noisy(hr[:, :, 2], 30, rng)
    ctx = MetricContext(scale=2)
    c = challenge.ntire17_crop
    pooled = psnr(c(sr, 2), c(hr, 2))
    per_channel = np.mean([psnr(c(sr, 2)[:, :, i], c(hr, 2)[:, :, i]) for i in range(3)])
    assert _metric("psnr_rgb_ntire17")(sr, hr, ctx) == pytest.approx(pooled, abs=1e-12)
    assert abs(pooled - per_channel) > 1.0  # the green channel is error-free: the conventions differ a lot
    ssims = [_matlab_ssim_index(c(hr, 2)[:, :, i], c(sr, 2)[:, :, i]) for i in range(3)]
    assert ssims[1] == pytest.approx(1.0)
    assert _metric("ssim_rgb_ntire17")(sr, hr, ctx) == pytest.approx(np.mean(ssims), abs=TOL17_SSIM)


def test_ntire17_grey_is_its_rgb_replicate():
    rng = np.random.default_rng(7)
    hr = rng.integers(0, 256, (48, 52), dtype=np.uint8)
    sr = _noisy(hr, 9, rng)
    rgb = [np.repeat(x[:, :, None], 3, axis=2) for x in (sr, hr)]
    ctx = MetricContext(scale=4)
    for name in ("psnr_rgb_ntire17", "ssim_rgb_ntire17"):
        assert _metric(name)(sr, hr, ctx) == pytest.approx(_metric(name)(*rgb, ctx), abs=1e-12)


def test_ntire17_rejects_too_small_images():
    img = np.zeros((20, 40, 3), np.uint8)
    with pytest.raises(ValueError, match="too small"):
        _metric("psnr_rgb_ntire17")(img, img, MetricContext(scale=4))  # 2 * (6 + 4) = 20 rows removed


# -- NTIRE 2018: golden values of the scoring function ----------------------------------------------------


def _rounded(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _synthetic_base(rng, h: int, w: int) -> np.ndarray:
    """Smooth colour waves + diagonal stripes + per-pixel Gaussian texture (sigma 15), float64."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = [
        128 + 70 * np.sin(x / 6.0 + 1.1 * c + y / 23.0) * np.cos(y / 9.0 - 0.5 * c) + 40.0 * (((x + 3 * y) % 29) < 11)
        for c in range(3)
    ]
    return np.stack(chans, axis=2) + rng.normal(0, 15, (h, w, 3))


def _shifted(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``out[y, x] = img[y - dy, x - dx]``, edge pixels replicated where that falls outside."""
    h, w = img.shape[:2]
    rows = np.clip(np.arange(h) - dy, 0, h - 1)
    cols = np.clip(np.arange(w) - dx, 0, w - 1)
    return img[rows][:, cols]


def make_pair(case: dict, datasets: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(SR, HR) uint8 of one golden case, from its recipe (see tests/fixtures/ntire18/README.md)."""
    dy, dx = case["shift"]
    rng = np.random.default_rng(case["seed"])
    if case["kind"] == "synthetic":
        h, w = case["size"]
        m = 60  # margin: the SR is cut from the same base image, displaced by (dy, dx)
        base = _synthetic_base(rng, h + 2 * m, w + 2 * m)
        hr = _rounded(base[m : m + h, m : m + w])
        sr = base[m - dy : m - dy + h, m - dx : m - dx + w] * case["gain"] + case["offset"]
        sr = _rounded(sr + rng.normal(0, case["noise"], sr.shape))
    elif case["kind"] == "inverted_checker":  # 1-px checkerboard and its negative: SSIM < 0 at every even shift
        h, w = case["size"]
        y, x = np.mgrid[0:h, 0:w]
        board = np.repeat((50.0 + 150.0 * ((x + y) % 2))[:, :, None], 3, axis=2)
        hr = _rounded(board + rng.normal(0, case["noise"], (h, w, 3)))
        sr = 255 - _shifted(hr, dy, dx)
    elif case["kind"] == "bicubic":  # a mirrored HR and its x4 bicubic upscale, shifted and rescaled
        from srbench.images import read_image

        path = next((datasets / case["dataset"] / "HR").glob(case["image"] + ".*"))
        up, hr = _bicubic_pair(read_image(path), 4)
        sr = _rounded(_shifted(up, dy, dx).astype(np.float64) * case["gain"] + case["offset"])
    else:
        raise ValueError(case["kind"])
    return sr, hr


def _pixels_sha256(img: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(img).tobytes()).hexdigest()


def _golden_pair(name: str, mirror_fixture):
    case = GOLDEN["cases"][name]
    datasets = mirror_fixture() if case["kind"] == "bicubic" else None
    sr, hr = make_pair(case, datasets)
    # the recipe must still make the inputs the golden numbers were computed on
    assert list(hr.shape) == case["hr_shape"]
    assert (_pixels_sha256(sr), _pixels_sha256(hr)) == (case["sr_sha256"], case["hr_sha256"]), (
        f"{name}: the recipe no longer reproduces the golden inputs (numpy RNG or srbench.imresize changed)"
    )
    return case, sr, hr


@pytest.fixture
def lazy_mirror(request):
    return lambda: request.getfixturevalue("mirror")


@pytest.mark.parametrize("name", sorted(GOLDEN["cases"]))
def test_ntire18_matches_scoring_function(name, lazy_mirror):
    case, sr, hr = _golden_pair(name, lazy_mirror)
    gold = case["golden"]
    ctx = MetricContext(scale=4, image=name)
    assert _metric("psnr_ntire18")(sr, hr, ctx) == pytest.approx(gold["psnr"], abs=TOL18_PSNR)
    assert _metric("ssim_ntire18")(sr, hr, ctx) == pytest.approx(gold["ssim"], abs=TOL18_SSIM)
    p = challenge.ntire18_psnr_shifts(sr, hr)
    best = np.unravel_index(np.nanargmax(p), p.shape)
    assert [int(best[0]) - 40, int(best[1]) - 40] == gold["psnr_shift"]
    if gold["ssim"] > 0:
        s = challenge.ntire18_ssim_shifts(sr, hr)
        best = np.unravel_index(np.argmax(s), s.shape)
        assert [2 * int(best[0]) - 40, 2 * int(best[1]) - 40] == gold["ssim_shift"]


@pytest.mark.parametrize("name", sorted(GOLDEN["cases"]))
def test_ntire18_ssim_with_current_skimage_gaussian(name, lazy_mirror):
    # the same scorer with today's structural_similarity (11-tap Gaussian) in place of myssim.py: srbench's
    # window machinery with radius 5 gives that number, radius 6 (the 2018 scorer) does not
    case, sr, hr = _golden_pair(name, lazy_mirror)
    s5 = challenge.ntire18_ssim_shifts(sr, hr, radius=5)
    assert max(0.0, float(s5.max())) == pytest.approx(case["golden"]["ssim_skimage_current"], abs=TOL18_SSIM)


def test_ntire18_golden_cases_exercise_the_conventions():
    cases = GOLDEN["cases"]
    # a shift outside the search range, a size that is not a multiple of 4, a floored SSIM, a real image
    assert any(max(map(abs, c["shift"])) > 40 for c in cases.values())
    assert any(s % 4 for c in cases.values() for s in c.get("size", [])[:2])
    assert any(c["golden"]["ssim"] == 0.0 for c in cases.values())
    assert any(c["kind"] == "bicubic" for c in cases.values())
    # and the version difference is real: the 13-tap scorer SSIM is not today's skimage one
    assert max(abs(c["golden"]["ssim"] - c["golden"]["ssim_skimage_current"]) for c in cases.values()) > 1e-6


def test_ntire18_refuses_other_scales_and_small_images():
    rng = np.random.default_rng(8)
    hr = rng.integers(0, 256, (160, 164, 3), dtype=np.uint8)
    assert _metric("psnr_ntire18")(hr, hr, MetricContext(scale=4)) == math.inf  # identical: the scorer's 1 / 0
    for name in ("psnr_ntire18", "ssim_ntire18"):
        with pytest.raises(ValueError, match="x4"):
            _metric(name)(hr, hr, MetricContext(scale=2))
        with pytest.raises(ValueError, match="too small"):
            _metric(name)(hr[:156], hr[:156], MetricContext(scale=4))


def test_ntire18_black_sr_window_is_skipped():
    rng = np.random.default_rng(9)
    hr = rng.integers(1, 256, (200, 200, 3), dtype=np.uint8)
    sr = hr.copy()
    # the scorer's 0/0 at shifts whose SR window is all black: srbench leaves those shifts out
    # cropped image 180 px, centre window rows/cols 60..119; at shift (-40, -40) the SR window is rows/cols
    # 20..79 of the cropped image = 30..89 of the image: exactly the black square
    sr[30:90, 30:90] = 0
    p = challenge.ntire18_psnr_shifts(sr, hr)
    assert np.isnan(p[0, 0]) and np.isnan(p).sum() == 1
    assert challenge.ntire18_psnr(sr, hr) == np.nanmax(p) and math.isfinite(np.nanmax(p))


def test_ntire18_grey_is_its_rgb_replicate():
    rng = np.random.default_rng(10)
    hr = _rounded(_synthetic_base(rng, 172, 168)[:, :, 1])
    sr = _noisy(_shifted(hr, 2, -3), 4, rng)
    rgb = [np.repeat(x[:, :, None], 3, axis=2) for x in (sr, hr)]
    assert challenge.ntire18_psnr(sr, hr) == pytest.approx(challenge.ntire18_psnr(*rgb), abs=1e-12)
    assert challenge.ntire18_ssim(sr, hr) == pytest.approx(challenge.ntire18_ssim(*rgb), abs=1e-12)


def test_ssim_gaussian_reflect_matches_current_skimage():
    # radius 5 = structural_similarity(gaussian_weights=True) of today's scikit-image (truncate 3.5)
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(11)
    a = rng.integers(0, 256, (4, 40, 52), dtype=np.uint8)
    b = _noisy(a[0], 25, rng)
    mine = ssim_gaussian_reflect(a, b, radius=5)
    ref = [structural_similarity(x, b, gaussian_weights=True, use_sample_covariance=False, data_range=255) for x in a]
    np.testing.assert_allclose(mine, ref, rtol=0, atol=1e-12)


# -- NTIRE 2020 RWSR track 1: scikit-image ---------------------------------------------------------------


def _skimage_pairs():
    rng = np.random.default_rng(2020)
    hr = rng.integers(0, 256, (45, 67, 3), dtype=np.uint8)
    yield "rgb", _noisy(hr, 12, rng), hr
    g = rng.integers(0, 256, (33, 29), dtype=np.uint8)
    yield "grey", _noisy(g, 7, rng), g


@pytest.mark.parametrize("case", list(_skimage_pairs()), ids=lambda c: c[0])
def test_skimage_metrics_are_the_direct_skimage_calls(case):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    _, sr, hr = case
    ctx = MetricContext(scale=4)
    # the organisers' calls: psnr(a, b) with the uint8 dtype's range; ssim(a, b, multichannel=True)
    assert _metric("psnr_rgb_skimage")(sr, hr, ctx) == peak_signal_noise_ratio(hr, sr)
    kw = {"channel_axis": -1} if hr.ndim == 3 else {}
    assert _metric("ssim_rgb_skimage")(sr, hr, ctx) == structural_similarity(hr, sr, **kw)


@pytest.mark.parametrize("case", list(_skimage_pairs()), ids=lambda c: c[0])
def test_skimage_metrics_match_the_convention_text(case):
    # independent of scikit-image: float64 PSNR, peak 255, no shave; SSIM with a 7x7 uniform window
    # (reflect borders), sample covariance 49/48, map mean after cropping 3 px, mean over channels
    _, sr, hr = case
    ctx = MetricContext(scale=4)
    assert _metric("psnr_rgb_skimage")(sr, hr, ctx) == pytest.approx(psnr(sr, hr), abs=1e-10)
    a3, b3 = [x.astype(np.float64).reshape(x.shape[0], x.shape[1], -1) for x in (hr, sr)]

    def f(z):
        return uniform_filter(z, size=7)

    vals = []
    for c in range(a3.shape[2]):
        a, b = a3[:, :, c], b3[:, :, c]
        smap = ssim_from_moments(f(a), f(b), f(a * a), f(b * b), f(a * b), 255.0, cov_norm=49 / 48)
        vals.append(smap[3:-3, 3:-3].mean())
    assert _metric("ssim_rgb_skimage")(sr, hr, ctx) == pytest.approx(np.mean(vals), abs=1e-12)


def test_skimage_metrics_no_shave_and_grey_as_replicate():
    rng = np.random.default_rng(12)
    hr = rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)
    sr = _noisy(hr, 6, rng)
    edge = sr.copy()
    edge[0, 0] ^= 0xFF
    ctx = MetricContext(scale=4)
    for name in ("psnr_rgb_skimage", "ssim_rgb_skimage"):
        assert _metric(name)(edge, hr, ctx) != _metric(name)(sr, hr, ctx)  # the corner pixel counts
    # a grey image scores as the RGB replicate the organisers' cv2.imread would have made of it
    g_hr, g_sr = hr[:, :, 0], sr[:, :, 0]
    rgb = [np.repeat(x[:, :, None], 3, axis=2) for x in (g_sr, g_hr)]
    for name in ("psnr_rgb_skimage", "ssim_rgb_skimage"):
        assert _metric(name)(g_sr, g_hr, ctx) == pytest.approx(_metric(name)(*rgb, ctx), abs=1e-12)


def test_skimage_provenance_pins_the_version():
    import skimage

    for name in ("psnr_rgb_skimage", "ssim_rgb_skimage"):
        prov = _metric(name).provenance()
        assert prov["packages"]["scikit-image"] == skimage.__version__
        assert "structural_similarity" in prov["convention"]


# -- registration ---------------------------------------------------------------------------------------


def test_registered_with_conventions_and_sources():
    known = registry.metrics()
    for name in NAMES:
        info = known[name]
        assert (info.kind, info.version, info.full_reference, info.higher_is_better) == ("image", "1", True, True)
        assert info.protocols == ("rgb",) and not info.default
        assert "Source:" in info.convention and info.reference
        f = _metric(name)
        assert callable(f) and set(f.provenance()) == {"convention", "packages"}


def test_refuse_mismatched_or_float_inputs():
    a = np.zeros((40, 40, 3), np.uint8)
    ctx = MetricContext(scale=4)
    for name in NAMES:
        with pytest.raises(ValueError, match="differ in shape"):
            _metric(name)(a[:39], a, ctx)
        with pytest.raises(TypeError, match="uint8"):
            _metric(name)(a.astype(np.float64), a.astype(np.float64), ctx)
