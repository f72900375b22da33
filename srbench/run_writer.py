"""Writing the run folder (``docs/run-format.md``): manifest, per-image rows, summary, saved images.

Its reader is :mod:`srbench.results` (the one reader of run folders in srbench)."""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import platform
import subprocess
import sys
from collections import defaultdict
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from srbench import __version__
from srbench.fsutil import atomic_write_text
from srbench.images import write_png
from srbench.results import PER_IMAGE_COLUMNS, SUMMARY_COLUMNS, reference_image_path, sr_image_path
from srbench.run_folder import FAILED, FINISHED, INTERRUPTED, RUNNING

SCHEMA = 1


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _version(pkg: str) -> str | None:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def _device_text(device: str) -> str:
    if str(device).startswith("cuda") and "torch" in sys.modules:
        import torch

        if torch.cuda.is_available():
            return f"{device} ({torch.cuda.get_device_name(0)})"
    return str(device)


def provenance_header(device: str, command: list[str]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "srbench_version": __version__,
        "created": _now(),
        "finished": None,
        "status": RUNNING,
        "command": list(command),
        "git_commit": _git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.node(),
        "packages": {p: _version(p) for p in ("numpy", "scipy", "pillow", "torch", "torchvision", "lpips", "pyiqa", "pytorch-fid")},
        "device": _device_text(device),
    }


def _deep_merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _deep_merge(into[k], v)
        else:
            into[k] = v


class RunWriter:
    def __init__(self, out: Path):
        self.out = Path(out)
        self.manifest: dict[str, Any] = {}
        self.image_rows: list[tuple] = []
        self.set_values: dict[tuple, tuple[float, int]] = {}
        self._fh = None
        self._csv = None

    def start(self, manifest: dict[str, Any]) -> None:
        self.manifest = manifest
        self.manifest["status"] = RUNNING
        # a resumed run rewrites everything; an old summary must not outlive a run that then fails
        (self.out / "summary.csv").unlink(missing_ok=True)
        self._write_manifest()
        # rows are rewritten from scratch on each (re-)run; values come back from the caches
        self._fh = open(self.out / "per_image.csv", "w", newline="")
        self._csv = csv.writer(self._fh)
        self._csv.writerow(PER_IMAGE_COLUMNS)
        self._fh.flush()

    def _write_manifest(self) -> None:
        atomic_write_text(self.out / "manifest.json", json.dumps(_rounded(self.manifest), indent=2, default=str) + "\n")

    def update_manifest(self, extra: dict[str, Any]) -> None:
        """Merge ``extra`` into the manifest (nested dicts are merged, other values replaced)."""
        _deep_merge(self.manifest, extra)
        self._write_manifest()

    def add_image_rows(self, method: str, dataset: str, scale: int, protocol: str, image: str, rows: Iterable[tuple]) -> None:
        for metric, value, sample in rows:
            row = (method, dataset, scale, image, metric, value, "" if sample is None else sample, protocol)
            self.image_rows.append(row)
            self._csv.writerow([*row[:5], repr(float(value)), row[6], protocol])
        self._fh.flush()

    def set_image_rows(self, rows: list[tuple]) -> None:
        """Replace the rows (and per_image.csv) with ``rows`` in result order: the rows streamed while units
        finished in any order are rewritten as a serial run would have written them."""
        self.image_rows = list(rows)
        if self._fh:
            self._fh.close()
        self._fh = open(self.out / "per_image.csv", "w", newline="")
        self._csv = csv.writer(self._fh)
        self._csv.writerow(PER_IMAGE_COLUMNS)
        for row in self.image_rows:
            self._csv.writerow([*row[:5], repr(float(row[5])), row[6], row[7]])
        self._fh.flush()

    def add_set_value(self, method: str, dataset: str, scale: int, protocol: str, metric: str, value: float, n: int) -> None:
        self.set_values[(method, dataset, scale, protocol, metric)] = (value, n)

    def save_images(self, method: str, dataset: str, scale: int, image: str, srs, stochastic: bool) -> None:
        if stochastic:
            for i, sr in enumerate(srs):
                write_png(sr_image_path(self.out, method, dataset, scale, image, i), sr)
        else:
            write_png(sr_image_path(self.out, method, dataset, scale, image), srs[0])

    def save_reference(self, dataset: str, scale: int, image: str, hr: np.ndarray, lr: np.ndarray) -> None:
        """HR (as scored) and LR (as given) for the report's per-image pages; written once per image."""
        from srbench.conventions import quantize

        for kind, arr in (("hr", hr), ("lr", lr)):
            if arr is None:  # an LR-only dataset has no HR
                continue
            p = reference_image_path(self.out, kind, dataset, scale, image)
            if not p.is_file():
                arr = np.asarray(arr)
                write_png(p, arr if arr.dtype == np.uint8 else quantize(255.0 * arr))

    def finish(self, summary_rows: list[dict[str, Any]], extra: dict[str, Any]) -> None:
        if self._fh:
            self._fh.close()
            self._fh = None
        import io

        sio = io.StringIO()
        w = csv.DictWriter(sio, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in summary_rows:
            w.writerow({**r, "value": repr(float(r["value"]))})
        atomic_write_text(self.out / "summary.csv", sio.getvalue())
        self.update_manifest({**extra, "finished": _now(), "status": FINISHED})

    def stop(self, exc: BaseException) -> None:
        """Record why the run ended early (Ctrl-C/SIGTERM: ``interrupted``; anything else: ``failed``)."""
        if self._fh:
            self._fh.close()
            self._fh = None
        if isinstance(exc, KeyboardInterrupt):
            self.update_manifest({"status": INTERRUPTED, "stopped": _now()})
        else:
            self.update_manifest({"status": FAILED, "stopped": _now(), "error": f"{type(exc).__name__}: {exc}"})


def _rounded(obj: Any, key: str = "") -> Any:
    """Timings to the millisecond: ``15.418262597000194`` seconds is noise past the third decimal."""
    if isinstance(obj, dict):
        return {k: _rounded(v, k) for k, v in obj.items()}
    if isinstance(obj, float) and key.endswith("seconds"):
        return round(obj, 3)
    return obj


def summarize(writer: RunWriter, methods_meta, datasets, metric_versions: dict[str, str]) -> list[dict[str, Any]]:
    """Dataset values: mean over images of the per-image value (sample rows excluded)."""
    acc: dict[tuple, list[float]] = defaultdict(list)
    for method, dataset, scale, image, metric, value, sample, protocol in writer.image_rows:
        if sample != "" and sample is not None:
            continue
        acc[(method, dataset, scale, protocol, metric)].append(float(value))
    # NaN per-image values (e.g. a 0/0 diversity score) are skipped, as the NTIRE21 script's pandas mean does
    cells = {k: (_nanmean(v), len(v)) for k, v in acc.items()}
    cells.update(writer.set_values)
    rows = []
    for (method, dataset, scale, protocol, metric), (value, n) in cells.items():
        m = methods_meta[method]
        version = metric_versions.get(metric, "")
        rows.append({
            "method": method, "dataset": dataset, "scale": scale, "metric": metric, "value": value,
            "n_images": n, "protocol": protocol, "metric_version": version,
            "adapter_version": m.info.adapter_version, "dataset_version": datasets[dataset].spec.version,
            "weights_sha256": m.weights_sha(scale),
        })
    order = {name: i for i, name in enumerate(metric_versions)}
    rows.sort(key=lambda r: (r["dataset"], r["scale"], r["protocol"], r["method"], order.get(r["metric"], 99), r["metric"]))
    return rows


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan
