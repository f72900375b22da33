"""What a run will do, checked before anything is loaded or computed: :class:`RunConfig` -> :class:`RunPlan`.

A run evaluates methods x scales x *legs*. A leg is one dataset with the protocol and the metrics it is
scored with. ``srbench run --datasets a,b --protocol P --metrics M`` gives one leg per dataset with the
same P and M; a track (:mod:`srbench.tracks`) can give each dataset its own (the classic bicubic table
scores Set14 with MATLAB's SSIM and Urban100 under the rgb protocol). Where a dataset gives its own LR at
a scale, that leg's protocol is ``given`` (:mod:`srbench.protocols`).

Every name (method, variant, dataset, metric, degradation, track), scale, protocol and option is checked
here, so a typo fails before any weight file is opened.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from srbench import datasets as ds_mod
from srbench import protocols, registry
from srbench.conventions import DEFAULT_SEED
from srbench.errors import MissingDependencyError, OutputDirError, SrbenchError
from srbench.hashing import json_key
from srbench.options import Target, assign
from srbench.options import label as option_label

#: auto: a dataset's own LR where it gives one (protocol ``given``), else made from HR; made: always from HR
LR_SOURCES = ("auto", "made")


@dataclass(frozen=True)
class Leg:
    """One dataset of a run, with the protocol (for made LR) and the metrics it is scored with."""

    dataset: str
    protocol: str = "rgb"
    metrics: tuple[str, ...] | None = None  # None: the run's metrics


@dataclass
class RunConfig:
    methods: list[str]
    datasets: list[str] = field(default_factory=list)
    scales: list[int] = field(default_factory=lambda: [4])
    metrics: list[str] | None = None
    out: Path | None = None
    device: str = "cpu"
    protocol: str = "rgb"
    seed: int = DEFAULT_SEED
    samples: int = 1
    save_images: bool = False
    weights: dict[str, str] = field(default_factory=dict)
    offline: bool | None = None
    options: dict[str, Any] = field(default_factory=dict)
    progress: bool = True
    command: list[str] = field(default_factory=list)
    degradation: str | None = None  # how LR is made (default: MATLAB bicubic of the protocol)
    overwrite: bool = False  # replace a different run found in ``out`` (else that is an error)
    lr_source: str = "auto"  # see LR_SOURCES
    log: Callable[[str], None] | None = None  # where to say which weight files were taken from where
    legs: list[Leg] | None = None  # per-dataset protocol/metrics (a track); None: one leg per dataset
    track: str | None = None  # the track these legs come from (recorded in the manifest)
    fid_ref: str | None = None  # reference image set of fid_ref: a dataset name or a folder
    models: list[Any] = field(default_factory=list)  # in-process models (srbench.inprocess.InProcessMethod)
    workers: int | None = 1  # worker processes (None: automatic, srbench.executors.auto_workers)
    executor: str = "local"  # local (this process / worker processes) | ray
    address: str | None = None  # --executor ray: an existing cluster (auto | HOST:PORT); None: a local Ray


@dataclass
class PlannedMethod:
    spec: str  # as given, e.g. "esrgan:psnr"
    info: Any
    variant: str | None
    target: Target | None = None  # its options (srbench.options)
    weights: dict[int, dict[str, Any]] = field(default_factory=dict)  # scale -> file name -> ResolvedWeight
    models: dict[int, Any] = field(default_factory=dict)
    folder: Any = None  # srbench.sr_folder.FolderSpec: SR images read from a folder (folder:PATH[@label])
    folder_index: Any = None  # its srbench.sr_folder.FolderIndex, once the datasets are resolved
    folder_identity: str | None = None  # sha256 of the folder's decoded pixels (FolderIndex.identity)
    inprocess: Any = None  # srbench.inprocess.InProcessMethod: a model object of this process

    @property
    def cached(self) -> bool:
        """Whether SR images may be cached under the method's identity (an in-process model without a version
        string or state dict has none: its images are computed every time, metric values keyed by pixels)."""
        return self.inprocess is None or self.inprocess.identity() is not None

    @property
    def base_label(self) -> str:
        return self.info.name if not self.variant or self.variant == self.info.default_variant else f"{self.info.name}:{self.variant}"

    @property
    def label(self) -> str:
        """``dsrvae``, ``esrgan:psnr``, ``dsrvae[latent=zero]``: variant and identity options included."""
        return option_label(self.base_label, self.target.identity() if self.target else {})

    @property
    def options(self) -> dict[str, Any]:
        """What the loader gets: the given options (parsed) plus the declared defaults."""
        return self.target.loader_options() if self.target else {}

    def weights_sha(self, scale: int) -> str:
        """The summary's ``weights_sha256``: of the checkpoint files; of the pixels for a folder; of the state
        dict for an in-process module (empty where there is none)."""
        if self.folder is not None:
            return self.folder_identity or ""
        if self.inprocess is not None:
            text = self.inprocess.identity_text or ""
            return text.partition(":")[2] if text.startswith("state_dict:") else ""
        files = self.weights.get(scale, {})
        return ";".join(files[k].sha256 for k in sorted(files))

    def identity(self, scale: int) -> dict[str, Any]:
        out = {
            "method": self.info.name,
            "variant": self.variant,
            "adapter_version": self.info.adapter_version,
            "weights": self.weights_sha(scale),
            "options": self.target.identity_key() if self.target else {},
        }
        if self.folder is not None:
            out["folder_pixels"] = self.folder_identity
        if self.inprocess is not None:
            out["inprocess"] = self.inprocess.identity()
        return out


@dataclass
class PlannedLeg:
    spec: Any  # DatasetSpec
    protocol: str  # rgb | luma: how LR is made where the dataset gives none
    metrics: list[Any]  # MetricInfo, in column order


@dataclass
class RunPlan:
    methods: list[PlannedMethod]
    legs: list[PlannedLeg]
    metrics: list[Any]  # the union of the legs' metrics, in order
    deg_target: Target | None


def default_metrics() -> list[str]:
    """The metrics computed when --metrics is not given (psnr_y, ssim_y)."""
    return [n for n, m in registry.metrics().items() if m.default]


def default_out_dir() -> Path:
    return Path("runs") / time.strftime("%Y%m%d-%H%M%S")


def _check_metric_available(info) -> None:
    missing = info.missing_requirements()
    if missing:
        extra = f" (pip install 'srbench[{info.extra}]')" if info.extra else ""
        raise MissingDependencyError(
            f"metric {info.name!r} needs the Python package(s) {', '.join(missing)}{extra}"
        )


def lr_is_given(cfg: RunConfig, spec, scale: int) -> bool:
    """Whether the method gets the dataset's own LR at ``scale`` (protocol ``given``)."""
    return spec.given_lr(scale) is not None and (cfg.lr_source == "auto" or not spec.hr)


def plan(cfg: RunConfig) -> RunPlan:
    """Check the configuration; the plan of the run (nothing loaded, nothing computed)."""
    if cfg.protocol not in protocols.PROTOCOLS:
        raise SrbenchError(f"unknown protocol {cfg.protocol!r}; choose from {', '.join(protocols.PROTOCOLS)}")
    if cfg.samples < 1:
        raise SrbenchError("--samples must be at least 1")
    if cfg.lr_source not in LR_SOURCES:
        raise SrbenchError(f"unknown LR source {cfg.lr_source!r}; choose from {', '.join(LR_SOURCES)}")
    legs = _legs(cfg)
    methods = _methods(cfg, legs)
    deg_target = _degradation_target(cfg, legs)
    assign(cfg.options, [m.target for m in methods] + ([deg_target] if deg_target else []))
    labels = [m.label for m in methods]
    twice = sorted({lab for lab in labels if labels.count(lab) > 1})
    if twice:
        raise SrbenchError(f"method {', '.join(twice)} is named twice in --methods; each method label must be unique")
    union: list[Any] = []
    for leg in legs:
        for m in leg.metrics:
            if m.name not in [u.name for u in union]:
                union.append(m)
    for leg in legs:
        _check_leg(cfg, leg)
    _check_reference_set(cfg, union)
    return RunPlan(methods, legs, union, deg_target)


def _legs(cfg: RunConfig) -> list[PlannedLeg]:
    legs = cfg.legs if cfg.legs is not None else [Leg(d, cfg.protocol, None) for d in cfg.datasets]
    if not legs:
        raise SrbenchError("no datasets: give --datasets (or --track)")
    out = []
    for leg in legs:
        spec = ds_mod.get_spec(leg.dataset)
        if spec.use != "test":
            raise SrbenchError(f"dataset {spec.name!r} is a training set (datasets.yaml use: {spec.use}): "
                               "srbench run scores test sets; train on it with srbench train --data")
        if leg.protocol not in protocols.PROTOCOLS:
            raise SrbenchError(f"unknown protocol {leg.protocol!r} for dataset {spec.name!r}")
        for s in cfg.scales:
            if s not in spec.scales:
                raise SrbenchError(f"dataset {spec.name!r} is declared for scales {list(spec.scales)}, not x{s}")
        names = list(leg.metrics) if leg.metrics is not None else (cfg.metrics or default_metrics())
        if cfg.samples > 1 and leg.metrics is None and cfg.metrics is None and "diversity" in registry.metrics():
            names = names + ["diversity"]
        metrics = [registry.get_metric(n) for n in names]
        for m in metrics:
            _check_metric_available(m)
            wrong = [s for s in cfg.scales if m.scales is not None and s not in m.scales]
            if wrong:
                raise SrbenchError(f"metric {m.name} is defined for x{', x'.join(map(str, m.scales))} only "
                                   f"(its challenge's convention), not x{wrong[0]}")
        out.append(PlannedLeg(spec, leg.protocol, metrics))
    return out


def _methods(cfg: RunConfig, legs: list[PlannedLeg]) -> list[PlannedMethod]:
    from srbench.sr_folder import parse_folder_method

    methods = []
    for spec in cfg.methods:
        folder = parse_folder_method(spec)
        if folder is not None:
            methods.append(_external(cfg, legs, spec, folder_info(folder.label, cfg), folder=folder))
            continue
        info, variant = registry.get_method(spec)
        for s in cfg.scales:
            if s not in info.scales:
                raise SrbenchError(f"method {info.name!r} supports scales {list(info.scales)}, not x{s}")
        for leg in legs:
            made = [s for s in cfg.scales if not lr_is_given(cfg, leg.spec, s)]
            if made and leg.protocol not in info.protocols:
                raise SrbenchError(
                    f"method {info.name!r} does not support the {leg.protocol!r} protocol "
                    f"(supports: {', '.join(info.protocols)})" + (f"; needed for dataset {leg.spec.name!r}" if cfg.legs else "")
                )
        m = PlannedMethod(spec, info, variant)
        m.target = Target("method", info.name, m.base_label, info.options)
        methods.append(m)
    for model in cfg.models:
        methods.append(_external(cfg, legs, model.label, model.info, inprocess=model))
    return methods


def folder_info(label: str, cfg: RunConfig):
    """The :class:`MethodInfo` of a folder of SR images (``folder:PATH[@label]``)."""
    from srbench.method_api import MethodInfo

    return MethodInfo(
        name=label, title=label, paper="SR images read from a folder (srbench run --methods folder:PATH)",
        learned=False, scales=tuple(cfg.scales), stochastic=cfg.samples > 1, protocols=("rgb",),
        adapter_version="folder-1",
        notes="Scored as they are; the folder's decoded pixels are the method's identity (weights_sha256).",
    )


def _external(cfg: RunConfig, legs: list[PlannedLeg], spec: str, info, **source) -> PlannedMethod:
    """A method that is not an adapter: a folder of SR images or an in-process model."""
    kind = "folder" if "folder" in source else "in-process model"
    if info.name in registry.methods():
        hint = "folder:PATH@LABEL" if kind == "folder" else "name="
        raise SrbenchError(f"{kind} {info.name!r} has the name of a registered method; give it another label ({hint})")
    wrong = [s for s in cfg.scales if s not in info.scales]
    if wrong:
        raise SrbenchError(f"{kind} {info.name!r} is for x{', x'.join(map(str, info.scales))}, not x{wrong[0]}")
    for leg in legs:
        if leg.protocol != "rgb" and any(not lr_is_given(cfg, leg.spec, s) for s in cfg.scales):
            raise SrbenchError(f"{kind} {info.name!r}: the {leg.protocol!r} protocol feeds methods float Y planes; "
                               "a folder or a model object is scored under the rgb protocol only")
    m = PlannedMethod(spec, info, None, **source)
    m.target = Target("method", info.name, info.name, ())
    return m


def _degradation_target(cfg: RunConfig, legs: list[PlannedLeg]) -> Target | None:
    if cfg.degradation is None:
        return None
    from srbench.degradations import get_degradation

    if any(leg.protocol != "rgb" for leg in legs):
        raise SrbenchError("--degradation works with the rgb protocol only")
    dinfo = get_degradation(cfg.degradation)
    for s in cfg.scales:
        if s not in dinfo.scales:
            raise SrbenchError(f"degradation {dinfo.name!r} supports scales {list(dinfo.scales)}, not x{s}")
    return Target("degradation", dinfo.name, cfg.degradation, dinfo.options)


def _check_leg(cfg: RunConfig, leg: PlannedLeg) -> None:
    """Protocol x metrics x what the dataset gives."""
    d = leg.spec
    given = [s for s in cfg.scales if lr_is_given(cfg, d, s)]
    made = [s for s in cfg.scales if s not in given]
    if not d.hr:
        if cfg.lr_source == "made":
            raise SrbenchError(f"dataset {d.name!r} has no HR to make LR from (--lr-source made)")
        if made:
            raise SrbenchError(f"dataset {d.name!r} gives no LR at x{made[0]} and has no HR to make one from")
        fr = [m.name for m in leg.metrics if m.full_reference]
        if fr:
            nr = sorted(n for n, m in registry.metrics().items() if not m.full_reference and m.kind == "image")
            raise SrbenchError(
                f"dataset {d.name} has no HR; full-reference metrics {', '.join(fr)} cannot run; use {', '.join(nr)}"
                + (" (or fid_ref with --fid-ref)" if "fid_ref" in registry.metrics() else "")
            )
    if given and leg.protocol != "rgb":
        raise SrbenchError(
            f"dataset {d.name!r} gives its own LR at x{given[0]}, and the {leg.protocol!r} protocol makes LR "
            "from HR; use --protocol rgb, or --lr-source made to make the LR from its HR"
        )
    if made:
        wrong = [m.name for m in leg.metrics if leg.protocol not in m.protocols]
        if wrong:
            ok = sorted(n for n, m in registry.metrics().items() if leg.protocol in m.protocols)
            raise SrbenchError(
                f"metric(s) {', '.join(wrong)} are not defined under the {leg.protocol!r} protocol: it scores "
                f"single-channel Y planes, and a grey-image {wrong[0]} is not the {wrong[0]} papers report. Use "
                f"--protocol rgb for them; under {leg.protocol!r} use: {', '.join(ok)}"
            )


def _check_reference_set(cfg: RunConfig, metrics) -> None:
    needs = [m.name for m in metrics if getattr(m, "reference_set", False)]
    if needs and not cfg.fid_ref:
        raise SrbenchError(f"metric {needs[0]} compares the SR set with a reference image set: name it with "
                           "--fid-ref DATASET or --fid-ref FOLDER")
    if cfg.fid_ref and not needs:
        raise SrbenchError("--fid-ref names the reference set of fid_ref, which this run does not compute "
                           "(add --metrics ...,fid_ref)")


def preflight_metric_weights(metrics) -> None:
    """Every weight file of every requested metric is present (or downloaded now): a missing one fails
    here, before any SR image is computed. Cheap: no model is loaded."""
    from srbench.metrics.weights_cache import resolve

    for info in metrics:
        for weight in info.weights:
            resolve(weight, info.name)


def prepare_report_dir(report: Path | None) -> None:
    """An unwritable ``--report`` folder fails before the run, not after it."""
    if report is None:
        return
    from srbench.fsutil import ensure_writable

    try:
        ensure_writable(report)
    except OSError as exc:
        raise OutputDirError(f"cannot write the report to {report}: {exc.strerror or exc}; choose another --report folder") from exc


def config_key(cfg: RunConfig, run_plan: RunPlan, resolved, protocol_label: str, reference: str | None) -> str:
    """What makes two runs "the same command" for resuming a run folder (srbench.run_folder)."""
    return json_key({
        "methods": [{"label": m.label, **{f"x{s}": m.identity(s) for s in cfg.scales}} for m in run_plan.methods],
        "legs": [{"dataset": leg.spec.name, "protocol": leg.protocol, "metrics": [mi.name for mi in leg.metrics],
                  "pixels": resolved[leg.spec.name].pixel_manifest_sha256} for leg in run_plan.legs],
        "scales": list(cfg.scales),
        "protocol": protocol_label,
        "lr_source": cfg.lr_source,
        "seed": cfg.seed,
        "samples": cfg.samples,
        "fid_ref": reference,
        "track": cfg.track,
    })
