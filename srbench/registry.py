"""Lazy registries of methods and metrics.

Methods come from the adapter packages shipped in ``srbench_methods`` (the repository's ``methods/``
folder) and from third-party entry points (group ``srbench.methods``, each pointing at a module or an
object with a ``METHODS`` list). Metrics come from the modules of ``srbench.metrics`` that define
``METRICS``. Only the light metadata modules are imported here; a failing adapter is reported and
skipped so it cannot break the others.
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from srbench.errors import UnknownNameError
from srbench.method_api import MethodInfo, parse_method_name

ENTRY_POINT_GROUP = "srbench.methods"

#: adapters that failed to import: name -> error text (shown by `srbench list`)
BROKEN: dict[str, str] = {}


def import_object(path: str) -> Any:
    """Import ``"package.module:attr"`` (or a plain module path)."""
    module, _, attr = path.partition(":")
    obj = importlib.import_module(module)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


def _collect(source: str, obj: Any, out: dict[str, MethodInfo]) -> None:
    for info in getattr(obj, "METHODS", ()):
        if not isinstance(info, MethodInfo):
            raise TypeError(f"{source}: METHODS must hold MethodInfo objects, got {type(info).__name__}")
        if info.name in out:
            warnings.warn(f"method {info.name!r} from {source} shadows an earlier definition", stacklevel=2)
        out[info.name] = info


def scan_adapters(collect, broken: dict[str, str], group: str = ENTRY_POINT_GROUP) -> None:
    """Call ``collect(source, module)`` for every adapter package in ``srbench_methods`` and every
    entry point of ``group``; an adapter that fails is recorded in ``broken`` and skipped."""
    try:
        import srbench_methods
    except ImportError:  # srbench installed without its adapters
        srbench_methods = None
    if srbench_methods is not None:
        for mod in sorted(pkgutil.iter_modules(srbench_methods.__path__), key=lambda m: m.name):
            if not mod.ispkg:
                continue
            full = f"srbench_methods.{mod.name}"
            try:
                collect(full, importlib.import_module(full))
            except Exception as exc:  # one broken adapter must not break the others
                broken[mod.name] = f"{type(exc).__name__}: {exc}"
    for ep in entry_points(group=group):
        try:
            collect(f"entry point {ep.name}", ep.load())
        except Exception as exc:
            broken[ep.name] = f"{type(exc).__name__}: {exc}"


@lru_cache(maxsize=1)
def methods() -> dict[str, MethodInfo]:
    """All method metadata, by name."""
    out: dict[str, MethodInfo] = {}
    scan_adapters(lambda source, obj: _collect(source, obj, out), BROKEN)
    return out


def get_method(spec: str) -> tuple[MethodInfo, str | None]:
    """Resolve ``"name"`` or ``"name:variant"`` to (info, variant or the default variant)."""
    name, variant = parse_method_name(spec)
    known = methods()
    if name not in known:
        if name in BROKEN:
            from srbench.errors import SrbenchError

            raise SrbenchError(f"method {name!r} failed to load: {BROKEN[name]}")
        raise UnknownNameError("method", name, known)
    info = known[name]
    if variant is None:
        return info, info.default_variant
    if variant not in info.variants:
        raise UnknownNameError(f"variant of {name}", variant, info.variants)
    return info, variant


@lru_cache(maxsize=1)
def metrics() -> dict[str, Any]:
    """All metric metadata (:class:`srbench.metrics.base.MetricInfo`), by name."""
    import srbench.metrics as pkg

    out: dict[str, Any] = {}
    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        full = f"srbench.metrics.{mod.name}"
        try:
            module = importlib.import_module(full)
        except Exception as exc:
            BROKEN[f"metrics.{mod.name}"] = f"{type(exc).__name__}: {exc}"
            continue
        for info in getattr(module, "METRICS", ()):
            out[info.name] = info
    return out


def get_metric(name: str):
    known = metrics()
    if name not in known:
        raise UnknownNameError("metric", name, known)
    return known[name]
