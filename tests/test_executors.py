"""Executors: the same numbers, byte for byte, from one process, worker processes and Ray."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from srbench.errors import SrbenchError, UnknownNameError
from srbench.executors import auto_workers, make_executor, parse_workers
from srbench.plan import RunConfig
from srbench.runner import run
from srbench.unit_worker import Failure

SCALES = [2, 3, 4]


def _run(out: Path, **kw) -> Path:
    kw.setdefault("metrics", ["psnr_y", "ssim_y"])
    return run(RunConfig(methods=["bicubic"], datasets=["demo"], scales=SCALES, out=out, progress=False, **kw))


def _files(out: Path) -> tuple[str, str]:
    return (out / "per_image.csv").read_text(), (out / "summary.csv").read_text()


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    base = tmp_path_factory.mktemp("serial")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SRBENCH_HOME", str(base / "home"))
        out = _run(base / "run", workers=1)
    return out


def test_serial_run_is_the_reference(serial):
    man = _manifest(serial)
    assert man["executor"] == "serial (1 worker)"
    assert sum(t["images_computed"] for t in man["timings"].values()) == 4 * len(SCALES)


def test_worker_processes_give_identical_files(serial, tmp_path, fresh_home):
    out = _run(tmp_path / "procs", workers=2)
    assert _manifest(out)["executor"] == "processes (2 workers)"
    assert _files(out) == _files(serial)


def test_ray_gives_identical_files(serial, tmp_path, fresh_home):
    ray = pytest.importorskip("ray", reason="Ray is the optional extra srbench[ray] (installed by scripts/install.sh)")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"SRBENCH_HOME": str(fresh_home), "SRBENCH_OFFLINE": "1"}})
    try:
        out = _run(tmp_path / "ray", executor="ray", workers=2)
    finally:
        ray.shutdown()
    assert _manifest(out)["executor"] == "ray (2 workers)"
    assert _files(out) == _files(serial)


def test_set_metric_parts_merge_in_image_order_whatever_the_executor(tmp_path, fresh_home, torch_home):
    """FID's streaming sums depend on the order images are added: workers finish in any order, the driver
    merges in image order, so FID is bit-identical to the serial run's."""
    a = _run(tmp_path / "a", metrics=["psnr_y", "fid"], workers=1)
    b = _run(tmp_path / "b", metrics=["psnr_y", "fid"], workers=2)  # the HR features now come from the cache
    assert _files(a) == _files(b)
    assert "fid" in (a / "summary.csv").read_text()


def test_failures_travel_as_class_and_message():
    exc = Failure.of(3, UnknownNameError("method", "bicubc", ["bicubic"])).exception()
    assert isinstance(exc, UnknownNameError) and "Did you mean 'bicubic'" in str(exc)
    other = Failure.of(1, ZeroDivisionError("boom")).exception()
    assert isinstance(other, SrbenchError) and "ZeroDivisionError: boom" in str(other)
    assert isinstance(Failure.of(0, KeyboardInterrupt()).exception(), KeyboardInterrupt)


def test_auto_workers_follow_cores_memory_and_work(monkeypatch):
    import srbench.executors as ex

    monkeypatch.setattr(ex, "cpu_count", lambda: 8)
    monkeypatch.setattr(ex, "available_memory", lambda: 64 * 2**30)
    assert auto_workers("cpu", 1000) == 8
    assert auto_workers("cpu", 12) == 3  # a worker per 4 units
    assert auto_workers("cpu", 7) == 1  # not worth starting processes
    assert auto_workers("cuda", 1000) == 1  # one process feeds the GPU
    assert auto_workers("cpu", 1000, torch_work=True) == 1  # torch's threads already use the cores
    monkeypatch.setattr(ex, "available_memory", lambda: 3 * 2**30)
    assert auto_workers("cpu", 1000) == 2  # capped by memory


def test_workers_option_is_checked():
    assert parse_workers("auto") is None and parse_workers("3") == 3
    for bad in ("0", "-1", "two"):
        with pytest.raises(SrbenchError, match="--workers"):
            parse_workers(bad)


def test_unknown_executor_and_ray_with_in_process_models_are_refused():
    with pytest.raises(SrbenchError, match="unknown executor"):
        make_executor(None, executor="dask", workers=1, pending=3, address=None, in_process_models=False)
    with pytest.raises(SrbenchError, match="in-process"):
        make_executor(None, executor="ray", workers=1, pending=3, address=None, in_process_models=True)


def test_cli_runs_with_workers(tmp_path, fresh_home, capsys):
    from srbench.cli import main

    rc = main(["run", "--no-progress", "-m", "bicubic", "-d", "demo", "--scale", "2,4", "--workers", "2",
               "--out", str(tmp_path / "cli")])
    assert rc == 0, capsys.readouterr().err
    assert _manifest(tmp_path / "cli")["executor"] == "processes (2 workers)"
    rc = main(["run", "--no-progress", "-m", "bicubic", "-d", "demo", "--address", "auto", "--out", str(tmp_path / "x")])
    assert rc == 2 and "--address is for --executor ray" in capsys.readouterr().err


def test_worker_arrays_match_in_process_arrays(tmp_path, fresh_home):
    """The SR images a worker process caches are the ones this process computes."""
    from srbench.cache import ImageCache

    _run(tmp_path / "a", workers=2)
    cached = sorted(ImageCache(kind="sr").root.rglob("*.npy"))
    assert len(cached) == 4 * len(SCALES)
    assert all(np.load(p).dtype == np.uint8 for p in cached)


#: a CUDA run against the CPU run: bicubic and PSNR/SSIM are numpy on both (exact); LPIPS is AlexNet
#: convolutions in float32 on another device (cuDNN vs oneDNN summation order): 1e-5 per image, as
#: tests/metrics/test_lpips.py::test_cuda_matches_cpu
CUDA_LPIPS_ABS = 1e-5


@pytest.mark.skipif("not __import__('torch').cuda.is_available()", reason="no CUDA device")
def test_cuda_run_equals_cpu_run(tmp_path, fresh_home, torch_home, monkeypatch):
    import csv

    def cells(out):
        with open(out / "per_image.csv", newline="") as f:
            return {(r["scale"], r["image"], r["metric"]): float(r["value"]) for r in csv.DictReader(f)}

    cpu = cells(_run(tmp_path / "cpu", metrics=["psnr_y", "ssim_y", "lpips"], workers=1))
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path / "gpu-home"))  # values are not keyed by device: start empty
    gpu = cells(_run(tmp_path / "gpu", metrics=["psnr_y", "ssim_y", "lpips"], workers=None, device="cuda"))
    assert cpu.keys() == gpu.keys()
    for k, v in cpu.items():
        if k[2] == "lpips":
            assert gpu[k] == pytest.approx(v, abs=CUDA_LPIPS_ABS), k
        else:
            assert gpu[k] == v, k
