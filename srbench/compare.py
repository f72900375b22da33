"""``srbench compare``: compare the numbers of a run with a baseline, cell by cell.

A cell is one (method, dataset, scale, protocol, metric). Each cell of either side gets one status:

==================  =========================================================================  =========
status              meaning                                                                    fails?
==================  =========================================================================  =========
``worse``           moved beyond tolerance in the metric's bad direction                       yes
``changed``         moved beyond tolerance, direction of the metric unknown                    yes
``missing``         in the baseline, not in the current run                                    yes (1)
``not comparable``  metric_version, adapter_version, dataset_version, weights_sha256 or        yes (2)
                    n_images differ (the note says which); values are shown, not judged
``better``          moved beyond tolerance in the metric's good direction                      no
``new``             in the current run, not in the baseline                                    no
``within``          ``|current - baseline| <= abs + rel * |baseline|``                         no
==================  =========================================================================  =========

(1) not with ``--allow-missing``; (2) not with ``--allow-incomparable``.

A ``better`` cell does not fail the comparison (unless ``--fail-on-change``: any move beyond tolerance
fails, whichever direction; for deterministic references such as bicubic, where an improvement is as
much a bug as a regression), but it still means the baseline is stale: re-write it on purpose with
``srbench baseline write``.

Exit codes: 0 no regression, 1 regression, 2 error (missing/unreadable input, bad tolerance file).

Inputs are run folders (``summary.csv`` + ``manifest.json``), ``summary.csv`` files (lines starting with
``#`` are provenance comments and skipped; that is the format of ``leaderboards/baselines/*.csv``) or
``leaderboard.json`` files. Several CURRENT inputs are merged (e.g. an ``rgb`` and a ``luma`` run).

Direction of a metric: the metric registry, else the ``metrics`` block of the inputs (leaderboard.json or
manifest.json, current first). No import of torch here.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from srbench.errors import SrbenchError
from srbench.tolerances import Rule, Tolerances

SUMMARY_COLUMNS = (
    "method",
    "dataset",
    "scale",
    "metric",
    "value",
    "n_images",
    "protocol",
    "metric_version",
    "adapter_version",
    "dataset_version",
    "weights_sha256",
)
REQUIRED_COLUMNS = ("method", "dataset", "scale", "metric", "value")
KEY_FIELDS = ("method", "dataset", "scale", "protocol", "metric")
#: fields that must be equal for two values to be comparable
VERSION_FIELDS = ("metric_version", "adapter_version", "dataset_version", "weights_sha256", "n_images")

WORSE, CHANGED, MISSING, INCOMPARABLE = "worse", "changed", "missing", "not comparable"
BETTER, NEW, WITHIN = "better", "new", "within"
#: display order: regressions first
STATUS_ORDER = (WORSE, CHANGED, MISSING, INCOMPARABLE, BETTER, NEW, WITHIN)

EXIT_OK, EXIT_REGRESSION, EXIT_ERROR = 0, 1, 2


class CompareInputError(SrbenchError):
    """An input of ``srbench compare`` / ``srbench baseline`` is missing or unreadable (exit code 2)."""


# --------------------------------------------------------------------------------------------- loading


@dataclass
class Cell:
    method: str
    dataset: str
    scale: str
    protocol: str
    metric: str
    value: float
    fields: dict  # all columns as text (normalised), for the version checks and for writing
    source: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.method, self.dataset, self.scale, self.protocol, self.metric)


@dataclass
class Table:
    """The cells of one side (possibly merged from several inputs) plus what the inputs say about it."""

    cells: dict = field(default_factory=dict)  # key -> Cell
    directions: dict = field(default_factory=dict)  # metric -> bool (higher is better), from the inputs
    sources: list = field(default_factory=list)  # [{"path", "kind", "provenance"}]

    def add(self, cell: Cell) -> None:
        if cell.key in self.cells:
            other = self.cells[cell.key]
            raise CompareInputError(
                f"cell {_key_text(cell.key)} appears twice ({other.source} and {cell.source}); "
                "a comparison needs one value per cell"
            )
        self.cells[cell.key] = cell

    def merge(self, other: Table) -> None:
        for cell in other.cells.values():
            self.add(cell)
        for metric, hib in other.directions.items():
            self.directions.setdefault(metric, hib)
        self.sources.extend(other.sources)


def _key_text(key) -> str:
    method, dataset, scale, protocol, metric = key
    return f"{method}/{dataset}/x{scale}/{protocol or '-'}/{metric}"


def _norm_scale(text: str, where: str) -> str:
    text = str(text).strip()
    try:
        f = float(text)
    except ValueError:
        raise CompareInputError(f"{where}: scale {text!r} is not a number") from None
    return str(int(f)) if f.is_integer() else repr(f)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _parse_value(value, where: str) -> float:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return math.nan  # an empty value (metric failed) compares as NaN
    if isinstance(value, bool):
        raise CompareInputError(f"{where}: value {value!r} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise CompareInputError(f"{where}: value {value!r} is not a number") from None


def _make_cell(row: dict, where: str, source: str) -> Cell:
    missing = [c for c in REQUIRED_COLUMNS if c not in row]
    if missing:
        raise CompareInputError(f"{where}: missing column(s) {', '.join(missing)}")
    fields = {c: _text(row.get(c)) for c in SUMMARY_COLUMNS}
    for c in ("method", "dataset", "metric"):
        if not fields[c]:
            raise CompareInputError(f"{where}: empty {c!r}")
    fields["scale"] = _norm_scale(fields["scale"], where)
    value = _parse_value(row.get("value"), where)
    fields["value"] = repr(value)
    return Cell(
        method=fields["method"],
        dataset=fields["dataset"],
        scale=fields["scale"],
        protocol=fields["protocol"],
        metric=fields["metric"],
        value=value,
        fields=fields,
        source=source,
    )


def read_provenance(lines) -> dict:
    """``# key: value`` lines at the top of a baseline CSV, as a dict (other comments ignored)."""
    out = {}
    for line in lines:
        if not line.startswith("#"):
            continue
        key, sep, value = line[1:].strip().partition(":")
        if sep and key.strip() and " " not in key.strip():
            out[key.strip()] = value.strip()
    return out


def read_summary_csv(path: Path) -> Table:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CompareInputError(f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CompareInputError(f"cannot read {path}: {exc}") from None
    lines = text.splitlines()
    comments = [ln for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if not ln.startswith("#") and ln.strip()]
    if not body:
        raise CompareInputError(f"{path}: no header line (expected the summary.csv columns)")
    reader = csv.DictReader(io.StringIO("\n".join(body) + "\n"))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CompareInputError(
            f"{path}: not a summary.csv (missing column(s) {', '.join(missing)}; "
            f"expected {','.join(SUMMARY_COLUMNS)})"
        )
    table = Table(sources=[{"path": str(path), "kind": "summary.csv", "provenance": read_provenance(comments)}])
    try:
        for i, row in enumerate(reader, 2):
            if None in row:
                raise CompareInputError(f"{path}: data row {i - 1} has more fields than the header")
            table.add(_make_cell(row, f"{path}: data row {i - 1}", str(path)))
    except csv.Error as exc:
        raise CompareInputError(f"{path}: malformed CSV: {exc}") from None
    return table


def _directions_from(block, where: str) -> dict:
    out = {}
    if isinstance(block, dict):
        for name, meta in block.items():
            if isinstance(meta, dict) and isinstance(meta.get("higher_is_better"), bool):
                out[str(name)] = meta["higher_is_better"]
    return out


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CompareInputError(f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CompareInputError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise CompareInputError(f"{path} is not valid JSON: {exc}") from None


def read_leaderboard_json(path: Path) -> Table:
    data = _read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise CompareInputError(f"{path}: not a leaderboard.json (expected an object with a 'cells' list)")
    schema = data.get("schema", 1)
    if schema != 1:
        raise CompareInputError(f"{path}: leaderboard schema {schema!r} is not supported (expected 1)")
    table = Table(
        directions=_directions_from(data.get("metrics"), str(path)),
        sources=[{"path": str(path), "kind": "leaderboard.json", "provenance": {}}],
    )
    for i, row in enumerate(data["cells"], 1):
        if not isinstance(row, dict):
            raise CompareInputError(f"{path}: cells[{i - 1}] is not an object")
        source = f"{path} (run {row['run']})" if row.get("run") else str(path)
        table.add(_make_cell(row, f"{path}: cells[{i - 1}]", source))
    return table


def _manifest_info(manifest_path: Path) -> tuple[dict, dict]:
    """(directions, provenance) from a run's manifest.json; empty when absent or unreadable."""
    if not manifest_path.is_file():
        return {}, {}
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}, {}
    if not isinstance(data, dict):
        return {}, {}
    prov = {k: data.get(k) for k in ("srbench_version", "created", "finished", "git_commit", "command")}
    return _directions_from(data.get("metrics"), str(manifest_path)), prov


def load(path: str | Path) -> Table:
    """Read a run folder, a summary.csv (baseline) file or a leaderboard.json file."""
    path = Path(path)
    if path.is_dir():
        summary = path / "summary.csv"
        if summary.is_file():
            table = read_summary_csv(summary)
            directions, prov = _manifest_info(path / "manifest.json")
            table.directions.update(directions)
            table.sources[0].update(path=str(path), kind="run", provenance={**prov, **table.sources[0]["provenance"]})
            return table
        if (path / "leaderboard.json").is_file():
            return read_leaderboard_json(path / "leaderboard.json")
        raise CompareInputError(f"{path}: not a run folder (no summary.csv; did the run finish?)")
    if not path.exists():
        raise CompareInputError(f"not found: {path}")
    if path.suffix.lower() == ".json":
        return read_leaderboard_json(path)
    table = read_summary_csv(path)
    if path.name == "summary.csv":  # a run's summary: its manifest may sit beside it
        directions, prov = _manifest_info(path.parent / "manifest.json")
        table.directions.update(directions)
        table.sources[0]["provenance"] = {**prov, **table.sources[0]["provenance"]}
    return table


def load_many(paths) -> Table:
    table = Table()
    for p in paths:
        table.merge(load(p))
    return table


# ------------------------------------------------------------------------------------------- comparing


@dataclass
class Row:
    method: str
    dataset: str
    scale: str
    protocol: str
    metric: str
    status: str
    baseline: float | None
    current: float | None
    rule: Rule | None
    higher_is_better: bool | None
    fails: bool
    notes: list = field(default_factory=list)
    mismatched: dict = field(default_factory=dict)  # field -> (baseline, current)

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def allowed(self) -> float | None:
        if self.rule is None or self.baseline is None:
            return None
        return self.rule.allowed(self.baseline) if math.isfinite(self.baseline) else None

    def as_dict(self) -> dict:
        def num(x):
            return x if x is not None and math.isfinite(x) else None

        return {
            "method": self.method,
            "dataset": self.dataset,
            "scale": int(self.scale) if self.scale.isdigit() else self.scale,
            "protocol": self.protocol,
            "metric": self.metric,
            "status": self.status,
            "fails": self.fails,
            "baseline": num(self.baseline),
            "current": num(self.current),
            "delta": num(self.delta),
            "allowed": num(self.allowed),
            "tolerance": self.rule.describe() if self.rule else None,  # e.g. "abs 0.01" (text)
            "rule": self.rule.as_dict() if self.rule else None,
            "higher_is_better": self.higher_is_better,
            "mismatched": {k: {"baseline": b, "current": c} for k, (b, c) in self.mismatched.items()},
            "notes": list(self.notes),
        }


@dataclass
class Result:
    rows: list
    current: Table
    baseline: Table
    tolerances: Tolerances
    allow_incomparable: bool = False
    allow_missing: bool = False
    fail_on_change: bool = False

    @property
    def counts(self) -> dict:
        out = {s: 0 for s in STATUS_ORDER}
        for r in self.rows:
            out[r.status] += 1
        return out

    @property
    def regression(self) -> bool:
        return any(r.fails for r in self.rows)

    @property
    def exit_code(self) -> int:
        return EXIT_REGRESSION if self.regression else EXIT_OK

    def as_dict(self) -> dict:
        return {
            "schema": 1,
            "regression": self.regression,
            "exit_code": self.exit_code,
            "counts": self.counts,
            "allow_incomparable": self.allow_incomparable,
            "allow_missing": self.allow_missing,
            "fail_on_change": self.fail_on_change,
            "tolerances": self.tolerances.source,
            "current": self.current.sources,
            "baseline": self.baseline.sources,
            "cells": [r.as_dict() for r in self.rows],
        }


def _registry_direction(metric: str) -> bool | None:
    try:
        from srbench.registry import get_metric

        return bool(get_metric(metric).higher_is_better)
    except Exception:  # noqa: BLE001 - unknown name, or a metric module that fails to import: fall back
        return None


def direction_of(metric: str, current: Table, baseline: Table) -> bool | None:
    hib = _registry_direction(metric)
    if hib is None:
        hib = current.directions.get(metric, baseline.directions.get(metric))
    return hib


def _fmt_field(name: str, value: str) -> str:
    if name == "weights_sha256" and len(value) > 16:
        return ";".join(v[:12] + "…" for v in value.split(";"))
    return value or "(none)"


def _judge(cur: float, base: float, rule: Rule, hib: bool | None) -> tuple[str, list]:
    notes = []
    if math.isnan(cur) and math.isnan(base):
        return WITHIN, ["both values are NaN"]
    if not (math.isfinite(cur) and math.isfinite(base)):
        if cur == base:  # same infinity
            return WITHIN, notes
        notes.append(f"non-finite value (baseline {base!r}, current {cur!r})")
        return CHANGED, notes
    delta = cur - base
    # a hair of slack so that a move of exactly the tolerance is not failed by float rounding
    if abs(delta) <= rule.allowed(base) * (1 + 1e-9) + 1e-12 * max(abs(cur), abs(base)):
        return WITHIN, notes
    if hib is None:
        notes.append("direction of the metric unknown")
        return CHANGED, notes
    if (delta > 0) == hib:
        return BETTER, ["improved: re-write the baseline on purpose to keep it"]
    return WORSE, notes


def compare_tables(
    current: Table,
    baseline: Table,
    tolerances: Tolerances | None = None,
    allow_incomparable: bool = False,
    allow_missing: bool = False,
    fail_on_change: bool = False,
) -> Result:
    tolerances = tolerances or Tolerances()
    rows = []
    directions: dict = {}
    for key in sorted(set(current.cells) | set(baseline.cells)):
        method, dataset, scale, protocol, metric = key
        if metric not in directions:
            directions[metric] = direction_of(metric, current, baseline)
        hib = directions[metric]
        cur, base = current.cells.get(key), baseline.cells.get(key)
        rule = tolerances.rule_for(method, dataset, metric)
        common = {"method": method, "dataset": dataset, "scale": scale, "protocol": protocol, "metric": metric}
        if cur is None:
            rows.append(
                Row(**common, status=MISSING, baseline=base.value, current=None, rule=rule,
                    higher_is_better=hib, fails=not allow_missing, notes=["not in the current run"])
            )
            continue
        if base is None:
            rows.append(
                Row(**common, status=NEW, baseline=None, current=cur.value, rule=rule,
                    higher_is_better=hib, fails=False, notes=["not in the baseline"])
            )
            continue
        mismatched = {
            f: (base.fields[f], cur.fields[f]) for f in VERSION_FIELDS if base.fields[f] != cur.fields[f]
        }
        if mismatched:
            notes = [f"{f} {_fmt_field(f, b)} -> {_fmt_field(f, c)}" for f, (b, c) in mismatched.items()]
            rows.append(
                Row(**common, status=INCOMPARABLE, baseline=base.value, current=cur.value, rule=rule,
                    higher_is_better=hib, fails=not allow_incomparable, notes=notes, mismatched=mismatched)
            )
            continue
        status, notes = _judge(cur.value, base.value, rule, hib)
        rows.append(
            Row(**common, status=status, baseline=base.value, current=cur.value, rule=rule,
                higher_is_better=hib, fails=status in (WORSE, CHANGED) or (fail_on_change and status == BETTER),
                notes=notes)
        )
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    rows.sort(key=lambda r: (order[r.status], r.method, r.dataset, _scale_key(r.scale), r.protocol, r.metric))
    return Result(rows, current, baseline, tolerances, allow_incomparable, allow_missing, fail_on_change)


def _scale_key(scale: str):
    try:
        return (0, float(scale))
    except ValueError:
        return (1, scale)


def compare_paths(current, baseline, tolerances=None, **kwargs) -> Result:
    """Compare ``current`` (a path or a list of paths, merged) with the ``baseline`` path."""
    if isinstance(current, (str, Path)):
        current = [current]
    tol = tolerances if isinstance(tolerances, Tolerances) else Tolerances.load(tolerances)
    return compare_tables(load_many(current), load(baseline), tol, **kwargs)


# ------------------------------------------------------------------------------------------- reporting


def _fmt(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "-"
    if math.isnan(x):
        return "nan"
    return f"{x:+.6g}" if signed else f"{x:.7g}"


def _arrow(hib: bool | None) -> str:
    return {True: "↑", False: "↓", None: "?"}[hib]


def _table_rows(result: Result) -> list[list[str]]:
    out = []
    for r in result.rows:
        out.append(
            [
                r.status.upper() if r.fails else r.status,
                r.method,
                r.dataset,
                f"x{r.scale}",
                r.protocol or "-",
                f"{r.metric} {_arrow(r.higher_is_better)}",
                _fmt(r.baseline),
                _fmt(r.current),
                _fmt(r.delta, signed=True),
                "±" + _fmt(r.allowed) if r.allowed is not None else "-",
                "; ".join(r.notes),
            ]
        )
    return out


HEADERS = ["status", "method", "dataset", "scale", "protocol", "metric", "baseline", "current", "delta",
           "tolerance", "note"]


def summary_line(result: Result) -> str:
    counts = ", ".join(f"{n} {s}" for s, n in result.counts.items() if n)
    verdict = "REGRESSION" if result.regression else "OK"
    return f"{verdict}: {len(result.rows)} cells ({counts or 'none'})"


def format_text(result: Result, hide_within: bool = False) -> str:
    rows = _table_rows(result)
    if hide_within:
        rows = [row for row, r in zip(rows, result.rows) if r.status != WITHIN]
    widths = [len(h) for h in HEADERS]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    numeric = {6, 7, 8, 9}

    def line(cells):
        parts = [c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    out = [
        f"current:    {', '.join(s['path'] for s in result.current.sources)}",
        f"baseline:   {', '.join(s['path'] for s in result.baseline.sources)}",
        f"tolerances: {result.tolerances.source}",
        "",
    ]
    if rows:
        out.append(line(HEADERS))
        out.append(line(["-" * w for w in widths]))
        out.extend(line(r) for r in rows)
        out.append("")
    elif hide_within and result.rows:
        out.append(f"(all {len(result.rows)} cells within tolerance)")
        out.append("")
    out.append(summary_line(result))
    if result.regression:
        why = sorted({r.status for r in result.rows if r.fails}, key=STATUS_ORDER.index)
        out.append(f"exit 1: failing statuses: {', '.join(why)}")
    return "\n".join(out) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def format_markdown(result: Result) -> str:
    verdict = "❌ regression" if result.regression else "✅ no regression"
    out = [f"### srbench compare: {verdict}", "", summary_line(result), ""]
    out.append(
        f"Baseline: `{', '.join(s['path'] for s in result.baseline.sources)}` · tolerances: "
        f"`{result.tolerances.source}`"
    )
    out.append("")
    header = "| " + " | ".join(HEADERS) + " |"
    sep = "|" + "|".join("---:" if i in (6, 7, 8, 9) else "---" for i in range(len(HEADERS))) + "|"
    rows = _table_rows(result)
    shown = [row for row, r in zip(rows, result.rows) if r.status != WITHIN]
    hidden = [row for row, r in zip(rows, result.rows) if r.status == WITHIN]
    if shown:
        out += [header, sep] + ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in shown]
        out.append("")
    if hidden:
        out += ["<details><summary>" + f"{len(hidden)} cells within tolerance</summary>", "", header, sep]
        out += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in hidden]
        out += ["", "</details>", ""]
    return "\n".join(out)


def _print(text: str, stream=None) -> None:
    """Write to stdout; a console that cannot show the arrows gets '?' instead of a traceback."""
    stream = stream or sys.stdout
    try:
        stream.write(text)
    except UnicodeEncodeError:
        enc = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(enc, "replace").decode(enc, "replace"))
    stream.flush()


def _write(path: str, text: str) -> None:
    try:
        p = Path(path)
        if p.parent and not p.parent.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CompareInputError(f"cannot write {path}: {exc}") from None


# ------------------------------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Compare the numbers of CURRENT with BASELINE cell by cell (method, dataset, scale, protocol, "
        "metric). Exit 0: no regression; 1: regression (worse, changed, missing or not comparable); "
        "2: error. See docs/compare.md."
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="CURRENT [CURRENT ...] BASELINE: run folders, summary.csv or leaderboard.json files; "
        "several CURRENT inputs are merged; the last path is the baseline",
    )
    parser.add_argument("--tolerances", metavar="FILE", help="YAML tolerance rules (default: built-in)")
    parser.add_argument("--json", metavar="OUT", help="write the full comparison as JSON")
    parser.add_argument("--markdown", metavar="OUT", help="write a Markdown report (for a PR comment)")
    parser.add_argument(
        "--allow-incomparable",
        action="store_true",
        help="report 'not comparable' cells (version/weights/n_images differ) without failing",
    )
    parser.add_argument(
        "--allow-missing", action="store_true", help="report baseline cells absent from CURRENT without failing"
    )
    parser.add_argument(
        "--fail-on-change",
        action="store_true",
        help="'better' fails too: any move beyond tolerance is a regression (deterministic references)",
    )
    parser.add_argument("--hide-within", action="store_true", help="print only the cells that moved")


def run(args) -> int:
    try:
        paths = list(args.paths)
        if len(paths) < 2:
            raise CompareInputError("compare needs CURRENT and BASELINE (two or more paths)")
        result = compare_paths(
            paths[:-1],
            paths[-1],
            getattr(args, "tolerances", None),
            allow_incomparable=getattr(args, "allow_incomparable", False),
            allow_missing=getattr(args, "allow_missing", False),
            fail_on_change=getattr(args, "fail_on_change", False),
        )
        if getattr(args, "json", None):
            _write(args.json, json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n")
        if getattr(args, "markdown", None):
            _write(args.markdown, format_markdown(result))
    except SrbenchError as exc:
        print(f"srbench compare: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    _print(format_text(result, hide_within=getattr(args, "hide_within", False)))
    return result.exit_code


def main(argv=None) -> int:
    """``python -m srbench.compare`` (the same as ``srbench compare``)."""
    parser = argparse.ArgumentParser(prog="srbench compare")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
