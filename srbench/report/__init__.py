"""``srbench report``: static HTML leaderboards and report pages from run folders.

``srbench report RUN_DIR... [REPORTED.yaml...] --out site/ [--compare compare.json] [--crop x,y,w,h] [--full-images]``

The site is plain files (works from ``file://`` and any static host): ``index.html`` with one
leaderboard per (dataset, scale, protocol), ``leaderboard.json`` with the same cells, run pages,
perception-distortion plots and per-image comparison pages. See ``docs/report.md``.

Importing this package is cheap (no jinja2, matplotlib or torch); the work happens in
:func:`build_site`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_arguments", "build_site", "run"]


def build_site(run_dirs: list[Path], out: Path, compare_json: Path | None = None, **options) -> Path:
    """Render ``run_dirs`` into the static site ``out``; returns ``out/index.html``.

    Options: ``crop=(x, y, w, h)`` or ``"x,y,w,h"`` (zoom box in HR pixels, default automatic),
    ``title=...``, ``full_images=False`` (also copy full-resolution images). Raises
    :class:`srbench.errors.SrbenchError` subclasses for unreadable runs or a non-site ``out`` folder.
    """
    from srbench.report.site import build_site as _build

    return _build(run_dirs, out, compare_json, **options)


def _crop_arg(text: str):
    from srbench.report.imaging import parse_crop

    try:
        return parse_crop(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR",
                        help="run folders written by `srbench run`, and reported-number YAMLs "
                             "(leaderboards/reported/*.yaml: shown as reported rows, never ranked)")
    parser.add_argument("--out", type=Path, default=Path("site"),
                        help="output folder (default: site/); rebuilt if it holds an earlier report, "
                             "refused if it holds anything else")
    parser.add_argument("--compare", type=Path, default=None, metavar="FILE",
                        help="JSON from `srbench compare --json`: show the cells that moved beyond tolerance")
    parser.add_argument("--crop", type=_crop_arg, default=None, metavar="X,Y,W,H",
                        help="zoom box in HR pixels for every per-image page (default: the most detailed "
                             "region of each HR image)")
    parser.add_argument("--title", default="srbench results", help="page title")
    parser.add_argument("--full-images", action="store_true",
                        help="also copy every image at full resolution (lossless PNG; larger site)")


def run(args: argparse.Namespace) -> int:
    import time

    t0 = time.perf_counter()
    index = build_site(args.runs, args.out, args.compare, crop=args.crop, title=args.title,
                       full_images=args.full_images)
    size = sum(p.stat().st_size for p in index.parent.rglob("*") if p.is_file())
    print(f"wrote {index} ({size / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s); "
          f"open {index.resolve().as_uri()}")
    return 0
