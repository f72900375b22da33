"""Build the static site: index (leaderboards, plots, methods, regressions), run pages, per-image pages.

Layout of ``out/``::

    index.html  leaderboard.json  compare.json (with --compare)  .srbench-site (marker)
    assets/style.css  assets/sort.js
    plots/pd_<table>.png|.svg
    runs/<run>/index.html  runs/<run>/manifest.json  summary.csv  per_image.csv   (copies)
    img/<table>/index.html  img/<table>/<image>.html  img/<table>/<image>/*.png

Every file name derived from a user string goes through :func:`srbench.names.safe_name`; every
user string in a page is escaped by jinja2's autoescape.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import platform
import shlex
import shutil
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

from srbench import __version__
from srbench.errors import OutputDirError
from srbench.names import safe_name
from srbench.report import imaging
from srbench.report.data import (
    Board,
    BoardCell,
    Table,
    assemble,
    fmt_value,
    load_compare,
    load_inputs,
    moved_rows,
)
from srbench.results import Source

MARKER = ".srbench-site"
_OWNED = ("assets", "runs", "img", "plots", "tracks")
_OWNED_FILES = ("index.html", "leaderboard.json", "compare.json")


def _env():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("srbench.report", "templates"),
        autoescape=True,  # every template is HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _prepare_out(out: Path) -> Path:
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise OutputDirError(f"--out {str(out)!r} exists and is not a folder")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise OutputDirError(
                f"--out {str(out)!r} is not empty and was not written by `srbench report`; "
                "choose a new or empty folder"
            )
        for sub in _OWNED:
            shutil.rmtree(out / sub, ignore_errors=True)
        for name in _OWNED_FILES:
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by srbench report; the folder is rebuilt on each run\n", encoding="utf-8")
    return out


def _copy_static(out: Path) -> None:
    dest = out / "assets"
    dest.mkdir(parents=True, exist_ok=True)
    for item in resources.files("srbench.report").joinpath("static").iterdir():
        if item.name.endswith((".css", ".js")):
            (dest / item.name).write_bytes(item.read_bytes())


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


# ---------------------------------------------------------------------------------------------- views


def _cell_view(cell: BoardCell | None, root: str) -> dict:
    if cell is None:
        return {"text": "—", "sort": "", "classes": "num missing", "href": "", "title": "no result",
                "mark": "", "flags": [], "note": ""}
    classes = ["num"]
    mark = ""
    if cell.rank == 1:
        classes.append("best")
        mark = "1st"
    elif cell.rank == 2:
        classes.append("second")
        mark = "2nd"
    flags = []
    if cell.stale:
        classes.append("stale")
        flags.append({"text": "stale", "title": "; ".join(cell.stale) + " — not ranked; re-run to refresh"})
    if cell.partial:
        classes.append("partial")
        flags.append({"text": f"partial {cell.partial}", "title": f"computed on {cell.partial} images — not ranked"})
    if cell.reported is not None:
        return _reported_cell_view(cell, classes, flags)
    title = (
        f"{cell.value!r} · run {cell.source.id} · {cell.metric} v{cell.metric_version} · "
        f"adapter v{cell.adapter_version} · dataset v{cell.dataset_version} · n={cell.n_images}"
    )
    return {
        "text": fmt_value(cell.number),
        "sort": "" if cell.number is None else repr(cell.number),
        "classes": " ".join(classes),
        "href": f"{root}runs/{cell.source.id}/index.html#{cell.anchor}",
        "title": title,
        "mark": mark,
        "flags": flags,
        "note": "",
    }


def _reported_cell_view(cell: BoardCell, classes: list[str], flags: list[dict]) -> dict:
    """A number copied from a paper: its printed text, where it comes from, and - when srbench measures the
    same method here - how far the measurement is (a visible flag, never hidden)."""
    rep = cell.reported
    classes.append("reported-value")
    if cell.disagrees:
        classes.append("disagrees")
        flags.append({"text": "≠ srbench", "title": cell.disagrees})
    title = f"printed {rep.text} · {rep.paper} {rep.table} · {rep.protocol_text or 'protocol not stated'}"
    return {"text": rep.text if rep.text else "—", "sort": "" if cell.number is None else repr(cell.number),
            "classes": " ".join(classes), "href": "", "title": title, "mark": "", "flags": flags, "note": ""}


def _table_view(board: Board, table: Table, root: str, plot: dict | None, images: dict | None) -> dict:
    rows = []
    for row in table.rows:
        info = board.methods[row.method]
        rows.append({
            "method": row.method,
            "title": info["title"],
            "anchor": info["anchor"],
            "stochastic": info["stochastic"],
            "cells": [_cell_view(row.cells.get(m.name), root) for m in table.metrics],
        })
    reported = []
    for row in table.reported:
        rep = row.reported
        reported.append({
            "label": rep.label, "method": rep.method or "", "paper": rep.paper, "table": rep.table,
            "title": rep.paper_title, "protocol": rep.protocol_text, "source": rep.file,
            "cells": [_cell_view(row.cells.get(m.name), root) for m in table.metrics],
        })
    notes = []
    for cell in table.stale_cells:
        reasons = list(cell.stale) + ([f"computed on {cell.partial} images"] if cell.partial else [])
        notes.append({"method": cell.method, "metric": cell.metric, "run": cell.source.id, "reasons": reasons,
                      "href": f"{root}runs/{cell.source.id}/index.html#{cell.anchor}"})
    return {
        "id": table.id,
        "dataset": table.dataset,
        "scale": table.scale,
        "protocol": table.protocol,
        "n_images": table.n_images,
        "metrics": table.metrics,
        "rows": rows,
        "reported": reported,
        "disagreements": [c.disagrees for r in table.reported for c in r.cells.values() if c.disagrees],
        "notes": notes,
        "plot": plot,
        "images": images,
    }


def _footer(board: Board, root: str, generated: str) -> dict:
    runs = []
    for run in board.runs:
        m = run.manifest
        runs.append({
            "id": run.id,
            "href": f"{root}runs/{run.id}/index.html",
            "manifest": f"{root}runs/{run.id}/manifest.json",
            "srbench_version": str(m.get("srbench_version", "?")),
            "created": str(m.get("created", "")),
            "device": str(m.get("device", "")),
            "platform": str(m.get("platform", "")),
            "git_commit": str(m.get("git_commit") or ""),
        })
    return {"version": __version__, "generated": generated, "runs": runs,
            "host": platform.platform(terse=True)}  # no host name: sites get published


# ----------------------------------------------------------------------------------------- per image


def _per_image_index(run: Source) -> dict[tuple, list[dict]]:
    idx: dict[tuple, list[dict]] = {}
    for r in run.per_image:
        idx.setdefault((r["method"], r["dataset"], r["scale"], r["image"]), []).append(r)
    return idx


def _samples_metrics(board: Board) -> set[str]:
    out = set()
    for run in board.runs:
        for name, meta in (run.manifest.get("metrics") or {}).items():
            if isinstance(meta, dict) and meta.get("kind") == "samples":
                out.add(name)
    return out | {m for m in board.metrics if m.startswith("diversity")}


def _image_values(rows: list[dict]) -> tuple[dict[str, float], dict[str, int], dict[int, dict[str, float]]]:
    """(value per metric — mean over samples where per-sample, sample counts, per-sample values)."""
    import math

    plain: dict[str, float] = {}
    per_sample: dict[str, dict[int, float]] = {}
    for r in rows:
        v = r["value"]
        if not math.isfinite(v):
            continue
        if r["sample"] is None:
            plain[r["metric"]] = v
        else:
            per_sample.setdefault(r["metric"], {})[r["sample"]] = v
    values, counts, samples = dict(plain), {}, {}
    for metric, by in per_sample.items():
        if metric not in values:
            values[metric] = sum(by.values()) / len(by)
            counts[metric] = len(by)
        for k, v in by.items():
            samples.setdefault(k, {})[metric] = v
    return values, counts, samples


def _rank_plain(values: list[float | None], hib: bool | None) -> list[int]:
    if hib is None:
        return [0] * len(values)
    distinct = sorted({v for v in values if v is not None}, reverse=hib)[:2]
    return [distinct.index(v) + 1 if v is not None and v in distinct else 0 for v in values]


def _tile(folder: Path, rel: str, box, ref_size, full_images: bool, label: str, kind: str, path: Path | None,
          stem: str, lr_scale: int = 1, note: str = "") -> dict | None:
    """Write one tile's thumbnail and crop (and full copy); its template data, or None without an image."""
    if path is None or box is None:
        return None
    size = imaging.write_views(
        path, folder / f"{stem}.webp", folder / f"{stem}_crop.png", box,
        ref_size if lr_scale > 1 else None, lr_scale,
        folder / f"{stem}_full.png" if full_images else None,
    )
    return {"label": label, "kind": kind, "thumb": rel + f"{stem}.webp", "crop": rel + f"{stem}_crop.png",
            "full": rel + f"{stem}_full.png" if full_images else "", "size": f"{size[0]}×{size[1]}",
            "note": note, "vals": []}


def _image_pages(board: Board, table: Table, out: Path, env, crop: imaging.Box | None, full_images: bool,
                 footer_for) -> dict | None:
    runs_by_method = {row.method: row.run for row in table.rows if row.run is not None}
    if not runs_by_method:
        return None
    indexes = {run.id: _per_image_index(run) for run in {r.id: r for r in runs_by_method.values()}.values()}
    images = sorted({img for run_id, idx in indexes.items() for (m, d, s, img) in idx
                     if d == table.dataset and s == table.scale and m in runs_by_method
                     and runs_by_method[m].id == run_id})
    if not images:
        return None
    # HR/LR from the table's runs first, then any run with the same protocol
    image_runs = list({r.id: r for r in runs_by_method.values()}.values())
    image_runs += [r for r in board.runs if r.protocol == table.protocol and r not in image_runs]
    sample_metrics = _samples_metrics(board)
    group_dir = out / "img" / table.id
    metric_names = [m.name for m in table.metrics]
    meta = board.metrics
    root = "../../"
    names = {img: safe_name(img) for img in images}
    def page_for(i: int, image: str) -> dict:
        folder = group_dir / names[image]
        rel = names[image] + "/"
        hr = next((p for r in image_runs if (p := r.hr_file(table.dataset, table.scale, image))), None)
        lr = next((p for r in image_runs if (p := r.lr_file(table.dataset, table.scale, image))), None)
        method_files = {}
        for row in table.rows:
            run = runs_by_method.get(row.method)
            if run is None:
                continue
            samples = run.sample_files(row.method, table.dataset, table.scale, image)
            main = run.sr_file(row.method, table.dataset, table.scale, image) or (samples[0] if samples else None)
            method_files[row.method] = (main, samples)
        source = hr or next((f[0] for m, f in sorted(method_files.items()) if f[0] is not None), None)
        ref_size = box = None
        if source is not None:
            src_im = imaging.open_rgb(source)
            ref_size = src_im.size
            box = imaging.clamp_box(crop, ref_size) if crop else imaging.auto_crop(src_im, table.scale)
        tiles = []

        tile = functools.partial(_tile, folder, rel, box, ref_size, full_images)
        if (t := tile("HR (ground truth)", "hr", hr, "hr")) is not None:
            tiles.append(t)
        if (t := tile(f"LR input (×{table.scale} nearest)", "lr", lr, "lr", lr_scale=table.scale)) is not None:
            tiles.append(t)

        # per-image values
        value_rows, strips = [], []
        per_metric_values: dict[str, list] = {m: [] for m in metric_names}
        method_vals = {}
        page_rows = []  # methods with values or an image for this image
        for row in table.rows:
            run = runs_by_method.get(row.method)
            rows = indexes[run.id].get((row.method, table.dataset, table.scale, image), []) if run else []
            values, counts, per_sample = _image_values(rows)
            main, samples = method_files.get(row.method, (None, []))
            if not values and main is None:
                continue
            page_rows.append(row)
            method_vals[row.method] = (values, counts, per_sample)
            for m in metric_names:
                per_metric_values[m].append(values.get(m))
        ranks = {m: _rank_plain(per_metric_values[m], meta[m].higher_is_better) for m in metric_names}
        for j, row in enumerate(page_rows):
            values, counts, per_sample = method_vals[row.method]
            cells = []
            for m in metric_names:
                v = values.get(m)
                rank = ranks[m][j]
                cells.append({
                    "text": fmt_value(v), "sort": "" if v is None else repr(v),
                    "classes": "num" + {1: " best", 2: " second"}.get(rank, ""),
                    "mark": {1: "1st", 2: "2nd"}.get(rank, ""),
                    "note": f"mean of {counts[m]} samples" if m in counts else "",
                    "href": "", "title": "" if v is None else repr(v), "flags": [],
                })
            value_rows.append({"method": row.method, "anchor": board.methods[row.method]["anchor"], "cells": cells})
            main, samples = method_files.get(row.method, (None, []))
            stem = "m_" + safe_name(row.method)
            note = "sample s0" if samples and main == samples[0] else ""
            t = tile(row.method, "sr", main, stem, note=note)
            if t is None:
                tiles.append({"label": row.method, "kind": "missing", "thumb": "", "crop": "", "full": "",
                              "size": "", "note": "SR image not saved (run with --save-images)", "vals": []})
            else:
                t["vals"] = [(m, fmt_value(values[m])) for m in metric_names if m in values][:4]
                tiles.append(t)
            if len(samples) > 1 and box is not None:
                items = []
                for k, path in enumerate(samples):
                    crop_name = f"{stem}_s{k}_crop.png"
                    imaging.write_crop(path, folder / crop_name, box)
                    items.append({"label": f"s{k}", "crop": rel + crop_name,
                                  "vals": [(m, fmt_value(v)) for m, v in sorted(per_sample.get(k, {}).items())]})
                diversity = [(m, fmt_value(values[m])) for m in sorted(sample_metrics) if m in values]
                strips.append({"method": row.method, "samples": items, "diversity": diversity})
        entry = {"image": image, "href": names[image] + ".html",
                 "thumb": rel + "hr.webp" if hr is not None and box is not None else (
                     next((t["thumb"] for t in tiles if t["thumb"]), ""))}
        page = {
            "image": image, "dataset": table.dataset, "scale": table.scale, "protocol": table.protocol,
            "box": box, "crop_auto": crop is None, "tiles": tiles, "metrics": table.metrics,
            "value_rows": value_rows, "strips": strips,
            "prev": names[images[i - 1]] + ".html" if i > 0 else "",
            "next": names[images[i + 1]] + ".html" if i + 1 < len(images) else "",
            "table_id": table.id,
        }
        html = env.get_template("image.html").render(root=root, page=page, footer=footer_for(root),
                                                     title=f"{image} — {table.dataset} ×{table.scale}")
        group_dir.mkdir(parents=True, exist_ok=True)
        (group_dir / f"{names[image]}.html").write_text(html, encoding="utf-8")
        return entry

    # Pillow releases the GIL while decoding/encoding, so threads use every core (2x on 2 cores)
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as pool:
        entries = list(pool.map(page_for, range(len(images)), images))
    html = env.get_template("images.html").render(
        root=root, footer=footer_for(root), title=f"{table.dataset} ×{table.scale} images",
        table={"dataset": table.dataset, "scale": table.scale, "protocol": table.protocol, "id": table.id},
        entries=entries)
    (group_dir / "index.html").write_text(html, encoding="utf-8")
    return {"href": f"img/{table.id}/index.html", "n": len(images)}


# --------------------------------------------------------------------------------------------- runs


def _run_page(board: Board, run: Source, out: Path, env, footer) -> None:
    folder = out / "runs" / run.id
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("manifest.json", "summary.csv", "per_image.csv"):
        if (run.path / name).is_file():
            shutil.copyfile(run.path / name, folder / name)
    shown = {id(c) for c in board.cells}
    superseded = {id(c): c.superseded_by for c in board.superseded}
    cells = []
    for c in sorted((c for c in board.cells + board.superseded if c.source is run),
                    key=lambda c: (c.dataset, c.scale, c.protocol, c.method, c.metric)):
        status = []
        if c.stale:
            status.append("stale: " + "; ".join(c.stale))
        if c.partial:
            status.append(f"partial: {c.partial} images")
        if id(c) in superseded:
            other = superseded[id(c)]
            status.append(f"superseded by run {other.source.id}")
        elif id(c) in shown:
            status.append("shown on the leaderboard")
        cells.append({"c": c, "text": fmt_value(c.number), "full": repr(c.value), "status": "; ".join(status),
                      "classes": "stale" if c.stale else ""})
    m = run.manifest
    command = m.get("command")
    if isinstance(command, list):
        command = shlex.join(str(x) for x in command)
    timings = m.get("timings") if isinstance(m.get("timings"), dict) else {}
    timings = {k: _timing_text(v) for k, v in timings.items()}
    info = [(k, str(m.get(k))) for k in ("srbench_version", "created", "finished", "git_commit", "python",
                                         "platform", "device", "protocol", "seed", "samples", "scales")
            if m.get(k) not in (None, "")]
    packages = m.get("packages") if isinstance(m.get("packages"), dict) else {}
    html = env.get_template("run.html").render(
        root="../../", footer=footer, title=f"run {run.id}", run=run, info=info, command=str(command or ""),
        cells=cells, timings=sorted(timings.items()), packages=sorted(packages.items()),
        files=[n for n in ("manifest.json", "summary.csv", "per_image.csv") if (folder / n).is_file()],
    )
    (folder / "index.html").write_text(html, encoding="utf-8")


def _track_pages(board: Board, out: Path, env, footer, plots: dict, image_links: dict) -> list[dict]:
    """One page per track named in the runs' manifests (``tracks/<name>.html``): the track's protocol and
    source, and the leaderboards of the tables its runs filled."""
    names = sorted({str(r.manifest["track"]) for r in board.runs if r.manifest.get("track")})
    pages = []
    for name in names:
        track = _track_meta(name, board)
        mine = [t for t in board.tables
                if any(c.source.manifest.get("track") == name for row in t.rows for c in row.cells.values())]
        views = [_table_view(board, t, "../", plots.get(t.id), image_links.get(t.id)) for t in mine]
        stem = safe_name(name)
        folder = out / "tracks"
        folder.mkdir(parents=True, exist_ok=True)
        html = env.get_template("track.html").render(root="../", footer=footer, title=f"track {name}", track=track,
                                                     tables=views)
        (folder / f"{stem}.html").write_text(html, encoding="utf-8")
        pages.append({"name": name, "title": track["title"], "href": f"tracks/{stem}.html", "n_tables": len(views)})
    return pages


def _track_meta(name: str, board: Board) -> dict:
    """The track's declaration (srbench.tracks), or what the runs' manifests say of an unknown one."""
    try:
        from srbench.tracks import TRACKS
    except Exception:  # noqa: BLE001 - the report works from run folders alone
        TRACKS = {}
    t = TRACKS.get(name)
    if t is None:
        return {"name": name, "title": "(not declared in this srbench)", "scale": "?", "datasets": [], "legs": [],
                "samples": 1, "source": "unknown", "official": "unknown", "tables": [], "notes": ""}
    return {"name": t.name, "title": t.title, "scale": t.scale, "datasets": t.datasets, "samples": t.samples,
            "legs": [{"dataset": leg.dataset, "protocol": leg.protocol, "metrics": list(leg.metrics or ())} for leg in t.legs],
            "source": t.source, "official": t.official, "tables": list(t.tables), "notes": t.notes}


def _timing_text(value) -> str:
    """``{"sr_seconds": 15.418262597, "images_computed": 5}`` -> ``images_computed=5, sr_seconds=15.42``."""
    def one(v):
        if isinstance(v, float):
            return f"{v:.2f}" if abs(v) >= 0.01 or v == 0 else f"{v:.2g}"
        return str(v)

    if isinstance(value, dict):
        return ", ".join(f"{a}={one(b)}" for a, b in sorted(value.items()))
    return one(value)


# -------------------------------------------------------------------------------------------- build


def build_site(run_dirs: list[Path], out: Path, compare_json: Path | None = None, *,
               crop: imaging.Box | str | None = None, title: str = "srbench results",
               full_images: bool = False) -> Path:
    """Render the site for ``run_dirs`` into ``out``; returns the path of ``out/index.html``.

    ``crop``: the zoom box ``(x, y, w, h)`` (or ``"x,y,w,h"``) in HR pixels for every per-image page;
    default: chosen per image (the most detailed window of the HR). ``full_images``: also copy each image
    at full resolution (lossless PNG) next to its thumbnail.
    """
    from srbench.report.plots import pd_plot

    if isinstance(crop, str):
        crop = imaging.parse_crop(crop)
    results = load_inputs([Path(p) for p in run_dirs])
    compare_rows = load_compare(compare_json) if compare_json is not None else None
    board = assemble(results)
    out = _prepare_out(Path(out))
    _copy_static(out)
    env = _env()
    generated = _now()

    def footer_for(root: str) -> dict:
        return _footer(board, root, generated)

    # leaderboard.json
    used_metrics = {m.name for t in board.tables for m in t.metrics}
    data = {
        "schema": 1,
        "generated": generated,
        "srbench_version": __version__,
        "cells": [c.to_json() for c in board.cells + board.reported],
        "metrics": {n: board.metrics[n].to_json() for n in board.metrics if n in used_metrics},
        "methods": {n: {k: v for k, v in info.items() if k != "anchor"} for n, info in board.methods.items()},
        "runs": {r.id: {"path": str(r.path.resolve()), "created": r.created,
                        "srbench_version": r.manifest.get("srbench_version"), "device": r.manifest.get("device"),
                        "protocol": r.protocol} for r in board.runs},
    }
    (out / "leaderboard.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    tables, plots, image_links = [], {}, {}
    for table in board.tables:
        plot = pd_plot(table, out / "plots" / f"pd_{table.id}.png", out / "plots" / f"pd_{table.id}.svg")
        if plot is not None:
            plot.update(png=f"plots/pd_{table.id}.png", svg=f"plots/pd_{table.id}.svg")
        images = _image_pages(board, table, out, env, crop, full_images, footer_for)
        plots[table.id], image_links[table.id] = plot, images
        tables.append(_table_view(board, table, "", plot, images))

    for run in board.runs:
        _run_page(board, run, out, env, footer_for("../../"))
    tracks = _track_pages(board, out, env, footer_for("../"), plots, image_links)

    regressions = None
    if compare_rows is not None:
        shutil.copyfile(compare_json, out / "compare.json")
        moved, quiet = moved_rows(compare_rows)
        regressions = {"rows": moved, "quiet": quiet, "file": Path(compare_json).name}

    html = env.get_template("index.html").render(
        root="", footer=footer_for(""), title=title, tables=tables, methods=list(board.methods.values()),
        regressions=regressions, runs=[{"id": r.id, "created": r.created, "protocol": r.protocol,
                                        "n_cells": sum(1 for c in results.cells if c.source is r)} for r in board.runs],
        tracks=tracks, unplaced=board.unplaced,
        reported_sources=[{"path": str(s.path), "paper": s.reported.paper, "title": s.reported.title}
                          for s in results.sources if s.kind == "reported"],
    )
    index = out / "index.html"
    index.write_text(html, encoding="utf-8")
    return index
