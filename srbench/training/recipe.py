"""What a training recipe is: the interface each ``methods/<name>/train.py`` implements.

A recipe states a method's paper objective and schedule (losses, optimiser, patch and batch sizes, step
counts); :mod:`srbench.training.loop` runs it. Recipes never touch files, devices, signals, seeds or
progress bars - that is the loop's job, written once.

Schedules are written for the paper's step count and scale with the run's: a learning-rate milestone at
half of the paper's steps is at half of ``--steps`` too (:meth:`Recipe.lr_factor` gets the fraction of the
stage that is done).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from srbench.method_api import PaperValue

PAIRED, UNPAIRED = "paired", "unpaired"
PRESETS = ("paper", "short")


@dataclass(frozen=True)
class Stage:
    """One stage of a recipe (e.g. CycleSR: ``g1`` then ``sr``). ``share``: its fraction of the steps (or
    minutes) of the run; ``trains``: the networks whose optimisers step in it (for the log)."""

    name: str
    share: float
    trains: tuple[str, ...]
    what: str = ""


@dataclass(frozen=True)
class Hyper:
    """A preset's numbers. ``steps``: the whole run (all stages); ``patch``: the HR crop side in pixels
    (a multiple of the scale); ``lr``: the base learning rate; ``extra``: recipe-specific values
    (loss weights ...), recorded in the provenance like the rest."""

    steps: int
    batch: int
    patch: int
    lr: float
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "batch": self.batch, "patch": self.patch, "lr": self.lr, **dict(self.extra)}


@dataclass
class Batch:
    """One step's data on the device: ``hr`` (N x 3 x P x P) and ``lr`` (N x 3 x P/s x P/s), floats in
    [0, 1]. Paired recipes: ``lr`` is made from ``hr`` by :meth:`Recipe.degrade`. Unpaired recipes:
    ``lr`` are crops of real LR images, unrelated to ``hr``."""

    hr: Any
    lr: Any


class StepContext:
    """What a recipe's :meth:`Recipe.train_step` may use: the device, mixed precision and one
    ``backward`` that zeroes, back-propagates and steps the named optimisers."""

    def __init__(self, device, optimizers: Mapping[str, Any], amp: bool):
        self.device = device
        self.optimizers = optimizers
        self.amp = bool(amp and device.type == "cuda")

    def autocast(self):
        import torch

        if not self.amp:
            return nullcontext()
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)  # bf16: no loss scaling needed

    def backward(self, loss, *optimizers: str) -> float:
        opts = [self.optimizers[n] for n in optimizers]
        for o in opts:
            o.zero_grad(set_to_none=True)
        loss.backward()
        for o in opts:
            o.step()
        return float(loss.detach())


def unwrap(net):
    """The network itself (under DDP the loop hands recipes ``DistributedDataParallel`` wrappers)."""
    return getattr(net, "module", net)


def adam(params, lr: float, betas=(0.9, 0.999), weight_decay: float = 0.0):
    """torch's Adam (L2 weight decay), the fused implementation where the device has one (the same update)."""
    import torch

    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay)


class Recipe:
    """Base class of a method's training recipe. Subclasses set the class attributes and implement
    :meth:`build`, :meth:`optimizers`, :meth:`train_step`, :meth:`super_resolve` and :meth:`export`."""

    method: str = ""  # the adapter this trains (``srbench run --methods <method>`` loads the result)
    scales: tuple[int, ...] = (4,)
    data: str = PAIRED
    stages: tuple[Stage, ...] = (Stage("train", 1.0, ()),)
    presets: Mapping[str, Hyper] = {}
    #: the recipe's paper values beside srbench's choices (``srbench list --verbose``)
    paper_vs_srbench: tuple[PaperValue, ...] = ()
    paper: str = ""  # the source of the recipe (paper + section)

    # -- data -------------------------------------------------------------------------------------
    def degrade(self, hr: np.ndarray, scale: int, rng: np.random.Generator) -> np.ndarray:
        """Paired recipes: the LR of an HR crop (uint8 HxWx3 -> uint8). Default: MATLAB bicubic."""
        from srbench.imresize import imresize

        return imresize(hr, 1.0 / scale)

    # -- model ------------------------------------------------------------------------------------
    def build(self, scale: int, hp: Hyper) -> dict[str, Any]:  # pragma: no cover - interface
        """Every network of the recipe (generators, discriminators, fixed feature nets), on the CPU."""
        raise NotImplementedError

    def optimizers(self, nets: Mapping[str, Any], hp: Hyper) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def lr_factor(self, stage: str, done: float) -> float:
        """Learning-rate multiplier when the fraction ``done`` (0..1) of ``stage`` is done. Default: 1."""
        return 1.0

    def train_step(self, stage: str, batch: Batch, nets: Mapping[str, Any], ctx: StepContext, hp: Hyper) -> dict[str, float]:  # pragma: no cover
        """One optimisation step; returns the named loss values (floats) for the log."""
        raise NotImplementedError

    def super_resolve(self, nets: Mapping[str, Any], lr):  # pragma: no cover - interface
        """Validation: the SR of an LR batch (N x 3 x h x w in [0, 1]) with the networks as trained so far."""
        raise NotImplementedError

    def export(self, nets: Mapping[str, Any], scale: int, out: Path, training: Mapping[str, Any]) -> list[Path]:  # pragma: no cover
        """Write the checkpoint files the adapter loads (``save_checkpoint`` with ``training`` in the
        config); return their paths."""
        raise NotImplementedError

    # -- derived ----------------------------------------------------------------------------------
    def hyper(self, preset: str, overrides: Mapping[str, Any] | None = None) -> Hyper:
        from srbench.errors import SrbenchError

        if preset not in self.presets:
            raise SrbenchError(f"{self.method}: no recipe preset {preset!r} (have: {', '.join(self.presets)})")
        hp = self.presets[preset]
        o = {k: v for k, v in (overrides or {}).items() if v is not None}
        if o:
            extra = {k: v for k, v in o.items() if k not in ("steps", "batch", "patch", "lr")}
            unknown = sorted(set(extra) - set(hp.extra))
            if unknown:
                raise SrbenchError(f"{self.method}: unknown recipe values {unknown} (have: {sorted(hp.extra)})")
            hp = Hyper(
                steps=int(o.get("steps", hp.steps)),
                batch=int(o.get("batch", hp.batch)),
                patch=int(o.get("patch", hp.patch)),
                lr=float(o.get("lr", hp.lr)),
                extra={**dict(hp.extra), **extra},
            )
        return hp

    def stage_steps(self, total: int) -> list[tuple[Stage, int]]:
        """The steps of each stage for a run of ``total`` steps (every stage gets at least one)."""
        shares = np.array([s.share for s in self.stages], dtype=float)
        raw = shares / shares.sum() * total
        steps = np.maximum(np.floor(raw).astype(int), 1)
        steps[-1] = max(1, total - int(steps[:-1].sum()))
        return list(zip(self.stages, (int(n) for n in steps)))
