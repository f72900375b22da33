"""`srbench baseline write`: the reviewable baseline CSV and its provenance header."""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import pytest

from srbench import baseline as bl
from srbench import compare as cmp
from srbench.results import read_provenance

ROOT = Path(__file__).resolve().parents[1]


def _helpers():
    # the run-folder builders of test_compare.py, loaded by path (works with any pytest import mode)
    import importlib.util

    spec = importlib.util.spec_from_file_location("_srbench_compare_helpers", Path(__file__).with_name("test_compare.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_h = _helpers()
base_rows, make_run, row = _h.base_rows, _h.make_run, _h.row


def cli(argv):
    parser = argparse.ArgumentParser(prog="srbench baseline")
    bl.add_arguments(parser)
    return bl.run(parser.parse_args([str(a) for a in argv]))


def data_lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]


def test_write_then_compare_roundtrip(tmp_path, capsys):
    luma = make_run(tmp_path / "luma", base_rows())
    rgb = make_run(tmp_path / "rgb", [dict(r, protocol="rgb", value=r["value"] + 0.01) for r in base_rows()])
    out_dir = tmp_path / "leaderboards/baselines"
    assert cli(["write", luma, rgb, "--name", "bicubic", "--dir", out_dir]) == 0
    assert "wrote" in capsys.readouterr().out
    path = out_dir / "bicubic.csv"
    text = path.read_text()
    header = [ln for ln in text.splitlines() if ln.startswith("#")]
    prov = read_provenance(header)
    for key in ("srbench_version", "written", "command", "git_commit", "source_1", "source_2"):
        assert key in prov, key
    assert prov["command"].startswith("srbench baseline write ")
    assert "--name bicubic" in prov["command"]
    assert prov["source_1_git_commit"] == "0" * 40
    assert prov["source_1_command"] == "srbench run --methods bicubic"
    # the data part is a plain summary.csv, sorted, full precision
    lines = data_lines(path)
    assert lines[0] == ",".join(cmp.SUMMARY_COLUMNS)
    rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
    assert len(rows) == 6
    assert [(r["scale"], r["protocol"], r["metric"]) for r in rows] == [
        ("2", "luma", "psnr_y"), ("2", "luma", "ssim_y"), ("2", "rgb", "psnr_y"), ("2", "rgb", "ssim_y"),
        ("4", "luma", "psnr_y"), ("4", "rgb", "psnr_y"),
    ]
    assert float(rows[2]["value"]) == base_rows()[0]["value"] + 0.01
    # compare of the same runs against it: exit 0
    assert cmp.compare_paths([luma, rgb], path).exit_code == 0


def test_metric_and_dataset_filters(tmp_path):
    run = make_run(tmp_path / "r", base_rows() + [row(dataset="set14", value=30.2)])
    path, table, prev = bl.write_baseline([run], "x", tmp_path, metrics=["psnr_y"], datasets=["set5"])
    assert prev is None
    assert {(c.metric, c.dataset) for c in table.cells} == {("psnr_y", "set5")}
    assert len(data_lines(path)) == 3
    with pytest.raises(cmp.CompareInputError, match="not in the run"):
        bl.write_baseline([run], "x", tmp_path, metrics=["lpips"])


def test_rewrite_reports_what_moved(tmp_path, capsys):
    run1 = make_run(tmp_path / "r1", base_rows())
    rows = base_rows()
    rows[0]["value"] += 0.5
    run2 = make_run(tmp_path / "r2", rows)
    assert cli(["write", run1, "--name", "b", "--dir", tmp_path]) == 0
    capsys.readouterr()
    assert cli(["write", run2, "--name", "b", "--dir", tmp_path]) == 0
    out = capsys.readouterr().out
    assert "compared with the previous version" in out and "better" in out
    assert cmp.compare_paths(run2, tmp_path / "b.csv").exit_code == 0


def test_refuses_unfinished_run_and_bad_names(tmp_path, capsys):
    run = make_run(tmp_path / "r", base_rows(), finished=None)
    assert cli(["write", run, "--name", "b", "--dir", tmp_path]) == 2
    assert "did not finish" in capsys.readouterr().err
    assert cli(["write", run, "--name", "b", "--dir", tmp_path, "--allow-unfinished"]) == 0
    assert cli(["write", run, "--name", "../evil", "--dir", tmp_path]) == 2
    assert cli(["write", tmp_path / "missing", "--name", "b", "--dir", tmp_path]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err


def test_shipped_tolerance_files_parse():
    from srbench.tolerances import Tolerances

    for name in ("tolerances.yaml", "tolerances-strict.yaml"):
        t = Tolerances.load(ROOT / "leaderboards/baselines" / name)
        assert t.rule_for("bicubic", "set5", "psnr_y").abs > 0
