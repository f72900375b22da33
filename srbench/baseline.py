"""``srbench baseline write``: (re)write a reviewable baseline CSV on purpose.

A baseline is ``leaderboards/baselines/<NAME>.csv``: the summary.csv columns (one row per cell, sorted,
values at full float precision) below a few provenance lines starting with ``#`` (srbench version, date,
the command that wrote it, git commit and command of each source run). ``srbench compare`` skips the
``#`` lines. Baselines change only through this command, so that a moved number shows up as a reviewed
diff of a small text file.

    srbench baseline write RUN_DIR [RUN_DIR ...] --name bicubic [--metrics psnr_y,ssim_y] [--dir DIR]

Several run folders are merged (e.g. an ``rgb`` and a ``luma`` run); a cell present twice is an error.
When the baseline already exists, a summary of what changed (``srbench compare`` of new vs old) is
printed. No import of torch here.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from srbench.compare import CompareInputError, _print, compare_results, index_cells
from srbench.errors import SrbenchError
from srbench.results import SUMMARY_COLUMNS, Results, concat, load

DEFAULT_DIR = Path("leaderboards") / "baselines"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _split(values) -> list[str] | None:
    """``--metrics a,b --metrics c`` -> ["a", "b", "c"]; None when not given."""
    if not values:
        return None
    out = []
    for v in values:
        out += [x.strip() for x in str(v).split(",") if x.strip()]
    return out


def _git_commit(cwd: Path) -> str | None:
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = res.stdout.strip()
    return commit if res.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else None


def select(results: Results, metrics=None, methods=None, datasets=None) -> Results:
    """The cells of ``results`` whose metric / method / dataset are in the given lists (None = all)."""
    cells = [c for c in results.cells
             if (metrics is None or c.metric in metrics) and (methods is None or c.method in methods)
             and (datasets is None or c.dataset in datasets)]
    for what, wanted, present in (
        ("metric", metrics, {c.metric for c in results.cells}),
        ("method", methods, {c.method for c in results.cells}),
        ("dataset", datasets, {c.dataset for c in results.cells}),
    ):
        absent = [w for w in (wanted or []) if w not in present]
        if absent:
            raise CompareInputError(
                f"{what}(s) {', '.join(absent)} not in the run(s) (present: {', '.join(sorted(present))})"
            )
    return Results(cells, results.sources)


def _one_line(value) -> str:
    if isinstance(value, (list, tuple)):
        value = shlex.join(str(v) for v in value)
    return " ".join(str(value).split())


def render(table: Results, name: str, command: str, written: str | None = None, git_commit: str | None = None) -> str:
    """The text of a baseline file."""
    from srbench import __version__

    written = written or datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    lines = [
        f"# srbench baseline: {name}",
        "# Written on purpose by `srbench baseline write`; do not edit by hand. Check a run against it with",
        f"# `srbench compare RUN_DIR leaderboards/baselines/{name}.csv` (lines starting with # are skipped).",
        f"# srbench_version: {__version__}",
        f"# written: {written}",
        f"# command: {_one_line(command)}",
        f"# git_commit: {git_commit or 'unknown'}",
    ]
    for i, src in enumerate(table.sources, 1):
        prov = src.provenance or {}
        lines.append(f"# source_{i}: {src.kind} {src.path}")
        for key in ("srbench_version", "git_commit", "created", "finished", "command"):
            if prov.get(key) not in (None, ""):
                lines.append(f"# source_{i}_{key}: {_one_line(prov[key])}")
    cells = sorted(index_cells(table).values(), key=lambda c: (c.method, c.dataset, c.scale, c.protocol, c.metric))
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SUMMARY_COLUMNS)
    for c in cells:
        writer.writerow([_field(c, col) for col in SUMMARY_COLUMNS])
    return "\n".join(lines) + "\n" + buf.getvalue()


def _field(cell, column: str) -> str:
    """A cell's column as the baseline file writes it: values at full precision (repr), the rest as text."""
    value = getattr(cell, column)
    if column == "value":
        return repr(float(value))
    return "" if value is None else str(value)


def write_baseline(
    sources,
    name: str,
    directory: str | Path = DEFAULT_DIR,
    metrics=None,
    methods=None,
    datasets=None,
    allow_unfinished: bool = False,
    command: str | None = None,
) -> tuple[Path, Results, Results | None]:
    """Write ``<directory>/<name>.csv`` from run folders; returns (path, new table, previous table or None)."""
    if not _NAME_RE.match(name or ""):
        raise CompareInputError(f"baseline name {name!r}: use letters, digits, '.', '_' and '-' only")
    if not sources:
        raise CompareInputError("give at least one run folder")
    parts = []
    for src in sources:
        part = load(src)
        for s in part.sources:
            prov = s.provenance or {}
            if s.kind == "run" and "finished" in prov and not prov.get("finished") and not allow_unfinished:
                raise CompareInputError(
                    f"{s.path}: the run did not finish (manifest 'finished' is empty); "
                    "finish it or pass --allow-unfinished"
                )
            if s.kind == "reported":
                raise CompareInputError(f"{s.path}: a baseline is written from measured runs, not from reported numbers")
        parts.append(part)
    table = concat(parts)
    index_cells(table)  # a cell present twice is an error
    table = select(table, metrics, methods, datasets)
    if not table.cells:
        raise CompareInputError("no cells to write")
    directory = Path(directory)
    path = directory / f"{name}.csv"
    previous = load(path) if path.is_file() else None
    if command is None:
        command = shlex.join(["srbench", "baseline", "write", *map(str, sources), "--name", name])
    text = render(table, name, command, git_commit=_git_commit(Path.cwd()))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".csv.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise CompareInputError(f"cannot write {path}: {exc}") from None
    return path, table, previous


def _command(args) -> str:
    parts = ["srbench", "baseline", "write", *map(str, args.runs), "--name", args.name]
    for opt in ("metrics", "methods", "datasets"):
        values = _split(getattr(args, opt, None))
        if values:
            parts += [f"--{opt}", ",".join(values)]
    if getattr(args, "dir", None) and Path(args.dir) != DEFAULT_DIR:
        parts += ["--dir", str(args.dir)]
    if getattr(args, "allow_unfinished", False):
        parts.append("--allow-unfinished")
    return shlex.join(parts)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Manage the baselines that `srbench compare` checks runs against."
    sub = parser.add_subparsers(dest="baseline_command", metavar="{write}")
    sub.required = True
    w = sub.add_parser(
        "write",
        help="(re)write leaderboards/baselines/NAME.csv from run folders, on purpose",
        description="(Re)write DIR/NAME.csv (summary.csv columns + '#' provenance lines) from one or more "
        "finished run folders. Several runs are merged.",
    )
    w.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folder(s) (or their summary.csv)")
    w.add_argument("--name", required=True, help="baseline name, e.g. bicubic")
    w.add_argument("--metrics", action="append", metavar="LIST", help="only these metrics (comma-separated)")
    w.add_argument("--methods", action="append", metavar="LIST", help="only these methods (comma-separated)")
    w.add_argument("--datasets", action="append", metavar="LIST", help="only these datasets (comma-separated)")
    w.add_argument("--dir", default=str(DEFAULT_DIR), help=f"where baselines live (default: {DEFAULT_DIR})")
    w.add_argument("--allow-unfinished", action="store_true", help="accept a run whose manifest is not finished")


def run(args) -> int:
    if getattr(args, "baseline_command", None) != "write":
        print("srbench baseline: error: expected a subcommand: write", file=sys.stderr)
        return 2
    try:
        path, table, previous = write_baseline(
            args.runs,
            args.name,
            directory=args.dir,
            metrics=_split(args.metrics),
            methods=_split(args.methods),
            datasets=_split(args.datasets),
            allow_unfinished=args.allow_unfinished,
            command=_command(args),
        )
    except SrbenchError as exc:
        print(f"srbench baseline: error: {exc}", file=sys.stderr)
        return 2
    msg = f"wrote {path} ({len(table.cells)} cells)\n"
    if previous is not None:
        diff = compare_results(table, previous)
        moved = [r for r in diff.rows if r.status != "within"]
        msg += f"compared with the previous version: {', '.join(f'{n} {s}' for s, n in diff.counts.items() if n)}\n"
        for r in moved[:50]:
            values = f"{r.baseline!r} -> {r.current!r}".replace("None", "-")
            note = "; ".join(r.notes)
            msg += f"  {r.status:14s} {r.method}/{r.dataset}/x{r.scale}/{r.protocol or '-'}/{r.metric}: {values}"
            msg += f" ({note})\n" if note else "\n"
        if len(moved) > 50:
            msg += f"  ... and {len(moved) - 50} more\n"
    msg += "review the diff (git diff) before committing it\n"
    _print(msg)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="srbench baseline")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
