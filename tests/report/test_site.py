"""The static report site built from fixture runs: DOM, links, images, escaping, stale marking, JSON."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from PIL import Image
from report_fixtures import EVIL, SCALE, TEXTURE, parse_html

from srbench.errors import OutputDirError, SrbenchError
from srbench.report import add_arguments, imaging, run
from srbench.names import safe_name
from srbench.report.data import assemble, load_inputs

CELL_KEYS = {"method", "dataset", "scale", "metric", "value", "n_images", "protocol", "metric_version",
             "adapter_version", "dataset_version", "weights_sha256", "run"}


def _table(site: Path, table_id: str):
    doc = parse_html(site / "index.html")
    table = doc.find("table", id=f"table-{table_id}")
    assert table is not None, f"no leaderboard table {table_id}"
    return table


def _grid(table) -> tuple[list[str], dict[str, dict[str, object]]]:
    """(column names, {method: {column: <td> node}})"""
    heads = table.find("thead").find_all("th")
    names = [h.text.split()[0] for h in heads]
    rows = {}
    for tr in table.find("tbody").find_all("tr"):
        cells = [n for n in tr.children if not isinstance(n, str)]
        method = cells[0].attrs["data-sort"]
        rows[method] = dict(zip(names[1:], cells[1:]))
    return names, rows


def test_leaderboard_tables_and_directions(site):
    doc = parse_html(site / "index.html")
    tables = doc.find_all("table", cls="leaderboard")
    assert [t.attrs["id"] for t in tables] == ["table-set5_x4_rgb", "table-set14_x4_rgb"]
    names, rows = _grid(tables[0])
    assert names == ["method", "psnr_y", "ssim_y", "lpips", "diversity"]
    heads = {h.text.split()[0]: h for h in tables[0].find("thead").find_all("th")}
    assert "↑" in heads["psnr_y"].text and heads["psnr_y"].attrs["data-better"] == "higher"
    assert "↓" in heads["lpips"].text and heads["lpips"].attrs["data-better"] == "lower"
    assert set(rows) == {"edsr", "bicubic", "esrgan:gan", "srflow", EVIL, "oldnet", "partialnet"}
    # default order: best current PSNR first, stale/partial cells after the ranked ones
    order = [tr.find("th").attrs["data-sort"] for tr in tables[0].find("tbody").find_all("tr")]
    assert order[:5] == ["edsr", "bicubic", "srflow", "esrgan:gan", EVIL]


def test_best_and_second_marked_per_column(site):
    _, rows = _grid(_table(site, "set5_x4_rgb"))

    def marked(method, metric):
        td = rows[method][metric]
        mark = td.find("sup", cls="mark")
        return td.classes & {"best", "second"}, mark.text if mark else ""

    assert marked("edsr", "psnr_y") == ({"best"}, "1st")
    assert marked("bicubic", "psnr_y") == ({"second"}, "2nd")
    assert marked("esrgan:gan", "lpips") == ({"best"}, "1st")  # lower is better
    assert marked("srflow", "lpips") == ({"second"}, "2nd")
    assert marked("bicubic", "lpips") == (set(), "")
    assert marked("srflow", "diversity") == ({"best"}, "1st")
    for metric in ("psnr_y", "lpips"):
        assert sum("best" in rows[m][metric].classes for m in rows if metric in rows[m]) == 1


def test_stale_and_partial_cells_are_flagged_and_not_ranked(site):
    _, rows = _grid(_table(site, "set5_x4_rgb"))
    stale = rows["oldnet"]["psnr_y"]
    assert "stale" in stale.classes and "best" not in stale.classes
    assert "stale" in stale.find("span", cls="flag").text
    assert "version" in stale.find("span", cls="flag").attrs["title"]
    assert stale.find("a").text == "40.00"  # the value is shown, apart from the ranking
    partial = rows["partialnet"]["psnr_y"]
    assert "partial" in partial.classes and "best" not in partial.classes and "1/2" in partial.text
    # the cell from run_b with current versions is superseded by the newer run_a cell
    assert rows["edsr"]["psnr_y"].find("a").text == "32.50"
    assert rows["edsr"]["psnr_y"].find("a").attrs["href"].startswith("runs/run_a/")
    doc = parse_html(site / "index.html")
    notes = doc.find("details", cls="stale-notes")
    assert notes is not None and "oldnet" in notes.text and "1/2" in notes.text
    run_b = (site / "runs/run_b/index.html").read_text()
    assert "superseded by run run_a" in run_b

    data = json.loads((site / "leaderboard.json").read_text())
    cell = next(c for c in data["cells"] if c["method"] == "oldnet" and c["metric"] == "psnr_y")
    assert cell["stale"] is True and cell["stale_reasons"]


def test_adapter_version_mismatch_is_stale(tmp_path, fixture_runs):
    """Two runs of one (unregistered) method with different adapter versions: the older is stale."""
    rows = []
    for name, created, adapter, metric in (("r1", "2024-01-01", "1", "m_old"), ("r2", "2024-02-01", "2", "m_new")):
        d = tmp_path / name
        d.mkdir()
        (d / "manifest.json").write_text(json.dumps({
            "created": created, "protocol": "rgb",
            "methods": {"zzz_unregistered": {"adapter_version": adapter}},
            "metrics": {metric: {"version": "1", "higher_is_better": True}}}))
        with (d / "summary.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["method", "dataset", "scale", "metric", "value", "n_images", "protocol", "metric_version",
                        "adapter_version", "dataset_version", "weights_sha256"])
            w.writerow(["zzz_unregistered", "dz", 4, metric, 1.0, 1, "rgb", "1", adapter, "1", ""])
        rows.append(d)
    board = assemble(load_inputs(rows))
    by_metric = {c.metric: c for c in board.cells}
    assert by_metric["m_old"].stale and "adapter" in by_metric["m_old"].stale[0]
    assert not by_metric["m_new"].stale


def test_links_resolve(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 6
    ids: dict[Path, set[str]] = {}
    for page in pages:
        ids[page.resolve()] = {n.attrs["id"] for n in parse_html(page).iter() if "id" in n.attrs}
    n_links = 0
    for page in pages:
        doc = parse_html(page)
        for node in doc.iter():
            for attr in ("href", "src"):
                url = node.attrs.get(attr)
                if not url or urlsplit(url).scheme in ("http", "https", "mailto"):
                    continue
                parts = urlsplit(url)
                assert not parts.scheme and not parts.netloc, f"{page}: absolute link {url}"
                target = (page.parent / unquote(parts.path)).resolve() if parts.path else page.resolve()
                assert target.is_file(), f"{page.relative_to(site)}: {url} does not exist"
                assert site.resolve() in target.parents, f"{page}: {url} leaves the site"
                if parts.fragment and target.suffix == ".html":
                    assert parts.fragment in ids[target], f"{page.relative_to(site)}: no #{parts.fragment}"
                n_links += 1
    assert n_links > 100


def test_images_decode_and_are_small(site):
    pngs = sorted(site.rglob("*.png")) + sorted(site.rglob("*.webp"))
    assert len(pngs) >= 30
    assert any(p.suffix == ".webp" for p in pngs)  # thumbnails are WebP, crops lossless PNG
    for p in pngs:
        with Image.open(p) as im:
            im.load()
            if "plots" not in p.parts:
                assert max(im.size) <= imaging.THUMB, p
    total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    assert total < 2_000_000


def test_per_image_page(site):
    page = site / "img/set5_x4_rgb/baby.html"
    doc = parse_html(page)
    labels = [f.find("figcaption").find("strong").text for f in doc.find_all("figure", cls="tile")]
    assert labels[:2] == ["HR (ground truth)", "LR input (×4 nearest)"]
    assert {"edsr", "bicubic", "esrgan:gan", "srflow", EVIL} <= set(labels)
    assert "oldnet" not in labels  # no image and no per-image values for baby
    # EVIL has values but no saved SR image: a placeholder, not a broken <img>
    evil_tile = next(f for f in doc.find_all("figure", cls="tile") if f.find("strong").text == EVIL)
    assert "missing" in evil_tile.classes and evil_tile.find("img") is None
    # zoom crops are nearest-neighbour enlargements of the same box in HR pixels
    hr_crop = Image.open(site / "img/set5_x4_rgb/baby/hr_crop.png")
    lr_crop = Image.open(site / "img/set5_x4_rgb/baby/lr_crop.png")
    assert hr_crop.size == lr_crop.size and hr_crop.size[0] >= 128
    # samples strip of the stochastic method with its diversity score
    strip = doc.find("section", cls="samples")
    assert strip is not None and "srflow" in strip.find("h2").text and "diversity 0.0500" in strip.find("h2").text
    assert len(strip.find_all("img")) == 3
    table = doc.find("table", cls="perimage")
    assert "mean of 3 samples" in table.text
    _, rows = _grid(table)
    assert "best" in rows["edsr"]["psnr_y"].classes and rows["edsr"]["psnr_y"].text.startswith("32.50")
    # the traversal attempt from run_b's per_image.csv became a sanitised page inside the site
    evil_pages = [p for p in (site / "img/set5_x4_rgb").glob("*.html") if "evil" in p.name]
    assert len(evil_pages) == 1 and not evil_pages[0].name.startswith(".")


def test_auto_crop_is_deterministic_and_finds_detail(fixture_runs):
    hr = Image.open(fixture_runs[0] / "images/_hr/set5/x4/baby.png").convert("RGB")
    box = imaging.auto_crop(hr, SCALE)
    assert box == imaging.auto_crop(hr, SCALE)
    x, y, w, h = box
    tx, ty, tw, th = TEXTURE
    assert x % SCALE == 0 and y % SCALE == 0 and w % SCALE == 0
    overlap = max(0, min(x + w, tx + tw) - max(x, tx)) * max(0, min(y + h, ty + th) - max(y, ty))
    assert overlap >= 0.75 * w * h


def test_escaping(site):
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert EVIL not in text, page
        assert "<img src=x" not in text and "<b>bold</b>" not in text, page
        scripts = [n for n in parse_html(page).iter() if n.tag == "script"]
        assert [s.attrs.get("src", "").rsplit("/", 1)[-1] for s in scripts] == ["sort.js"], page
    index = (site / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert "&lt;img src=x onerror=alert(2)&gt;" in index


def test_safe_name():
    for bad in ("../../evil", "..", ".", "", "a/b\\c", "<script>", "x" * 300, "\x00"):
        name = safe_name(bad)
        assert name and "/" not in name and "\\" not in name and not name.startswith(".")
        assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        assert len(name) <= 80
    assert safe_name("baby") == "baby" and safe_name("esrgan:psnr") == "esrgan__psnr"
    assert safe_name("a b") != safe_name("a_b")


def test_leaderboard_json(site):
    data = json.loads((site / "leaderboard.json").read_text())
    assert data["schema"] == 1 and data["srbench_version"]
    dt.datetime.fromisoformat(data["generated"])
    assert data["cells"] and all(CELL_KEYS <= set(c) for c in data["cells"])
    assert data["metrics"]["lpips"]["higher_is_better"] is False
    assert data["metrics"]["psnr_y"]["higher_is_better"] is True
    assert {"edsr", "srflow", EVIL} <= set(data["methods"])
    edsr = data["methods"]["edsr"]
    assert edsr["weights"][0]["provenance"] == "official" and edsr["weights"][0]["sha256"] == "f" * 64
    assert data["methods"]["esrgan:gan"]["provenance"] == "user-supplied"
    assert data["methods"]["srflow"]["provenance"] == "trained by srbench"
    assert data["methods"]["bicubic"]["provenance"] == "none"
    cell = next(c for c in data["cells"] if c["method"] == "edsr" and c["metric"] == "psnr_y"
                and c["dataset"] == "set5")
    assert cell["value"] == 32.5 and cell["run"] == "run_a" and cell["scale"] == 4


def test_methods_provenance_and_footer(site):
    doc = parse_html(site / "index.html")
    methods = doc.find("section", id="methods")
    row = methods.find("tr", id="method-edsr")
    assert "official checkpoint" in row.text and "ffffffffffff" in row.text and "Lim et al." in row.text
    foot = doc.find("footer", cls="provenance")
    assert "srbench" in foot.text and "device cpu" in foot.text
    manifests = [a.attrs["href"] for a in foot.find_all("a") if a.attrs["href"].endswith("manifest.json")]
    assert manifests == ["runs/run_a/manifest.json", "runs/run_b/manifest.json"]
    assert json.loads((site / manifests[0]).read_text())["created"].startswith("2024-05-02")


def test_pd_plot(site):
    doc = parse_html(site / "index.html")
    figs = doc.find_all("figure", cls="pd")
    assert len(figs) == 1  # set14 has no perception metric
    src = figs[0].find("img").attrs["src"]
    with Image.open(site / src) as im:
        assert im.size[0] > 300
    assert (site / src).with_suffix(".svg").read_text().lstrip().startswith("<?xml")
    assert "lpips" in figs[0].text


def test_regression_view(site):
    section = parse_html(site / "index.html").find("section", id="regressions")
    rows = section.find("tbody").find_all("tr")
    assert [r.attrs["class"] for r in rows] == ["regressed", "improved"]
    assert "edsr" in rows[0].text and "-0.12" in rows[0].text
    assert "bicubic" not in section.find("tbody").text  # within tolerance: not listed
    assert "1 within tolerance" in section.text


def test_cli_crop_override_and_rebuild(fixture_runs, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out = tmp_path / "site"
    compare = tmp_path / "cmp.json"
    compare.write_text(json.dumps([]))  # a plain list is accepted too
    args = parser.parse_args([*map(str, fixture_runs), "--out", str(out), "--crop", "8,8,16,16",
                              "--compare", str(compare)])
    assert run(args) == 0
    assert "index.html" in capsys.readouterr().out
    text = (out / "img/set5_x4_rgb/baby.html").read_text()
    assert "x=8, y=8, w=16, h=16" in text and "set with --crop" in text
    assert Image.open(out / "img/set5_x4_rgb/baby/hr_crop.png").size == (16 * 12, 16 * 12)
    assert "No cell moved beyond tolerance" in (out / "index.html").read_text()
    (out / "img" / "stray.txt").write_text("old")
    assert run(parser.parse_args([str(fixture_runs[0]), "--out", str(out)])) == 0  # rebuild over own site
    assert not (out / "img" / "stray.txt").exists() and not (out / "runs/run_b").exists()
    with pytest.raises(SystemExit):
        parser.parse_args([str(fixture_runs[0]), "--crop", "1,2,3"])


def test_refuses_foreign_out_dir_and_bad_runs(fixture_runs, tmp_path):
    from srbench.report import build_site

    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me")
    with pytest.raises(OutputDirError):
        build_site(fixture_runs, foreign)
    assert (foreign / "thesis.tex").read_text() == "keep me"
    with pytest.raises(SrbenchError, match="manifest.json"):
        build_site([tmp_path], tmp_path / "x")
    with pytest.raises(SrbenchError, match="does not exist"):
        build_site([tmp_path / "nope"], tmp_path / "x")


def test_import_is_light():
    code = ("import sys, srbench.report; "
            "print(sorted(m for m in ('jinja2', 'matplotlib', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    src = Path(__import__("srbench.report").report.__file__).parent
    for py in src.glob("*.py"):
        assert "import torch" not in py.read_text(), py


def test_names_outside_the_safe_set_keep_their_images(tmp_path, monkeypatch):
    """A real run over images called ``my photo (1)`` etc.: the per-image pages show them (the run folder
    and the site spell file names with one function, srbench.names.safe_name)."""
    import numpy as np

    from srbench import datasets as ds
    from srbench.images import write_png
    from srbench.report import build_site
    from srbench.runner import RunConfig
    from srbench.runner import run as run_srbench

    home = tmp_path / "home"
    monkeypatch.setenv("SRBENCH_HOME", str(home))
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    yaml = tmp_path / "mine.yaml"
    yaml.write_text("datasets:\n  my-set:\n    title: mine\n    user_supplied: true\n    scales: [4]\n")
    monkeypatch.setenv("SRBENCH_DATASETS", str(yaml))
    ds.specs.cache_clear()
    rng = np.random.default_rng(0)
    names = ["my photo (1)", "ünïcode", "a&b<c>"]
    for name in names:
        write_png(home / "datasets" / "my-set" / "HR" / f"{name}.png", rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    try:
        out = run_srbench(RunConfig(methods=["bicubic"], datasets=["my-set"], scales=[4], metrics=["psnr_y"],
                                    out=tmp_path / "run", save_images=True, progress=False))
        site = build_site([out], tmp_path / "site").parent
    finally:
        ds.specs.cache_clear()
    pages = sorted(p for p in (site / "img" / "my-set_x4_rgb").glob("*.html") if p.name != "index.html")
    assert len(pages) == len(names)
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "No images were saved" not in html
        assert html.count("<img") >= 3, page  # HR, LR and the SR of bicubic
    # and the run page shows rounded timings
    run_page = next((site / "runs").rglob("index.html")).read_text(encoding="utf-8")
    import re

    assert "sr_seconds=" in run_page and not re.search(r"_seconds=\d+\.\d{4,}", run_page)


def test_lr_only_table_and_track_page(mirror, tmp_path, monkeypatch):
    """An LR-only set: its table has only the no-reference columns, its per-image pages an LR and SR tile but
    no HR; the run's track gets a page with its protocol and source."""
    from srbench.report import build_site
    from srbench.runner import RunConfig
    from srbench.runner import run as run_srbench

    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    out = run_srbench(RunConfig(methods=["bicubic"], datasets=["realsrset"], scales=[2], metrics=["niqe"],
                                out=tmp_path / "run", save_images=True, progress=False, track="realsrset-nr"))
    site = build_site([out], tmp_path / "site").parent
    doc = parse_html(site / "index.html")
    table = doc.find("table", id="table-realsrset_x2_given")
    heads = [h.text.split()[0] for h in table.find("thead").find_all("th")]
    assert heads == ["method", "niqe"]
    page = (site / "img" / "realsrset_x2_given" / "Lincoln.html").read_text(encoding="utf-8")
    assert "LR input" in page and "HR (ground truth)" not in page and "No images were saved" not in page
    assert page.count("<img") >= 2
    track = (site / "tracks" / "realsrset-nr.html").read_text(encoding="utf-8")
    assert "RealSRSet x4, no-reference scores" in track and "cszn/BSRGAN" in track and "table-realsrset_x2_given" in track
    assert 'href="tracks/realsrset-nr.html"' in (site / "index.html").read_text(encoding="utf-8")
    links = parse_html(site / "tracks" / "realsrset-nr.html").find_all("a")
    for a in links:
        href = a.attrs.get("href", "")
        if href and not href.startswith(("http", "#", "mailto")):
            target = (site / "tracks" / href.split("#")[0]).resolve()
            assert target.exists(), href


def test_reported_rows_sit_apart_and_are_never_ranked(fixture_runs, tmp_path):
    """A run plus a paper's reported numbers: the paper's rows go in their own tbody below the measured rows,
    carry the printed text, are never marked best, and a number srbench's measurement of the same method does
    not reproduce is flagged on the page (dSRVAE Table 2 prints bicubic Set5 28.42; the fixture measures 28.4)."""
    from srbench.report import build_site

    reported = Path(__file__).resolve().parents[2] / "leaderboards" / "reported" / "dsrvae.yaml"
    site = build_site(fixture_runs + [reported], tmp_path / "site").parent
    table = _table(site, "set5_x4_rgb")
    measured_body, reported_body = table.find_all("tbody")
    assert "reported" in reported_body.classes and "reported" not in measured_body.classes
    rows = [tr for tr in reported_body.find_all("tr") if "reported" in tr.classes]
    labels = [tr.find("th").text for tr in rows]
    assert any("Bicubic" in t and "dsrvae Table 2" in t for t in labels)
    assert any("dSRGAN(ours)" in t for t in labels) and all("reported" in t for t in labels)
    bicubic = next(tr for tr in rows if "Bicubic" in tr.find("th").text)
    cells = [n for n in bicubic.children if not isinstance(n, str)][1:]
    assert cells[0].text.startswith("28.42")  # psnr_y, as printed
    assert "disagrees" in cells[0].classes and "≠ srbench" in cells[0].text
    for tr in rows:
        for td in tr.find_all("td"):
            assert "best" not in td.classes and "second" not in td.classes
    # the measured ranking is what it was without the paper
    order = [tr.find("th").attrs["data-sort"] for tr in measured_body.find_all("tr")]
    assert order[:2] == ["edsr", "bicubic"]
    notes = site / "index.html"
    assert "reported number(s) srbench does not reproduce" in notes.read_text()
    assert "urban100 ×4 rgb" in notes.read_text()  # the paper's Urban100 rows: listed, no measured table here
    data = json.loads((site / "leaderboard.json").read_text())
    kinds = {c["kind"] for c in data["cells"]}
    assert kinds == {"measured", "reported"}
    rep = [c for c in data["cells"] if c["kind"] == "reported"]
    assert all(c["paper"] == "dsrvae" and c["printed"] for c in rep)
    # a leaderboard.json read back holds the measured cells only (the papers' numbers live in their YAML)
    from srbench.results import load

    assert {c.kind for c in load(site / "leaderboard.json").cells} == {"measured"}


def test_report_refuses_reported_numbers_alone(tmp_path):
    reported = Path(__file__).resolve().parents[2] / "leaderboards" / "reported" / "dsrvae.yaml"
    from srbench.report import build_site

    with pytest.raises(SrbenchError, match="no run folders"):
        build_site([reported], tmp_path / "site")
