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

Against numbers reported in a paper (BASELINE is a ``leaderboards/reported/*.yaml``), each reported row is
matched with the measured cell of the same key, with the tolerance rule plus half a unit of the paper's
last printed digit (:func:`compare_reported`):

======================  =================================================================  ======
``differs``             beyond tolerance, not recorded in the YAML                          yes
``known disagreement``  beyond tolerance, recorded in the YAML with what was tried           no
``not measured``        the run has no such cell                                            no
``reproduced``          within tolerance                                                    no
======================  =================================================================  ======

Inputs are read by :func:`srbench.results.load`: run folders, ``summary.csv`` files (lines starting with
``#`` are provenance comments and skipped; that is the format of ``leaderboards/baselines/*.csv``),
``leaderboard.json`` files or reported YAML. Several CURRENT inputs are merged (e.g. an ``rgb`` and a
``luma`` run).

Direction of a metric: the metric registry, else the ``metrics`` block of the inputs (leaderboard.json or
manifest.json, current first). No import of torch here.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from srbench.errors import SrbenchError
from srbench.results import KEY_FIELDS, REPORTED, SUMMARY_COLUMNS, VERSION_FIELDS, Cell, Results, ResultsError, load
from srbench.tolerances import Rule, Tolerances

__all__ = ["KEY_FIELDS", "SUMMARY_COLUMNS", "CompareInputError", "compare_paths", "compare_results", "index_cells"]

WORSE, CHANGED, MISSING, INCOMPARABLE = "worse", "changed", "missing", "not comparable"
BETTER, NEW, WITHIN = "better", "new", "within"
#: display order: regressions first
STATUS_ORDER = (WORSE, CHANGED, MISSING, INCOMPARABLE, BETTER, NEW, WITHIN)
#: against numbers reported in papers (leaderboards/reported/*.yaml): only ``differs`` fails
DIFFERS, KNOWN, NOT_MEASURED, REPRODUCED = "differs", "known disagreement", "not measured", "reproduced"
REPORTED_STATUS_ORDER = (DIFFERS, KNOWN, NOT_MEASURED, REPRODUCED)

EXIT_OK, EXIT_REGRESSION, EXIT_ERROR = 0, 1, 2

#: an input of ``srbench compare`` / ``srbench baseline`` is missing or unreadable (exit code 2)
CompareInputError = ResultsError


def _key_text(key) -> str:
    method, dataset, scale, protocol, metric = key
    return f"{method}/{dataset}/x{scale}/{protocol or '-'}/{metric}"


def index_cells(results: Results) -> dict[tuple, Cell]:
    """key -> cell; a cell that appears twice (e.g. in two merged runs) is an error: a comparison needs one
    value per cell."""
    out: dict[tuple, Cell] = {}
    for cell in results.cells:
        other = out.get(cell.key)
        if other is not None:
            raise CompareInputError(f"cell {_key_text(cell.key)} appears twice ({other.where} and {cell.where}); "
                                    "a comparison needs one value per cell")
        out[cell.key] = cell
    return out


def source_dicts(results: Results) -> list[dict]:
    return [{"path": str(s.path), "kind": s.kind, "provenance": dict(s.provenance)} for s in results.sources]


# ------------------------------------------------------------------------------------------- comparing


@dataclass
class Row:
    method: str
    dataset: str
    scale: int
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
    slack: float = 0.0  # added to the rule: half a unit of the last digit a paper printed (reported baselines)
    source: str = ""  # where the baseline value comes from (a reported row: paper and table)

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def allowed(self) -> float | None:
        if self.rule is None or self.baseline is None:
            return None
        return self.rule.allowed(self.baseline) + self.slack if math.isfinite(self.baseline) else None

    def as_dict(self) -> dict:
        def num(x):
            return x if x is not None and math.isfinite(x) else None

        out = {
            "method": self.method,
            "dataset": self.dataset,
            "scale": self.scale,
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
        if self.source:
            out["source"] = self.source
        return out


@dataclass
class Result:
    rows: list
    current: Results
    baseline: Results
    tolerances: Tolerances
    allow_incomparable: bool = False
    allow_missing: bool = False
    fail_on_change: bool = False
    reported: bool = False  # the baseline holds numbers copied from papers

    @property
    def counts(self) -> dict:
        order = REPORTED_STATUS_ORDER if self.reported else STATUS_ORDER
        out = {s: 0 for s in order}
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
            "baseline_kind": REPORTED if self.reported else "measured",
            "allow_incomparable": self.allow_incomparable,
            "allow_missing": self.allow_missing,
            "fail_on_change": self.fail_on_change,
            "tolerances": self.tolerances.source,
            "current": source_dicts(self.current),
            "baseline": source_dicts(self.baseline),
            "cells": [r.as_dict() for r in self.rows],
        }


def _registry_direction(metric: str) -> bool | None:
    try:
        from srbench.registry import get_metric

        return bool(get_metric(metric).higher_is_better)
    except Exception:  # noqa: BLE001 - unknown name, or a metric module that fails to import: fall back
        return None


def direction_of(metric: str, current: Results, baseline: Results) -> bool | None:
    hib = _registry_direction(metric)
    if hib is None:
        hib = current.directions.get(metric, baseline.directions.get(metric))
    return hib


def _fmt_field(name: str, value: str) -> str:
    if name == "weights_sha256" and len(value) > 16:
        return ";".join(v[:12] + "…" for v in value.split(";"))
    return value or "(none)"


def _within(cur: float, base: float, allowed: float) -> bool:
    # a hair of slack so that a move of exactly the tolerance is not failed by float rounding
    return abs(cur - base) <= allowed * (1 + 1e-9) + 1e-12 * max(abs(cur), abs(base))


def _judge(cur: float, base: float, rule: Rule, hib: bool | None) -> tuple[str, list]:
    notes = []
    if math.isnan(cur) and math.isnan(base):
        return WITHIN, ["both values are NaN"]
    if not (math.isfinite(cur) and math.isfinite(base)):
        if cur == base:  # same infinity
            return WITHIN, notes
        notes.append(f"non-finite value (baseline {base!r}, current {cur!r})")
        return CHANGED, notes
    if _within(cur, base, rule.allowed(base)):
        return WITHIN, notes
    if hib is None:
        notes.append("direction of the metric unknown")
        return CHANGED, notes
    if (cur - base > 0) == hib:
        return BETTER, ["improved: re-write the baseline on purpose to keep it"]
    return WORSE, notes


def compare_results(
    current: Results,
    baseline: Results,
    tolerances: Tolerances | None = None,
    allow_incomparable: bool = False,
    allow_missing: bool = False,
    fail_on_change: bool = False,
) -> Result:
    """Cell-by-cell comparison; a baseline of reported numbers (papers) is compared by :func:`compare_reported`."""
    tolerances = tolerances or Tolerances()
    kinds = {c.kind for c in baseline.cells}
    if REPORTED in kinds:
        if len(kinds) > 1:
            raise CompareInputError("the baseline mixes measured and reported cells; compare with one kind at a time")
        return compare_reported(current, baseline, tolerances)
    cur_cells, base_cells = index_cells(current), index_cells(baseline)
    rows = []
    directions: dict = {}
    for key in sorted(set(cur_cells) | set(base_cells)):
        method, dataset, scale, protocol, metric = key
        if metric not in directions:
            directions[metric] = direction_of(metric, current, baseline)
        hib = directions[metric]
        cur, base = cur_cells.get(key), base_cells.get(key)
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
            f: (base.version_field(f), cur.version_field(f)) for f in VERSION_FIELDS
            if base.version_field(f) != cur.version_field(f)
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
    rows.sort(key=lambda r: (order[r.status], r.method, r.dataset, r.scale, r.protocol, r.metric))
    return Result(rows, current, baseline, tolerances, allow_incomparable, allow_missing, fail_on_change)


def compare_reported(current: Results, reported: Results, tolerances: Tolerances | None = None) -> Result:
    """Which measured cells reproduce the numbers a paper printed.

    Each reported row with an srbench (method, dataset, scale, protocol, metric) is matched with the measured
    cell of the same key. Tolerance: the rule of ``tolerances`` plus half a unit of the last digit the paper
    printed (``28.42`` carries +-0.005 of print rounding). Statuses: ``reproduced`` (within), ``differs``
    (beyond: fails), ``known disagreement`` (beyond, and the YAML records it with what was tried: listed,
    does not fail), ``not measured`` (the run has no such cell: listed, does not fail). Version fields are
    not compared: a paper has none.
    """
    tolerances = tolerances or Tolerances()
    measured = index_cells(current)
    rows = []
    for rc in reported.cells:
        rep = rc.reported
        hib = direction_of(rc.metric, current, reported)
        rule = tolerances.rule_for(rc.method, rc.dataset, rc.metric)
        common = {"method": rc.method, "dataset": rc.dataset, "scale": rc.scale, "protocol": rc.protocol,
                  "metric": rc.metric, "rule": rule, "higher_is_better": hib, "slack": rep.slack,
                  "source": f"{rep.paper} {rep.table}: {rep.label} {rep.text}"}
        cur = measured.get(rc.key)
        if cur is None:
            rows.append(Row(**common, status=NOT_MEASURED, baseline=rc.value, current=None, fails=False,
                            notes=["not in the run"]))
            continue
        if _within(cur.value, rc.value, rule.allowed(rc.value) + rep.slack):
            rows.append(Row(**common, status=REPRODUCED, baseline=rc.value, current=cur.value, fails=False))
            continue
        if rep.known_disagreement:
            rows.append(Row(**common, status=KNOWN, baseline=rc.value, current=cur.value, fails=False,
                            notes=[str(rep.known_disagreement.get("note") or "recorded in the YAML")]))
            continue
        rows.append(Row(**common, status=DIFFERS, baseline=rc.value, current=cur.value, fails=True,
                        notes=["not recorded as a known disagreement"]))
    order = {s: i for i, s in enumerate(REPORTED_STATUS_ORDER)}
    rows.sort(key=lambda r: (order[r.status], r.dataset, r.scale, r.method, r.protocol, r.metric))
    return Result(rows, current, reported, tolerances, reported=True)


def compare_paths(current, baseline, tolerances=None, **kwargs) -> Result:
    """Compare ``current`` (a path or a list of paths, merged) with the ``baseline`` path."""
    if isinstance(current, (str, Path)):
        current = [current]
    tol = tolerances if isinstance(tolerances, Tolerances) else Tolerances.load(tolerances)
    return compare_results(load(current), load(baseline), tol, **kwargs)


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
                "; ".join(([r.source] if r.source else []) + r.notes),
            ]
        )
    return out


HEADERS = ["status", "method", "dataset", "scale", "protocol", "metric", "baseline", "current", "delta",
           "tolerance", "note"]


def _quiet(result: Result) -> str:
    """The status of cells that agree (hidden by --hide-within and folded in Markdown)."""
    return REPRODUCED if result.reported else WITHIN


def summary_line(result: Result) -> str:
    counts = ", ".join(f"{n} {s}" for s, n in result.counts.items() if n)
    verdict = "REGRESSION" if result.regression else "OK"
    return f"{verdict}: {len(result.rows)} cells ({counts or 'none'})"


def format_text(result: Result, hide_within: bool = False) -> str:
    rows = _table_rows(result)
    if hide_within:
        rows = [row for row, r in zip(rows, result.rows) if r.status != _quiet(result)]
    widths = [len(h) for h in HEADERS]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    numeric = {6, 7, 8, 9}

    def line(cells):
        parts = [c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    out = [
        f"current:    {', '.join(str(s.path) for s in result.current.sources)}",
        f"{'reported' if result.reported else 'baseline'}:   {', '.join(str(s.path) for s in result.baseline.sources)}",
        f"tolerances: {result.tolerances.source}",
        "",
    ]
    if rows:
        out.append(line(HEADERS))
        out.append(line(["-" * w for w in widths]))
        out.extend(line(r) for r in rows)
        out.append("")
    elif hide_within and result.rows:
        out.append(f"(all {len(result.rows)} cells {'reproduced' if result.reported else 'within tolerance'})")
        out.append("")
    out.append(summary_line(result))
    if result.regression:
        order = REPORTED_STATUS_ORDER if result.reported else STATUS_ORDER
        why = sorted({r.status for r in result.rows if r.fails}, key=order.index)
        out.append(f"exit 1: failing statuses: {', '.join(why)}")
    return "\n".join(out) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def format_markdown(result: Result) -> str:
    verdict = "❌ regression" if result.regression else "✅ no regression"
    out = [f"### srbench compare: {verdict}", "", summary_line(result), ""]
    out.append(
        f"Baseline: `{', '.join(str(s.path) for s in result.baseline.sources)}` · tolerances: "
        f"`{result.tolerances.source}`"
    )
    out.append("")
    header = "| " + " | ".join(HEADERS) + " |"
    sep = "|" + "|".join("---:" if i in (6, 7, 8, 9) else "---" for i in range(len(HEADERS))) + "|"
    rows = _table_rows(result)
    shown = [row for row, r in zip(rows, result.rows) if r.status != _quiet(result)]
    hidden = [row for row, r in zip(rows, result.rows) if r.status == _quiet(result)]
    if shown:
        out += [header, sep] + ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in shown]
        out.append("")
    if hidden:
        what = "reproduced" if result.reported else "within tolerance"
        out += ["<details><summary>" + f"{len(hidden)} cells {what}</summary>", "", header, sep]
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
        "several CURRENT inputs are merged; the last path is the baseline (a leaderboards/reported/*.yaml: "
        "which cells reproduce the paper)",
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
