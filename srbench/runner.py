"""``srbench run``: methods x datasets x scales -> SR images -> metrics -> a run folder.

Three steps: *plan* (:mod:`srbench.units`: every unit with its cache keys; cached units are never
scheduled), *execute* (:mod:`srbench.executors` runs :mod:`srbench.unit_worker` here, in worker processes
or on Ray) and *reduce* (:mod:`srbench.reduce`: the run folder in result order from the values).
Everything expensive is cached by content (``srbench.cache``): an unchanged re-run computes no SR image
and no metric value and decodes no image, and an interrupted run resumes without losing a finished image.
Models are loaded only by a worker that has an SR image to compute.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from srbench import datasets as ds_mod
from srbench import protocols, registry
from srbench import weights as weights_mod
from srbench.cache import ValueCache
from srbench.executors import make_executor
from srbench.hashing import json_key
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
from srbench.reduce import SetMerger, unit_rows
from srbench.reference_set import reference_set
from srbench.run_folder import RunFolder
from srbench.run_manifest import methods_manifest, metrics_manifest
from srbench.run_writer import RunWriter, provenance_header, summarize
from srbench.unit_worker import Failure, WorkContext, metric_errors
from srbench.units import Group, execution_order, plan_units

__all__ = ["RunConfig", "Runner", "run"]


class Runner:
    """Plan -> execute -> reduce. :meth:`run` checks and resolves everything (:meth:`_setup`), lists the
    units and what the cache already holds (:func:`srbench.units.plan_units`), runs the missing work on an
    executor (:mod:`srbench.executors`), and writes the run folder in result order (:mod:`srbench.reduce`)."""

    def __init__(self, cfg: RunConfig):
        self.cfg = cfg
        self.values = ValueCache()
        self.metric_prov: dict[str, Any] = {}
        self.metric_versions: dict[str, str] = {}
        self._degs: dict[int, Any] = {}
        self._deg_target: Target | None = None
        self._reference = None  # the reference image set of fid_ref (srbench.reference_set)
        self._reference_id: str | None = None
        self.executor_name: str | None = None
        self._mergers: dict[int, SetMerger] = {}

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

    # -- the whole run ------------------------------------------------------------------------
    def run(self) -> Path:
        """Check and resolve everything, take the run folder, plan, execute, reduce."""
        cfg = self.cfg
        run_plan, resolved = self._setup()
        out = Path(cfg.out) if cfg.out else default_out_dir()
        key = config_key(cfg, run_plan, resolved, self.protocol_label, self._reference_id)
        with RunFolder(out, key, overwrite=cfg.overwrite, command=cfg.command) as folder:
            writer = RunWriter(out)
            writer.start({**self._manifest(run_plan, resolved), "config_key": key,
                          "resumed_from": folder.resumed_from})
            timings: dict[str, Any] = {}
            try:
                groups = self._groups(run_plan, resolved)
                unit_plan = plan_units(groups, {n: r.images for n, r in resolved.items()},
                                       {m.label: m for m in run_plan.methods}, self.values, seed=cfg.seed,
                                       save_images=cfg.save_images, deg_identity=self._degradation_identity,
                                       degradation_stochastic=self._deg_stochastic())
                keys = self._execute(unit_plan, self._context(run_plan, resolved, out, groups), writer, timings)
                writer.set_image_rows(self._rows(unit_plan, keys))
                for g in groups:
                    for name, val in self._set_values(g, unit_plan).items():
                        writer.add_set_value(g.method, g.dataset, g.scale, g.protocol, name, val, g.n_images)
                writer.update_manifest({"timings": timings, "metric_provenance": self.metric_prov,
                                        "executor": self.executor_name})
                rows = summarize(writer, methods_meta={m.label: m for m in run_plan.methods}, datasets=resolved,
                                 metric_versions=self.metric_versions)
                writer.finish(rows, {"metrics": {k: {"provenance": v} for k, v in self.metric_prov.items()}})
            except BaseException as exc:
                writer.update_manifest({"timings": timings, "metric_provenance": self.metric_prov,
                                        "executor": self.executor_name})
                writer.stop(exc)
                raise
        return out

    # -- plan ---------------------------------------------------------------------------------
    def _groups(self, run_plan, resolved) -> list[Group]:
        """One group per (method, scale, leg), in result order, with the keys of its set metrics."""
        groups = []
        for m in run_plan.methods:
            for scale in self.cfg.scales:
                for leg in run_plan.legs:
                    protocol = self._protocol(leg, scale)
                    g = Group(len(groups), m.label, scale, leg.spec.name, protocol,
                              image_metrics=[mi for mi in leg.metrics if mi.kind == "image"],
                              sample_metrics=[mi for mi in leg.metrics if mi.kind == "samples"],
                              set_metrics=[mi for mi in leg.metrics if mi.kind == "dataset"],
                              samples=self.cfg.samples if m.info.stochastic else 1)
                    g.set_keys = {mi.name: self._set_key(mi, m, resolved[leg.spec.name], scale, protocol)
                                  for mi in g.set_metrics}
                    groups.append(g)
        return groups

    def _set_key(self, info, m: PlannedMethod, rd, scale: int, protocol: str) -> str | None:
        """The cache key of a dataset-level value (None: a model without identity, never stored)."""
        if not m.cached:
            return None
        given = protocol == protocols.GIVEN
        return json_key({"metric": info.name, "version": info.version, **m.identity(scale),
                         "dataset": rd.pixel_manifest_sha256, "scale": scale, "protocol": protocol,
                         "degradation": None if given else self._degradation_identity(scale),
                         "seed": self.cfg.seed if m.info.stochastic else None,
                         "samples": self.cfg.samples if m.info.stochastic else 1, "metric_options": info.options,
                         "reference_set": self._reference_id if info.reference_set else None})

    def _deg_stochastic(self) -> bool:
        deg = self._degradation(self.cfg.scales[0]) if self.cfg.degradation else None
        return bool(deg is not None and deg.stochastic)

    def _context(self, run_plan, resolved, out: Path, groups) -> WorkContext:
        cfg = self.cfg
        stub = None
        if self._reference is not None:
            from dataclasses import replace

            stub = replace(self._reference, _load=[])
        return WorkContext(
            groups=groups, methods={m.label: m for m in run_plan.methods},
            refs={n: {ref.name: ref for ref in r.images} for n, r in resolved.items()},
            device=cfg.device, seed=cfg.seed, samples=cfg.samples, out=out, degradation=cfg.degradation,
            deg_options=self._deg_target.loader_options() if self._deg_target else {},
            deg_identity={s: self._degradation_identity(s) for s in cfg.scales}, deg_stochastic=self._deg_stochastic(),
            weights=cfg.weights, offline=cfg.offline, reference_stub=stub, degradations=dict(self._degs),
        )

    # -- execute ------------------------------------------------------------------------------
    def _execute(self, unit_plan, ctx: WorkContext, writer: RunWriter, timings: dict[str, Any]) -> dict[int, Any]:
        """Run the pending units; store every value as it arrives (one transaction per unit) and stream the
        rows of finished units to per_image.csv (an interrupted run keeps them). Returns unit -> keys."""
        cfg = self.cfg
        groups = unit_plan.groups
        for g in groups:
            timings[g.name] = {"sr_seconds": 0.0, "metric_seconds": 0.0, "images_computed": 0, "images_cached": 0,
                               "metric_values_computed": 0}
        pending = unit_plan.pending()
        todo = {u.index for u in pending}
        keys: dict[int, Any] = {}
        for u in unit_plan.units:
            if u.index not in todo:
                keys[u.index] = u.keys
                timings[groups[u.group].name]["images_cached"] += 1
                self._stream(writer, unit_plan, u.index, u.keys)
        first = {}
        for u in unit_plan.units:
            first.setdefault(u.group, u.index)
        self._mergers = {g.index: SetMerger({n: self._set_accumulator(g, n) for n in
                                             {p for u in pending if u.group == g.index for p in u.set_partials}})
                         for g in groups}
        bar = _progress(len(unit_plan.units), cfg.progress)
        bar.update(len(unit_plan.units) - len(pending))
        if not pending:
            bar.close()
            self.executor_name = "none (everything cached)"
            return keys
        in_process = any(m.inprocess is not None for m in ctx.methods.values())
        executor = make_executor(ctx, executor=cfg.executor, workers=cfg.workers, pending=len(pending),
                                 address=cfg.address, in_process_models=in_process,
                                 torch_work=self._torch_work(ctx, groups))
        self.executor_name = f"{executor.name} ({executor.workers} worker{'s' if executor.workers > 1 else ''})"
        try:
            for res in executor.run(execution_order(pending, groups)):
                if isinstance(res, Failure):
                    raise res.exception()
                g = groups[unit_plan.units[res.index].group]
                self.values.put_many({**res.values, **res.memos})
                unit_plan.values.update(res.values)
                keys[res.index] = res.keys
                for k, v in res.stats.items():
                    timings[g.name][k] += v
                for (label, scale), prov in res.provenance["models"].items():
                    writer.update_manifest({"methods": {label: {"provenance": {f"x{scale}": prov}}}})
                for name, prov in res.provenance["metrics"].items():
                    self.metric_prov.setdefault(name, prov)
                self._mergers[g.index].add(res.index - first[g.index], res.partials)
                self._stream(writer, unit_plan, res.index, res.keys)
                bar.set_description(f"{g.method} {g.dataset} x{g.scale} {unit_plan.units[res.index].image}"[:60])
                bar.update(1)
        finally:
            executor.close()
            bar.close()
        return keys

    def _torch_work(self, ctx: WorkContext, groups) -> bool:
        """Whether the run's work runs on torch: a learned method or degradation, or a torch metric."""
        if any(m.info.learned for m in ctx.methods.values()):
            return True
        if self.cfg.degradation is not None:
            from srbench.degradations import get_degradation

            if get_degradation(self.cfg.degradation).learned:
                return True
        return any("torch" in mi.requires for g in groups for mi in (*g.image_metrics, *g.sample_metrics, *g.set_metrics))

    def _set_accumulator(self, g: Group, name: str):
        info = next(mi for mi in g.set_metrics if mi.name == name)
        factory = registry.import_object(info.factory)
        extra = {"reference": self._reference} if info.reference_set else {}
        return factory(device=self.cfg.device, **dict(info.options), **extra)

    # -- reduce -------------------------------------------------------------------------------
    def _stream(self, writer: RunWriter, unit_plan, index: int, keys) -> None:
        u = unit_plan.units[index]
        g = unit_plan.groups[u.group]
        writer.add_image_rows(g.method, g.dataset, g.scale, g.protocol, u.image,
                              unit_rows(g, keys, unit_plan.values, self.cfg.samples, self.metric_versions))

    def _rows(self, unit_plan, keys: dict[int, Any]) -> list[tuple]:
        """Every per-image row in result order (method, scale, leg, image)."""
        out = []
        for u in unit_plan.units:
            g = unit_plan.groups[u.group]
            for metric, val, sample in unit_rows(g, keys[u.index], unit_plan.values, self.cfg.samples,
                                                 self.metric_versions):
                out.append((g.method, g.dataset, g.scale, u.image, metric, val, "" if sample is None else sample,
                            g.protocol))
        return out

    def _set_values(self, g: Group, unit_plan) -> dict[str, float]:
        """Each set metric's value: cached, or the result of its merged accumulator (then stored)."""
        out = {}
        merger = self._mergers.get(g.index)
        with metric_errors(g.method, g.dataset, None, g.scale) as current:
            for info in g.set_metrics:
                current[0] = info.name
                key = g.set_keys[info.name]
                acc = merger.accs.get(info.name) if merger else None
                if acc is None:
                    out[info.name] = float(unit_plan.values[key])
                    continue
                val = float(acc.result())
                prov = getattr(acc, "provenance", None)
                if callable(prov):
                    self.metric_prov[info.name] = prov()
                if key is not None:
                    self.values.put_many({key: val})
                out[info.name] = val
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
            m.folder_identity = m.folder_index.identity(memo=self.values)
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
            "methods": methods_manifest(methods),
            "datasets": {name: r.manifest() for name, r in resolved.items()},
            "metrics": metrics_manifest(metrics),
        }


def _aliases(title: str) -> list[str]:
    """Folder names a user may give a dataset: its title and the names in it (``B100 (BSD100)``: B100, BSD100)."""
    import re

    return sorted({title, *re.findall(r"[A-Za-z][A-Za-z0-9_-]*[0-9][A-Za-z0-9_-]*", title)})


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
