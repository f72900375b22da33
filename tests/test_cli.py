"""The command line: fast help/list without torch, listings, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from srbench import datasets as ds
from srbench.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _py(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _imported(importtime_stderr: str) -> set[str]:
    """Top-level package names from ``-X importtime`` output."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            mod = line.rsplit("|", 1)[1].strip()
            names.add(mod.split(".")[0])
    return names


def test_help_is_fast_and_torch_free():
    r = _py("-X", "importtime", "-m", "srbench", "--help")
    assert r.returncode == 0, r.stderr
    assert "usage: srbench" in r.stdout
    for sub in ("run", "list", "weights", "compare", "baseline", "report"):
        assert sub in r.stdout
    imported = _imported(r.stderr)
    assert "srbench" in imported  # the parser works: importtime output is what we think it is
    assert not imported & {"torch", "torchvision", "lpips", "pyiqa", "scipy", "skimage", "matplotlib"}


def test_list_shows_methods_datasets_metrics_without_torch():
    code = (
        "import sys\n"
        "from srbench.cli import main\n"
        "rc = main(['list'])\n"
        "heavy = sorted(m for m in ('torch', 'torchvision', 'lpips', 'pyiqa') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
        "sys.exit(rc)\n"
    )
    r = _py("-c", code)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    sections = {name: i for i, name in enumerate(out.splitlines()) if name.rstrip(":") in ("methods", "datasets", "degradations", "metrics")}
    assert set(sections) == {"methods:", "datasets:", "degradations:", "metrics:"}
    lines = out.splitlines()
    method_lines = lines[sections["methods:"] + 1: sections["datasets:"]]
    dataset_lines = lines[sections["datasets:"] + 1: sections["degradations:"]]
    degradation_lines = lines[sections["degradations:"] + 1: sections["metrics:"]]
    assert {"bicubic", "hvae-gauss", "cyclesr-g1"} <= {line.split()[0] for line in degradation_lines}
    assert any(line.split()[0] == "bicubic" for line in method_lines)
    ds.specs.cache_clear()
    listed = {line.split()[0] for line in dataset_lines}
    assert listed == set(ds.specs())
    assert {"demo", "set5", "set14", "b100", "urban100", "manga109"} <= listed
    assert "psnr_y" in out and "ssim_y" in out


def test_list_in_process_subsets(capsys):
    assert main(["list", "datasets"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("datasets:") and "methods:" not in out and "set5" in out
    assert main(["list", "methods"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("methods:") and "bicubic" in out and "datasets:" not in out


def test_version(capsys):
    from srbench import __version__

    with pytest.raises(SystemExit) as ei:
        main(["--version"])
    assert ei.value.code == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["run"], ["run", "-m", "bicubic", "-d", "demo", "--scale", "four"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as ei:
        main(argv)
    assert ei.value.code == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize("argv,expect", [
    (["run", "-m", "bicubic"], "give --datasets (e.g. set5,urban100) or --track"),
    (["run", "-m", "bicubic", "--track", "bicubic-x4", "--scale", "2"], "--track bicubic-x4 sets the datasets"),
    (["run", "-m", "bicubic", "--track", "bicubic-x5"], "unknown track 'bicubic-x5'. Did you mean"),
])
def test_run_needs_datasets_or_one_track(argv, expect, capsys):
    assert main(argv) == 2
    assert expect in capsys.readouterr().err


def test_error_exit_code_and_message_in_subprocess(tmp_path):
    r = _py("-m", "srbench", "run", "-m", "bicubc", "-d", "demo", "--out", str(tmp_path / "run"), "--no-progress",
            env_extra={"SRBENCH_HOME": str(tmp_path / "home"), "SRBENCH_OFFLINE": "1"})
    assert r.returncode == 2
    assert r.stderr.startswith("srbench: error: unknown method 'bicubc'")
    assert "Did you mean 'bicubic'" in r.stderr
    assert "Traceback" not in r.stderr


def test_run_success_exit_0_prints_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    ds.specs.cache_clear()
    rc = main(["run", "-m", "bicubic", "-d", "demo", "--scale", "8", "--metrics", "psnr_y", "--out", str(tmp_path / "run"),
               "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "psnr_y" in out and "bicubic" in out and "x8" in out
    assert f"run folder: {tmp_path / 'run'}" in out
    assert (tmp_path / "run" / "summary.csv").is_file()
