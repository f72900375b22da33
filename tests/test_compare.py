"""`srbench compare`: statuses, tolerances, inputs, outputs and exit codes (hand-made run folders)."""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from srbench import compare as cmp
from srbench.tolerances import DEFAULT_RULES, ToleranceError, Tolerances, parse_rules

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = list(cmp.SUMMARY_COLUMNS)


def row(method="bicubic", dataset="set5", scale=2, metric="psnr_y", value=33.6621, **kw):
    r = {
        "method": method,
        "dataset": dataset,
        "scale": scale,
        "metric": metric,
        "value": value,
        "n_images": 5,
        "protocol": "luma",
        "metric_version": "1",
        "adapter_version": "1",
        "dataset_version": "1",
        "weights_sha256": "",
    }
    r.update(kw)
    return r


def write_summary(path: Path, rows, comments=()):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        for c in comments:
            fh.write(c + "\n")
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    return path


def make_run(folder: Path, rows, metrics=None, finished="2024-01-01T00:01:00Z"):
    folder.mkdir(parents=True, exist_ok=True)
    write_summary(folder / "summary.csv", rows)
    manifest = {
        "schema": 1,
        "srbench_version": "0.1.0",
        "created": "2024-01-01T00:00:00Z",
        "finished": finished,
        "command": ["srbench", "run", "--methods", "bicubic"],
        "git_commit": "0" * 40,
        "metrics": metrics or {},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def status_of(result, **key):
    found = [r for r in result.rows if all(str(getattr(r, k)) == str(v) for k, v in key.items())]
    assert len(found) == 1, found
    return found[0]


def base_rows():
    return [
        row(metric="psnr_y", value=33.6621),
        row(metric="ssim_y", value=0.9299),
        row(scale=4, metric="psnr_y", value=28.4221),
    ]


# ------------------------------------------------------------------------------------- statuses


def test_identical_runs_are_within_and_exit_0(tmp_path):
    cur = make_run(tmp_path / "cur", base_rows())
    base = make_run(tmp_path / "base", base_rows())
    res = cmp.compare_paths(cur, base)
    assert {r.status for r in res.rows} == {"within"}
    assert res.exit_code == 0 and not res.regression
    assert res.counts["within"] == 3


@pytest.mark.parametrize(
    "metric,delta,expected",
    [
        ("psnr_y", +0.02, "better"),
        ("psnr_y", -0.02, "worse"),
        ("psnr_y", +0.009, "within"),
        ("psnr_y", -0.01, "within"),  # exactly the tolerance is within
        ("ssim_y", -0.0006, "worse"),
        ("ssim_y", +0.0004, "within"),
    ],
)
def test_direction_from_registry(tmp_path, metric, delta, expected):
    b = row(metric=metric, value=0.9 if metric == "ssim_y" else 30.0)
    c = dict(b, value=b["value"] + delta)
    res = cmp.compare_paths(make_run(tmp_path / "c", [c]), make_run(tmp_path / "b", [b]))
    assert res.rows[0].status == expected
    assert res.rows[0].higher_is_better is True
    assert res.exit_code == (1 if expected == "worse" else 0)


def test_lower_is_better_from_leaderboard_metrics_block(tmp_path):
    # a metric the registry does not know: direction from the inputs' metrics block
    b = row(metric="mylpips_xyz", value=0.200)
    lb = {"schema": 1, "cells": [dict(b, run="r1")], "metrics": {"mylpips_xyz": {"higher_is_better": False}}}
    base = tmp_path / "leaderboard.json"
    base.write_text(json.dumps(lb))
    up = make_run(tmp_path / "up", [dict(b, value=0.300)])
    down = make_run(tmp_path / "down", [dict(b, value=0.100)])
    assert cmp.compare_paths(up, base).rows[0].status == "worse"
    assert cmp.compare_paths(down, base).rows[0].status == "better"


def test_direction_from_manifest_metrics_block(tmp_path):
    b = row(metric="foo_score", value=1.0)
    meta = {"foo_score": {"higher_is_better": False, "version": "1"}}
    cur = make_run(tmp_path / "c", [dict(b, value=2.0)], metrics=meta)
    base = make_run(tmp_path / "b", [b])
    res = cmp.compare_paths(cur, base)
    assert res.rows[0].status == "worse" and res.rows[0].higher_is_better is False


def test_unknown_direction_is_changed_and_fails(tmp_path):
    b = row(metric="mystery", value=1.0)
    res = cmp.compare_paths(make_run(tmp_path / "c", [dict(b, value=1.5)]), make_run(tmp_path / "b", [b]))
    r = res.rows[0]
    assert r.status == "changed" and r.fails and r.higher_is_better is None
    assert res.exit_code == 1
    # within tolerance (default '*' abs 1e-6): no change
    res = cmp.compare_paths(make_run(tmp_path / "c2", [dict(b, value=1.0 + 5e-7)]), make_run(tmp_path / "b", [b]))
    assert res.rows[0].status == "within" and res.exit_code == 0


def test_missing_and_new(tmp_path):
    base = make_run(tmp_path / "b", base_rows())
    cur_rows = base_rows()[:2] + [row(dataset="set14", metric="psnr_y", value=30.23)]
    res = cmp.compare_paths(make_run(tmp_path / "c", cur_rows), base)
    assert status_of(res, dataset="set5", scale=4).status == "missing"
    assert status_of(res, dataset="set14").status == "new"
    assert res.exit_code == 1
    assert not status_of(res, dataset="set14").fails
    res = cmp.compare_paths(make_run(tmp_path / "c", cur_rows), base, allow_missing=True)
    assert res.exit_code == 0


def test_only_new_cells_do_not_fail(tmp_path):
    base = make_run(tmp_path / "b", base_rows())
    cur = make_run(tmp_path / "c", base_rows() + [row(method="srcnn", value=36.0)])
    res = cmp.compare_paths(cur, base)
    assert res.counts["new"] == 1 and res.exit_code == 0


@pytest.mark.parametrize(
    "field,new",
    [
        ("metric_version", "2"),
        ("adapter_version", "2"),
        ("dataset_version", "2"),
        ("weights_sha256", "ab" * 32),
        ("n_images", 4),
    ],
)
def test_not_comparable_names_the_field(tmp_path, field, new):
    b = row()
    c = dict(b, **{field: new})
    res = cmp.compare_paths(make_run(tmp_path / "c", [c]), make_run(tmp_path / "b", [b]))
    r = res.rows[0]
    assert r.status == "not comparable"
    assert list(r.mismatched) == [field]
    assert field in r.notes[0]
    assert res.exit_code == 1
    res = cmp.compare_paths(
        make_run(tmp_path / "c", [c]), make_run(tmp_path / "b", [b]), allow_incomparable=True
    )
    assert res.rows[0].status == "not comparable" and res.exit_code == 0


def test_protocol_is_part_of_the_key(tmp_path):
    base = make_run(tmp_path / "b", [row(protocol="luma", value=33.66)])
    cur = make_run(tmp_path / "c", [row(protocol="rgb", value=33.67)])
    res = cmp.compare_paths(cur, base)
    assert sorted(r.status for r in res.rows) == ["missing", "new"]


def test_nan_value_is_a_change(tmp_path):
    b = row(value=33.0)
    res = cmp.compare_paths(make_run(tmp_path / "c", [dict(b, value="nan")]), make_run(tmp_path / "b", [b]))
    assert res.rows[0].status == "changed" and res.exit_code == 1
    res = cmp.compare_paths(make_run(tmp_path / "c", [dict(b, value="")]), make_run(tmp_path / "b", [b]))
    assert res.rows[0].status == "changed"


def test_regressions_are_listed_first(tmp_path):
    rows_b = [row(dataset=d, value=30.0) for d in ("a", "b", "c", "d")]
    rows_c = [dict(rows_b[0]), dict(rows_b[1], value=31.0), dict(rows_b[2], value=29.0)]
    res = cmp.compare_paths(make_run(tmp_path / "c", rows_c), make_run(tmp_path / "b", rows_b))
    assert [r.status for r in res.rows] == ["worse", "missing", "better", "within"]


def test_merged_current_inputs(tmp_path):
    luma = make_run(tmp_path / "luma", [row(protocol="luma", value=33.66)])
    rgb = make_run(tmp_path / "rgb", [row(protocol="rgb", value=33.67)])
    base = write_summary(tmp_path / "base.csv", [row(protocol="luma", value=33.66), row(protocol="rgb", value=33.67)])
    res = cmp.compare_paths([luma, rgb], base)
    assert res.exit_code == 0 and res.counts["within"] == 2
    with pytest.raises(cmp.CompareInputError, match="appears twice"):
        cmp.compare_paths([luma, luma], base)


# ----------------------------------------------------------------------------------- tolerances


def test_default_tolerance_table():
    t = Tolerances()
    assert t.rule_for("m", "d", "psnr_y").abs == 0.01
    assert t.rule_for("m", "d", "ssim_y_matlab").abs == 0.0005
    assert t.rule_for("m", "d", "lpips").abs == 0.001
    assert t.rule_for("m", "d", "niqe").abs == 0.01
    assert t.rule_for("m", "d", "pi").abs == 0.01
    fid = t.rule_for("m", "d", "fid")
    assert fid.rel == 0.01 and fid.abs == 0 and fid.allowed(20.0) == pytest.approx(0.2)
    assert t.rule_for("m", "d", "something_else").abs == 1e-6


def test_default_yaml_matches_builtin_defaults():
    data = yaml.safe_load((ROOT / "leaderboards/baselines/tolerances.yaml").read_text())
    rules, include = parse_rules(data, "tolerances.yaml")
    assert include is False
    strip = lambda r: (r.metric, r.method, r.dataset, r.abs, r.rel)
    assert [strip(r) for r in rules] == [strip(r) for r in DEFAULT_RULES]


def test_relative_tolerance_fid(tmp_path):
    b = row(metric="fid", value=20.0)
    base = make_run(tmp_path / "b", [b])
    assert cmp.compare_paths(make_run(tmp_path / "c1", [dict(b, value=20.19)]), base).rows[0].status == "within"
    meta = {"fid": {"higher_is_better": False}}  # in case the registry does not know fid
    c2 = make_run(tmp_path / "c2", [dict(b, value=20.3)], metrics=meta)
    assert cmp.compare_paths(c2, base).rows[0].status == "worse"


def test_tolerance_file_first_match_wins_and_defaults_follow(tmp_path):
    tol = tmp_path / "tol.yaml"
    tol.write_text(
        "tolerances:\n"
        "  - {metric: 'psnr*', dataset: 'set14', abs: 0.5}\n"
        "  - {metric: 'psnr*', abs: 0.1}\n"
        "  - {metric: 'psnr_y', abs: 0.0}\n"  # never reached
    )
    t = Tolerances.load(tol)
    assert t.rule_for("bicubic", "set14", "psnr_y").abs == 0.5
    assert t.rule_for("bicubic", "set5", "psnr_y").abs == 0.1
    assert t.rule_for("bicubic", "set5", "ssim_y").abs == 0.0005  # built-in default after the file's rules
    b = row(value=30.0)
    res = cmp.compare_paths(make_run(tmp_path / "c", [dict(b, value=30.05)]), make_run(tmp_path / "b", [b]), tol)
    assert res.rows[0].status == "within"


def test_tolerance_file_without_defaults_is_exact_when_unmatched(tmp_path):
    tol = tmp_path / "tol.yaml"
    tol.write_text("include_defaults: false\ntolerances:\n  - {metric: 'psnr*', abs: 0.1}\n")
    r = Tolerances.load(tol).rule_for("m", "d", "ssim_y")
    assert r.abs == 0 and r.rel == 0


@pytest.mark.parametrize(
    "text,match",
    [
        ("tolerances:\n  - {metric: 'psnr*'}\n", "abs"),
        ("tolerances:\n  - {abs: 0.1}\n", "metric"),
        ("tolerances:\n  - {metric: 'psnr*', abs: -1}\n", ">= 0"),
        ("tolerances:\n  - {metric: 'psnr*', abs: 'x'}\n", "number"),
        ("tolerances:\n  - {metric: 'psnr*', abs: 1, tol: 2}\n", "unknown key"),
        ("foo: 1\n", "unknown key"),
        ("tolerances: [\n", "not valid YAML"),
    ],
)
def test_bad_tolerance_files(tmp_path, text, match):
    tol = tmp_path / "tol.yaml"
    tol.write_text(text)
    with pytest.raises(ToleranceError, match=match):
        Tolerances.load(tol)


# ------------------------------------------------------------------------------------- inputs


def test_baseline_csv_with_comment_lines(tmp_path):
    base = write_summary(
        tmp_path / "bicubic.csv", base_rows(), comments=["# srbench baseline: bicubic", "# git_commit: abc"]
    )
    res = cmp.compare_paths(make_run(tmp_path / "c", base_rows()), base)
    assert res.exit_code == 0
    assert res.baseline.sources[0].provenance["git_commit"] == "abc"


def test_summary_csv_file_and_leaderboard_json(tmp_path):
    run = make_run(tmp_path / "c", base_rows())
    lb = {"schema": 1, "cells": [dict(r, run="r") for r in base_rows()], "metrics": {}}
    (tmp_path / "lb.json").write_text(json.dumps(lb))
    assert cmp.compare_paths(run / "summary.csv", tmp_path / "lb.json").exit_code == 0
    assert cmp.compare_paths(tmp_path / "lb.json", run).exit_code == 0


def test_scale_text_is_normalised(tmp_path):
    base = make_run(tmp_path / "b", [row(scale="2")])
    cur = make_run(tmp_path / "c", [row(scale="2.0")])
    assert cmp.compare_paths(cur, base).counts["within"] == 1


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda p: p / "nope", "not found"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "not a run folder"),
        (lambda p: (p / "x.csv").write_text("a,b\n1,2\n") and p / "x.csv", "missing column"),
        (lambda p: (p / "x.json").write_text("{") and p / "x.json", "not valid JSON"),
        (lambda p: (p / "x.json").write_text('{"cells": 3}') and p / "x.json", "not a leaderboard"),
        (lambda p: write_summary(p / "v.csv", [row(value="abc")]), "not a number"),
        (lambda p: write_summary(p / "d.csv", [row(), row()]), "appears twice"),
    ],
)
def test_bad_inputs_raise_compare_input_error(tmp_path, make, match):
    bad = make(tmp_path)
    good = make_run(tmp_path / "good", [row()])
    with pytest.raises(cmp.CompareInputError, match=match):
        cmp.compare_paths(good, bad)


# ------------------------------------------------------------------------------- CLI and outputs


def cli(argv):
    parser = argparse.ArgumentParser(prog="srbench compare")
    cmp.add_arguments(parser)
    return cmp.run(parser.parse_args([str(a) for a in argv]))


def test_cli_exit_codes_and_reports(tmp_path, capsys):
    base = make_run(tmp_path / "b", base_rows())
    same = make_run(tmp_path / "same", base_rows())
    assert cli([same, base]) == 0
    out = capsys.readouterr().out
    assert "OK: 3 cells (3 within)" in out

    rows = base_rows()
    rows[0]["value"] += 0.02  # psnr +0.02 dB
    rows[2]["value"] -= 0.02
    moved = make_run(tmp_path / "moved", rows)
    js, md = tmp_path / "out/cmp.json", tmp_path / "out/cmp.md"
    assert cli([moved, base, "--json", js, "--markdown", md]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.startswith("status"))
    assert lines[header + 2].startswith("WORSE")  # regressions first
    assert "REGRESSION" in out and "1 worse" in out and "1 better" in out
    data = json.loads(js.read_text())
    assert data["exit_code"] == 1 and data["regression"] is True
    assert data["counts"]["worse"] == 1
    worse = next(c for c in data["cells"] if c["status"] == "worse")
    assert worse["scale"] == 4 and worse["delta"] == pytest.approx(-0.02)
    text = md.read_text()
    assert "regression" in text and "| WORSE |" in text and "<details>" in text


def test_cli_missing_file_exit_2_no_traceback(tmp_path, capsys):
    base = make_run(tmp_path / "b", base_rows())
    assert cli([tmp_path / "nope", base]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "Traceback" not in err
    assert cli([base]) == 2
    assert cli([base, base, "--tolerances", tmp_path / "none.yaml"]) == 2


def test_cli_hide_within(tmp_path, capsys):
    base = make_run(tmp_path / "b", base_rows())
    assert cli([base, base, "--hide-within"]) == 0
    assert "all 3 cells within tolerance" in capsys.readouterr().out


def test_module_entry_point_runs_without_torch(tmp_path):
    base = make_run(tmp_path / "b", base_rows())
    code = (
        "import sys; from srbench import compare, baseline; "
        f"rc = compare.main([{str(base)!r}, {str(base)!r}]); "
        "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert res.returncode == 0, res.stdout + res.stderr


def test_fail_on_change_fails_on_better(tmp_path):
    b = row(value=30.0)
    cur, base = make_run(tmp_path / "c", [dict(b, value=30.02)]), make_run(tmp_path / "b", [b])
    assert cmp.compare_paths(cur, base).exit_code == 0
    res = cmp.compare_paths(cur, base, fail_on_change=True)
    assert res.rows[0].status == "better" and res.rows[0].fails and res.exit_code == 1
    assert cli([cur, base, "--fail-on-change"]) == 1
