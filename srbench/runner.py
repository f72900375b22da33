"""``srbench run``: methods x datasets x scales -> SR images -> metrics -> a run folder.

Everything expensive is cached by content (``srbench.cache``): an unchanged re-run computes no SR image
and no metric value, and an interrupted run resumes without losing a finished image. Models are loaded
only when some SR image is actually missing from the cache.
"""

from __future__ import annotations

import math
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from srbench import datasets as ds_mod
from srbench import protocols, registry
from srbench import weights as weights_mod
from srbench.cache import ImageCache, ValueCache
from srbench.conventions import image_seed
from srbench.errors import MethodFailedError, MethodOutputError, SrbenchError
from srbench.hashing import array_key, json_key
from srbench.imresize import VERSION as IMRESIZE_VERSION
from srbench.metrics.base import MetricContext
from srbench.options import Target
from srbench.options import label as option_label
from srbench.plan import (
    PlannedMethod,
    RunConfig,
    config_key,
    default_out_dir,
    lr_is_given,
    plan,
    preflight_metric_weights,
)
from srbench.run_writer import RunWriter, provenance_header, summarize
from srbench.reference_set import reference_set
from srbench.run_folder import RunFolder

__all__ = ["RunConfig", "Runner", "run"]


def _check_sr(sr: Any, expect_hw: tuple[int, int], label: str, image: str, luma: bool) -> np.ndarray:
    """The output contract of :class:`srbench.method_api.SRModel`: HxWx3 uint8 (luma: HxW float in [0, 1])."""
    if sr is None or not hasattr(sr, "shape") or not hasattr(sr, "dtype"):
        raise MethodOutputError(f"{label} returned {type(sr).__name__} for {image}, not an image array")
    sr = np.asarray(sr)
    if sr.shape[:2] != expect_hw or (not luma and (sr.ndim != 3 or sr.shape[2] != 3)) or (luma and sr.ndim != 2):
        want = f"{expect_hw[0]}x{expect_hw[1]}" + ("" if luma else "x3")
        raise MethodOutputError(f"{label} returned an image of shape {sr.shape} for {image}; expected {want}")
    if luma:
        if not np.issubdtype(sr.dtype, np.floating):
            raise MethodOutputError(f"{label} returned {sr.dtype} for {image}; the luma protocol expects float Y in [0, 1]")
        if not np.all(np.isfinite(sr)):
            bad = int(np.size(sr) - np.count_nonzero(np.isfinite(sr)))
            raise MethodOutputError(f"{label} returned {bad} NaN/inf value(s) for {image}")
        return sr
    if sr.dtype != np.uint8:
        what = str(sr.dtype)
        if np.issubdtype(sr.dtype, np.floating) or np.issubdtype(sr.dtype, np.integer):
            finite = sr[np.isfinite(sr)] if np.issubdtype(sr.dtype, np.floating) else sr
            span = f"values {float(finite.min()):.4g}..{float(finite.max()):.4g}" if finite.size else "no finite values"
            bad = sr.size - finite.size
            what += f" ({span}" + (f", {bad} NaN/inf" if bad else "") + ")"
        raise MethodOutputError(
            f"{label} returned {what} for {image}; methods must return HxWx3 uint8 RGB (srbench.method_api.SRModel). "
            "Float output is never guessed as [0, 1] or [0, 255]: convert it with "
            "srbench.conventions.to_uint8(255 * x, rule) and the rounding rule of the method's official code"
        )
    return sr


class Runner:
    def __init__(self, cfg: RunConfig):
        self.cfg = cfg
        self.sr_cache = ImageCache(kind="sr")
        self.lr_cache = ImageCache(kind="lr")
        self.values = ValueCache()
        self.metric_fns: dict[str, Any] = {}
        self.metric_prov: dict[str, Any] = {}
        self.metric_versions: dict[str, str] = {}
        self._stats: dict[str, Any] = {}
        self._degs: dict[int, Any] = {}
        self._deg_target: Target | None = None
        self._reference = None  # the reference image set of fid_ref (srbench.reference_set)
        self._reference_id: str | None = None
        self._writer: RunWriter | None = None

    # -- models -------------------------------------------------------------------------------
    def _model(self, m: PlannedMethod, scale: int):
        if scale not in m.models:
            if m.inprocess is not None:
                model = m.inprocess.load(scale, self.cfg.device)
            else:
                loader = registry.import_object(m.info.loader)
                model = loader(
                    scale=scale, device=self.cfg.device, weights=m.weights.get(scale) or None, variant=m.variant,
                    options=m.options,
                )
            m.models[scale] = model
            prov = getattr(model, "provenance", None) or {}
            self._writer.update_manifest({"methods": {m.label: {"provenance": {f"x{scale}": dict(prov)}}}})
        return m.models[scale]

    def _degradation(self, scale: int):
        """The loaded degradation for ``scale`` (None: the protocol's MATLAB bicubic)."""
        if self.cfg.degradation is None:
            return None
        if scale not in self._degs:
            from srbench.degradations import load_degradation

            self._degs[scale] = load_degradation(self.cfg.degradation, scale, self.cfg.device, self.cfg.weights,
                                                 self._deg_target.loader_options(),
                                                 None if self.cfg.offline is None else not self.cfg.offline)
        return self._degs[scale]

    @property
    def protocol_label(self) -> str:
        """The run's degradation as part of the protocol column: ``rgb:<degradation>[options]``."""
        if self.cfg.degradation is None:
            return self.cfg.protocol
        return f"rgb:{option_label(self.cfg.degradation, self._deg_target.identity())}"

    def _protocol(self, leg, scale: int) -> str:
        """The protocol column of one (leg, scale): ``given`` for a dataset's own LR, else how the LR is made
        (``rgb``, ``luma``, ``rgb:<degradation>``)."""
        if lr_is_given(self.cfg, leg.spec, scale):
            return protocols.GIVEN
        if leg.protocol == "rgb" and self.cfg.degradation is not None:
            return self.protocol_label
        return leg.protocol

    def _metric(self, info):
        if info.name not in self.metric_fns:
            factory = registry.import_object(info.factory)
            fn = factory(device=self.cfg.device, **dict(info.options))
            self.metric_fns[info.name] = fn
            prov = getattr(fn, "provenance", None)
            self.metric_prov[info.name] = prov() if callable(prov) else {}
        return self.metric_fns[info.name]

    # -- one image ----------------------------------------------------------------------------
    def _folder_images(self, m: PlannedMethod, dataset: str, scale: int, prep, image: str,
                       protocol: str) -> tuple[list[np.ndarray], list[str]]:
        """The SR images of a folder method: read, checked and keyed by their own pixels (a changed file is a
        new key, so it is never scored from stale cache)."""
        from srbench.images import read_image

        files = m.folder_index.files[(dataset, scale, image)]
        expect = (prep.lr.shape[0] * scale, prep.lr.shape[1] * scale)
        grey = (prep.hr if prep.hr is not None else prep.lr).ndim == 2
        srs, keys = [], []
        for path in files:
            sr = read_image(path)
            if sr.shape[:2] != expect:
                raise MethodOutputError(f"{path}: {sr.shape[1]}x{sr.shape[0]}, expected {expect[1]}x{expect[0]} "
                                        f"(the file changed since the folder was checked?)")
            if sr.ndim == 2 and not grey:
                raise MethodOutputError(f"{path}: a single-channel image for the RGB image {image!r} of {dataset}")
            sr = protocols.to_scored(sr, prep, protocols.base(protocol))
            srs.append(sr)
            keys.append(json_key({"sr_pixels": array_key(sr)}))
        return srs, keys

    def _sr_images(self, m: PlannedMethod, scale: int, prep, image: str, n: int, stats: dict,
                   protocol: str, dataset: str = "") -> tuple[list[np.ndarray], list[str]]:
        cfg = self.cfg
        if m.folder_index is not None:
            stats["images_cached"] += 1
            return self._folder_images(m, dataset, scale, prep, image, protocol)
        luma = protocol == "luma"
        stochastic = m.info.stochastic and n > 1
        base = {
            **m.identity(scale),
            "lr": array_key(np.asarray(prep.lr)),
            "scale": scale,
            "protocol": protocols.base(protocol),  # the SR depends on the LR given, not on how it was made
        }
        if m.info.stochastic:
            base["seed"] = cfg.seed
        count = n if stochastic else 1
        keys = [json_key({**base, "sample": i}) for i in range(count)]
        cached = [self.sr_cache.get(k) for k in keys] if m.cached else [None]
        if all(c is not None for c in cached):
            stats["images_cached"] += 1
            return cached, keys
        t0 = time.perf_counter()
        expect = (prep.lr.shape[0] * scale, prep.lr.shape[1] * scale)
        label = f"method {m.label!r} (x{scale})"
        ref = m.options.get("ref")
        try:
            model = self._model(m, scale)
        except SrbenchError:
            raise
        except Exception as exc:
            raise MethodFailedError(f"{label} failed to load: {type(exc).__name__}: {exc}") from exc
        try:
            if luma:
                outs = [model.upscale_luma(prep.method_input)]
            elif m.info.stochastic:
                outs = list(model.sample(prep.method_input, count, cfg.seed, ref))
            else:
                outs = [model.upscale(prep.method_input)]
        except SrbenchError as exc:
            raise MethodFailedError(f"{label} failed on image {image!r}: {exc}") from exc
        except Exception as exc:
            raise MethodFailedError(f"{label} failed on image {image!r}: {type(exc).__name__}: {exc}") from exc
        if len(outs) != count:
            raise MethodOutputError(f"{label} returned {len(outs)} samples for {image}, expected {count}")
        scored = []
        for i, sr in enumerate(outs):
            sr = _check_sr(sr, expect, label, image, luma)
            sr = protocols.to_scored(sr, prep, protocols.base(protocol))
            if m.cached:
                self.sr_cache.put(keys[i], sr)
            else:  # no identity: metric values are keyed by the pixels, the SR itself is not kept
                keys[i] = json_key({"sr_pixels": array_key(sr)})
            scored.append(sr)
        stats["sr_seconds"] += time.perf_counter() - t0
        stats["images_computed"] += 1
        return scored, keys

    def _prepare(self, ref, scale: int, protocol: str):
        """(prepared images, HR key): the dataset's LR (``given``), or HR -> LR; the rgb-protocol LR is
        cached by content (HR pixels, scale, degradation, seed)."""
        if protocol == protocols.GIVEN:
            lr = ds_mod.load_lr(ref, scale)
            hr = ds_mod.load_hr(ref) if ref.path is not None else None
            key = (ref.sha256 or array_key(hr)) if hr is not None else "lr-only:" + (ref.lr[scale].sha256 or array_key(lr))
            return protocols.prepare_given(hr, lr, scale, ref.name), key
        hr = ds_mod.load_hr(ref)
        hr_key = ref.sha256 or array_key(hr)
        return self._made(hr, hr_key, scale, protocols.base(protocol)), hr_key

    def _made(self, hr: np.ndarray, hr_key: str, scale: int, base: str):
        cfg = self.cfg
        if base != "rgb":  # luma LR is float and cheap: not cached
            return protocols.prepare(hr, scale, base, None, cfg.seed)
        deg = self._degradation(scale)
        seed = image_seed(cfg.seed, hr_key)  # each image its own draw of a stochastic degradation
        key = json_key({"hr": hr_key, "scale": scale, "degradation": self._degradation_identity(scale),
                        "seed": seed if deg is not None and deg.stochastic else None,
                        "imresize": IMRESIZE_VERSION})
        lr = self.lr_cache.get(key)
        prep = protocols.prepare(hr, scale, base, deg, seed, lr=lr)
        if lr is None:
            self.lr_cache.put(key, prep.lr)
        return prep

    def _image_metric(self, info, sr, sr_key, hr_key, prep, scale, image, protocol) -> float:
        key = json_key({"metric": info.name, "version": info.version, "sr": sr_key, "hr": hr_key,
                        "scale": scale, "protocol": protocols.base(protocol)})
        val = self.values.get(key)
        if val is None:
            ctx = MetricContext(scale=scale, lr=prep.lr, device=self.cfg.device, protocol=protocols.base(protocol), image=image)
            val = float(self._metric(info)(sr, prep.hr, ctx))
            self._stats["metric_values_computed"] += 1
            self.values.put(key, val if math.isfinite(val) else str(val))
        return float(val)

    # -- the whole run ------------------------------------------------------------------------
    def run(self) -> Path:
        """Check and resolve everything, take the run folder, compute, write the results."""
        cfg = self.cfg
        run_plan, resolved = self._setup()
        methods = run_plan.methods
        out = Path(cfg.out) if cfg.out else default_out_dir()
        key = config_key(cfg, run_plan, resolved, self.protocol_label, self._reference_id)
        with RunFolder(out, key, overwrite=cfg.overwrite, command=cfg.command) as folder:
            writer = self._writer = RunWriter(out)
            writer.start({**self._manifest(run_plan, resolved), "config_key": key,
                          "resumed_from": folder.resumed_from})
            timings: dict[str, Any] = {}
            try:
                self._execute(run_plan, resolved, writer, timings)
                writer.update_manifest({"timings": timings, "metric_provenance": self.metric_prov})
                rows = summarize(writer, methods_meta={m.label: m for m in methods}, datasets=resolved,
                                 metric_versions=self.metric_versions)
                writer.finish(rows, {"metrics": {k: {"provenance": v} for k, v in self.metric_prov.items()}})
            except BaseException as exc:
                writer.update_manifest({"timings": timings, "metric_provenance": self.metric_prov})
                writer.stop(exc)
                raise
        return out

    def _setup(self):
        """Everything that can fail without computing: names, options, weights, datasets, metric weights."""
        cfg = self.cfg
        run_plan = plan(cfg)
        self._deg_target = run_plan.deg_target
        methods, metrics = run_plan.methods, run_plan.metrics
        # weights first: a method without weights refuses to run before anything is computed
        for m in methods:
            if m.info.learned:
                for scale in cfg.scales:
                    m.weights[scale] = weights_mod.resolve(m.info, m.variant, scale, cfg.weights,
                                                           None if cfg.offline is None else not cfg.offline)
        if cfg.log is not None:
            for m in methods:
                for scale, files in sorted(m.weights.items()):
                    for name, w in sorted(files.items()):
                        cfg.log(f"weights: {m.label} x{scale} {w.describe()}")
        resolved = {}
        for leg in run_plan.legs:
            d = leg.spec
            resolved[d.name] = ds_mod.resolve(d.name, offline=cfg.offline,
                                              scales=[s for s in cfg.scales if lr_is_given(cfg, d, s)])
        self._index_folders(run_plan, resolved)
        preflight_metric_weights(metrics)
        if cfg.fid_ref:
            self._reference = reference_set(cfg.fid_ref, offline=cfg.offline)
            self._reference_id = self._reference.identity
        if any(leg.protocol == "rgb" for leg in run_plan.legs):
            for scale in cfg.scales:
                self._degradation(scale)  # a learned degradation without weights fails now
        self.metric_versions = {mi.name: mi.version for mi in metrics}
        return run_plan, resolved

    def _index_folders(self, run_plan, resolved) -> None:
        """Match each folder method's files to the run's images and check them all (one error listing every
        missing, extra, ambiguous or wrong-size file); then hash its pixels (the method's identity)."""
        from srbench.sr_folder import index_folder

        folders = [m for m in run_plan.methods if m.folder is not None]
        if not folders:
            return
        wanted = [w for leg in run_plan.legs for s in self.cfg.scales for w in self._wanted(resolved[leg.spec.name], s)]
        aliases = {leg.spec.name: _aliases(leg.spec.title) for leg in run_plan.legs}
        for m in folders:
            m.folder_index = index_folder(m.folder, wanted, samples=self.cfg.samples if self.cfg.samples > 1 else 1,
                                          aliases=aliases)
            m.folder_identity = m.folder_index.identity()
            if self.cfg.log is not None:
                self.cfg.log(f"folder: {m.label} <- {m.folder.path} ({m.folder_index.layout} layout, "
                             f"{sum(len(f) for f in m.folder_index.files.values())} files, pixels sha256 "
                             f"{m.folder_identity[:12]}...)")

    def _wanted(self, rd, scale: int):
        """The SR size each image of a resolved dataset must have at ``scale`` (from image headers only)."""
        from PIL import Image

        from srbench.sr_folder import Wanted

        given = lr_is_given(self.cfg, rd.spec, scale)
        for ref in rd.images:
            path = ref.lr[scale].path if given else ref.path
            with Image.open(path) as im:
                w, h = im.size
            size = (h * scale, w * scale) if given else (h // scale * scale, w // scale * scale)
            yield Wanted(rd.name, scale, ref.name, size)

    def _execute(self, run_plan, resolved, writer: RunWriter, timings: dict[str, Any]) -> None:
        cfg = self.cfg
        methods = run_plan.methods
        total = len(methods) * len(cfg.scales) * sum(len(resolved[leg.spec.name].images) for leg in run_plan.legs)
        bar = _progress(total, cfg.progress)
        try:
            for m in methods:
                for scale in cfg.scales:
                    for leg in run_plan.legs:
                        rd = resolved[leg.spec.name]
                        protocol = self._protocol(leg, scale)
                        image_metrics = [mi for mi in leg.metrics if mi.kind == "image"]
                        sample_metrics = [mi for mi in leg.metrics if mi.kind == "samples"]
                        set_metrics = [mi for mi in leg.metrics if mi.kind == "dataset"]
                        stats = {"sr_seconds": 0.0, "metric_seconds": 0.0, "images_computed": 0, "images_cached": 0,
                                 "metric_values_computed": 0}
                        self._stats = stats
                        timings[f"{m.label}/{rd.name}/x{scale}"] = stats
                        accs = {info.name: self._open_set_metric(info, m, rd, scale, protocol) for info in set_metrics}
                        for ref in rd.images:
                            bar.set_description(f"{m.label} {rd.name} x{scale} {ref.name}"[:60])
                            prep, hr_key = self._prepare(ref, scale, protocol)
                            n = cfg.samples if m.info.stochastic else 1
                            srs, keys = self._sr_images(m, scale, prep, ref.name, n, stats, protocol, rd.name)
                            if cfg.save_images:
                                writer.save_reference(rd.name, scale, ref.name, prep.hr, prep.lr)
                                writer.save_images(m.label, rd.name, scale, ref.name, srs, stochastic=m.info.stochastic and cfg.samples > 1)
                            t0 = time.perf_counter()
                            rows = []
                            with _metric_context(m, rd.name, ref.name, scale) as current:
                                for info in image_metrics:
                                    current[0] = info.name
                                    vals = [self._image_metric(info, sr, k, hr_key, prep, scale, ref.name, protocol) for sr, k in zip(srs, keys)]
                                    if len(vals) > 1:
                                        rows += [(info.name, v, i) for i, v in enumerate(vals)]
                                    rows.append((info.name, float(np.mean(vals)), None))
                                for info in sample_metrics:
                                    current[0] = info.name
                                    rows += [(k, v, None) for k, v in self._samples_metric(info, srs, keys, hr_key, prep, scale, ref.name, cfg.samples, protocol).items()]
                                for info in set_metrics:
                                    current[0] = info.name
                                    key, acc = accs[info.name]
                                    if acc is not None:
                                        ctx = MetricContext(scale=scale, lr=prep.lr, device=cfg.device, protocol=protocols.base(protocol), image=ref.name)
                                        for sr in srs:
                                            acc.update(sr, prep.hr, ctx)
                            stats["metric_seconds"] += time.perf_counter() - t0
                            writer.add_image_rows(m.label, rd.name, scale, protocol, ref.name, rows)
                            bar.update(1)
                        t0 = time.perf_counter()
                        with _metric_context(m, rd.name, None, scale) as current:
                            for info in set_metrics:
                                current[0] = info.name
                                writer.add_set_value(m.label, rd.name, scale, protocol, info.name, self._close_set_metric(info, *accs[info.name]), len(rd.images))
                        stats["metric_seconds"] += time.perf_counter() - t0
        finally:
            bar.close()

    def _samples_metric(self, info, srs, keys, hr_key, prep, scale, image, n, protocol) -> dict[str, float]:
        if len(srs) == 1:
            # a deterministic method: all n samples would be identical, so diversity is 0 by definition
            if n == 1:
                return {}
            self.metric_versions.setdefault(info.name, info.version)
            return {info.name: 0.0}
        key = json_key({"metric": info.name, "version": info.version, "sr": keys, "hr": hr_key,
                        "scale": scale, "protocol": protocols.base(protocol)})
        val = self.values.get(key)
        if val is None:
            ctx = MetricContext(scale=scale, lr=prep.lr, device=self.cfg.device, protocol=protocols.base(protocol), image=image)
            val = {k: float(v) for k, v in self._metric(info)(srs, prep.hr, ctx).items()}
            self._stats["metric_values_computed"] += 1
            self.values.put(key, val)
        for k in val:
            self.metric_versions.setdefault(k, info.version)
        return val

    def _open_set_metric(self, info, m: PlannedMethod, rd, scale: int, protocol: str):
        """(cache key, accumulator or None when the value is cached) for a dataset-level metric."""
        given = protocol == protocols.GIVEN
        key = json_key({"metric": info.name, "version": info.version, **m.identity(scale), "dataset": rd.pixel_manifest_sha256,
                        "scale": scale, "protocol": protocol,
                        "degradation": None if given else self._degradation_identity(scale),
                        "seed": self.cfg.seed if m.info.stochastic else None,
                        "samples": self.cfg.samples if m.info.stochastic else 1, "metric_options": info.options,
                        "reference_set": self._reference_id if info.reference_set else None})
        if not m.cached:
            key = None  # a model without identity: the set value is computed every time, never stored
        elif self.values.get(key) is not None:
            return key, None
        factory = registry.import_object(info.factory)
        extra = {"reference": self._reference} if info.reference_set else {}
        return key, factory(device=self.cfg.device, **dict(info.options), **extra)

    def _close_set_metric(self, info, key, acc) -> float:
        if acc is None:
            return float(self.values.get(key))
        val = float(acc.result())
        self._stats["metric_values_computed"] += 1
        prov = getattr(acc, "provenance", None)
        if callable(prov):
            self.metric_prov[info.name] = prov()
        if key is not None:
            self.values.put(key, val)
        return val

    def _degradation_identity(self, scale: int):
        deg = self._degradation(scale)
        if deg is None:
            return None
        from srbench.degradations import get_degradation

        return {"name": self.cfg.degradation, "adapter_version": get_degradation(self.cfg.degradation).adapter_version,
                "options": self._deg_target.identity_key(),
                "provenance": dict(getattr(deg, "provenance", {}) or {})}

    def _degradation_manifest(self):
        if self.cfg.degradation is None:
            return {"name": "bicubic", "description": "MATLAB imresize 1/s of the modcropped HR (srbench.imresize)"}
        from srbench.degradations import get_degradation

        info = get_degradation(self.cfg.degradation)
        return {"name": self.cfg.degradation, "title": info.title, "paper": info.paper,
                "adapter_version": info.adapter_version, "stochastic": info.stochastic,
                "options": {k: str(v) for k, v in self._deg_target.loader_options().items()},
                "provenance": {f"x{s}": self._degradation_identity(s)["provenance"] for s in self.cfg.scales}}

    def _manifest(self, run_plan, resolved) -> dict[str, Any]:
        cfg = self.cfg
        methods, metrics = run_plan.methods, run_plan.metrics
        return {
            **provenance_header(cfg.device, cfg.command),
            "protocol": self.protocol_label,  # how LR is made where a dataset gives none; per leg below
            "legs": [{"dataset": leg.spec.name, "kind": leg.spec.kind,
                      "protocol": {f"x{s}": self._protocol(leg, s) for s in cfg.scales},
                      "metrics": [mi.name for mi in leg.metrics]} for leg in run_plan.legs],
            "track": cfg.track,
            "lr_source": cfg.lr_source,
            "fid_ref": None if self._reference is None else self._reference.manifest(),
            "degradation": self._degradation_manifest(),
            "seed": cfg.seed,
            "samples": cfg.samples,
            "scales": list(cfg.scales),
            "options": {k: str(v) for k, v in cfg.options.items()},  # as given on the command line
            "methods": {
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
            },
            "datasets": {name: r.manifest() for name, r in resolved.items()},
            "metrics": {
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
            },
        }


def _aliases(title: str) -> list[str]:
    """Folder names a user may give a dataset: its title and the names in it (``B100 (BSD100)``: B100, BSD100)."""
    import re

    return sorted({title, *re.findall(r"[A-Za-z][A-Za-z0-9_-]*[0-9][A-Za-z0-9_-]*", title)})


def _source_manifest(m: PlannedMethod) -> dict[str, Any]:
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


@contextmanager
def _metric_context(m: PlannedMethod, dataset: str, image: str | None, scale: int):
    """Turn an unexpected exception inside a metric into one line naming metric, method and image."""
    current = [None]
    try:
        yield current
    except (SrbenchError, KeyboardInterrupt):
        raise
    except Exception as exc:
        where = f"{dataset}/{image}" if image else dataset
        raise MethodFailedError(
            f"metric {current[0]!r} failed on {where} (x{scale}, method {m.label!r}): {type(exc).__name__}: {exc}"
        ) from exc


class _NoBar:
    def update(self, n=1):
        pass

    def set_description(self, s):
        pass

    def close(self):
        pass


def _progress(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="img", file=sys.stderr, dynamic_ncols=True, leave=False)


def run(cfg: RunConfig) -> Path:
    if cfg.offline:
        # metric factories and weight caches read the same switch
        os.environ["SRBENCH_OFFLINE"] = "1"
    return Runner(cfg).run()
