"""Reading results: the one reader of run folders, summary CSVs, leaderboard JSON and reported-number YAML.

Every consumer - ``srbench compare``, ``srbench baseline``, ``srbench report``, the Python API
(:func:`srbench.load`, :func:`srbench.evaluate`) and ``srbench run``'s printed table - reads through
:func:`load`, which returns :class:`Results`: a list of :class:`Cell` (one summary value each) with the
:class:`Source` it came from, and pandas views of it (:attr:`Results.summary`, :attr:`Results.per_image`,
both tidy: one row per method/dataset/scale/protocol/metric[/image/sample]).

Inputs (``docs/run-format.md``, ``docs/api.md``):

* a run folder (``summary.csv`` + ``manifest.json`` + ``per_image.csv``, written by
  :mod:`srbench.run_writer`), or its ``summary.csv``;
* a baseline ``summary.csv`` (``leaderboards/baselines/*.csv``: lines starting with ``#`` are provenance);
* a ``leaderboard.json`` written by ``srbench report`` (or the site folder holding it);
* a reported-numbers YAML (``leaderboards/reported/*.yaml``, :mod:`srbench.reported`): numbers copied
  from papers; their cells have ``kind == "reported"`` and are never ranked as measured.

pandas is imported only when a DataFrame is asked for.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from srbench.errors import SrbenchError
from srbench.names import method_name, safe_name

SUMMARY_COLUMNS = [
    "method", "dataset", "scale", "metric", "value", "n_images", "protocol",
    "metric_version", "adapter_version", "dataset_version", "weights_sha256",
]
PER_IMAGE_COLUMNS = ["method", "dataset", "scale", "image", "metric", "value", "sample", "protocol"]
REQUIRED_COLUMNS = ("method", "dataset", "scale", "metric", "value")
KEY_FIELDS = ("method", "dataset", "scale", "protocol", "metric")
#: fields that must be equal for two measured values to be comparable
VERSION_FIELDS = ("metric_version", "adapter_version", "dataset_version", "weights_sha256", "n_images")

MEASURED, REPORTED = "measured", "reported"

#: run-folder subfolders holding HR and LR copies (``images/_hr/<dataset>/x<scale>/<image>.png``)
HR_DIR, LR_DIR = "_hr", "_lr"


class ResultsError(SrbenchError):
    """An input (run folder, summary CSV, leaderboard JSON, reported YAML) is missing or unreadable (exit 2)."""


# ------------------------------------------------------------------------------------ run-folder layout


def sr_image_path(root: Path, method: str, dataset: str, scale: int, image: str, sample: int | None = None) -> Path:
    """Where a run folder keeps a saved SR image (``--save-images``): ``images/<method>/<dataset>/x<s>/<image>.png``,
    or ``.../<image>/s<k>.png`` for the samples of a stochastic method."""
    base = Path(root) / "images" / safe_name(method) / safe_name(dataset) / f"x{scale}"
    if sample is None:
        return base / f"{safe_name(image)}.png"
    return base / safe_name(image) / f"s{sample}.png"


def reference_image_path(root: Path, kind: str, dataset: str, scale: int, image: str) -> Path:
    """Where a run folder keeps the HR (``kind="hr"``, as scored) or the LR (``"lr"``, as given) of an image."""
    sub = {"hr": HR_DIR, "lr": LR_DIR}[kind]
    return Path(root) / "images" / sub / safe_name(dataset) / f"x{scale}" / f"{safe_name(image)}.png"


# ------------------------------------------------------------------------------------------- the model


@dataclass(eq=False)
class Source:
    """One input of a :class:`Results`."""

    path: Path
    kind: str  # run | summary.csv | leaderboard.json | reported
    id: str = ""  # unique among the sources of one Results, file-name safe (the report's runs/<id>/)
    order: int = 0  # position among the inputs (tie-breaker for "newest")
    manifest: dict = field(default_factory=dict)  # a run's manifest.json ({} when there is none)
    provenance: dict = field(default_factory=dict)  # '#' lines of a baseline, key manifest fields of a run
    directions: dict = field(default_factory=dict)  # metric -> higher_is_better, as the input states it
    per_image: list = field(default_factory=list)  # typed per_image.csv rows of a run (dicts)
    reported: Any = None  # srbench.reported.ReportedFile of a reported YAML

    @property
    def created(self) -> str:
        return str(self.manifest.get("created") or "")

    @property
    def protocol(self) -> str:
        return str(self.manifest.get("protocol") or "rgb")

    @property
    def newness(self) -> tuple[str, int]:
        return (self.created, self.order)

    @property
    def is_run(self) -> bool:
        return self.kind == "run"

    def method_meta(self, method: str) -> dict:
        """The manifest's entry of a method label (or of its registry name)."""
        methods = self.manifest.get("methods") or {}
        meta = methods.get(method)
        if meta is None:
            meta = methods.get(method_name(method))
        return meta if isinstance(meta, dict) else {}

    # images saved in a run folder (None where not saved, or where a name points outside images/)
    def _inside(self, path: Path) -> Path | None:
        root = (self.path / "images").resolve()
        try:
            resolved = path.resolve()
            resolved.relative_to(root)
        except (ValueError, OSError):
            return None
        return resolved if resolved.is_file() else None

    def sr_file(self, method: str, dataset: str, scale: int, image: str) -> Path | None:
        return self._inside(sr_image_path(self.path, method, dataset, scale, image)) if self.is_run else None

    def sample_files(self, method: str, dataset: str, scale: int, image: str) -> list[Path]:
        out: list[Path] = []
        while self.is_run and (p := self._inside(sr_image_path(self.path, method, dataset, scale, image, len(out)))):
            out.append(p)
        return out

    def hr_file(self, dataset: str, scale: int, image: str) -> Path | None:
        return self._inside(reference_image_path(self.path, "hr", dataset, scale, image)) if self.is_run else None

    def lr_file(self, dataset: str, scale: int, image: str) -> Path | None:
        return self._inside(reference_image_path(self.path, "lr", dataset, scale, image)) if self.is_run else None


@dataclass(eq=False)
class Cell:
    """One summary value: (method, dataset, scale, protocol, metric) -> value, with the versions it was made with."""

    method: str
    dataset: str
    scale: int
    protocol: str
    metric: str
    value: float  # NaN where the input holds none (a failed metric)
    n_images: int | None = None
    metric_version: str = ""
    adapter_version: str = ""
    dataset_version: str = ""
    weights_sha256: str = ""
    source: Source | None = None
    run: str = ""  # the run id a leaderboard.json cell names
    reported: Any = None  # srbench.reported.ReportedRow of a reported cell

    @property
    def key(self) -> tuple[str, str, int, str, str]:
        return (self.method, self.dataset, self.scale, self.protocol, self.metric)

    @property
    def kind(self) -> str:
        return REPORTED if self.reported is not None else MEASURED

    @property
    def number(self) -> float | None:
        """The value where it is finite, else None (shown as a dash)."""
        return self.value if math.isfinite(self.value) else None

    @property
    def where(self) -> str:
        """The input this cell came from, for messages."""
        path = str(self.source.path) if self.source is not None else "?"
        if self.run:
            return f"{path} (run {self.run})"
        if self.reported is not None:
            return f"{path} ({self.reported.table})"
        return path

    def version_field(self, name: str) -> str:
        value = getattr(self, name)
        return "" if value is None else str(value)

    def as_row(self) -> dict[str, Any]:
        """The summary.csv columns (typed: scale and n_images int, value float)."""
        return {c: getattr(self, c) for c in SUMMARY_COLUMNS}


class Results:
    """Cells and per-image rows of one or more inputs (:func:`load`), with pandas views."""

    def __init__(self, cells: Iterable[Cell] = (), sources: Iterable[Source] = ()):
        self.cells: list[Cell] = list(cells)
        self.sources: list[Source] = list(sources)
        self._frames: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<Results: {len(self.cells)} cells from {', '.join(str(s.path) for s in self.sources) or 'nothing'}>"

    def __add__(self, other: Results) -> Results:
        return concat([self, other])

    @property
    def path(self) -> Path | None:
        """The run folder, when these results are one run."""
        runs = [s for s in self.sources if s.is_run]
        return runs[0].path if len(self.sources) == 1 and runs else None

    @property
    def directions(self) -> dict[str, bool]:
        """metric -> higher_is_better as the inputs state it (the first input that says wins)."""
        out: dict[str, bool] = {}
        for s in self.sources:
            for metric, hib in s.directions.items():
                out.setdefault(metric, hib)
        return out

    def rows(self) -> list[dict[str, Any]]:
        """The summary rows as dicts (the summary.csv columns, typed)."""
        return [c.as_row() for c in self.cells]

    @property
    def summary(self):
        """One row per cell: the summary.csv columns + ``kind`` (measured/reported) + ``source`` (its input).
        Reported cells add ``label`` (the method as the paper prints it), ``table`` and ``paper``."""
        if "summary" not in self._frames:
            import pandas as pd

            records = []
            for c in self.cells:
                rec = {**c.as_row(), "kind": c.kind, "source": str(c.source.path) if c.source else ""}
                if c.reported is not None:
                    rec.update(label=c.reported.label, table=c.reported.table, paper=c.reported.paper)
                records.append(rec)
            cols = SUMMARY_COLUMNS + ["kind", "source"]
            if any(c.reported is not None for c in self.cells):
                cols += ["label", "table", "paper"]
            frame = pd.DataFrame.from_records(records, columns=cols)
            frame["scale"] = frame["scale"].astype("int64")
            frame["value"] = frame["value"].astype("float64")
            frame["n_images"] = frame["n_images"].astype("Int64")
            self._frames["summary"] = frame
        return self._frames["summary"]

    @property
    def per_image(self):
        """One row per (method, dataset, scale, protocol, image, metric[, sample]) of the runs; ``sample`` is
        <NA> for the per-image value (the mean over samples of a stochastic method) and k for sample k."""
        if "per_image" not in self._frames:
            import pandas as pd

            records = [{**r, "source": str(s.path)} for s in self.sources for r in s.per_image]
            frame = pd.DataFrame.from_records(records, columns=PER_IMAGE_COLUMNS + ["source"])
            frame["scale"] = frame["scale"].astype("int64")
            frame["value"] = frame["value"].astype("float64")
            frame["sample"] = frame["sample"].astype("Int64")
            self._frames["per_image"] = frame
        return self._frames["per_image"]

    def table(self, metrics: list[str] | None = None) -> str:
        """A readable text table (what ``srbench run`` prints)."""
        return format_summary(self.rows(), metrics)


def concat(parts: Iterable[Results]) -> Results:
    """Several Results as one (sources renumbered; their ids kept unique)."""
    cells, sources, used = [], [], set()
    for part in parts:
        for s in part.sources:
            s.order = len(sources)
            s.id = _unique_id(s.id or safe_name(s.path.name or "input"), used)
            sources.append(s)
        cells.extend(part.cells)
    return Results(cells, sources)


def _unique_id(base: str, used: set[str]) -> str:
    out, k = base, 2
    while out in used:
        out, k = f"{base}-{k}", k + 1
    used.add(out)
    return out


# --------------------------------------------------------------------------------------------- parsing


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _scale(value, where: str) -> int:
    text = _text(value)
    try:
        f = float(text)
    except ValueError:
        raise ResultsError(f"{where}: scale {text!r} is not a number") from None
    if not f.is_integer() or f < 1:
        raise ResultsError(f"{where}: scale {text!r} is not a positive integer")
    return int(f)


def parse_value(value, where: str) -> float:
    """A summary value: a number, or NaN for an empty field (a metric that failed)."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return math.nan
    if isinstance(value, bool):
        raise ResultsError(f"{where}: value {value!r} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ResultsError(f"{where}: value {value!r} is not a number") from None


def _n_images(value, where: str) -> int | None:
    text = _text(value)
    if text == "":
        return None
    try:
        return int(float(text))
    except ValueError:
        raise ResultsError(f"{where}: n_images {text!r} is not a number") from None


def make_cell(row: dict, where: str, source: Source | None, default_protocol: str = "", **extra) -> Cell:
    """A :class:`Cell` from a summary row (CSV strings or JSON values); a clear error naming ``where``."""
    missing = [c for c in REQUIRED_COLUMNS if c not in row]
    if missing:
        raise ResultsError(f"{where}: missing column(s) {', '.join(missing)}")
    text = {c: _text(row.get(c)) for c in ("method", "dataset", "metric")}
    for c, v in text.items():
        if not v:
            raise ResultsError(f"{where}: empty {c!r}")
    return Cell(
        method=text["method"], dataset=text["dataset"], scale=_scale(row.get("scale"), where),
        protocol=_text(row.get("protocol")) or default_protocol, metric=text["metric"],
        value=parse_value(row.get("value"), where), n_images=_n_images(row.get("n_images"), where),
        metric_version=_text(row.get("metric_version")), adapter_version=_text(row.get("adapter_version")),
        dataset_version=_text(row.get("dataset_version")), weights_sha256=_text(row.get("weights_sha256")),
        source=source, **extra,
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


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsError(f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from None


def _read_json(path: Path):
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path} is not valid JSON: {exc}") from None


def directions_from(block) -> dict[str, bool]:
    out = {}
    if isinstance(block, dict):
        for name, meta in block.items():
            if isinstance(meta, dict) and isinstance(meta.get("higher_is_better"), bool):
                out[str(name)] = meta["higher_is_better"]
    return out


def read_summary_csv(path: Path, source: Source | None = None) -> Results:
    """A summary.csv (a run's, or a baseline's with ``#`` provenance lines)."""
    path = Path(path)
    lines = _read_text(path).splitlines()
    comments = [ln for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if not ln.startswith("#") and ln.strip()]
    if not body:
        raise ResultsError(f"{path}: no header line (expected the summary.csv columns)")
    reader = csv.DictReader(io.StringIO("\n".join(body) + "\n"))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ResultsError(f"{path}: not a summary.csv (missing column(s) {', '.join(missing)}; "
                           f"expected {','.join(SUMMARY_COLUMNS)})")
    source = source or Source(path, "summary.csv")
    source.provenance = {**source.provenance, **read_provenance(comments)}
    cells = []
    try:
        for i, row in enumerate(reader, 1):
            if None in row:
                raise ResultsError(f"{path}: data row {i} has more fields than the header")
            cells.append(make_cell(row, f"{path}: data row {i}", source, default_protocol=source.protocol
                                   if source.manifest else ""))
    except csv.Error as exc:
        raise ResultsError(f"{path}: malformed CSV: {exc}") from None
    return Results(cells, [source])


def _per_image_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh), 1):
            where = f"{path}: data row {i}"
            sample = _text(row.get("sample"))
            if not sample.isdigit() and sample != "":
                raise ResultsError(f"{where}: sample {sample!r} is not an index")
            out.append({
                "method": _text(row.get("method")), "dataset": _text(row.get("dataset")),
                "scale": _scale(row.get("scale"), where), "image": row.get("image") or "",
                "metric": _text(row.get("metric")), "value": parse_value(row.get("value"), where),
                "sample": int(sample) if sample else None, "protocol": _text(row.get("protocol")),
            })
    return out


def _manifest(path: Path) -> dict:
    """A run's manifest.json ({} when absent); an unreadable one is an error."""
    if not path.is_file():
        return {}
    data = _read_json(path)
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: expected a JSON object")
    return data


def read_run(path: Path) -> Results:
    """A run folder: its summary, manifest and per-image rows."""
    path = Path(path)
    if not path.is_dir():
        raise ResultsError(f"run folder {str(path)!r} does not exist")
    if not (path / "summary.csv").is_file():
        if (path / "manifest.json").is_file():
            raise ResultsError(f"{str(path)!r} has no summary.csv (unfinished run? re-run the same command to resume)")
        raise ResultsError(f"{str(path)!r} is not a run folder (no summary.csv, no manifest.json)")
    manifest = _manifest(path / "manifest.json")
    source = Source(path, "run", manifest=manifest, directions=directions_from(manifest.get("metrics")),
                    provenance={k: manifest.get(k) for k in ("srbench_version", "created", "finished", "git_commit",
                                                             "command") if k in manifest})
    results = read_summary_csv(path / "summary.csv", source)
    source.per_image = _per_image_rows(path / "per_image.csv")
    return results


def read_leaderboard_json(path: Path) -> Results:
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ResultsError(f"{path}: not a leaderboard.json (expected an object with a 'cells' list)")
    schema = data.get("schema", 1)
    if schema != 1:
        raise ResultsError(f"{path}: leaderboard schema {schema!r} is not supported (expected 1)")
    source = Source(path, "leaderboard.json", directions=directions_from(data.get("metrics")))
    cells = []
    for i, row in enumerate(data["cells"]):
        if not isinstance(row, dict):
            raise ResultsError(f"{path}: cells[{i}] is not an object")
        if row.get("kind", MEASURED) == REPORTED:
            continue  # reported rows of a site are the papers' numbers: read them from their YAML
        cells.append(make_cell(row, f"{path}: cells[{i}]", source, run=_text(row.get("run"))))
    return Results(cells, [source])


def load_one(path: str | Path) -> Results:
    """One input: a run folder, a summary.csv / baseline CSV, a leaderboard.json (or its site folder), or a
    reported-numbers YAML."""
    path = Path(path)
    if path.is_dir():
        if (path / "summary.csv").is_file() or (path / "manifest.json").is_file():
            return read_run(path)
        if (path / "leaderboard.json").is_file():
            return read_leaderboard_json(path / "leaderboard.json")
        raise ResultsError(f"{str(path)!r} is not a run folder (no summary.csv, no manifest.json)")
    if not path.exists():
        raise ResultsError(f"not found: {path} (it does not exist)")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return read_leaderboard_json(path)
    if suffix in (".yaml", ".yml"):
        from srbench.reported import read_reported

        return read_reported(path)
    if path.name == "summary.csv" and (path.parent / "manifest.json").is_file():
        return read_run(path.parent)
    return read_summary_csv(path)


def load(*paths: str | Path | Iterable[str | Path]) -> Results:
    """Read one or more inputs (see the module docstring); several are concatenated in the order given."""
    flat: list[str | Path] = []
    for p in paths:
        flat.extend([p] if isinstance(p, (str, Path)) else list(p))
    if not flat:
        raise ResultsError("nothing to load: give a run folder, a summary.csv, a leaderboard.json or a reported YAML")
    return concat(load_one(p) for p in flat)


# -------------------------------------------------------------------------------------------- printing


def format_summary(rows: list[dict[str, Any]], metric_order: list[str] | None = None) -> str:
    """A readable table: one line per (dataset, scale, protocol, method), metrics as columns."""
    if not rows:
        return "(no results)"
    metrics = metric_order or sorted({r["metric"] for r in rows})
    metrics = [m for m in metrics if any(r["metric"] == m for r in rows)]
    metrics += sorted({r["metric"] for r in rows} - set(metrics))
    grouped: dict[tuple, dict[str, float]] = {}
    counts: dict[tuple, int] = {}
    for r in rows:
        key = (r["dataset"], r["scale"], r.get("protocol", ""), r["method"])
        grouped.setdefault(key, {})[r["metric"]] = r["value"]
        counts[key] = max(counts.get(key, 0), int(r["n_images"] or 0))
    head = ["dataset", "scale", "protocol", "method", "images"] + metrics
    lines = [head]
    for (d, s, proto, m), vals in sorted(grouped.items()):
        lines.append([d, f"x{s}", proto, m, str(counts[(d, s, proto, m)])] + [_fmt(vals.get(k)) for k in metrics])
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    out = []
    for i, row in enumerate(lines):
        out.append("  ".join(c.rjust(w) if j >= 4 else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and (math.isinf(v) or math.isnan(v)):
        return str(v)
    return f"{v:.4f}"
