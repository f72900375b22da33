"""leaderboards/reported/*.yaml (srbench.reported): schema, names, print precision, and `srbench compare` against them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from srbench.cli import main
from srbench.compare import DIFFERS, KNOWN, NOT_MEASURED, REPRODUCED, compare_paths
from srbench.reported import printed_slack, read_file, read_reported, reported_files
from srbench.results import SUMMARY_COLUMNS, ResultsError, load

ROOT = Path(__file__).resolve().parents[1]
PAPERS = ("classic-bicubic", "cyclesr", "dsrvae", "hvae", "refvae", "ssrvae")


def test_every_shipped_file_is_valid_and_names_exist():
    files = reported_files()
    assert [f.stem for f in files] == sorted(PAPERS)
    for f in files:
        rf = read_file(f)  # schema + every srbench name checked
        assert rf.key == f.stem and rf.rows
        for r in rf.rows:
            assert r["value"] is None or r["value"].replace(".", "", 1).lstrip("-").isdigit()
            if r.get("value") is None:
                assert r.get("note"), f"{f.name} {r['table']} {r['label']}: an empty value needs a note saying why"


def test_row_counts_are_every_row_of_the_papers_tables():
    counts = {f.stem: len(read_file(f).rows) for f in reported_files()}
    # transcribed by hand from ../shared/papers (tables of 5 papers + the classic bicubic row)
    assert counts == {"classic-bicubic": 24, "cyclesr": 123, "dsrvae": 26, "hvae": 2, "refvae": 199, "ssrvae": 31}


def test_printed_precision_is_the_slack():
    assert printed_slack("28.42") == pytest.approx(0.005)
    assert printed_slack("0.8100") == pytest.approx(0.00005)
    assert printed_slack("31") == pytest.approx(0.5)
    (cell,) = [c for c in read_reported(ROOT / "leaderboards/reported/classic-bicubic.yaml").cells
               if c.dataset == "set14" and c.scale == 4 and c.metric == "psnr_y"]
    assert cell.reported.text == "26.00" and cell.value == 26.0 and cell.kind == "reported"


def _yaml(tmp_path: Path, rows, **table) -> Path:
    doc = {"schema": 1, "paper": {"key": "toy", "title": "Toy", "authors": "Doe, Roe", "venue": "arXiv 2026"},
           "tables": [{"id": "Table 1", "title": "t", "protocol": "Y channel, crop = scale", "scale": 4,
                       "srbench_protocol": "rgb", "rows": rows, **table}]}
    p = tmp_path / "toy.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return p


@pytest.mark.parametrize("row, match", [
    ({"label": "B", "method": "bicubic", "dataset": "set5", "metric": "psnr_y", "value": 28.42}, "is not of type"),
    ({"label": "B", "method": "bicubic", "dataset": "set5", "metric": "psnr_y", "value": "28.4x"}, "does not match"),
    ({"label": "B", "method": "bicubc", "dataset": "set5", "metric": "psnr_y", "value": "28.42"}, "not an srbench method"),
    ({"label": "B", "method": "bicubic", "dataset": "set6", "metric": "psnr_y", "value": "28.42"}, "not declared"),
    ({"label": "B", "method": "bicubic", "dataset": "set5", "metric": "psnr", "value": "28.42"}, "not an srbench metric"),
    ({"label": "B", "dataset": "set5", "metric": "psnr_y", "value": "28.42", "colour": "red"}, "colour"),
])
def test_invalid_files_are_refused_with_the_reason(tmp_path, row, match):
    with pytest.raises(ResultsError, match=match):
        read_reported(_yaml(tmp_path, [row]))


def _run(tmp_path: Path, cells: dict) -> Path:
    """A run-like summary.csv: {(method, dataset, metric): value} at x4, protocol rgb."""
    lines = [",".join(SUMMARY_COLUMNS)]
    for (method, dataset, metric), value in cells.items():
        lines.append(f"{method},{dataset},4,{metric},{value!r},5,rgb,1,1,1,")
    p = tmp_path / "run.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_compare_statuses_against_reported(tmp_path):
    reported = _yaml(tmp_path, [
        {"label": "Bicubic", "method": "bicubic", "dataset": "set5", "metric": "psnr_y", "value": "28.42"},
        {"label": "Bicubic", "method": "bicubic", "dataset": "set5", "metric": "ssim_y", "value": "0.8104"},
        {"label": "Bicubic", "method": "bicubic", "dataset": "urban100", "metric": "psnr_y", "value": "23.64",
         "known_disagreement": {"measured": "23.14", "note": "paper +0.5 dB; tried luma, RGB"}},
        {"label": "EDSR", "method": None, "dataset": "set5", "metric": "psnr_y", "value": "32.46"},
        {"label": "Ours", "method": None, "dataset_label": "LFW", "metric_label": "PSNR", "value": "30.43"},
    ])
    run = _run(tmp_path, {("bicubic", "set5", "psnr_y"): 28.4302, ("bicubic", "set5", "ssim_y"): 0.8090,
                          ("bicubic", "urban100", "psnr_y"): 23.1406})
    res = compare_paths(run, reported)
    status = {(r.method, r.dataset, r.metric): r.status for r in res.rows}
    assert status == {("bicubic", "set5", "psnr_y"): REPRODUCED,  # 0.0102 <= 0.01 + 0.005 (print rounding)
                      ("bicubic", "set5", "ssim_y"): DIFFERS,  # 0.0014 > 0.0005 + 0.00005
                      ("bicubic", "urban100", "psnr_y"): KNOWN,
                      ("EDSR", "set5", "psnr_y"): NOT_MEASURED}  # the LFW row has no srbench key: not a cell
    assert res.exit_code == 1 and [r.status for r in res.rows if r.fails] == [DIFFERS]


def test_compare_cli_against_reported_passes_on_known_disagreements(tmp_path, capsys):
    reported = _yaml(tmp_path, [
        {"label": "Bicubic", "method": "bicubic", "dataset": "urban100", "metric": "psnr_y", "value": "23.64",
         "known_disagreement": {"measured": "23.14", "note": "paper +0.5 dB"}}])
    run = _run(tmp_path, {("bicubic", "urban100", "psnr_y"): 23.1406})
    assert main(["compare", str(run), str(reported)]) == 0
    out = capsys.readouterr().out
    assert "known disagreement" in out and "paper +0.5 dB" in out and "reported:" in out


def test_a_baseline_is_never_written_from_reported_numbers(tmp_path):
    from srbench.baseline import write_baseline

    with pytest.raises(ResultsError, match="measured runs"):
        write_baseline([ROOT / "leaderboards/reported/dsrvae.yaml"], "x", tmp_path)


def test_load_concatenates_runs_and_reported(tmp_path):
    run = _run(tmp_path, {("bicubic", "set5", "psnr_y"): 28.43})
    res = load(run, ROOT / "leaderboards/reported/dsrvae.yaml")
    frame = res.summary
    assert set(frame["kind"]) == {"measured", "reported"}
    reported = frame[frame.kind == "reported"]
    assert set(reported["paper"]) == {"dsrvae"} and "dSRGAN(ours)" in set(reported["label"])


# --- srbench's measured bicubic against the papers (the mirror's HR images) -------------------------------

#: reported bicubic cells srbench does not reproduce, each recorded in its YAML with what was tried
KNOWN_BICUBIC = {
    ("dsrvae", "urban100", 4, "psnr_y"),
    ("refvae", "set5", 8, "ssim_y_matlab"),
    ("refvae", "set14", 8, "psnr_y"),
    ("refvae", "set14", 8, "ssim_y_matlab"),
    ("refvae", "urban100", 8, "psnr_y"),
}


@pytest.mark.slow
@pytest.mark.parametrize("paper, scale, datasets, metrics", [
    ("dsrvae", 4, "set5,urban100", "psnr_y"),
    ("refvae", 8, "set5,set14,b100,urban100", "psnr_y,ssim_y_matlab"),
])
def test_measured_bicubic_against_the_papers(benchmark_datasets, tmp_path, paper, scale, datasets, metrics):
    out = tmp_path / "run"
    assert main(["run", "--methods", "bicubic", "--datasets", datasets, "--scale", str(scale), "--metrics", metrics,
                 "--out", str(out), "--no-progress"]) == 0
    res = compare_paths(out, ROOT / "leaderboards" / "reported" / f"{paper}.yaml")
    measured = [r for r in res.rows if r.method == "bicubic" and r.status != NOT_MEASURED]
    assert len(measured) == len(datasets.split(",")) * len(metrics.split(","))
    assert not [r for r in measured if r.status == DIFFERS], [r.as_dict() for r in measured if r.status == DIFFERS]
    known = {(paper, r.dataset, r.scale, r.metric) for r in measured if r.status == KNOWN}
    assert known == {k for k in KNOWN_BICUBIC if k[0] == paper}
    assert res.exit_code == 0


def test_reported_files_are_plain_data(tmp_path):
    """A reported YAML is read with yaml.safe_load: a Python tag is refused, never constructed."""
    p = _yaml(tmp_path, [{"label": "B", "dataset": "set5", "metric": "psnr_y", "value": "1"}])
    evil = tmp_path / "evil.yaml"
    shutil.copyfile(p, evil)
    evil.write_text(evil.read_text().replace("title: Toy", "title: !!python/object/apply:os.system ['true']"))
    with pytest.raises(ResultsError, match="cannot read"):
        read_reported(evil)
