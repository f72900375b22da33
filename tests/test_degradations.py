"""The degradation registry (srbench.degradations) and the built-in bicubic degradation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from srbench.degradation_api import INPUT_LR, Degradation, DegradationInfo
from srbench.degradations import (
    BicubicDegradation,
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
    for name in ("bicubic", "cyclesr-g1", "ssrvae-stylevae", "hvae-gauss"):
        assert name in known and isinstance(known[name], DegradationInfo)
    assert known["ssrvae-stylevae"].stochastic and not known["bicubic"].stochastic
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
