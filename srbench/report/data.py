"""Read run folders and assemble the leaderboard cells (no HTML here).

A *group* is one (dataset, scale, protocol) leaderboard. When several runs hold the same cell
(method, dataset, scale, protocol, metric) the current one wins over a stale one, then the newest run
(manifest ``created``). A cell is *stale* when its metric, adapter or dataset version differs from the
current one: the registry's version where the name is registered, else the version in the newest run
that has it. Stale and partial cells are shown, flagged, and never ranked or plotted.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srbench.errors import SrbenchError
from srbench.names import method_name, safe_name

SCHEMA = 1

#: run-folder subfolders holding HR and LR copies (``images/_hr/<dataset>/x<scale>/<image>.png``)
HR_DIR, LR_DIR = "_hr", "_lr"

PROVENANCE_LABELS = {
    "official": "official checkpoint",
    "trained": "trained by srbench",
    "user": "user-supplied",
    "download": "downloaded (not verified against a published sha256)",
    "none": "none",
}


class ReportError(SrbenchError):
    """A run folder or compare file that the report cannot read."""


def _float(text: Any) -> float | None:
    if text is None or str(text).strip() == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _int(text: Any) -> int | None:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return None


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return [{k: (v or "") for k, v in row.items() if k is not None} for row in csv.DictReader(fh)]


@dataclass
class Run:
    path: Path
    id: str  # unique, file-name-safe id used in the site (runs/<id>/)
    manifest: dict
    summary: list[dict]
    per_image: list[dict]
    order: int  # position on the command line (tie-breaker for "newest")

    @property
    def created(self) -> str:
        return str(self.manifest.get("created") or "")

    @property
    def protocol(self) -> str:
        return str(self.manifest.get("protocol") or "rgb")

    @property
    def newness(self) -> tuple[str, int]:
        return (self.created, self.order)

    def _inside(self, path: Path) -> Path | None:
        root = (self.path / "images").resolve()
        try:
            resolved = path.resolve()
            resolved.relative_to(root)
        except (ValueError, OSError):
            return None  # a user string pointing outside the run's image folder
        return resolved if resolved.is_file() else None

    def _folder(self, first: str, dataset: str, scale: int) -> Path:
        return self.path / "images" / first / safe_name(dataset) / f"x{scale}"

    def sr_file(self, method: str, dataset: str, scale: int, image: str) -> Path | None:
        return self._inside(self._folder(safe_name(method), dataset, scale) / f"{safe_name(image)}.png")

    def sample_files(self, method: str, dataset: str, scale: int, image: str) -> list[Path]:
        folder = self._folder(safe_name(method), dataset, scale) / safe_name(image)
        if self._inside(folder / "s0.png") is None:
            return []
        out = []
        k = 0
        while (p := self._inside(folder / f"s{k}.png")) is not None:
            out.append(p)
            k += 1
        return out

    def hr_file(self, dataset: str, scale: int, image: str) -> Path | None:
        return self._inside(self._folder(HR_DIR, dataset, scale) / f"{safe_name(image)}.png")

    def lr_file(self, dataset: str, scale: int, image: str) -> Path | None:
        return self._inside(self._folder(LR_DIR, dataset, scale) / f"{safe_name(image)}.png")

    def method_meta(self, method: str) -> dict:
        methods = self.manifest.get("methods") or {}
        meta = methods.get(method)
        if meta is None:
            meta = methods.get(method_name(method))
        return meta if isinstance(meta, dict) else {}


def load_run(path: Path, order: int, used_ids: set[str]) -> Run:
    path = Path(path)
    manifest_path = path / "manifest.json"
    if not path.is_dir():
        raise ReportError(f"run folder {str(path)!r} does not exist")
    if not manifest_path.is_file():
        raise ReportError(f"{str(path)!r} is not a run folder (no manifest.json)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot read {manifest_path}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ReportError(f"{manifest_path}: expected a JSON object")
    if not (path / "summary.csv").is_file():
        raise ReportError(f"{str(path)!r} has no summary.csv (unfinished run?)")
    base = safe_name(path.resolve().name or "run")
    run_id, k = base, 2
    while run_id in used_ids:
        run_id, k = f"{base}-{k}", k + 1
    used_ids.add(run_id)
    return Run(path, run_id, manifest, _read_csv(path / "summary.csv"), _read_csv(path / "per_image.csv"), order)


def load_runs(paths: list[Path]) -> list[Run]:
    if not paths:
        raise ReportError("no run folders given")
    used: set[str] = set()
    return [load_run(Path(p), i, used) for i, p in enumerate(paths)]


@dataclass
class Cell:
    method: str
    dataset: str
    scale: int
    metric: str
    value: float | None
    n_images: int | None
    protocol: str
    metric_version: str
    adapter_version: str
    dataset_version: str
    weights_sha256: str
    run: Run
    stale: list[str] = field(default_factory=list)  # human-readable reasons
    partial: str = ""  # "3/5" when fewer images than the dataset has
    rank: int = 0  # 1 best, 2 second best in its column, 0 otherwise
    superseded_by: Cell | None = None

    @property
    def group(self) -> tuple[str, int, str]:
        return (self.dataset, self.scale, self.protocol)

    @property
    def key(self) -> tuple[str, str, int, str, str]:
        return (self.method, self.dataset, self.scale, self.protocol, self.metric)

    @property
    def rankable(self) -> bool:
        return self.value is not None and not self.stale and not self.partial

    @property
    def anchor(self) -> str:
        return "cell-" + safe_name(f"{self.method}-{self.dataset}-x{self.scale}-{self.protocol}-{self.metric}", 120)

    def to_json(self) -> dict:
        return {
            "method": self.method,
            "dataset": self.dataset,
            "scale": self.scale,
            "metric": self.metric,
            "value": self.value,
            "n_images": self.n_images,
            "protocol": self.protocol,
            "metric_version": self.metric_version,
            "adapter_version": self.adapter_version,
            "dataset_version": self.dataset_version,
            "weights_sha256": self.weights_sha256,
            "run": self.run.id,
            "run_page": f"runs/{self.run.id}/index.html",
            "stale": bool(self.stale),
            "stale_reasons": list(self.stale),
            "partial": bool(self.partial),
        }


def _cells_of(run: Run) -> list[Cell]:
    out = []
    for row in run.summary:
        scale = _int(row.get("scale"))
        if not row.get("method") or not row.get("metric") or scale is None:
            continue
        out.append(
            Cell(
                method=row["method"],
                dataset=row.get("dataset", ""),
                scale=scale,
                metric=row["metric"],
                value=_float(row.get("value")),
                n_images=_int(row.get("n_images")),
                protocol=row.get("protocol") or run.protocol,
                metric_version=row.get("metric_version", ""),
                adapter_version=row.get("adapter_version", ""),
                dataset_version=row.get("dataset_version", ""),
                weights_sha256=row.get("weights_sha256", ""),
                run=run,
            )
        )
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
    method: str
    cells: dict[str, Cell]

    @property
    def run(self) -> Run | None:
        """The run most of this row's shown cells come from (its images go on the per-image pages)."""
        counts: dict[str, tuple[int, Run]] = {}
        for cell in self.cells.values():
            n, _ = counts.get(cell.run.id, (0, cell.run))
            counts[cell.run.id] = (n + 1, cell.run)
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
    rows: list[Row]

    @property
    def id(self) -> str:
        return safe_name(f"{self.dataset}_x{self.scale}_{self.protocol}", 100)

    @property
    def stale_cells(self) -> list[Cell]:
        return [c for r in self.rows for c in r.cells.values() if c.stale or c.partial]


@dataclass
class Board:
    runs: list[Run]
    tables: list[Table]
    metrics: dict[str, MetricMeta]
    methods: dict[str, dict]  # method -> display metadata
    cells: list[Cell]  # shown cells
    superseded: list[Cell]  # cells another run's cell replaced


def _newest(items):
    """The item of the newest run (items: (run, value) pairs), or None."""
    best = None
    for run, value in items:
        if value in (None, ""):
            continue
        if best is None or run.newness > best[0].newness:
            best = (run, value)
    return None if best is None else best[1]


def _metric_meta(runs: list[Run], all_cells: list[Cell], registry: dict) -> dict[str, MetricMeta]:
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
                version = _newest([(c.run, c.metric_version) for c in all_cells if c.metric == name])
        desc = getattr(info, "description", "") if info is not None else ""
        out[name] = MetricMeta(name, None if hib is None else bool(hib), None if fr is None else bool(fr),
                               str(version or ""), desc)
    return out


def _current_adapter(method: str, runs: list[Run], all_cells: list[Cell], registry: dict) -> str:
    info = registry.get(method_name(method))
    if info is not None:
        return str(info.adapter_version)
    v = _newest([(r, r.method_meta(method).get("adapter_version")) for r in runs if r.method_meta(method)])
    if v is None:
        v = _newest([(c.run, c.adapter_version) for c in all_cells if c.method == method])
    return str(v or "")


def _current_dataset(dataset: str, runs: list[Run], all_cells: list[Cell]) -> tuple[str, int | None]:
    entries = [(r, (r.manifest.get("datasets") or {}).get(dataset)) for r in runs]
    entries = [(r, d) for r, d in entries if isinstance(d, dict)]
    version = _newest([(r, d.get("version")) for r, d in entries])
    if version is None:
        version = _newest([(c.run, c.dataset_version) for c in all_cells if c.dataset == dataset])
    n = _int(_newest([(r, d.get("n_images")) for r, d in entries]))
    return str(version or ""), n


def _mark_stale(cell: Cell, metric: MetricMeta, adapter: str, dataset: tuple[str, int | None]) -> None:
    if metric.version and cell.metric_version != metric.version:
        cell.stale.append(f"metric {cell.metric} version {cell.metric_version or '?'} (current {metric.version})")
    if adapter and cell.adapter_version != adapter:
        cell.stale.append(f"adapter {cell.method} version {cell.adapter_version or '?'} (current {adapter})")
    if dataset[0] and cell.dataset_version != dataset[0]:
        cell.stale.append(f"dataset {cell.dataset} version {cell.dataset_version or '?'} (current {dataset[0]})")
    n_total = dataset[1]
    if n_total and cell.n_images is not None and 0 < cell.n_images < n_total:
        cell.partial = f"{cell.n_images}/{n_total}"


def rank_cells(cells: list[Cell], higher_is_better: bool | None) -> None:
    """Mark best (1) and second best (2) among the rankable cells of one column (ties share a rank)."""
    for c in cells:
        c.rank = 0
    if higher_is_better is None:
        return
    values = sorted({c.value for c in cells if c.rankable}, reverse=higher_is_better)
    for rank, value in enumerate(values[:2], start=1):
        for c in cells:
            if c.rankable and c.value == value:
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


def _method_info(method: str, runs: list[Run], cells: list[Cell], registry: dict) -> dict:
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


def assemble(runs: list[Run]) -> Board:
    all_cells = [c for run in runs for c in _cells_of(run)]
    reg_metrics, reg_methods = _registry_metrics(), _registry_methods()
    metrics = _metric_meta(runs, all_cells, reg_metrics)
    adapters = {m: _current_adapter(m, runs, all_cells, reg_methods) for m in {c.method for c in all_cells}}
    datasets = {d: _current_dataset(d, runs, all_cells) for d in {c.dataset for c in all_cells}}
    for cell in all_cells:
        _mark_stale(cell, metrics[cell.metric], adapters[cell.method], datasets[cell.dataset])

    chosen: dict[tuple, Cell] = {}
    superseded: list[Cell] = []
    for cell in all_cells:
        other = chosen.get(cell.key)
        if other is None:
            chosen[cell.key] = cell
            continue
        better = (not cell.stale, cell.run.newness) > (not other.stale, other.run.newness)
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

    groups: dict[tuple[str, int, str], list[Cell]] = {}
    for cell in chosen.values():
        groups.setdefault(cell.group, []).append(cell)
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
            if cell is None or cell.value is None:
                return (2, 0.0, row.method)
            # ranked cells first, best first; stale/partial ones after them
            return (0 if cell.rankable else 1, -cell.value if primary.higher_is_better else cell.value, row.method)

        n_images = datasets[dataset][1] or max((c.n_images or 0 for c in cells), default=0) or None
        tables.append(Table(dataset, scale, protocol, n_images, cols, sorted(rows.values(), key=order)))

    shown = [c for t in tables for r in t.rows for c in r.cells.values()]
    method_names = sorted({c.method for c in shown})
    methods = {m: _method_info(m, runs, all_cells, reg_methods) for m in method_names}
    return Board(runs, tables, metrics, methods, shown, superseded)


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
            "current": fmt_value(_float(row.get("current"))),
            "baseline": fmt_value(_float(row.get("baseline"))),
            "delta": _fmt_delta(_float(row.get("delta"))),
            "tolerance": str(row.get("tolerance", "")) if row.get("tolerance") is not None else "",
        })
    order = {"regressed": 0, "changed": 1, "improved": 2}
    moved.sort(key=lambda r: (order[r["kind"]], r["dataset"], r["scale"], r["method"], r["metric"]))
    return moved, quiet


def _fmt_delta(value: float | None) -> str:
    if value is None:
        return "—"
    return ("+" if value > 0 else "") + (f"{value:.4g}" if abs(value) < 1 else f"{value:.3f}")
