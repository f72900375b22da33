"""The manifest entries of a run's methods and metrics (``docs/run-format.md``)."""

from __future__ import annotations

from typing import Any


def methods_manifest(methods) -> dict[str, Any]:
    """``methods``: per label what it is, its licences, options, weights and (for folders and in-process
    models) its source; ``provenance`` is filled per scale as models load."""
    return {
        m.label: {
            "name": m.info.name,
            "options": {k: str(v) for k, v in m.options.items()},  # what the loader got
            "rounding": m.info.rounding,
            "title": m.info.title,
            "paper": m.info.paper,
            "code_license": m.info.code_license,
            "weights_license": m.info.weights_license,
            "adapter_version": m.info.adapter_version,
            "variant": m.variant,
            "stochastic": m.info.stochastic,
            "reference_based": m.info.reference_based,
            "learned": m.info.learned,
            "weights": {k: w.manifest() for files in m.weights.values() for k, w in sorted(files.items())},
            "provenance": {},
            **_source_manifest(m),
        }
        for m in methods
    }


def metrics_manifest(metrics) -> dict[str, Any]:
    """``metrics``: version, direction and convention of each metric and of each extra output of a
    samples metric."""
    return {
        mi.name: {
            "version": mi.version,
            "higher_is_better": mi.higher_is_better,
            "full_reference": mi.full_reference,
            "kind": mi.kind,
            "convention": mi.convention,
        }
        for mi in metrics
    } | {
        out: {"version": mi.version, "higher_is_better": hib, "full_reference": mi.full_reference,
              "kind": "samples", "convention": f"output of {mi.name}: {desc}"}
        for mi in metrics for out, (hib, desc) in mi.outputs.items() if out != mi.name
    }


def _source_manifest(m) -> dict[str, Any]:
    """Where a method that is not an adapter comes from (manifest ``methods.<label>.source``)."""
    if m.folder is not None:
        idx = m.folder_index
        return {"source": {"kind": "folder", "path": str(m.folder.path), "layout": idx.layout if idx else None,
                           "pixels_sha256": m.folder_identity,
                           "files": sum(len(f) for f in idx.files.values()) if idx else 0,
                           "ignored": list(idx.ignored) if idx else []}}
    if m.inprocess is not None:
        return {"source": {"kind": "in-process", "model": m.inprocess.kind,
                           "identity": m.inprocess.identity_text or "none (not cached)"}}
    return {}
