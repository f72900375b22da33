"""Numbers copied from papers: ``leaderboards/reported/<paper>.yaml`` (schema 1, :data:`SCHEMA`).

One file per paper: its bibliographic data and every row of its result tables, each with the method
*as printed* (``label``) and, where srbench runs the model that made the number, the srbench method
*label* (``refvae[ref=noise]`` for a paper's random-reference rows; ``null`` where srbench runs another
model: dSRVAE's supervised variant, the original SRGAN), the srbench dataset and metric names, the value
*as printed* (a string, so ``"0.8100"`` keeps its precision) and the protocol the paper states (in words,
``protocol``) with the srbench protocol column it corresponds to (``srbench_protocol``). A row srbench
measures differently from the paper carries ``known_disagreement`` (what srbench measures and what was
tried to explain the gap), so that ``srbench compare RUN leaderboards/reported/X.yaml`` lists it instead of
failing, and the report shows it instead of hiding it.

Rows become :class:`srbench.results.Cell` objects (``kind == "reported"``) when their dataset and metric
are srbench names, their value was printed and their table states an srbench protocol; the others stay in
the file (:attr:`ReportedFile.rows`) for ``srbench list`` and for people. A cell's method is the srbench
method, or the label as printed (``EDSR``) for a method srbench does not have.

Tolerance: a printed ``28.42`` stands for anything in [28.415, 28.425): :attr:`ReportedRow.slack` is half
a unit of the last printed digit, added to the compare tolerance rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from srbench.results import Cell, Results, ResultsError, Source

SCHEMA = 1

_ROW = {
    "type": "object",
    "additionalProperties": False,
    "required": ["label", "value"],
    "properties": {
        "label": {"type": "string", "minLength": 1},
        "method": {"type": ["string", "null"]},
        "dataset": {"type": ["string", "null"]},
        "dataset_label": {"type": "string"},
        "metric": {"type": ["string", "null"]},
        "metric_label": {"type": "string"},
        "value": {"type": ["string", "null"], "pattern": r"^-?[0-9]+(\.[0-9]+)?$"},
        "scale": {"type": "integer", "minimum": 1},
        "protocol": {"type": ["string", "null"]},
        "note": {"type": "string"},
        "known_disagreement": {
            "type": "object",
            "additionalProperties": False,
            "required": ["measured", "note"],
            "properties": {"measured": {"type": "string"}, "srbench": {"type": "string"}, "note": {"type": "string"}},
        },
    },
    "anyOf": [{"required": ["metric"]}, {"required": ["metric_label"]}],
}

#: the JSON schema of a reported file (validated with the ``jsonschema`` package)
FILE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["schema", "paper", "tables"],
    "properties": {
        "schema": {"const": SCHEMA},
        "paper": {
            "type": "object",
            "additionalProperties": False,
            "required": ["key", "title", "authors", "venue"],
            "properties": {
                "key": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_.-]*$"},
                "title": {"type": "string"}, "authors": {"type": "string"}, "venue": {"type": "string"},
                "url": {"type": "string", "pattern": "^https?://"}, "file": {"type": "string"},
                "source": {"type": "string"},  # where the numbers come from when it is not one paper
            },
        },
        "tables": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "title", "protocol", "rows"],
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "title": {"type": "string"},
                    "protocol": {"type": "string"},
                    "scale": {"type": "integer", "minimum": 1},
                    "srbench_protocol": {"type": ["string", "null"]},
                    "notes": {"type": "string"},
                    "rows": {"type": "array", "minItems": 1, "items": _ROW},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class ReportedRow:
    """What a reported cell carries besides its key and value."""

    paper: str  # the file's paper key, e.g. "dsrvae"
    paper_title: str
    table: str  # "Table 2"
    label: str  # the method as printed
    method: str | None  # the srbench method, when the row is one
    text: str  # the value as printed ("28.42")
    protocol_text: str  # how the paper says it measured (in words)
    file: str  # the YAML it comes from
    note: str = ""
    known_disagreement: dict | None = None

    @property
    def slack(self) -> float:
        """Half a unit of the last printed digit (print rounding)."""
        return printed_slack(self.text)


def printed_slack(text: str) -> float:
    try:
        exponent = Decimal(text).as_tuple().exponent
    except InvalidOperation:
        return 0.0
    return 0.5 * 10.0 ** exponent if isinstance(exponent, int) else 0.0


@dataclass
class ReportedFile:
    path: Path
    key: str
    title: str
    authors: str
    venue: str
    url: str
    tables: list[dict]
    rows: list[dict] = field(default_factory=list)  # every row, with its table's defaults filled in

    @property
    def paper(self) -> str:
        return f"{self.authors.split(',')[0].strip()} et al., {self.venue}"


def _validate(data: Any, path: Path) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(FILE_SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  at {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors[:20]]
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise ResultsError(f"{path}: not a valid reported-numbers file (schema {SCHEMA}, docs/reported.md):\n"
                           + "\n".join(lines) + more)


def _check_names(rf: ReportedFile) -> None:
    """srbench names in the file must exist: a typo would silently never match a measured cell."""
    from srbench import registry
    from srbench.datasets import specs
    from srbench.names import method_name
    from srbench.protocols import GIVEN, PROTOCOLS

    methods, metrics, datasets = registry.methods(), registry.metrics(), set(specs())
    protocols = set(PROTOCOLS) | {GIVEN}
    problems = []
    for r in rf.rows:
        where = f"{r['table']} row {r['label']!r}"
        if r.get("method") is not None and method_name(r["method"]) not in methods:
            problems.append(f"{where}: method {r['method']!r} is not an srbench method (label)")
        if r.get("metric") is not None and r["metric"] not in metrics:
            problems.append(f"{where}: metric {r['metric']!r} is not an srbench metric")
        if r.get("dataset") is not None and r["dataset"] not in datasets:
            problems.append(f"{where}: dataset {r['dataset']!r} is not declared in datasets.yaml")
        proto = r.get("protocol")
        if proto is not None and proto.partition(":")[0] not in protocols:
            problems.append(f"{where}: protocol {proto!r} is not an srbench protocol")
    if problems:
        raise ResultsError(f"{rf.path}: " + "; ".join(problems[:10]) + (f" (and {len(problems) - 10} more)"
                                                                        if len(problems) > 10 else ""))


def read_file(path: str | Path, check_names: bool = True) -> ReportedFile:
    """Read and validate one reported YAML."""
    import yaml

    from srbench import yamlio

    path = Path(path)
    try:
        data = yamlio.load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from None
    _validate(data, path)
    paper = data["paper"]
    rf = ReportedFile(path, paper["key"], paper["title"], paper["authors"], paper["venue"], paper.get("url", ""),
                      data["tables"])
    for t in data["tables"]:
        for r in t["rows"]:
            row = {"table": t["id"], "scale": t.get("scale"), "protocol": t.get("srbench_protocol"),
                   "protocol_text": t["protocol"], **r}
            if row["scale"] is None and row.get("dataset") and row.get("metric") and row.get("value") is not None:
                raise ResultsError(f"{path}: {t['id']} row {r['label']!r} has no scale (give the table's or the row's)")
            rf.rows.append(row)
    if check_names:
        _check_names(rf)
    return rf


def read_reported(path: str | Path) -> Results:
    """A reported YAML as :class:`Results`: one reported cell per measurable row."""
    rf = read_file(path)
    source = Source(Path(path), "reported", reported=rf, id=f"reported-{rf.key}",
                    provenance={"paper": rf.paper, "title": rf.title, "url": rf.url})
    cells = []
    for r in rf.rows:
        if not (r.get("dataset") and r.get("metric") and r.get("value") is not None and r.get("protocol")):
            continue
        info = ReportedRow(paper=rf.key, paper_title=rf.title, table=r["table"], label=r["label"],
                           method=r.get("method"), text=r["value"], protocol_text=r["protocol_text"],
                           file=str(path), note=r.get("note", ""), known_disagreement=r.get("known_disagreement"))
        cells.append(Cell(method=r.get("method") or r["label"], dataset=r["dataset"], scale=int(r["scale"]),
                          protocol=r["protocol"], metric=r["metric"], value=float(r["value"]), source=source,
                          reported=info))
    return Results(cells, [source])


def reported_files(folder: str | Path | None = None) -> list[Path]:
    """The reported YAMLs shipped with srbench (``leaderboards/reported/``), sorted."""
    if folder is None:
        folder = Path(__file__).resolve().parent.parent / "leaderboards" / "reported"
    return sorted(Path(folder).glob("*.yaml"))
