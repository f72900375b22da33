"""srbench's own regression check: bicubic on Set5 + Set14 + B100 + Urban100, x2/x3/x4, both protocols,
must reproduce ``leaderboards/baselines/bicubic.csv`` (psnr_y, ssim_y, ssim_y_matlab).

This runs the real command line in subprocesses with a cache that started empty in this test session
(the session's own ``SRBENCH_HOME`` when conftest or .ci/run created it, else a new one in tmp), so every
SR image and metric value is computed by the code under test; other tests of the session reuse them. Datasets come from the offline mirror
(the ``benchmark_datasets`` fixture: skipped without it, a failure in CI, downloaded with
``SRBENCH_TEST_DOWNLOAD=1``). It takes a few minutes.

The baseline is (re)written on purpose only, with::

    srbench run --methods bicubic --datasets set5,set14,b100,urban100 --scale 2,3,4 \\
        --metrics psnr_y,ssim_y,ssim_y_matlab --protocol luma --out runs/bicubic-luma
    srbench run --methods bicubic --datasets set5,set14,b100,urban100 --scale 2,3,4 \\
        --metrics psnr_y,ssim_y,ssim_y_matlab --protocol rgb --out runs/bicubic-rgb
    srbench baseline write runs/bicubic-luma runs/bicubic-rgb --name bicubic
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "leaderboards" / "baselines" / "bicubic.csv"
STRICT = ROOT / "leaderboards" / "baselines" / "tolerances-strict.yaml"
pytestmark = pytest.mark.slow  # whole datasets; still runs by default (nothing is skipped)

DATASETS = ["set5", "set14", "b100", "urban100"]
SCALES = [2, 3, 4]
METRICS = ["psnr_y", "ssim_y", "ssim_y_matlab"]
PROTOCOLS = ["luma", "rgb"]

# The classic bicubic table (luma protocol), to 2 / 4 decimals as published: the baseline must not only
# repeat itself but also stay on the numbers papers copy (PSNR within 0.01 dB everywhere; SSIM of
# Set5/B100 with ssim_y, Set14 with ssim_y_matlab, within 0.0005 where the mirror README measured it).
PUBLISHED_PSNR = {
    ("set5", 2): 33.66, ("set5", 3): 30.39, ("set5", 4): 28.42,
    ("set14", 2): 30.24, ("set14", 3): 27.55, ("set14", 4): 26.00,
    ("b100", 2): 29.56, ("b100", 3): 27.21, ("b100", 4): 25.96,
    ("urban100", 2): 26.88, ("urban100", 3): 24.46, ("urban100", 4): 23.14,
}
PUBLISHED_SSIM = {  # (dataset, scale): (metric, value)
    ("set5", 2): ("ssim_y", 0.9299), ("set5", 3): ("ssim_y", 0.8682), ("set5", 4): ("ssim_y", 0.8104),
    ("b100", 2): ("ssim_y", 0.8431), ("b100", 3): ("ssim_y", 0.7385), ("b100", 4): ("ssim_y", 0.6675),
    ("set14", 2): ("ssim_y_matlab", 0.8688), ("set14", 3): ("ssim_y_matlab", 0.7742),
    ("set14", 4): ("ssim_y_matlab", 0.7027),
}


def _env(tmp: Path) -> dict:
    """The session's environment (conftest: SRBENCH_MIRROR, SRBENCH_OFFLINE), with a cache seen to start empty."""
    env = dict(os.environ)
    fresh = os.environ.get("SRBENCH_TEST_FRESH_HOME")
    if not (fresh and fresh == os.environ.get("SRBENCH_HOME")):
        env["SRBENCH_HOME"] = str(tmp / "home")  # a cache we did not see start empty: use an empty one
    env.setdefault("PYTHONIOENCODING", "utf-8")
    return env


def srbench(*args, env, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "srbench", *map(str, args)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


@pytest.fixture(scope="module")
def bicubic_runs(benchmark_datasets, tmp_path_factory) -> list[Path]:
    """Run both protocols (in parallel: they share nothing) and return the two run folders."""
    tmp = tmp_path_factory.mktemp("bicubic")
    env = _env(tmp)
    procs = {}
    for protocol in PROTOCOLS:
        out = tmp / f"bicubic-{protocol}"
        cmd = [sys.executable, "-m", "srbench", "run", "--methods", "bicubic", "--datasets", ",".join(DATASETS),
               "--scale", ",".join(map(str, SCALES)), "--metrics", ",".join(METRICS), "--protocol", protocol,
               "--out", str(out), "--no-progress"] + (["--workers", "2"] if protocol == "rgb" else [])  # both executors
        log = open(tmp / f"{protocol}.log", "w+")  # noqa: SIM115 - stays open while the run goes on; closed below
        procs[protocol] = (subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log, out)
    outs = []
    for protocol, (proc, log, out) in procs.items():
        try:
            rc = proc.wait(timeout=1800)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = "timeout"
        log.seek(0)
        text = log.read()
        log.close()
        assert rc == 0, f"srbench run --protocol {protocol} failed ({rc}):\n{text[-4000:]}"
        outs.append(out)
    return outs


def test_bicubic_matches_checked_in_baseline(bicubic_runs, tmp_path):
    assert BASELINE.is_file(), (
        f"{BASELINE} is missing; create it on purpose (see this file's docstring) with "
        "`srbench baseline write RUN_LUMA RUN_RGB --name bicubic`"
    )
    report = tmp_path / "compare.json"
    res = srbench("compare", *bicubic_runs, BASELINE, "--tolerances", STRICT, "--fail-on-change",
                  "--json", report, "--markdown", tmp_path / "compare.md", env=_env(tmp_path))
    assert res.returncode == 0, f"bicubic moved against {BASELINE.name}:\n{res.stdout}\n{res.stderr}"
    data = json.loads(report.read_text())
    n = len(DATASETS) * len(SCALES) * len(METRICS) * len(PROTOCOLS)
    assert data["counts"]["within"] == n == len(data["cells"]), data["counts"]


def test_bicubic_is_bit_identical_to_the_baseline(bicubic_runs):
    """Every value equals the checked-in one to the last bit (repr in both CSVs): the runner's plan/execute/
    reduce split, the worker processes (the rgb run uses --workers 2) and the fast imresize/SSIM paths
    changed no number of the serial run that wrote the baseline."""
    rows = list(csv.DictReader(ln for ln in BASELINE.read_text().splitlines() if not ln.startswith("#")))
    want = {(r["dataset"], r["scale"], r["protocol"], r["metric"]): r["value"] for r in rows}
    got = {}
    for out in bicubic_runs:
        with open(out / "summary.csv", newline="") as f:
            got.update({(r["dataset"], r["scale"], r["protocol"], r["metric"]): r["value"] for r in csv.DictReader(f)})
    assert got == want


def test_baseline_is_on_the_published_table():
    """The checked-in numbers themselves, against the classic table (guards a wrongly written baseline)."""
    assert BASELINE.is_file(), f"{BASELINE} is missing"
    rows = list(csv.DictReader(ln for ln in BASELINE.read_text().splitlines() if not ln.startswith("#")))
    cells = {(r["dataset"], int(r["scale"]), r["protocol"], r["metric"]): float(r["value"]) for r in rows}
    assert len(cells) == len(DATASETS) * len(SCALES) * len(METRICS) * len(PROTOCOLS)
    for (ds, s), psnr in PUBLISHED_PSNR.items():
        assert abs(cells[(ds, s, "luma", "psnr_y")] - psnr) <= 0.01 + 1e-9, (ds, s)
    for (ds, s), (metric, ssim) in PUBLISHED_SSIM.items():
        assert abs(cells[(ds, s, "luma", metric)] - ssim) <= 0.0005 + 1e-9, (ds, s, metric)


def test_perturbed_value_fails_compare(bicubic_runs, tmp_path):
    env = _env(tmp_path)
    # copy both run folders; move one PSNR by +0.02 dB in the copy
    copies = []
    for run in bicubic_runs:
        dst = tmp_path / run.name
        dst.mkdir()
        for name in ("summary.csv", "manifest.json"):
            shutil.copy(run / name, dst / name)
        copies.append(dst)
    summary = copies[0] / "summary.csv"
    with summary.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    target = next(r for r in rows if r["dataset"] == "set14" and r["scale"] == "3" and r["metric"] == "psnr_y")
    target["value"] = repr(float(target["value"]) + 0.02)
    with summary.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    # the unperturbed runs as the baseline: the default tolerances (0.01 dB) see the move
    base = tmp_path / "base.csv"
    res = srbench("baseline", "write", *bicubic_runs, "--name", "base", "--dir", tmp_path, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    # current higher: "better"; passes by default, fails with --fail-on-change (srbench's own CI)
    res = srbench("compare", *copies, base, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 better" in res.stdout
    res = srbench("compare", *copies, base, "--fail-on-change", env=env)
    assert res.returncode == 1, res.stdout + res.stderr
    # the other way round (the current run is 0.02 dB lower than its baseline): "worse", exit 1
    assert srbench("baseline", "write", *copies, "--name", "moved", "--dir", tmp_path, env=env).returncode == 0
    res = srbench("compare", *bicubic_runs, tmp_path / "moved.csv", env=env)
    assert res.returncode == 1, res.stdout + res.stderr
    worse = [ln for ln in res.stdout.splitlines() if ln.startswith("WORSE")]
    assert len(worse) == 1 and "set14" in worse[0] and "x3" in worse[0], res.stdout
    assert "1 worse" in res.stdout and "REGRESSION" in res.stdout


def test_missing_input_exits_2(tmp_path):
    res = srbench("compare", tmp_path / "no-such-run", BASELINE, env=_env(tmp_path))
    assert res.returncode == 2
    assert "not found" in res.stderr and "Traceback" not in res.stderr
