"""The *execute* step for one unit: HR -> LR -> SR images -> the metric values it was asked for.

A :class:`UnitWorker` lives wherever the work runs (this process, a worker process, a Ray actor) and holds
that place's models and metric functions (one of each per worker). It reads datasets, the SR/LR image
caches and writes SR/LR images there (a shared filesystem for remote workers); it never touches the
value cache: every value it computes comes back in the :class:`UnitResult` and the driver stores it.
A failure comes back as a :class:`Failure` (exception class + message), so every executor reports it the
same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from srbench import datasets as ds_mod
from srbench import protocols, registry
from srbench.cache import ImageCache
from srbench.conventions import image_seed
from srbench.errors import MethodFailedError, MethodOutputError, SrbenchError
from srbench.hashing import array_key
from srbench.metrics.base import MetricContext
from srbench.units import (
    MEMO_FOLDER,
    MEMO_LR,
    Group,
    UnitKeys,
    WorkUnit,
    folder_memo,
    hr_key,
    lr_id,
    pixels_key,
    sr_keys,
    dataset_files,
    unit_keys,
    verified_memo,
)


@dataclass
class WorkContext:
    """Everything a worker needs, sent to it once (picklable)."""

    groups: list[Group]
    methods: dict[str, Any]  # label -> PlannedMethod (no loaded models)
    refs: dict[str, dict[str, Any]]  # dataset -> image name -> ImageRef
    device: str
    seed: int
    samples: int
    out: Path  # the run folder (saved images)
    degradation: str | None
    deg_options: dict[str, Any]
    deg_identity: dict[int, Any]  # scale -> identity of the loaded degradation (None: MATLAB bicubic)
    deg_stochastic: bool
    weights: dict[str, str]
    offline: bool | None
    reference_stub: Any = None  # ReferenceSet without loaders: set metrics' per-image part needs no reference
    degradations: dict[int, Any] = field(default_factory=dict)  # preloaded (same process only)


@dataclass
class UnitResult:
    index: int
    keys: UnitKeys
    values: dict[str, Any]  # computed here: key -> value (float, str for non-finite, or dict)
    partials: dict[str, list]  # set metric -> per-SR-image part (merged by the driver, in unit order)
    memos: dict[str, str]
    stats: dict[str, float]
    provenance: dict[str, Any]  # {"models": {(label, scale): ...}, "metrics": {name: ...}} first seen here


@dataclass
class Failure:
    """An exception raised by a unit, portable across processes (custom exception classes need not pickle)."""

    index: int
    module: str
    name: str
    message: str
    interrupted: bool = False

    @classmethod
    def of(cls, index: int, exc: BaseException) -> Failure:
        return cls(index, type(exc).__module__, type(exc).__qualname__, str(exc), isinstance(exc, KeyboardInterrupt))

    def exception(self) -> BaseException:
        if self.interrupted:
            return KeyboardInterrupt(self.message)
        import importlib

        try:
            cls = getattr(importlib.import_module(self.module), self.name)
        except (ImportError, AttributeError):
            cls = None
        if isinstance(cls, type) and issubclass(cls, SrbenchError):
            exc = cls.__new__(cls)
            Exception.__init__(exc, self.message)
            return exc
        return MethodFailedError(f"{self.name}: {self.message}")


def check_sr(sr: Any, expect_hw: tuple[int, int], label: str, image: str, luma: bool) -> np.ndarray:
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


class UnitWorker:
    def __init__(self, ctx: WorkContext):
        self.ctx = ctx
        self.sr_cache = ImageCache(kind="sr")
        self.lr_cache = ImageCache(kind="lr")
        self.models: dict[tuple[str, int], Any] = {}
        self.metric_fns: dict[str, Any] = {}
        self.set_fns: dict[str, Any] = {}
        self.degradations = dict(ctx.degradations)
        self._hr: tuple[Any, np.ndarray] | None = None  # the last HR read (units of one image come together)
        self._writer = None

    # -- entry point --------------------------------------------------------------------------
    def compute(self, unit: WorkUnit) -> UnitResult | Failure:
        try:
            return self._compute(unit)
        except BaseException as exc:  # noqa: BLE001 - reported by the driver, KeyboardInterrupt included
            return Failure.of(unit.index, exc)

    def _compute(self, unit: WorkUnit) -> UnitResult:
        ctx = self.ctx
        g = ctx.groups[unit.group]
        m = ctx.methods[g.method]
        ref = ctx.refs[g.dataset][unit.image]
        stats = {"sr_seconds": 0.0, "metric_seconds": 0.0, "images_computed": 0, "images_cached": 0,
                 "metric_values_computed": 0}
        prov: dict[str, Any] = {"models": {}, "metrics": {}}
        memos: dict[str, str] = {}
        prep, hk = self._prepare(ref, g, memos)
        lr_pixels = None if m.folder is not None else array_key(np.asarray(prep.lr))  # hashed once per unit
        srs, keys = self._sr_images(m, g, prep, unit.image, stats, prov, hk, memos, lr_pixels)
        if unit.save_images:
            writer = self._run_writer()
            writer.save_reference(g.dataset, g.scale, unit.image, prep.hr, prep.lr)
            writer.save_images(m.label, g.dataset, g.scale, unit.image, srs, stochastic=m.info.stochastic and ctx.samples > 1)
        keys = unit_keys(g, hk, lr_pixels, keys)
        t0 = time.perf_counter()
        values: dict[str, Any] = {}
        partials: dict[str, list] = {}
        wanted = unit.todo  # None: everything
        with metric_errors(m.label, g.dataset, unit.image, g.scale) as current:
            ctxs = [MetricContext(scale=g.scale, lr=prep.lr, device=ctx.device, protocol=protocols.base(g.protocol),
                                  image=unit.image) for _ in srs]  # one per SR image: its metrics share it
            for info in g.image_metrics:
                current[0] = info.name
                for sr, mctx, key in zip(srs, ctxs, keys.image_metrics[info.name]):
                    if wanted is None or key in wanted:
                        values[key] = _stored(float(self._metric(info, prov)(sr, prep.hr, mctx)))
                        stats["metric_values_computed"] += 1
            for info in g.sample_metrics:
                current[0] = info.name
                key = keys.sample_metrics.get(info.name)
                if key is not None and (wanted is None or key in wanted):
                    mctx = MetricContext(scale=g.scale, lr=prep.lr, device=ctx.device,
                                         protocol=protocols.base(g.protocol), image=unit.image)
                    values[key] = {k: float(v) for k, v in self._metric(info, prov)(srs, prep.hr, mctx).items()}
                    stats["metric_values_computed"] += 1
            for info in g.set_metrics:
                if info.name in unit.set_partials:
                    current[0] = info.name
                    acc = self._set_fn(info)
                    partials[info.name] = [acc.partial(sr, prep.hr, mctx) for sr, mctx in zip(srs, ctxs)]
        stats["metric_seconds"] += time.perf_counter() - t0
        if lr_pixels is not None and m.cached:
            memos[MEMO_LR + self._lr_id(ref, g, hk)] = lr_pixels
        for path, sha in dataset_files(ref, g.protocol == protocols.GIVEN, g.scale):  # read and verified above
            name = verified_memo(path, sha)
            if name is not None:
                memos[name] = 1
        return UnitResult(unit.index, keys, values, partials, memos, stats, prov)

    # -- inputs -------------------------------------------------------------------------------
    def _read_hr(self, ref) -> np.ndarray:
        if self._hr is None or self._hr[0] is not ref.path:
            self._hr = (ref.path, ds_mod.load_hr(ref))
        return self._hr[1]

    def _lr_id(self, ref, g: Group, hk: str) -> str:
        if g.protocol == protocols.GIVEN:
            return lr_id(hk, g.scale, g.protocol, None, None, ref.lr[g.scale].sha256)
        deg = self.ctx.deg_identity.get(g.scale) if protocols.base(g.protocol) == "rgb" else None
        seed = image_seed(self.ctx.seed, hk) if deg is not None and self.ctx.deg_stochastic else None
        return lr_id(hk, g.scale, g.protocol, deg, seed)

    def _prepare(self, ref, g: Group, memos: dict):
        """(prepared images, HR key): the dataset's LR (``given``), or HR -> LR (made LR is cached by content
        only when a degradation made it: MATLAB bicubic is cheaper to redo than to read back)."""
        if g.protocol == protocols.GIVEN:
            lr = ds_mod.load_lr(ref, g.scale)
            hr = self._read_hr(ref) if ref.path is not None else None
            hk = hr_key(ref, True, g.scale) or (array_key(hr) if hr is not None else "lr-only:" + array_key(lr))
            return protocols.prepare_given(hr, lr, g.scale, ref.name), hk
        hr = self._read_hr(ref)
        hk = ref.sha256 or array_key(hr)
        base = protocols.base(g.protocol)
        if base != "rgb":
            return protocols.prepare(hr, g.scale, base, None, self.ctx.seed), hk
        deg = self._degradation(g.scale)
        seed = image_seed(self.ctx.seed, hk)  # each image its own draw of a stochastic degradation
        if deg is None:
            return protocols.prepare(hr, g.scale, base, None, seed), hk
        key = self._lr_id(ref, g, hk)
        lr = self.lr_cache.get(key)
        prep = protocols.prepare(hr, g.scale, base, deg, seed, lr=lr)
        if lr is None:
            self.lr_cache.put(key, prep.lr)
        return prep, hk

    def _degradation(self, scale: int):
        if self.ctx.degradation is None:
            return None
        if scale not in self.degradations:
            from srbench.degradations import load_degradation

            self.degradations[scale] = load_degradation(self.ctx.degradation, scale, self.ctx.device, self.ctx.weights,
                                                        self.ctx.deg_options,
                                                        None if self.ctx.offline is None else not self.ctx.offline)
        return self.degradations[scale]

    # -- SR -----------------------------------------------------------------------------------
    def _model(self, m, scale: int, prov: dict):
        key = (m.label, scale)
        if key not in self.models:
            if m.inprocess is not None:
                model = m.inprocess.load(scale, self.ctx.device)
            else:
                loader = registry.import_object(m.info.loader)
                model = loader(scale=scale, device=self.ctx.device, weights=m.weights.get(scale) or None,
                               variant=m.variant, options=m.options)
            self.models[key] = model
            prov["models"][key] = dict(getattr(model, "provenance", None) or {})
        return self.models[key]

    def _folder_images(self, m, g: Group, prep, image: str, hk: str, memos: dict):
        """The SR images of a folder method: read, checked and keyed by their own pixels (a changed file is a
        new key, so it is never scored from stale cache)."""
        from srbench.images import read_image

        files = m.folder_index.files[(g.dataset, g.scale, image)]
        expect = (prep.lr.shape[0] * g.scale, prep.lr.shape[1] * g.scale)
        grey = (prep.hr if prep.hr is not None else prep.lr).ndim == 2
        srs, keys = [], []
        for path in files:
            sr = read_image(path)
            if sr.shape[:2] != expect:
                raise MethodOutputError(f"{path}: {sr.shape[1]}x{sr.shape[0]}, expected {expect[1]}x{expect[0]} "
                                        f"(the file changed since the folder was checked?)")
            if sr.ndim == 2 and not grey:
                raise MethodOutputError(f"{path}: a single-channel image for the RGB image {image!r} of {g.dataset}")
            sr = protocols.to_scored(sr, prep, protocols.base(g.protocol))
            srs.append(sr)
            keys.append(pixels_key(array_key(sr)))
            name = folder_memo(path, hk, g.protocol)
            if name is not None and name.startswith(MEMO_FOLDER):
                memos[name] = keys[-1]
        return srs, keys

    def _sr_images(self, m, g: Group, prep, image: str, stats: dict, prov: dict, hk: str, memos: dict,
                   lr_pixels: str | None):
        if m.folder is not None:
            stats["images_cached"] += 1
            return self._folder_images(m, g, prep, image, hk, memos)
        ctx = self.ctx
        luma = g.protocol == "luma"
        count = g.samples
        keys = sr_keys(m.identity(g.scale), lr_pixels, g.scale, g.protocol,
                       ctx.seed if m.info.stochastic else None, count)
        cached = [self.sr_cache.get(k) for k in keys] if m.cached else [None]
        if all(c is not None for c in cached):
            stats["images_cached"] += 1
            return cached, keys
        t0 = time.perf_counter()
        expect = (prep.lr.shape[0] * g.scale, prep.lr.shape[1] * g.scale)
        label = f"method {m.label!r} (x{g.scale})"
        try:
            model = self._model(m, g.scale, prov)
        except SrbenchError:
            raise
        except Exception as exc:
            raise MethodFailedError(f"{label} failed to load: {type(exc).__name__}: {exc}") from exc
        try:
            if luma:
                outs = [model.upscale_luma(prep.method_input)]
            elif m.info.stochastic:
                outs = list(model.sample(prep.method_input, count, ctx.seed, m.options.get("ref")))
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
            sr = check_sr(sr, expect, label, image, luma)
            sr = protocols.to_scored(sr, prep, protocols.base(g.protocol))
            if m.cached:
                self.sr_cache.put(keys[i], sr)
            else:  # no identity: metric values are keyed by the pixels, the SR itself is not kept
                keys[i] = pixels_key(array_key(sr))
            scored.append(sr)
        stats["sr_seconds"] += time.perf_counter() - t0
        stats["images_computed"] += 1
        return scored, keys

    # -- metrics ------------------------------------------------------------------------------
    def _metric(self, info, prov: dict):
        if info.name not in self.metric_fns:
            factory = registry.import_object(info.factory)
            fn = factory(device=self.ctx.device, **dict(info.options))
            self.metric_fns[info.name] = fn
            p = getattr(fn, "provenance", None)
            prov["metrics"][info.name] = p() if callable(p) else {}
        return self.metric_fns[info.name]

    def _set_fn(self, info):
        """A set metric's accumulator, used here only for its per-image part (``partial``)."""
        if info.name not in self.set_fns:
            factory = registry.import_object(info.factory)
            extra = {"reference": self.ctx.reference_stub} if info.reference_set else {}
            self.set_fns[info.name] = factory(device=self.ctx.device, **dict(info.options), **extra)
        return self.set_fns[info.name]

    def _run_writer(self):
        if self._writer is None:
            from srbench.run_writer import RunWriter

            self._writer = RunWriter(self.ctx.out)
        return self._writer


def _stored(val: float):
    """How a value is stored: a float, or its text when not finite (JSON has no NaN)."""
    import math

    return val if math.isfinite(val) else str(val)


class metric_errors:
    """Turn an unexpected exception inside a metric into one line naming metric, method and image."""

    def __init__(self, method: str, dataset: str, image: str | None, scale: int):
        self.where = (method, dataset, image, scale)
        self.current = [None]

    def __enter__(self):
        return self.current

    def __exit__(self, typ, exc, tb):
        if exc is None or isinstance(exc, (SrbenchError, KeyboardInterrupt)) or not isinstance(exc, Exception):
            return False
        method, dataset, image, scale = self.where
        where = f"{dataset}/{image}" if image else dataset
        raise MethodFailedError(
            f"metric {self.current[0]!r} failed on {where} (x{scale}, method {method!r}): {type(exc).__name__}: {exc}"
        ) from exc
