"""`srbench run` end to end on the embedded demo dataset at x4: caching, resume, errors, run folder format."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from srbench import datasets as ds
from srbench import registry
from srbench.cli import main
from srbench.conventions import modcrop
from srbench.errors import (
    MethodOutputError,
    OutputDirError,
    SrbenchError,
    UnknownNameError,
)
from srbench.images import read_image
from srbench.results import PER_IMAGE_COLUMNS, SUMMARY_COLUMNS
from srbench.runner import RunConfig, run

HELPERS = Path(__file__).resolve().parent / "helpers"
ROOT = Path(__file__).resolve().parents[1]
DEMO = ["astronaut", "camera", "chelsea", "coffee"]
METRICS = ["psnr_y", "ssim_y"]


def _cfg(out: Path, methods=("bicubic",), **kw) -> RunConfig:
    kw.setdefault("metrics", list(METRICS))
    return RunConfig(methods=list(methods), datasets=["demo"], scales=[4], out=out, progress=False, **kw)


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="") as f:
        r = csv.DictReader(f)
        return list(r.fieldnames), list(r)


def _cli(*args: str) -> int:
    return main(["run", "--no-progress", *args])


@pytest.fixture(autouse=True)
def _offline_demo(monkeypatch):
    """The demo set comes from scikit-image: no mirror, no download needed."""
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    ds.specs.cache_clear()
    yield
    ds.specs.cache_clear()


@pytest.fixture
def test_methods(monkeypatch):
    """Registry = bicubic + the test adapters of tests/helpers/sr_test_adapters.py."""
    monkeypatch.syspath_prepend(str(HELPERS))
    import sr_test_adapters as t

    t.reset()
    bicubic = registry.methods()["bicubic"]
    known = {
        "bicubic": bicubic,
        "flaky": t.info("flaky", "flaky"),
        "badsize": t.info("badsize", "wrong_size"),
        "nanout": t.info("nanout", "nan"),
        "notarray": t.info("notarray", "not_array"),
        "rgbonly": t.info("rgbonly", "plain"),
    }
    monkeypatch.setattr(registry, "methods", lambda: known)
    return t


# --------------------------------------------------------------------------- two runs of bicubic


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """bicubic on demo x4 twice in one private cache (the second with --save-images)."""
    base = tmp_path_factory.mktemp("two-runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SRBENCH_HOME", str(base / "home"))
        mp.setenv("SRBENCH_OFFLINE", "1")
        ds.specs.cache_clear()
        first = run(_cfg(base / "run1", metrics=None, command=["srbench", "run", "first"]))
        second = run(_cfg(base / "run2", metrics=None, save_images=True))
    return first, second


def test_second_run_computes_nothing(two_runs):
    first, second = two_runs
    t1 = _manifest(first)["timings"]["bicubic/demo/x4"]
    t2 = _manifest(second)["timings"]["bicubic/demo/x4"]
    assert t1["images_computed"] == 4 and t1["images_cached"] == 0
    assert t1["metric_values_computed"] == 4 * 2  # default metrics: psnr_y, ssim_y
    assert t2["images_computed"] == 0 and t2["images_cached"] == 4
    assert t2["metric_values_computed"] == 0


def test_second_run_same_values(two_runs):
    first, second = two_runs
    _, rows1 = _csv(first / "summary.csv")
    _, rows2 = _csv(second / "summary.csv")
    assert rows1 == rows2
    assert {r["metric"] for r in rows1} == {"psnr_y", "ssim_y"}
    psnr = next(float(r["value"]) for r in rows1 if r["metric"] == "psnr_y")
    assert 20 < psnr < 40
    _, img1 = _csv(first / "per_image.csv")
    _, img2 = _csv(second / "per_image.csv")
    assert img1 == img2 and len(img1) == 4 * 2


def test_summary_columns_exactly_as_documented(two_runs):
    doc = (ROOT / "docs" / "run-format.md").read_text()
    documented = re.search(r"## summary.csv columns\s*\n`([^`]+)`", doc).group(1).split(",")
    per_image_doc = re.search(r"## per_image.csv columns\s*\n`([^`]+)`", doc).group(1).split(",")
    assert documented == SUMMARY_COLUMNS and per_image_doc == PER_IMAGE_COLUMNS
    first, _ = two_runs
    cols, rows = _csv(first / "summary.csv")
    assert cols == documented
    for r in rows:
        assert (r["method"], r["dataset"], r["scale"], r["protocol"]) == ("bicubic", "demo", "4", "rgb")
        assert r["n_images"] == "4" and r["weights_sha256"] == ""
        assert r["metric_version"] and r["adapter_version"] == "1" and r["dataset_version"] == "1"
        float(r["value"])
    cols, rows = _csv(first / "per_image.csv")
    assert cols == per_image_doc
    assert sorted({r["image"] for r in rows}) == DEMO


def test_manifest_keys(two_runs):
    first, _ = two_runs
    m = _manifest(first)
    for key in ("schema", "srbench_version", "created", "finished", "command", "python", "packages",
                "device", "protocol", "seed", "samples", "scales", "methods", "datasets", "metrics", "timings"):
        assert key in m, key
    assert m["schema"] == 1 and m["finished"]
    from srbench import __version__

    assert m["srbench_version"] == __version__
    assert m["command"] == ["srbench", "run", "first"]
    assert m["methods"]["bicubic"]["adapter_version"] == "1"
    assert m["methods"]["bicubic"]["weights"] == {}
    assert m["datasets"]["demo"]["pixel_manifest_sha256"] == ds.get_spec("demo").pixel_manifest_sha256
    assert m["datasets"]["demo"]["n_images"] == 4
    assert m["metrics"]["psnr_y"]["version"] == registry.get_metric("psnr_y").version
    assert set(m["timings"]["bicubic/demo/x4"]) >= {"sr_seconds", "metric_seconds", "images_computed", "images_cached"}


def test_save_images_layout_and_shape(two_runs):
    first, second = two_runs
    assert not (first / "images").exists()
    folder = second / "images" / "bicubic" / "demo" / "x4"
    assert sorted(p.name for p in folder.iterdir()) == [f"{n}.png" for n in DEMO]
    for ref in ds.resolve("demo", offline=True).images:
        hr = modcrop(ds.load_hr(ref), 4)
        sr = read_image(folder / f"{ref.name}.png")
        assert sr.shape == hr.shape, ref.name  # grey HR (camera) -> grey SR
        assert sr.dtype == np.uint8
        assert np.abs(sr.astype(int) - hr.astype(int)).mean() < 30  # an upscaled image of the HR, not noise


# --------------------------------------------------------------------------- interruption and resume


def test_interrupted_run_resumes(fresh_home, tmp_path, test_methods, capsys):
    out = tmp_path / "run"
    test_methods.reset(interrupt_at=3)
    rc = _cli("-m", "flaky", "-d", "demo", "--metrics", "psnr_y", "--out", str(out))
    assert rc == 130
    assert "interrupted" in capsys.readouterr().err
    t1 = _manifest(out)["timings"]["flaky/demo/x4"]
    assert t1["images_computed"] == 2
    assert not (out / "summary.csv").exists()

    test_methods.reset(interrupt_at=None)
    rc = _cli("-m", "flaky", "-d", "demo", "--metrics", "psnr_y", "--out", str(out))
    assert rc == 0, capsys.readouterr().err
    t2 = _manifest(out)["timings"]["flaky/demo/x4"]
    assert t2["images_computed"] == 2 and t2["images_cached"] == 2
    assert t2["metric_values_computed"] == 2
    assert test_methods.STATE["calls"] == 2
    _, rows = _csv(out / "per_image.csv")
    assert sorted(r["image"] for r in rows) == DEMO
    _, summary = _csv(out / "summary.csv")
    assert [(r["method"], r["metric"], r["n_images"]) for r in summary] == [("flaky", "psnr_y", "4")]


def test_interrupt_propagates_from_api(fresh_home, tmp_path, test_methods):
    test_methods.reset(interrupt_at=1)
    with pytest.raises(KeyboardInterrupt):
        run(_cfg(tmp_path / "run", methods=["flaky"]))


# --------------------------------------------------------------------------- bad method output


@pytest.mark.parametrize("method,what", [
    ("badsize", "shape"),
    ("nanout", "NaN"),
    ("notarray", "not an image array"),
])
def test_bad_output_is_method_output_error(fresh_home, tmp_path, test_methods, capsys, method, what):
    with pytest.raises(MethodOutputError) as ei:
        run(_cfg(tmp_path / "api", methods=[method]))
    msg = str(ei.value)
    assert method in msg and "astronaut" in msg and what in msg

    rc = _cli("-m", method, "-d", "demo", "--out", str(tmp_path / "cli"))
    err = capsys.readouterr().err
    assert rc == 2
    assert method in err and "astronaut" in err and what in err
    assert "Traceback" not in err


def test_bad_output_is_not_cached(fresh_home, tmp_path, test_methods):
    with pytest.raises(MethodOutputError):
        run(_cfg(tmp_path / "run", methods=["nanout"]))
    cache = fresh_home / "cache" / "sr"
    assert not cache.exists() or not any(p.suffix == ".npy" for p in cache.rglob("*"))


# --------------------------------------------------------------------------- configuration errors


@pytest.mark.parametrize("where", ["inside", "exactly"])
def test_output_folder_blocked_by_a_file(fresh_home, tmp_path, capsys, where):
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file where the run folder should go")
    out = blocker / "run" if where == "inside" else blocker
    with pytest.raises(OutputDirError, match="output folder"):
        run(_cfg(out))
    rc = _cli("-m", "bicubic", "-d", "demo", "--out", str(out))
    err = capsys.readouterr().err
    assert rc == 2 and str(out) in err and "Traceback" not in err
    assert blocker.read_text().startswith("a regular file")


@pytest.mark.parametrize("args,expect", [
    (["-m", "bicubc", "-d", "demo"], "Did you mean 'bicubic'"),
    (["-m", "bicubic", "-d", "urban10"], "Did you mean 'urban100'"),
    (["-m", "bicubic", "-d", "demo", "--metrics", "psnr"], "Did you mean 'psnr_y'"),
])
def test_unknown_names_suggest(fresh_home, tmp_path, capsys, args, expect):
    rc = _cli(*args, "--out", str(tmp_path / "run"))
    err = capsys.readouterr().err
    assert rc == 2
    assert expect in err
    assert "Traceback" not in err
    assert not (tmp_path / "run").exists()  # nothing was started


def test_unknown_metric_api_error():
    with pytest.raises(UnknownNameError) as ei:
        registry.get_metric("ssim")
    assert "ssim_y" in ei.value.suggestions


def test_luma_protocol_unsupported_method(fresh_home, tmp_path, test_methods, capsys):
    with pytest.raises(SrbenchError, match=r"'rgbonly' does not support the 'luma' protocol"):
        run(_cfg(tmp_path / "run", methods=["rgbonly"], protocol="luma"))
    rc = _cli("-m", "rgbonly", "-d", "demo", "--protocol", "luma", "--out", str(tmp_path / "run"))
    err = capsys.readouterr().err
    assert rc == 2 and "luma" in err and "rgbonly" in err and "Traceback" not in err
    assert test_methods.STATE["calls"] == 0


def test_unsupported_scale_is_error(fresh_home, tmp_path):
    cfg = _cfg(tmp_path / "run")
    cfg.scales = [5]
    with pytest.raises(SrbenchError, match="x5"):
        run(cfg)


# --------------------------------------------------------------------------- hardening: contract and pre-flight


@pytest.fixture
def run_adapters(monkeypatch):
    monkeypatch.syspath_prepend(str(HELPERS))
    import run_test_adapters as t

    t.reset()
    known = {"bicubic": registry.methods()["bicubic"], "float01": t.info("float01", "float01"),
             "crash": t.info("crash", "crash")}
    monkeypatch.setattr(registry, "methods", lambda: known)
    return t


def test_float_output_is_refused_not_guessed(fresh_home, tmp_path, run_adapters, capsys):
    """A float image in [0, 1] used to be scored as if it were [0, 255] (PSNR 7.65, exit 0)."""
    rc = _cli("-m", "float01", "-d", "demo", "--out", str(tmp_path / "run"))
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert "returned float64 (values 0..1)" in err and "must return HxWx3 uint8" in err and "to_uint8" in err
    assert not (tmp_path / "run" / "summary.csv").exists()


def test_failing_metric_is_one_line(fresh_home, tmp_path, monkeypatch, capsys):
    import srbench.metrics.fidelity as fid

    def broken(device="cpu"):
        def f(sr, hr, ctx):
            raise ZeroDivisionError("boom")
        return f

    monkeypatch.setattr(fid, "psnr_y", broken)
    rc = _cli("-m", "bicubic", "-d", "demo", "--metrics", "psnr_y", "--out", str(tmp_path / "run"))
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert "metric 'psnr_y' failed on demo/astronaut (x4, method 'bicubic'): ZeroDivisionError: boom" in err


def test_missing_metric_weights_fail_before_any_sr_image(fresh_home, tmp_path, run_adapters, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    for metric in ("lpips", "fid", "niqe"):
        rc = _cli("-m", "crash", "-d", "demo", "--metrics", f"psnr_y,{metric}", "--out", str(tmp_path / metric))
        err = capsys.readouterr().err
        assert rc == 2 and f"metric {metric!r} needs the weight file" in err and "Traceback" not in err, err
    assert run_adapters.STATE["calls"] == 0  # not one SR image was computed
    sr_cache = fresh_home / "cache" / "sr"
    assert not sr_cache.exists() or not any(sr_cache.rglob("*.npy"))


@pytest.mark.parametrize("metric", ["lpips", "niqe", "fid", "pi", "diversity", "lr_psnr"])
def test_luma_protocol_refuses_rgb_metrics(fresh_home, tmp_path, capsys, metric):
    rc = _cli("-m", "bicubic", "-d", "demo", "--protocol", "luma", "--metrics", f"psnr_y,{metric}",
              "--out", str(tmp_path / "run"))
    err = capsys.readouterr().err
    assert rc == 2 and f"{metric} are not defined under the 'luma' protocol" in err
    assert "psnr_y, ssim_y, ssim_y_matlab" in err and not (tmp_path / "run").exists()


def test_unwritable_srbench_home_is_a_clear_error(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SRBENCH_HOME", str(blocker / "home"))  # root ignores permissions: a file in the path
    rc = _cli("-m", "bicubic", "-d", "demo", "--out", str(tmp_path / "run"))
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert f"srbench's cache {blocker / 'home' / 'cache'} is not writable" in err and "SRBENCH_HOME" in err


def test_unwritable_report_folder_fails_before_the_run(fresh_home, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    rc = _cli("-m", "bicubic", "-d", "demo", "--out", str(tmp_path / "run"), "--report", str(blocker / "site"))
    err = capsys.readouterr().err
    assert rc == 2 and f"cannot write the report to {blocker / 'site'}" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_manifest_timings_are_rounded(fresh_home, tmp_path):
    out = run(_cfg(tmp_path / "run"))
    stats = _manifest(out)["timings"]["bicubic/demo/x4"]
    for key in ("sr_seconds", "metric_seconds"):
        assert stats[key] == round(stats[key], 3)
    text = (out / "manifest.json").read_text()
    assert not re.search(r'_seconds": \d+\.\d{4,}', text)


def test_weight_sources_are_logged(tmp_path, monkeypatch, fresh_home, srgan_weights):
    """Which checkpoint file was taken from where is said before the run (here: SRGAN from the mirror)."""
    lines = []
    weights = srgan_weights / "netG_epoch_4_100.pth"
    cfg = _cfg(tmp_path / "run", methods=["srgan"], weights={"srgan": str(weights)}, log=lines.append)
    cfg.datasets = ["demo"]
    cfg.scales = [4]
    run(cfg)
    assert any(ln.startswith("weights: srgan x4 netG_epoch_4_100.pth <- ") and str(weights) in ln for ln in lines), lines
