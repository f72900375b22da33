"""srbench.results: the one reader of run folders, summary CSVs and leaderboard JSON, and its pandas views."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from srbench.results import (
    PER_IMAGE_COLUMNS,
    SUMMARY_COLUMNS,
    Results,
    ResultsError,
    load,
    reference_image_path,
    sr_image_path,
)
from srbench.runner import RunConfig, run


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("runs")
    a = run(RunConfig(methods=["bicubic"], datasets=["demo"], scales=[4], metrics=["psnr_y", "ssim_y"],
                      out=root / "a", progress=False, save_images=True))
    b = run(RunConfig(methods=["bicubic"], datasets=["demo"], scales=[2], metrics=["psnr_y"], out=root / "b",
                      progress=False))
    return a, b


def test_summary_frame_equals_summary_csv(runs):
    a, _ = runs
    res = load(a)
    assert res.path == a and len(res.sources) == 1 and res.sources[0].kind == "run"
    csv = pd.read_csv(a / "summary.csv", keep_default_na=False, dtype={"weights_sha256": str, "metric_version": str,
                                                                      "adapter_version": str, "dataset_version": str})
    frame = res.summary
    assert list(frame.columns[: len(SUMMARY_COLUMNS)]) == SUMMARY_COLUMNS
    pd.testing.assert_frame_equal(frame[SUMMARY_COLUMNS].reset_index(drop=True), csv[SUMMARY_COLUMNS],
                                  check_dtype=False, check_exact=True)
    assert set(frame["kind"]) == {"measured"} and set(frame["source"]) == {str(a)}


def test_per_image_frame_is_tidy(runs):
    a, _ = runs
    per = load(a).per_image
    assert list(per.columns) == PER_IMAGE_COLUMNS + ["source"]
    assert len(per) == 4 * 2  # 4 demo images x 2 metrics
    assert per["sample"].isna().all()
    means = per.groupby("metric")["value"].mean()
    summary = load(a).summary.set_index("metric")["value"]
    for metric in ("psnr_y", "ssim_y"):
        assert means[metric] == pytest.approx(summary[metric], abs=1e-12)


def test_two_runs_concatenate_with_unique_ids(runs):
    a, b = runs
    res = load(a, b)
    assert [s.path for s in res.sources] == [a, b] and res.path is None
    assert len(res.summary) == 3 and set(res.summary["scale"]) == {2, 4}
    assert len({s.id for s in res.sources}) == 2
    assert len(load([a, b]).cells) == len((load(a) + load(b)).cells) == 3


def test_summary_csv_and_leaderboard_json_read_the_same_cells(runs, tmp_path):
    from srbench.report import build_site

    a, _ = runs
    build_site([a], tmp_path / "site")
    from_csv = {c.key: c.value for c in load(a / "summary.csv").cells}
    from_json = {c.key: c.value for c in load(tmp_path / "site" / "leaderboard.json").cells}
    from_folder = {c.key: c.value for c in load(tmp_path / "site").cells}
    assert from_csv == from_json == from_folder


def test_image_paths_are_where_the_writer_puts_them(runs):
    a, _ = runs
    src = load(a).sources[0]
    assert src.sr_file("bicubic", "demo", 4, "astronaut") == sr_image_path(a, "bicubic", "demo", 4, "astronaut").resolve()
    assert src.hr_file("demo", 4, "astronaut") == reference_image_path(a, "hr", "demo", 4, "astronaut").resolve()
    assert src.sr_file("bicubic", "demo", 4, "../../manifest") is None  # never outside images/


def test_baseline_with_comment_lines_and_empty_values(tmp_path):
    p = tmp_path / "b.csv"
    p.write_text("# srbench baseline: x\n# git_commit: abc\n" + ",".join(SUMMARY_COLUMNS) + "\n"
                 "m,set5,4,psnr_y,,5,rgb,1,1,1,\n")
    res = load(p)
    (cell,) = res.cells
    assert math.isnan(cell.value) and cell.number is None and cell.n_images == 5
    assert res.sources[0].provenance["git_commit"] == "abc" and res.sources[0].kind == "summary.csv"


@pytest.mark.parametrize("content, match", [
    ("method,dataset\nm,d\n", "missing column"),
    (",".join(SUMMARY_COLUMNS) + "\nm,set5,four,psnr_y,1,5,rgb,1,1,1,\n", "scale 'four'"),
    (",".join(SUMMARY_COLUMNS) + "\nm,set5,4,psnr_y,abc,5,rgb,1,1,1,\n", "value 'abc'"),
    ("", "no header"),
])
def test_bad_summary_is_a_clear_error(tmp_path, content, match):
    p = tmp_path / "s.csv"
    p.write_text(content)
    with pytest.raises(ResultsError, match=match):
        load(p)


def test_missing_inputs_are_clear_errors(tmp_path):
    with pytest.raises(ResultsError, match="does not exist"):
        load(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResultsError, match="not a run folder"):
        load(tmp_path / "empty")
    (tmp_path / "unfinished").mkdir()
    (tmp_path / "unfinished" / "manifest.json").write_text(json.dumps({"status": "running"}))
    with pytest.raises(ResultsError, match="unfinished"):
        load(tmp_path / "unfinished")
    with pytest.raises(ResultsError, match="nothing to load"):
        load()


def test_results_of_nothing_has_empty_frames():
    res = Results()
    assert res.summary.empty and res.per_image.empty and res.rows() == []


def test_importing_results_does_not_import_pandas():
    code = "import sys, srbench, srbench.results; print('pandas' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
