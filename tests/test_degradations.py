"""The degradation registry (srbench.degradations) and the built-in bicubic and gauss-noise degradations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from srbench.conventions import DEFAULT_SEED, quantize
from srbench.degradation_api import INPUT_LR, Degradation, DegradationInfo
from srbench.degradations import (
    GAUSS_NOISE_SIGMA,
    BicubicDegradation,
    GaussianNoiseDegradation,
    _collect,
    degradations,
    get_degradation,
    load_degradation,
)
from srbench.errors import SrbenchError, UnknownNameError, WeightsError
from srbench.imresize import imresize

REPO = Path(__file__).resolve().parents[1]


def test_registry_lists_builtin_and_adapter_degradations():
    known = degradations()
    for name in ("bicubic", "gauss-noise", "cyclesr-g1", "ssrvae-stylevae", "hvae-gauss"):
        assert name in known and isinstance(known[name], DegradationInfo)
    assert known["ssrvae-stylevae"].stochastic and not known["bicubic"].stochastic
    assert known["gauss-noise"].stochastic and not known["gauss-noise"].learned
    assert known["cyclesr-g1"].input == INPUT_LR and known["cyclesr-g1"].learned
    assert get_degradation("bicubic") is known["bicubic"]
    assert get_degradation("cyclesr-g1:default").name == "cyclesr-g1"


def test_listing_imports_no_torch():
    code = (
        "import sys, srbench.degradations as d; names = sorted(d.degradations()); "
        "assert 'torch' not in sys.modules, 'torch imported'; print(len(names))"
    )
    env_path = [str(REPO)] + [p for p in sys.path if p]
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(env_path)})
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 4


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_is_matlab_imresize(scale):
    hr = np.random.default_rng(scale).integers(0, 256, (24, 36, 3), dtype=np.uint8)
    deg = load_degradation("bicubic", scale)
    assert isinstance(deg, BicubicDegradation) and deg.scale == scale
    lr = deg(hr)
    assert lr.dtype == np.uint8 and lr.shape == (24 // scale, 36 // scale, 3)
    assert np.array_equal(lr, imresize(hr, 1.0 / scale))
    assert np.array_equal(deg(hr, seed=3), lr) and np.array_equal(deg.from_hr(hr), lr)
    assert all(np.array_equal(x, lr) for x in deg.sample(hr, 3, seed=0))
    with pytest.raises(TypeError):
        deg(hr.astype(np.float32))


def test_unknown_names_and_scales():
    with pytest.raises(UnknownNameError, match="bicubic"):
        get_degradation("bicubc")
    with pytest.raises(SrbenchError, match="not x5"):
        load_degradation("bicubic", 5)
    with pytest.raises(UnknownNameError):
        load_degradation("bicubic:nope", 4)


def test_learned_degradations_refuse_without_weights(fresh_home):
    for name in ("cyclesr-g1", "ssrvae-stylevae"):
        with pytest.raises(WeightsError, match=f"srbench weights import {name}"):
            load_degradation(name, 4)


def test_options_reach_the_degradation_loader():
    assert load_degradation("hvae-gauss", 4, options={"sigma": "0.5"}).sigma == 0.5
    assert load_degradation("hvae-gauss", 4).sigma == get_degradation("hvae-gauss").option("sigma").default
    with pytest.raises(SrbenchError, match=r"degradation hvae-gauss takes no option 'tile'; it takes: sigma"):
        load_degradation("hvae-gauss", 4, options={"tile": "8"})


def test_lr_translators_are_fed_bicubic_lr():
    class Identity(Degradation):
        input = INPUT_LR
        scale = 4

        def __call__(self, img, seed=None):
            return np.asarray(img)

    hr = np.random.default_rng(0).integers(0, 256, (16, 20, 3), dtype=np.uint8)
    assert np.array_equal(Identity().from_hr(hr), imresize(hr, 0.25))


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="input"):
        DegradationInfo(name="x", title="x", paper="x", loader="m:f", input="sr")

    class Bad:
        DEGRADATIONS = ["not an info"]

    with pytest.raises(TypeError, match="DegradationInfo"):
        _collect("bad", Bad, {})


# --- gauss-noise ------------------------------------------------------------------------------------


def _hr(seed=0, shape=(48, 72, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_gauss_noise_is_bicubic_plus_seeded_noise(scale):
    hr = _hr(scale)
    deg = load_degradation("gauss-noise", scale, options={"sigma": 7.5})
    assert isinstance(deg, GaussianNoiseDegradation) and deg.scale == scale and deg.stochastic
    lr = deg(hr, seed=11)
    bic = imresize(hr, 1.0 / scale)
    assert lr.dtype == np.uint8 and lr.shape == bic.shape == (48 // scale, 72 // scale, 3)
    # the exact recipe: the uint8 bicubic LR + float64 draws of a local PCG64(seed), half away, clipped
    noise = np.random.Generator(np.random.PCG64(11)).normal(0.0, 7.5, bic.shape)
    assert np.array_equal(lr, quantize(bic.astype(np.float64) + noise))
    assert not np.array_equal(lr, bic)


def test_gauss_noise_seeds():
    hr = _hr(1)
    deg = load_degradation("gauss-noise", 4)
    a = deg(hr, seed=3)
    assert np.array_equal(deg(hr, seed=3), a)  # same seed, same LR
    assert np.array_equal(load_degradation("gauss-noise", 4)(hr, seed=3), a)  # no state kept in the object
    assert not np.array_equal(deg(hr, seed=4), a)  # other seed, other LR
    assert np.array_equal(deg(hr), deg(hr, seed=DEFAULT_SEED))  # no seed: the default seed
    s = deg.sample(hr, 3, seed=3)  # seeds 3, 4, 5
    assert np.array_equal(s[0], a) and np.array_equal(s[1], deg(hr, seed=4))
    assert not np.array_equal(s[1], s[2])
    np.random.seed(0)
    before = np.random.random()
    np.random.seed(0)
    deg(hr, seed=3)
    assert np.random.random() == before  # the global NumPy generator is not touched


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_gauss_noise_sigma_zero_is_bicubic_bit_for_bit(scale):
    hr = _hr(10 + scale, (50, 46, 3))
    lr = load_degradation("gauss-noise", scale, options={"sigma": "0"})(hr, seed=5)
    assert np.array_equal(lr, load_degradation("bicubic", scale)(hr))


@pytest.mark.parametrize("sigma", [15.0, 4.0])
def test_gauss_noise_statistics_on_mid_grey(sigma):
    # constant 128: bicubic keeps it exactly, so lr - 128 is the (rounded) noise. n = 3 * 256 * 256 draws;
    # the standard error of the mean is sigma / sqrt(n), that of the standard deviation sigma / sqrt(2n)
    # (0.034 and 0.024 at sigma 15); the test allows 5 of them. Rounding to integers adds variance 1/12
    # (std 15 -> 15.0028, 4 -> 4.0104); clipping at 0/255 is > 8 sigma away.
    hr = np.full((1024, 1024, 3), 128, np.uint8)
    assert np.all(imresize(hr, 0.25) == 128)
    x = load_degradation("gauss-noise", 4, options={"sigma": sigma})(hr, seed=2024).astype(np.float64) - 128.0
    n = x.size
    assert n == 3 * 256 * 256
    assert abs(x.mean()) <= 5 * sigma / np.sqrt(n)
    assert abs(x.std() - np.sqrt(sigma**2 + 1 / 12)) <= 5 * sigma / np.sqrt(2 * n)
    # i.i.d.: no correlation between channels or neighbouring pixels (standard error 1 / sqrt(n / 3))
    flat = x.reshape(-1, 3)
    for c in (1, 2):
        assert abs(np.corrcoef(flat[:, 0], flat[:, c])[0, 1]) <= 5 / np.sqrt(flat.shape[0])
    assert abs(np.corrcoef(x[:, :-1, 0].ravel(), x[:, 1:, 0].ravel())[0, 1]) <= 5 / np.sqrt(flat.shape[0])


def test_gauss_noise_options_are_read():
    info = get_degradation("gauss-noise")
    spec = info.option("sigma")
    assert spec.type == "float" and spec.default == GAUSS_NOISE_SIGMA == 15.0 and spec.minimum == 0
    assert load_degradation("gauss-noise", 4).sigma == 15.0
    assert load_degradation("gauss-noise", 4, options={"sigma": "2.5"}).sigma == 2.5
    assert load_degradation("gauss-noise", 4, options={"sigma": None}).sigma == 15.0
    with pytest.raises(SrbenchError, match=r"option sigma='-1': must be >= 0"):
        load_degradation("gauss-noise", 4, options={"sigma": "-1"})
    with pytest.raises(SrbenchError, match=r"degradation gauss-noise takes no option 'tile'; it takes: sigma"):
        load_degradation("gauss-noise", 4, options={"tile": "8"})
    with pytest.raises(SrbenchError, match="the seed is not an option"):
        load_degradation("gauss-noise", 4, options={"seed": "1"})
    with pytest.raises(SrbenchError, match="not x5"):
        load_degradation("gauss-noise", 5)
    # the option changes the output and is recorded in the provenance (part of the LR cache key)
    hr = _hr(2)
    a, b = (load_degradation("gauss-noise", 2, options={"sigma": s}) for s in (3, 6))
    assert not np.array_equal(a(hr, seed=0), b(hr, seed=0))
    assert a.provenance["sigma"] == 3.0 and b.provenance["sigma"] == 6.0 and spec.affects_output
    with pytest.raises(ValueError, match="sigma"):
        GaussianNoiseDegradation(4, sigma=float("nan"))
    with pytest.raises(TypeError, match="uint8"):
        a(hr.astype(np.float32))


def test_gauss_noise_grey_and_clipping():
    deg = load_degradation("gauss-noise", 2, options={"sigma": 40})
    grey = _hr(3, (20, 22))
    lr = deg(grey, seed=1)
    assert lr.shape == (10, 11) and lr.dtype == np.uint8
    # near black and white the noise is clipped to [0, 255], not wrapped around
    dark = deg(np.zeros((40, 40, 3), np.uint8), seed=1)
    light = deg(np.full((40, 40, 3), 255, np.uint8), seed=1)
    assert dark.min() == 0 and 0 < dark.mean() < 40 and light.max() == 255 and 215 < light.mean() < 255
