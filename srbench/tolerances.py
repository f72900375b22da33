"""Per-metric tolerances for ``srbench compare``.

A tolerance rule matches cells by glob patterns (``fnmatch``, case-sensitive) on the metric name and,
optionally, the method and dataset names. The first matching rule wins. A cell's allowed move is

    |current - baseline| <= abs + rel * |baseline|

(the ``numpy.isclose`` form: ``abs`` and ``rel`` add up; either may be 0).

Rules from a user's YAML file are tried before the built-in :data:`DEFAULT_RULES` (so a file only needs
the overrides) unless the file says ``include_defaults: false``. File format::

    # first match wins; abs in the metric's unit, rel as a fraction (0.01 = 1 %)
    include_defaults: true
    tolerances:
      - metric: "psnr*"
        abs: 0.01
      - metric: "lpips"
        method: "esrgan*"       # optional, default "*"
        dataset: "*"            # optional, default "*"
        abs: 0.002
        rel: 0

The built-in defaults equal ``leaderboards/baselines/tolerances.yaml`` (a test keeps them in sync).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from srbench.errors import SrbenchError


class ToleranceError(SrbenchError):
    """The tolerance file is missing or malformed (exit code 2)."""


@dataclass(frozen=True)
class Rule:
    metric: str = "*"
    abs: float = 0.0
    rel: float = 0.0
    method: str = "*"
    dataset: str = "*"
    source: str = "built-in"

    def matches(self, method: str, dataset: str, metric: str) -> bool:
        return (
            fnmatchcase(metric, self.metric)
            and fnmatchcase(method, self.method)
            and fnmatchcase(dataset, self.dataset)
        )

    def allowed(self, baseline: float) -> float:
        """The largest |current - baseline| still counted as ``within``."""
        return self.abs + self.rel * abs(baseline)

    def describe(self) -> str:
        parts = []
        if self.abs:
            parts.append(f"abs {self.abs:g}")
        if self.rel:
            parts.append(f"rel {self.rel * 100:g}%")
        return " + ".join(parts) or "exact"

    def as_dict(self) -> dict:
        return {
            "metric": self.metric,
            "method": self.method,
            "dataset": self.dataset,
            "abs": self.abs,
            "rel": self.rel,
            "source": self.source,
        }


#: Built-in defaults (first match wins). Documented in docs/compare.md.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("psnr*", abs=0.01),  # dB; the tables print 2 decimals
    Rule("ssim*", abs=0.0005),  # the tables print 4 decimals
    Rule("lpips*", abs=0.001),
    Rule("niqe*", abs=0.01),
    Rule("pi", abs=0.01),
    Rule("pi_*", abs=0.01),
    Rule("fid*", rel=0.01),  # 1 % of the value
    Rule("*", abs=1e-6),  # anything else: practically exact
)

_ALLOWED_KEYS = {"metric", "method", "dataset", "abs", "rel"}


def _number(value, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ToleranceError(f"{where}: {key!r} must be a number, got {value!r}")
    value = float(value)
    if not value >= 0 or value == float("inf"):
        raise ToleranceError(f"{where}: {key!r} must be a finite number >= 0, got {value!r}")
    return value


def parse_rules(data, source: str) -> tuple[list[Rule], bool]:
    """Rules and ``include_defaults`` from the parsed YAML of a tolerance file."""
    if data is None:
        data = {}
    if isinstance(data, list):  # a bare list of rules is accepted too
        data = {"tolerances": data}
    if not isinstance(data, dict):
        raise ToleranceError(f"{source}: expected a mapping with a 'tolerances' list")
    unknown = set(data) - {"tolerances", "include_defaults"}
    if unknown:
        raise ToleranceError(f"{source}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    include = data.get("include_defaults", True)
    if not isinstance(include, bool):
        raise ToleranceError(f"{source}: 'include_defaults' must be true or false")
    entries = data.get("tolerances") or []
    if not isinstance(entries, list):
        raise ToleranceError(f"{source}: 'tolerances' must be a list")
    rules = []
    for i, entry in enumerate(entries, 1):
        where = f"{source}: rule {i}"
        if not isinstance(entry, dict):
            raise ToleranceError(f"{where}: expected a mapping like {{metric: 'psnr*', abs: 0.01}}")
        bad = set(entry) - _ALLOWED_KEYS
        if bad:
            raise ToleranceError(
                f"{where}: unknown key(s) {', '.join(sorted(map(str, bad)))} "
                f"(allowed: {', '.join(sorted(_ALLOWED_KEYS))})"
            )
        if "metric" not in entry:
            raise ToleranceError(f"{where}: 'metric' (a glob pattern) is required")
        if "abs" not in entry and "rel" not in entry:
            raise ToleranceError(f"{where}: give 'abs' and/or 'rel'")
        patterns = {}
        for key in ("metric", "method", "dataset"):
            value = entry.get(key, "*")
            if not isinstance(value, str) or not value:
                raise ToleranceError(f"{where}: {key!r} must be a non-empty glob pattern string")
            patterns[key] = value
        rules.append(
            Rule(
                metric=patterns["metric"],
                method=patterns["method"],
                dataset=patterns["dataset"],
                abs=_number(entry.get("abs", 0.0), where, "abs"),
                rel=_number(entry.get("rel", 0.0), where, "rel"),
                source=f"{source}:{i}",
            )
        )
    return rules, include


class Tolerances:
    """An ordered list of rules; :meth:`rule_for` returns the first that matches."""

    def __init__(self, rules=(), include_defaults: bool = True, source: str = "built-in defaults"):
        self.rules = list(rules) + (list(DEFAULT_RULES) if include_defaults else [])
        self.source = source

    @classmethod
    def load(cls, path: str | Path | None) -> Tolerances:
        if path is None:
            return cls()
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ToleranceError(f"tolerance file not found: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ToleranceError(f"cannot read tolerance file {path}: {exc}") from None
        import yaml

        from srbench import yamlio

        try:
            data = yamlio.load(text)
        except yaml.YAMLError as exc:
            raise ToleranceError(f"tolerance file {path} is not valid YAML: {exc}") from None
        rules, include = parse_rules(data, str(path))
        return cls(rules, include_defaults=include, source=str(path))

    def rule_for(self, method: str, dataset: str, metric: str) -> Rule:
        for rule in self.rules:
            if rule.matches(method, dataset, metric):
                return rule
        # a file with include_defaults: false and no catch-all: be exact
        return Rule(metric="*", abs=0.0, rel=0.0, source="no rule matched: exact")
