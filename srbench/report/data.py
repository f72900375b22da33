"""Read run folders and assemble the leaderboard cells (no HTML here).

A *group* is one (dataset, scale, protocol) leaderboard. When several runs hold the same cell
(method, dataset, scale, protocol, metric) the current one wins over a stale one, then the newest run
(manifest ``created``). A cell is *stale* when its metric, adapter or dataset version differs from the
current one: the registry's version where the name is registered, else the version in the newest run
that has it. Stale and partial cells are shown, flagged, and never ranked or plotted.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from srbench.errors import SrbenchError
from srbench.names import method_name, safe_name
from srbench.results import Cell, Results, Source, load

SCHEMA = 1

PROVENANCE_LABELS = {
    "official": "official checkpoint",
    "trained": "trained by srbench",
    "user": "user-supplied",
    "download": "downloaded (not verified against a published sha256)",
    "none": "none",
}


class ReportError(SrbenchError):
    """A run folder or compare file that the report cannot read."""


def load_inputs(paths: list[Path]) -> Results:
    """The report's inputs through the one reader (:func:`srbench.results.load`): run folders, and reported
    YAML (papers' numbers, shown as reported rows). A run needs its manifest (the report shows provenance)."""
    if not paths:
        raise ReportError("no run folders given")
    results = load([Path(p) for p in paths])
    for s in results.sources:
        if s.kind == "run" and not s.manifest:
            raise ReportError(f"{str(s.path)!r} is not a run folder (no manifest.json)")
        if s.kind not in ("run", "reported"):
            raise ReportError(f"{s.path}: srbench report takes run folders and reported YAML, not a {s.kind}")
    if not any(s.kind == "run" for s in results.sources):
        raise ReportError("no run folders given (reported numbers are shown beside measured ones)")
    return results


@dataclass(eq=False)
class BoardCell(Cell):
    """A :class:`srbench.results.Cell` as the leaderboard shows it: stale/partial flags, rank, supersession."""

    stale: list[str] = field(default_factory=list)  # human-readable reasons
    partial: str = ""  # "3/5" when fewer images than the dataset has
    rank: int = 0  # 1 best, 2 second best in its column, 0 otherwise
    superseded_by: BoardCell | None = None
    disagrees: str = ""  # reported cell: how it differs from the measured cell of its method (shown, not hidden)

    @classmethod
    def of(cls, cell: Cell) -> BoardCell:
        return cls(**{f.name: getattr(cell, f.name) for f in fields(Cell)})

    @property
    def group(self) -> tuple[str, int, str]:
        return (self.dataset, self.scale, self.protocol)

    @property
    def row_key(self) -> str:
        """The leaderboard row: the method label, or the paper's row for a reported cell."""
        if self.reported is None:
            return self.method
        return f"{self.reported.label} [{self.reported.paper} {self.reported.table}]"

    @property
    def rankable(self) -> bool:
        return self.number is not None and not self.stale and not self.partial and self.reported is None

    @property
    def anchor(self) -> str:
        return "cell-" + safe_name(f"{self.method}-{self.dataset}-x{self.scale}-{self.protocol}-{self.metric}", 120)

    def to_json(self) -> dict:
        out = {
            "method": self.method,
            "dataset": self.dataset,
            "scale": self.scale,
            "metric": self.metric,
            "value": self.number,
            "n_images": self.n_images,
            "protocol": self.protocol,
            "metric_version": self.metric_version,
            "adapter_version": self.adapter_version,
            "dataset_version": self.dataset_version,
            "weights_sha256": self.weights_sha256,
            "kind": self.kind,
            "stale": bool(self.stale),
            "stale_reasons": list(self.stale),
            "partial": bool(self.partial),
        }
        if self.reported is None:
            out.update(run=self.source.id, run_page=f"runs/{self.source.id}/index.html")
        else:
            out.update(label=self.reported.label, paper=self.reported.paper, table=self.reported.table,
                       printed=self.reported.text, source=str(self.source.path), disagrees=self.disagrees)
        return out


def _registry_metrics() -> dict:
    try:
        from srbench.registry import metrics

        return dict(metrics())
    except Exception:  # noqa: BLE001 - the report must work from run folders alone
        return {}


def _registry_methods() -> dict:
    try:
        from srbench.registry import methods

        return dict(methods())
    except Exception:  # noqa: BLE001 - a broken adapter must not break the report
        return {}


@dataclass
class MetricMeta:
    name: str
    higher_is_better: bool | None
    full_reference: bool | None
    version: str  # current version
    description: str = ""

    @property
    def arrow(self) -> str:
        return {True: "↑", False: "↓"}.get(self.higher_is_better, "")

    @property
    def better(self) -> str:
        return {True: "higher", False: "lower"}.get(self.higher_is_better, "")

    def to_json(self) -> dict:
        return {
            "higher_is_better": self.higher_is_better,
            "full_reference": self.full_reference,
            "version": self.version,
        }


@dataclass
class Row:
    method: str  # the method label; for a reported row the paper's row (BoardCell.row_key)
    cells: dict[str, BoardCell]
    reported: Any = None  # srbench.reported.ReportedRow of a reported row (shown apart, never ranked)

    @property
    def run(self) -> Source | None:
        """The run most of this row's shown cells come from (its images go on the per-image pages)."""
        counts: dict[str, tuple[int, Source]] = {}
        for cell in self.cells.values():
            if not cell.source.is_run:
                continue
            n, _ = counts.get(cell.source.id, (0, cell.source))
            counts[cell.source.id] = (n + 1, cell.source)
        if not counts:
            return None
        return max(counts.values(), key=lambda t: (t[0], t[1].newness))[1]


@dataclass
class Table:
    dataset: str
    scale: int
    protocol: str
    n_images: int | None
    metrics: list[MetricMeta]
    rows: list[Row]  # measured rows, ranked
    reported: list[Row] = field(default_factory=list)  # papers' numbers, shown below the measured rows

    @property
    def id(self) -> str:
        return safe_name(f"{self.dataset}_x{self.scale}_{self.protocol}", 100)

    @property
    def stale_cells(self) -> list[BoardCell]:
        return [c for r in self.rows for c in r.cells.values() if c.stale or c.partial]


@dataclass
class Board:
    runs: list[Source]
    tables: list[Table]
    metrics: dict[str, MetricMeta]
    methods: dict[str, dict]  # method -> display metadata
    cells: list[BoardCell]  # shown measured cells
    superseded: list[BoardCell]  # cells another run's cell replaced
    reported: list[BoardCell] = field(default_factory=list)  # shown reported cells
    unplaced: list[dict] = field(default_factory=list)  # reported tables with no measured table to sit in


def _newest(items):
    """The item of the newest run (items: (run, value) pairs), or None."""
    best = None
    for run, value in items:
        if value in (None, ""):
            continue
        if best is None or run.newness > best[0].newness:
            best = (run, value)
    return None if best is None else best[1]


def _metric_meta(runs: list[Source], all_cells: list[BoardCell], registry: dict) -> dict[str, MetricMeta]:
    names: list[str] = []
    for run in runs:
        for name in run.manifest.get("metrics") or {}:
            if name not in names:
                names.append(name)
    for cell in all_cells:
        if cell.metric not in names:
            names.append(cell.metric)
    out = {}
    for name in names:
        entries = [(r, (r.manifest.get("metrics") or {}).get(name)) for r in runs]
        entries = [(r, m) for r, m in entries if isinstance(m, dict)]
        info = registry.get(name)
        hib = _newest([(r, m.get("higher_is_better")) for r, m in entries])
        if hib is None and info is not None:
            hib = info.higher_is_better
        fr = _newest([(r, m.get("full_reference")) for r, m in entries])
        if fr is None and info is not None:
            fr = info.full_reference
        if info is not None:
            version = str(info.version)
        else:
            version = _newest([(r, m.get("version")) for r, m in entries])
            if version is None:
                version = _newest([(c.source, c.metric_version) for c in all_cells if c.metric == name])
        desc = getattr(info, "description", "") if info is not None else ""
        out[name] = MetricMeta(name, None if hib is None else bool(hib), None if fr is None else bool(fr),
                               str(version or ""), desc)
    return out


def _current_adapter(method: str, runs: list[Source], all_cells: list[BoardCell], registry: dict) -> str:
    info = registry.get(method_name(method))
    if info is not None:
        return str(info.adapter_version)
    v = _newest([(r, r.method_meta(method).get("adapter_version")) for r in runs if r.method_meta(method)])
    if v is None:
        v = _newest([(c.source, c.adapter_version) for c in all_cells if c.method == method])
    return str(v or "")


def _current_dataset(dataset: str, runs: list[Source], all_cells: list[BoardCell]) -> tuple[str, int | None]:
    entries = [(r, (r.manifest.get("datasets") or {}).get(dataset)) for r in runs]
    entries = [(r, d) for r, d in entries if isinstance(d, dict)]
    version = _newest([(r, d.get("version")) for r, d in entries])
    if version is None:
        version = _newest([(c.source, c.dataset_version) for c in all_cells if c.dataset == dataset])
    n = _newest([(r, d.get("n_images")) for r, d in entries])
    n = n if isinstance(n, int) and not isinstance(n, bool) else None
    return str(version or ""), n


def _mark_stale(cell: BoardCell, metric: MetricMeta, adapter: str, dataset: tuple[str, int | None]) -> None:
    if metric.version and cell.metric_version != metric.version:
        cell.stale.append(f"metric {cell.metric} version {cell.metric_version or '?'} (current {metric.version})")
    if adapter and cell.adapter_version != adapter:
        cell.stale.append(f"adapter {cell.method} version {cell.adapter_version or '?'} (current {adapter})")
    if dataset[0] and cell.dataset_version != dataset[0]:
        cell.stale.append(f"dataset {cell.dataset} version {cell.dataset_version or '?'} (current {dataset[0]})")
    n_total = dataset[1]
    if n_total and cell.n_images is not None and 0 < cell.n_images < n_total:
        cell.partial = f"{cell.n_images}/{n_total}"


def rank_cells(cells: list[BoardCell], higher_is_better: bool | None) -> None:
    """Mark best (1) and second best (2) among the rankable cells of one column (ties share a rank)."""
    for c in cells:
        c.rank = 0
    if higher_is_better is None:
        return
    values = sorted({c.number for c in cells if c.rankable}, reverse=higher_is_better)
    for rank, value in enumerate(values[:2], start=1):
        for c in cells:
            if c.rankable and c.number == value:
                c.rank = rank


def weights_summary(meta: dict) -> list[dict]:
    """[{file, provenance, label, sha256}] from a manifest method entry."""
    out = []
    weights = meta.get("weights") or {}
    if isinstance(weights, dict):
        for name in sorted(weights):
            w = weights[name] if isinstance(weights[name], dict) else {}
            prov = str(w.get("provenance") or "unknown")
            out.append({"file": str(name), "provenance": prov, "label": PROVENANCE_LABELS.get(prov, prov),
                        "sha256": str(w.get("sha256") or "")})
    return out


def _method_info(method: str, runs: list[Source], cells: list[BoardCell], registry: dict) -> dict:
    mine = sorted((r for r in runs if r.method_meta(method)), key=lambda r: r.newness)
    meta = dict(mine[-1].method_meta(method)) if mine else {}
    info = registry.get(method_name(method))

    def pick(key, default=""):
        v = meta.get(key)
        if v in (None, "") and info is not None:
            v = getattr(info, key, None)
        return default if v in (None, "") else v

    weights = weights_summary(meta)
    shas = sorted({c.weights_sha256 for c in cells if c.method == method and c.weights_sha256})
    code_url = str(pick("code_url"))
    return {
        "name": method,
        "anchor": "method-" + safe_name(method, 100),
        "title": str(pick("title", method)),
        "paper": str(pick("paper")),
        "code_url": code_url if code_url.startswith(("https://", "http://")) else "",
        "code_license": str(pick("code_license", "unknown")),
        "weights_license": str(pick("weights_license", "n/a")),
        "adapter_version": str(pick("adapter_version")),
        "variant": str(meta.get("variant") or ""),
        "stochastic": bool(pick("stochastic", False)),
        "weights": weights,
        "provenance": ", ".join(sorted({w["label"] for w in weights})) or "none",
        "weights_sha256_seen": shas,  # distinct weight sets in the shown + superseded cells
        "runs": [r.id for r in mine],
    }


def assemble(results: Results) -> Board:
    """The leaderboard of ``results`` (:func:`load_inputs`): measured cells chosen, flagged and ranked per
    (dataset, scale, protocol); reported cells (papers) attached to the tables they belong to, apart."""
    runs = [s for s in results.sources if s.is_run]
    all_cells = [BoardCell.of(c) for c in results.cells if c.reported is None]
    reported_cells = [BoardCell.of(c) for c in results.cells if c.reported is not None]
    reg_metrics, reg_methods = _registry_metrics(), _registry_methods()
    metrics = _metric_meta(runs, all_cells, reg_metrics)
    adapters = {m: _current_adapter(m, runs, all_cells, reg_methods) for m in {c.method for c in all_cells}}
    datasets = {d: _current_dataset(d, runs, all_cells) for d in {c.dataset for c in all_cells}}
    for cell in all_cells:
        _mark_stale(cell, metrics[cell.metric], adapters[cell.method], datasets[cell.dataset])

    chosen: dict[tuple, BoardCell] = {}
    superseded: list[BoardCell] = []
    for cell in all_cells:
        other = chosen.get(cell.key)
        if other is None:
            chosen[cell.key] = cell
            continue
        better = (not cell.stale, cell.source.newness) > (not other.stale, other.source.newness)
        winner, loser = (cell, other) if better else (other, cell)
        chosen[cell.key] = winner
        superseded.append(loser)
    for loser in superseded:
        loser.superseded_by = chosen[loser.key]

    dataset_order: list[str] = []
    for run in runs:
        for d in run.manifest.get("datasets") or {}:
            if d not in dataset_order:
                dataset_order.append(d)
    for cell in chosen.values():
        if cell.dataset not in dataset_order:
            dataset_order.append(cell.dataset)
    metric_order = list(metrics)

    groups: dict[tuple[str, int, str], list[BoardCell]] = {}
    for cell in chosen.values():
        groups.setdefault(cell.group, []).append(cell)
    reported_groups: dict[tuple[str, int, str], list[BoardCell]] = {}
    for cell in reported_cells:
        reported_groups.setdefault(cell.group, []).append(cell)
    tables = []
    for (dataset, scale, protocol) in sorted(groups, key=lambda g: (dataset_order.index(g[0]), g[1], g[2])):
        cells = groups[(dataset, scale, protocol)]
        names = sorted({c.metric for c in cells}, key=metric_order.index)
        cols = [metrics[n] for n in names]
        rows: dict[str, Row] = {}
        for c in cells:
            rows.setdefault(c.method, Row(c.method, {})).cells[c.metric] = c
        for col in cols:
            rank_cells([r.cells[col.name] for r in rows.values() if col.name in r.cells], col.higher_is_better)
        primary = next((m for m in cols if m.name.startswith("psnr") and m.higher_is_better is not None),
                       next((m for m in cols if m.higher_is_better is not None), None))

        def order(row: Row, primary=primary):
            cell = row.cells.get(primary.name) if primary else None
            if cell is None or cell.number is None:
                return (2, 0.0, row.method)
            # ranked cells first, best first; stale/partial ones after them
            return (0 if cell.rankable else 1, -cell.number if primary.higher_is_better else cell.number, row.method)

        n_images = datasets[dataset][1] or max((c.n_images or 0 for c in cells), default=0) or None
        reported = _reported_rows(reported_groups.pop((dataset, scale, protocol), []), rows, names)
        tables.append(Table(dataset, scale, protocol, n_images, cols, sorted(rows.values(), key=order), reported))

    shown = [c for t in tables for r in t.rows for c in r.cells.values()]
    method_names = sorted({c.method for c in shown})
    methods = {m: _method_info(m, runs, all_cells, reg_methods) for m in method_names}
    shown_reported = [c for t in tables for r in t.reported for c in r.cells.values()]
    unplaced: dict[tuple, dict] = {}
    for (dataset, scale, protocol), cells in reported_groups.items():
        for c in cells:
            entry = unplaced.setdefault((c.reported.paper, c.reported.table), {
                "paper": c.reported.paper, "table": c.reported.table, "source": str(c.source.path), "groups": set()})
            entry["groups"].add(f"{dataset} ×{scale} {protocol}")
    unplaced_list = [{**e, "groups": sorted(e["groups"])} for _, e in sorted(unplaced.items())]
    return Board(runs, tables, metrics, methods, shown, superseded, shown_reported, unplaced_list)


def _reported_rows(cells: list[BoardCell], measured: dict[str, Row], columns: list[str]) -> list[Row]:
    """Reported cells of one table as rows (one per paper row), in the table's columns only; a reported cell
    of a method that this table also measures says how far the measurement is (``disagrees``) when it is
    beyond the paper's printed precision plus the compare tolerance - shown on the page, never hidden."""
    from srbench.tolerances import Tolerances

    tolerances = Tolerances()
    rows: dict[str, Row] = {}
    for c in cells:
        if c.metric not in columns:
            continue
        rows.setdefault(c.row_key, Row(c.row_key, {}, c.reported)).cells[c.metric] = c
        mine = measured.get(c.method)
        got = mine.cells.get(c.metric) if mine is not None else None
        if got is not None and got.number is not None and c.number is not None:
            allowed = tolerances.rule_for(c.method, c.dataset, c.metric).allowed(c.number) + c.reported.slack
            if abs(got.number - c.number) > allowed * (1 + 1e-9):
                known = c.reported.known_disagreement
                why = f": {known['note']}" if known and known.get("note") else " (not recorded as a known disagreement)"
                c.disagrees = (f"srbench measures {got.number:.4f} for {c.method} "
                               f"({got.number - c.number:+.3f} vs the paper's {c.reported.text}){why}")
    return sorted(rows.values(), key=lambda r: (r.reported.paper, r.reported.table, r.reported.label))


def _number(value: Any) -> float | None:
    """A finite number from a compare-JSON field, else None."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def fmt_value(value: float | None) -> str:
    if value is None:
        return "—"
    a = abs(value)
    if a >= 10:
        return f"{value:.2f}"
    if a >= 1:
        return f"{value:.3f}"
    return f"{value:.4f}"


def load_compare(path: Path) -> list[dict]:
    """Rows of ``srbench compare --json`` (a list, or an object with ``rows``/``cells``)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot read compare file {str(path)!r}: {exc}") from exc
    if isinstance(data, dict):
        data = data.get("rows", data.get("cells", []))
    if not isinstance(data, list):
        raise ReportError(f"{path}: expected a list of rows")
    return [r for r in data if isinstance(r, dict)]


#: compare statuses that mean "within tolerance" (not shown in the regression view)
QUIET_STATUSES = {"ok", "same", "unchanged", "equal", "within", "pass", "passed", "match", "identical"}


def moved_rows(rows: list[dict]) -> tuple[list[dict], int]:
    """(rows whose status says they moved beyond tolerance, number of quiet rows)."""
    moved, quiet = [], 0
    for row in rows:
        status = str(row.get("status", "")).lower()
        if status in QUIET_STATUSES:
            quiet += 1
            continue
        kind = "regressed" if any(s in status for s in ("regress", "worse", "fail")) else (
            "improved" if any(s in status for s in ("improv", "better")) else "changed")
        moved.append({
            "method": str(row.get("method", "")),
            "dataset": str(row.get("dataset", "")),
            "scale": str(row.get("scale", "")),
            "protocol": str(row.get("protocol", "")),
            "metric": str(row.get("metric", "")),
            "status": str(row.get("status", "")),
            "kind": kind,
            "current": fmt_value(_number(row.get("current"))),
            "baseline": fmt_value(_number(row.get("baseline"))),
            "delta": _fmt_delta(_number(row.get("delta"))),
            "tolerance": str(row.get("tolerance", "")) if row.get("tolerance") is not None else "",
        })
    order = {"regressed": 0, "changed": 1, "improved": 2}
    moved.sort(key=lambda r: (order[r["kind"]], r["dataset"], r["scale"], r["method"], r["metric"]))
    return moved, quiet


def _fmt_delta(value: float | None) -> str:
    if value is None:
        return "—"
    return ("+" if value > 0 else "") + (f"{value:.4g}" if abs(value) < 1 else f"{value:.3f}")
