"""Run folders lose nothing: one run at a time, no silent overwrite, a status, one file mode."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from srbench import datasets as ds
from srbench import registry
from srbench.cli import main
from srbench.errors import MethodFailedError
from srbench.run_folder import LOCK_NAME, RunFolder, RunFolderError, effective_status, is_locked
from srbench.runner import RunConfig, run

HELPERS = Path(__file__).resolve().parent / "helpers"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _offline_demo(monkeypatch, fresh_home):
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    ds.specs.cache_clear()
    yield
    ds.specs.cache_clear()


@pytest.fixture
def adapters(monkeypatch):
    monkeypatch.syspath_prepend(str(HELPERS))
    import run_test_adapters as t

    t.reset()
    known = {"bicubic": registry.methods()["bicubic"], "crash": t.info("crash", "crash")}
    monkeypatch.setattr(registry, "methods", lambda: known)
    return t


def _cli(*args: str) -> int:
    return main(["run", "--no-progress", "-d", "demo", "--metrics", "psnr_y", *args])


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and p.name != LOCK_NAME}


# ------------------------------------------------------------------ one run at a time


def test_second_run_into_a_locked_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert _cli("-m", "bicubic", "--out", str(out)) == 0
    before = _snapshot(out)
    with RunFolder(out, _manifest(out)["config_key"], command=["srbench", "run", "--first"]):  # a run holds the lock
        rc = _cli("-m", "bicubic", "--out", str(out))
        err = capsys.readouterr().err
    assert rc == 2 and "in use by another srbench run" in err and "--first" in err and f"pid {os.getpid()}" in err
    assert "Traceback" not in err
    assert _snapshot(out) == before  # nothing was written


def test_lock_is_held_across_processes_and_released_when_the_holder_dies(tmp_path, capsys):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from srbench.run_folder import RunFolder
            with RunFolder({str(out)!r}, "k", command=["holder"]):
                print("locked", flush=True)
                time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert _cli("-m", "bicubic", "--out", str(out)) == 2
        assert "in use by another srbench run (pid" in capsys.readouterr().err
    finally:
        holder.kill()  # SIGKILL: no clean-up code runs, the kernel drops the lock
        holder.wait()
    assert _cli("-m", "bicubic", "--out", str(out)) == 0


# ------------------------------------------------------------------ what a folder may hold


def test_a_different_finished_run_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert _cli("-m", "bicubic", "--save-images", "--report", "--out", str(out)) == 0
    assert (out / "site" / "index.html").is_file() and (out / "images").is_dir()
    before = _snapshot(out)
    capsys.readouterr()
    rc = _cli("-m", "bicubic", "--scale", "2", "--out", str(out))
    err = capsys.readouterr().err
    assert rc == 2 and "holds a finished run of another configuration" in err and "--overwrite" in err
    assert _snapshot(out) == before
    (out / "my-notes.txt").write_text("mine")  # not srbench's: --overwrite must keep it
    assert _cli("-m", "bicubic", "--scale", "2", "--out", str(out), "--overwrite") == 0
    m = _manifest(out)
    assert m["scales"] == [2] and m["status"] == "finished"
    assert not (out / "site").exists() and not (out / "images").exists()  # the old run's leftovers are gone
    assert (out / "my-notes.txt").read_text() == "mine"


def test_the_same_command_resumes_a_finished_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert _cli("-m", "bicubic", "--out", str(out)) == 0
    first = (out / "summary.csv").read_text()
    assert _cli("-m", "bicubic", "--out", str(out)) == 0
    m = _manifest(out)
    assert m["resumed_from"] == "finished" and m["timings"]["bicubic/demo/x4"]["images_computed"] == 0
    assert (out / "summary.csv").read_text() == first


def test_a_folder_that_holds_no_run_is_never_touched(tmp_path, capsys):
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.png").write_bytes(b"not mine to delete")
    for extra in ([], ["--overwrite"]):
        rc = _cli("-m", "bicubic", "--out", str(out), *extra)
        err = capsys.readouterr().err
        assert rc == 2 and "holds no srbench run" in err and "holiday.png" in err
    assert sorted(p.name for p in out.iterdir()) == ["holiday.png"]  # not even a lock file was left there


# ------------------------------------------------------------------ status


def test_interrupted_run_is_marked_and_resumes(tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(HELPERS))
    import sr_test_adapters as t

    t.reset(interrupt_at=2)
    known = {"flaky": t.info("flaky", "flaky")}
    monkeypatch.setattr(registry, "methods", lambda: known)
    out = tmp_path / "run"
    assert _cli("-m", "flaky", "--out", str(out)) == 130
    m = _manifest(out)
    assert m["status"] == "interrupted" and m["finished"] is None and m["stopped"]
    t.reset()
    assert _cli("-m", "flaky", "--out", str(out)) == 0
    m = _manifest(out)
    assert m["status"] == "finished" and m["resumed_from"] == "interrupted" and m["finished"]


def test_sigterm_marks_the_run_interrupted(tmp_path):
    """A batch system's kill (SIGTERM) ends the run like Ctrl-C: marked interrupted, exit 130."""
    out = tmp_path / "run"
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(HELPERS)!r})
        import sr_test_adapters as t
        from srbench import registry
        from srbench.cli import main
        orig = t.TestModel.upscale
        def upscale(self, lr):
            if t.STATE["calls"] == 1:
                os.kill(os.getpid(), signal.SIGTERM)
            return orig(self, lr)
        t.TestModel.upscale = upscale
        registry.methods = lambda: {{"plain": t.info("plain", "plain")}}
        sys.exit(main(["run", "--no-progress", "-m", "plain", "-d", "demo", "--metrics", "psnr_y", "--out", {str(out)!r}]))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 130, proc.stderr
    assert _manifest(out)["status"] == "interrupted"


def test_a_killed_run_reads_as_interrupted(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"status": "running", "config_key": "x"}))
    assert effective_status(out, _manifest(out)) == "interrupted"  # nobody holds its lock
    with RunFolder(out, "x"):
        assert effective_status(out, _manifest(out)) == "running"


def test_failing_method_is_one_line_and_keeps_finished_work(tmp_path, capsys, adapters):
    adapters.reset(crash_at=3)
    out = tmp_path / "run"
    rc = _cli("-m", "crash", "--out", str(out))
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    line = [ln for ln in err.splitlines() if ln.startswith("srbench: error:")]
    assert len(line) == 1 and "method 'crash'" in line[0] and "chelsea" in line[0]  # the third demo image
    assert "RuntimeError: CUDA out of memory (simulated)" in line[0] and "re-run the same command" in line[0]
    m = _manifest(out)
    assert m["status"] == "failed" and "CUDA out of memory" in m["error"]
    rows = (out / "per_image.csv").read_text().splitlines()[1:]
    assert sorted(r.split(",")[3] for r in rows) == ["astronaut", "camera"]  # what finished is kept
    adapters.reset()
    assert _cli("-m", "crash", "--out", str(out)) == 0
    assert _manifest(out)["timings"]["crash/demo/x4"]["images_cached"] == 2  # and reused
    with pytest.raises(MethodFailedError):
        adapters.reset(crash_at=1)
        run(RunConfig(methods=["crash"], datasets=["demo"], scales=[2], out=tmp_path / "api", progress=False))


# ------------------------------------------------------------------ file modes


def test_every_file_of_a_run_has_the_same_mode(tmp_path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "run"
        assert _cli("-m", "bicubic", "--save-images", "--out", str(out)) == 0
    finally:
        os.umask(old)
    modes = {str(p.relative_to(out)): stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*") if p.is_file()}
    assert {"manifest.json", "summary.csv", "per_image.csv"} <= set(modes)
    assert set(modes.values()) == {0o644}, modes


def test_refusal_releases_the_lock(tmp_path):
    out = tmp_path / "run"
    with RunFolder(out, "first"):
        pass
    (out / "manifest.json").write_text(json.dumps({"status": "finished", "config_key": "first", "command": ["a"]}))
    with pytest.raises(RunFolderError, match="another configuration"):
        RunFolder(out, "second").open()
    assert not is_locked(out)
