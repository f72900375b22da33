"""The Python API: :func:`evaluate` runs an evaluation, :func:`load` reads results (``docs/api.md``).

Both return :class:`srbench.results.Results`, whose ``summary`` and ``per_image`` are pandas DataFrames.
``evaluate`` is ``srbench run`` from Python: the same planner, runner, run folder, caches and resume; and
it takes what the command line cannot - a model object of this process (``model=``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterable

from srbench.errors import SrbenchError
from srbench.results import Results, load

__all__ = ["evaluate", "load"]

#: run options evaluate() passes to srbench.plan.RunConfig as they are
_RUN_OPTIONS = ("device", "protocol", "seed", "samples", "save_images", "weights", "offline", "options",
                "degradation", "overwrite", "lr_source", "fid_ref", "log", "workers", "executor", "address")


def _names(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def _scales(scales, scale) -> list[int] | None:
    if scales is not None and scale is not None:
        raise SrbenchError("give scale= or scales=, not both")
    value = scales if scales is not None else scale
    if value is None:
        return None
    if isinstance(value, (int, str)):
        value = [value] if isinstance(value, int) else _names(value)
    try:
        out = [int(v) for v in value]
    except (TypeError, ValueError):
        raise SrbenchError(f"scales must be integers, got {value!r}") from None
    if not out or any(s < 1 for s in out):
        raise SrbenchError(f"invalid scales {value!r}")
    return out


def evaluate(
    methods: str | Iterable[str] | None = None,
    datasets: str | Iterable[str] | None = None,
    scales: int | Iterable[int] | None = None,
    metrics: str | Iterable[str] | None = None,
    *,
    model: Any = None,
    name: str | None = None,
    scale: int | None = None,
    version: str | None = None,
    rounding: str = "half_away",
    tile: int = 0,
    tile_overlap: int = 16,
    out: str | Path | None = None,
    track: str | None = None,
    progress: bool = False,
    **run_options: Any,
) -> Results:
    """Evaluate methods on datasets and return the results (the run folder is ``Results.path``).

    ``methods``: names as on the command line (``"bicubic,esrgan:psnr"``, ``"folder:outputs/@mynet"``), a
    list of them, or None when only ``model`` is evaluated. ``datasets``, ``metrics``: names or lists
    (default metrics: psnr_y, ssim_y). ``scales`` (or ``scale``): one or several (default 4). ``track``:
    a named protocol instead of datasets/scales/metrics (``srbench list tracks``).

    ``model``: a callable ``lr_uint8_rgb (HxWx3) -> sr_uint8_rgb`` or a ``torch.nn.Module`` taking NCHW float
    RGB in [0, 1] (srbench converts, tiles with ``tile``/``tile_overlap``, and rounds with ``rounding``), named
    ``name``. Its identity for caching is ``version`` when given, else the hash of the module's state dict; a
    bare callable without ``version`` has none, so nothing it produces is cached under its name (its metric
    values are keyed by the SR pixels themselves) - pass ``version="..."`` to cache it.

    ``out``: the run folder (default ``runs/<timestamp>``); the same call again resumes it, a different one
    into the same folder is refused unless ``overwrite=True``. Other ``run_options`` are those of
    ``srbench run`` (:class:`srbench.plan.RunConfig`): ``device``, ``protocol``, ``seed``, ``samples``,
    ``save_images``, ``weights``, ``offline``, ``options``, ``degradation``, ``overwrite``, ``lr_source``,
    ``fid_ref``, ``log``, ``workers`` (default 1: this process; None: automatic; in-process models always
    run here), ``executor`` (``"local"`` or ``"ray"``) and ``address`` (a Ray cluster).
    """
    from srbench.plan import RunConfig
    from srbench.runner import run

    unknown = sorted(set(run_options) - set(_RUN_OPTIONS))
    if unknown:
        raise SrbenchError(f"evaluate() got unknown option(s) {', '.join(unknown)}; run options are: "
                           f"{', '.join(_RUN_OPTIONS)}")
    scale_list = _scales(scales, scale)
    if model is not None and not name:
        raise SrbenchError("evaluate(model=...) needs name=: the method label in the results")
    if model is None and (name is not None or version is not None):
        raise SrbenchError("name= and version= describe model=, which was not given")
    method_names = _names(methods)
    if not method_names and model is None:
        raise SrbenchError("nothing to evaluate: give methods= and/or model=")
    cfg = RunConfig(methods=method_names, datasets=_names(datasets), scales=scale_list or [4],
                    metrics=_names(metrics) or None, out=Path(out) if out is not None else None,
                    progress=progress and sys.stderr.isatty(),
                    command=["srbench.evaluate", *map(repr, [method_names, _names(datasets), scale_list])],
                    **run_options)
    if track is not None:
        from srbench.tracks import apply_track

        given = [k for k, v in (("datasets", datasets), ("scales", scales or scale), ("metrics", metrics),
                                ("protocol", run_options.get("protocol")), ("samples", run_options.get("samples")))
                 if v is not None]
        if given:
            raise SrbenchError(f"track={track!r} sets the datasets, scale, metrics, protocol and samples; "
                               f"do not also give {', '.join(given)}")
        apply_track(cfg, track)
    elif not cfg.datasets:
        raise SrbenchError("give datasets= (e.g. 'set5,urban100') or track=")
    if model is not None:
        from srbench.inprocess import in_process_method

        cfg.models.append(in_process_method(model, name, cfg.scales, version, rounding=rounding, tile=tile,
                                            tile_overlap=tile_overlap))
    return load(run(cfg))
