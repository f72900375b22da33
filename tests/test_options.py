"""Adapter options: only declared options reach a method, bad ones are errors, output-changing ones are identity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from srbench import datasets as ds
from srbench import registry
from srbench.cli import main
from srbench.errors import ImageError
from srbench.images import write_png
from srbench.method_api import REF_OPTION, OptionSpec
from srbench.options import OptionError, Target, assign, label, ref_identity
from srbench.results import load as load_results
from srbench.runner import RunConfig, run

HELPERS = Path(__file__).resolve().parent / "helpers"


@pytest.fixture(autouse=True)
def _offline(monkeypatch, fresh_home):
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    ds.specs.cache_clear()
    yield
    ds.specs.cache_clear()


@pytest.fixture
def knobs(monkeypatch):
    monkeypatch.syspath_prepend(str(HELPERS))
    import run_test_adapters as t

    t.reset()
    known = {"bicubic": registry.methods()["bicubic"], "knobs": t.info("knobs", "knobs"),
             "refy": t.info("refy", "knobs", reference_based=True, options=t.KNOB_OPTIONS + (REF_OPTION,))}
    monkeypatch.setattr(registry, "methods", lambda: known)
    return t


def _cli(*args: str) -> int:
    return main(["run", "--no-progress", "-d", "demo", "--metrics", "psnr_y", *args])


def _targets():
    from run_test_adapters import KNOB_OPTIONS

    return [Target("method", "bicubic", "bicubic", ()), Target("method", "knobs", "knobs", KNOB_OPTIONS)]


# ------------------------------------------------------------------ parsing and errors


@pytest.mark.parametrize("spec,value,expect", [
    (OptionSpec("n", "", "int", minimum=0), "3", 3),
    (OptionSpec("x", "", "float"), "0.5", 0.5),
    (OptionSpec("b", "", "bool"), "yes", True),
    (OptionSpec("b", "", "bool"), "0", False),
    (OptionSpec("c", "", "choice", choices=("zero", "sample")), "zero", "zero"),
])
def test_option_values_are_parsed(spec, value, expect):
    assert spec.parse(value) == expect


@pytest.mark.parametrize("spec,value,why", [
    (OptionSpec("tile", "", "int", minimum=0), "-1", "must be >= 0"),
    (OptionSpec("tile", "", "int", minimum=0), "big", "expected an integer"),
    (OptionSpec("x", "", "float"), "nan", "finite"),
    (OptionSpec("b", "", "bool"), "maybe", "true or false"),
    (OptionSpec("c", "", "choice", choices=("zero", "sample")), "mean", "one of zero, sample"),
])
def test_bad_option_values_are_refused(spec, value, why):
    with pytest.raises(ValueError, match=why):
        spec.parse(value)


def test_option_nothing_takes_is_an_error(knobs):
    with pytest.raises(OptionError, match=r"method bicubic takes no option 'fooo'; it takes: none"):
        assign({"fooo": "bar"}, _targets()[:1])
    with pytest.raises(OptionError, match=r"no method or degradation of this run takes option 'gian'.*knobs: gain, batch, mode.*Did you mean 'gain'"):
        assign({"gian": "1"}, _targets())
    with pytest.raises(OptionError, match=r"'nosuch' is not a method or degradation of this run"):
        assign({"nosuch.gain": "1"}, _targets())
    with pytest.raises(OptionError, match=r"--ref: no method of this run takes a reference image"):
        assign({"ref": "noise"}, _targets())
    with pytest.raises(OptionError, match=r"takes option 'seed'.*use --seed N"):  # one seed, and it is --seed
        assign({"seed": "5"}, _targets())


def test_unscoped_option_reaches_only_the_methods_that_take_it(knobs):
    targets = _targets()
    assign({"gain": "3", "knobs.mode": "b"}, targets)
    assert targets[0].given == {} and targets[1].given == {"gain": 3, "mode": "b"}
    assert targets[1].loader_options() == {"gain": 3, "batch": 4, "mode": "b"}


def test_identity_options_make_the_label(knobs):
    from run_test_adapters import KNOB_OPTIONS

    t = Target("method", "knobs", "knobs", KNOB_OPTIONS)
    assign({"gain": "0", "batch": "16", "mode": "b"}, [t])
    # gain=0 is the default, batch cannot change the output: neither is part of the identity
    assert t.identity() == {"mode": "b"} and label("knobs", t.identity()) == "knobs[mode=b]"
    assert label("esrgan:psnr", {"tile": "256"}) == "esrgan:psnr[tile=256]"


def test_reference_images_are_identified_by_their_pixels(tmp_path):
    img = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    write_png(a, img)
    write_png(b, img)
    assert ref_identity(a) == ref_identity(b) != ref_identity("noise")
    write_png(b, img[::-1].copy())
    assert ref_identity(a) != ref_identity(b)
    assert ref_identity("LR") == "lr"
    broken = tmp_path / "broken.png"
    broken.write_bytes(a.read_bytes()[:40])
    with pytest.raises(ImageError, match="broken.png"):
        ref_identity(broken)
    with pytest.raises(OptionError, match="not 'lr', 'noise', an image file or a folder"):
        ref_identity(tmp_path / "missing.png")


# ------------------------------------------------------------------ through srbench run


def test_cli_option_errors_exit_2_before_any_work(knobs, tmp_path, capsys):
    for args, expect in [
        (["-m", "bicubic", "--option", "fooo=bar"], "method bicubic takes no option 'fooo'; it takes: none"),
        (["-m", "bicubic", "--tile", "-1"], "method bicubic takes no option 'tile'"),
        (["-m", "knobs", "--option", "gain=-1"], "option gain='-1' for method knobs: must be >= 0"),
        (["-m", "bicubic", "--ref", "noise"], "--ref: no method of this run takes a reference image"),
    ]:
        out = tmp_path / "run"
        assert _cli(*args, "--out", str(out)) == 2
        err = capsys.readouterr().err
        assert expect in err and "Traceback" not in err, err
        assert not out.exists()
    assert knobs.STATE["calls"] == 0


def test_corrupt_reference_image_fails_before_any_work(knobs, tmp_path, capsys):
    ref = tmp_path / "ref.png"
    write_png(ref, np.zeros((8, 8, 3), np.uint8))
    ref.write_bytes(ref.read_bytes()[:30])
    assert _cli("-m", "refy", "--ref", str(ref), "--out", str(tmp_path / "run")) == 2
    err = capsys.readouterr().err
    assert "ref.png" in err and "corrupt" in err and "Traceback" not in err
    assert knobs.STATE["calls"] == 0


def test_runs_with_different_output_options_are_kept_apart(knobs, tmp_path):
    cfg = dict(datasets=["demo"], scales=[4], metrics=["psnr_y"], progress=False)
    a = run(RunConfig(methods=["knobs"], out=tmp_path / "a", **cfg))
    b = run(RunConfig(methods=["knobs"], out=tmp_path / "b", options={"gain": "7", "batch": "2"}, **cfg))
    ra, rb = load_results(a).rows(), load_results(b).rows()
    assert [r["method"] for r in ra] == ["knobs"] and [r["method"] for r in rb] == ["knobs[gain=7]"]
    assert ra[0]["value"] != rb[0]["value"]  # computed anew, not taken from the other run's cache
    assert knobs.STATE["options"][-1] == {"gain": 7, "batch": 2, "mode": "a"}  # parsed + declared defaults
    m = json.loads((b / "manifest.json").read_text())
    assert m["methods"]["knobs[gain=7]"]["options"] == {"gain": "7", "batch": "2", "mode": "a"}
    assert (b / "per_image.csv").read_text().count("knobs[gain=7],demo") == 4
    # batch does not change the output: same label, and the images come from the cache
    calls = knobs.STATE["calls"]
    c = run(RunConfig(methods=["knobs"], out=tmp_path / "c", options={"batch": "9"}, **cfg))
    assert load_results(c).rows() == ra and knobs.STATE["calls"] == calls
