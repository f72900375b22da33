"""The *reduce* step: per-image rows and dataset values from the unit keys and the values (cached or just
computed), in result order, whatever order the units ran in."""

from __future__ import annotations

from typing import Any

import numpy as np

from srbench.units import Group, UnitKeys


def value(v: Any) -> Any:
    """A stored value back as a number (non-finite values are stored as text)."""
    return float(v) if isinstance(v, str) else v


def unit_rows(g: Group, keys: UnitKeys, values: dict[str, Any], samples: int,
              metric_versions: dict[str, str]) -> list[tuple[str, float, int | None]]:
    """(metric, value, sample) rows of one unit: per image metric one row per SR sample (when several) and
    their mean; each samples-metric output. A deterministic method asked for several samples has
    diversity 0 by definition (its samples would be identical)."""
    rows: list[tuple[str, float, int | None]] = []
    for info in g.image_metrics:
        vals = [float(value(values[k])) for k in keys.image_metrics[info.name]]
        if len(vals) > 1:
            rows += [(info.name, v, i) for i, v in enumerate(vals)]
        rows.append((info.name, float(np.mean(vals)), None))
    for info in g.sample_metrics:
        if len(keys.sr) == 1:
            if samples > 1:
                metric_versions.setdefault(info.name, info.version)
                rows.append((info.name, 0.0, None))
            continue
        out = values[keys.sample_metrics[info.name]]
        for k, v in out.items():
            metric_versions.setdefault(k, info.version)
            rows.append((k, float(value(v)), None))
    return rows


class SetMerger:
    """Merges the per-image parts of a group's set metrics into their accumulators in unit order (workers
    finish in any order; floating-point sums must not depend on it)."""

    def __init__(self, accumulators: dict[str, Any]):
        self.accs = accumulators
        self.next = 0
        self.waiting: dict[int, dict[str, list]] = {}

    def add(self, position: int, partials: dict[str, list]) -> None:
        self.waiting[position] = partials
        while self.next in self.waiting:
            for name, parts in self.waiting.pop(self.next).items():
                for part in parts:
                    self.accs[name].merge(part)
            self.next += 1

