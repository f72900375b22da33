"""The one training loop every recipe runs in (``srbench train``, :func:`srbench.train`).

What it does, so that no recipe has to:

* **data**: :class:`~srbench.training.data.PatchSampler` batches (random crops, flips/rotations), the
  next step's batch prepared in a background thread;
* **seeds**: the networks are initialised from ``seed``; the data of step ``k`` depends on
  ``(seed, k, rank)`` only; the torch RNG state is saved with every checkpoint;
* **checkpoints** of the whole training state (networks, optimisers, RNG, step, logs) every
  ``checkpoint_every`` steps, on Ctrl-C / SIGTERM and at the end, atomically, in ``<out>/train_state.pt``
  (``torch.load(weights_only=True)`` reads it back); ``resume=True`` continues *exactly*: N steps
  straight and N/2 + resume give the same weights on the CPU;
* **validation**: PSNR-Y (srbench's convention, :mod:`srbench.metrics.fidelity`) of the SR of held-out
  images every ``val_every`` steps and at the end, beside bicubic on the same images;
* **mixed precision** (bf16 autocast) on CUDA, a **progress bar** with the losses and it/s, and
  multi-GPU through torch's own DDP when started by ``torchrun`` (one process per GPU; the batch is
  split between them; rank 0 writes every file);
* **output**: the recipe's checkpoint files (safetensors + JSON config, ``docs/checkpoints.md``) with the
  provenance in their ``training`` config, and ``provenance.json`` beside them.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from srbench.errors import SrbenchError
from srbench.training.data import (
    ImageStore,
    PatchSampler,
    TrainingDataError,
    ValidationImage,
    resolve_sources,
    split_validation,
    to_batch_tensor,
    validation_set,
)
from srbench.training.recipe import PAIRED, UNPAIRED, Batch, Recipe, StepContext

STATE_FILE = "train_state.pt"
PROVENANCE_FILE = "provenance.json"
LOG_FILE = "train_log.jsonl"
VALIDATION_FILE = "validation.jsonl"


class TrainingError(SrbenchError):
    """Training cannot go on (non-finite loss, a state that does not match the run ...)."""


class TrainingInterrupted(SrbenchError):
    """Ctrl-C / SIGTERM: the state was saved; ``resume=True`` continues."""


@dataclass
class TrainConfig:
    method: str  # METHOD[:VARIANT]
    data: str  # --data: DATASET[,...] or folder:PATH
    scale: int = 4
    recipe: str = "paper"  # preset: "paper" or "short"
    steps: int | None = None  # the whole run (all stages); default: the preset's
    minutes: float | None = None  # a time budget instead of a step count (stages share it)
    device: str | None = None  # cuda / cpu / None = cuda when there is one
    out: Path | None = None  # default: ./train-<method>-x<scale>
    resume: bool = False
    seed: int = 0
    lr_data: str | None = None  # unpaired recipes: the real LR images
    val_images: int | None = None  # held-out images (default 4; CIFAR-10: 256 of its test batch; --val-data: all)
    val_data: str | None = None  # validate on this declared dataset (its given LR where it has one) instead
    val_every: int | None = None  # steps (default: a tenth of the run)
    checkpoint_every: int | None = None  # steps (default: a twentieth of the run, at most 1000)
    amp: bool = True
    force: bool = False  # allow test sets as training data
    overrides: dict[str, Any] = field(default_factory=dict)  # batch / patch / lr / recipe extras
    progress: bool = True
    pause_after: int | None = None  # save the state and return after this many steps of this call (time-sliced jobs)


@dataclass
class TrainResult:
    out: Path
    files: list[Path]  # the checkpoint files ([] when paused)
    provenance: dict[str, Any]
    validation: list[dict[str, Any]]
    finished: bool = True  # False: paused (pause_after); continue with resume=True


# -- helpers --------------------------------------------------------------------------------------

def load_recipe(method: str) -> Recipe:
    """The recipe object of ``METHOD[:VARIANT]`` (``MethodInfo.training_recipe``)."""
    from srbench import registry

    info, variant = registry.get_method(method)
    if not info.training_recipe:
        trainable = sorted(n for n, i in registry.methods().items() if i.training_recipe)
        raise SrbenchError(f"method {info.name!r} has no training recipe (srbench trains: {', '.join(trainable)})")
    return registry.import_object(info.training_recipe)(variant=variant)


def _commit() -> str | None:
    import subprocess

    here = Path(__file__).resolve().parents[2]
    if not (here / ".git").exists():
        return None
    try:
        r = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if r.returncode:
        return None
    return r.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


@dataclass
class _Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _dist_init(device_arg: str | None) -> tuple[_Dist, Any]:
    import torch

    from srbench.torch_utils import pick_device

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist(), pick_device(device_arg)
    import torch.distributed as dist

    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device_arg != "cpu"
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    if use_cuda:
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    return _Dist(dist.get_rank(), dist.get_world_size(), local), device


def _max(d: _Dist, value: float) -> float:
    """The largest ``value`` over the ranks (decisions and clocks must agree under DDP)."""
    if d.world == 1:
        return value
    import torch
    import torch.distributed as dist

    t = torch.tensor([float(value)], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t.item())


def _any(d: _Dist, flag: bool) -> bool:
    """True on every rank when it is true on any (stop decisions must agree under DDP)."""
    return _max(d, 1.0 if flag else 0.0) > 0


def _trainable(m) -> bool:
    return any(p.requires_grad for p in m.parameters())


def _psnr_y(sr: np.ndarray, hr: np.ndarray, scale: int) -> float:
    from srbench.metrics.base import MetricContext
    from srbench.metrics.fidelity import psnr_y

    return float(psnr_y()(sr, hr, MetricContext(scale=scale)))


def _atomic_torch_save(obj, path: Path) -> None:
    import torch

    tmp = path.with_name(path.name + ".part")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _append_jsonl(path: Path, row: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")


def _truncate_jsonl(path: Path, last_step: int) -> None:
    """Drop log rows after ``last_step`` (written after the checkpoint a resumed run starts from)."""
    if not path.is_file():
        return
    keep = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and json.loads(ln)["step"] <= last_step]
    path.write_text("".join(ln + "\n" for ln in keep), encoding="utf-8")


# -- the loop -------------------------------------------------------------------------------------

class Trainer:
    """Set up (``__init__``), run (:meth:`run`), and write the result (:meth:`finish`)."""

    def __init__(self, cfg: TrainConfig):
        import torch

        self.cfg = cfg
        self.recipe = load_recipe(cfg.method)
        r = self.recipe
        if cfg.scale not in r.scales:
            raise SrbenchError(f"{r.method}: the recipe trains x{', x'.join(map(str, r.scales))}, not x{cfg.scale}")
        if cfg.steps is not None and cfg.minutes is not None:
            raise SrbenchError("give --steps or --minutes, not both")
        self.hp = r.hyper(cfg.recipe, {**cfg.overrides, "steps": cfg.steps})
        self.dist, self.device = _dist_init(cfg.device)
        if self.hp.batch % self.dist.world:
            raise SrbenchError(f"batch {self.hp.batch} does not split over {self.dist.world} processes")
        self.out = Path(cfg.out or f"train-{r.method}-x{cfg.scale}").expanduser()

        sources = resolve_sources(cfg.data, "hr", cfg.scale, cfg.force)
        if cfg.val_data:
            train_imgs = [im for s in sources for im in s.images]
            self.val_imgs = validation_set(cfg.val_data, cfg.scale, cfg.val_images)
        else:
            n_val = cfg.val_images if cfg.val_images is not None else (256 if any(s.validation for s in sources) else 4)
            train_imgs, held_out = split_validation(sources, n_val)
            self.val_imgs = [ValidationImage(im.name, im.load) for im in held_out]
        self.sources = sources
        self.lr_sources = []
        if r.data == UNPAIRED:
            if not cfg.lr_data:
                raise TrainingDataError(f"{r.method} trains on unpaired data: give the real LR images with --lr-data")
            self.lr_sources = resolve_sources(cfg.lr_data, "lr", cfg.scale, cfg.force)
        elif cfg.lr_data:
            raise TrainingDataError(f"{r.method} trains on paired data made from --data; --lr-data is not used")
        self.hr_store = ImageStore(train_imgs)
        lr_store = ImageStore([im for s in self.lr_sources for im in s.images]) if self.lr_sources else None
        self.sampler = PatchSampler(
            self.hr_store, cfg.scale, self.hp.patch, self.hp.batch // self.dist.world, cfg.seed, self.dist.rank,
            degrade=r.degrade if r.data == PAIRED else None, lr=lr_store,
        )
        self.sampler.arrays(0)  # fail now, not after the networks are built, on a too-small image

        self.minutes = cfg.minutes
        self.plan = [(s.name, n) for s, n in r.stage_steps(self.hp.steps)]
        self.total = sum(n for _, n in self.plan) if self.minutes is None else None
        self.val_every = cfg.val_every or max(1, (self.total or 1000) // 10)
        self.checkpoint_every = cfg.checkpoint_every or max(1, min(1000, (self.total or 20000) // 20))
        self.identity = {
            "method": cfg.method, "scale": cfg.scale, "preset": cfg.recipe, "hyper": self.hp.as_dict(),
            "seed": cfg.seed, "world": self.dist.world, "plan": self.plan if self.minutes is None else None,
            "minutes": self.minutes,
            "data": [s.describe() for s in sources], "lr_data": [s.describe() for s in self.lr_sources],
            "validation_images": [im.name for im in self.val_imgs], "val_data": cfg.val_data,
        }

        torch.manual_seed(cfg.seed)
        self.nets = {k: v.to(self.device) for k, v in r.build(cfg.scale, self.hp).items()}
        self.opts = r.optimizers(self.nets, self.hp)
        self.base_lr = {k: [g["lr"] for g in o.param_groups] for k, o in self.opts.items()}
        self.fwd = self._wrap(self.nets)
        self.ctx = StepContext(self.device, self.opts, cfg.amp)
        self.step = 0  # steps done
        self.stage_seconds = {name: 0.0 for name, _ in self.plan}
        self.stage_done = {name: 0 for name, _ in self.plan}
        self.wall = 0.0
        self.validation: list[dict[str, Any]] = []
        self._stop_signal: int | None = None
        self._bicubic = None
        self._prepare_out()

    # -- set-up ---------------------------------------------------------------------------------
    def _wrap(self, nets):
        if self.dist.world == 1:
            return dict(nets)
        from torch.nn.parallel import DistributedDataParallel as DDP

        out = {}
        for k, m in nets.items():
            trainable = _trainable(m)
            ids = [self.device.index] if self.device.type == "cuda" else None
            out[k] = DDP(m, device_ids=ids, find_unused_parameters=True, broadcast_buffers=False) if trainable else m
        return out

    def _prepare_out(self) -> None:
        state = self.out / STATE_FILE
        if self.cfg.resume:
            if not state.is_file():
                raise TrainingError(f"--resume: {state} does not exist (nothing to resume in {self.out})")
            self._load_state(state)
        elif state.is_file() or (self.out / PROVENANCE_FILE).is_file():
            raise TrainingError(f"{self.out} already holds a training run: pass --resume to continue it, or another --out")
        if self.dist.main:
            self.out.mkdir(parents=True, exist_ok=True)
            if not self.cfg.resume:
                for f in (LOG_FILE, VALIDATION_FILE):
                    (self.out / f).unlink(missing_ok=True)

    def _load_state(self, path: Path) -> None:
        import torch

        from srbench.safe_load import torch_load_safe

        st = torch_load_safe(path, "training state", f"delete {path} and start the run again without --resume")
        saved = st["identity"]
        diff = sorted(k for k in set(saved) | set(self.identity) if saved.get(k) != self.identity.get(k))
        if diff:
            parts = "; ".join(f"{k}: saved {saved.get(k)!r}, now {self.identity.get(k)!r}" for k in diff)
            raise TrainingError(f"{path} was written by another run configuration ({parts}); resume with the same options")
        if st.get("finished"):
            raise TrainingError(f"{path}: this run is finished (its checkpoint files are in {self.out})")
        for k, m in self.nets.items():
            if _trainable(m):
                m.load_state_dict(st["nets"][k], strict=True)
        for k, o in self.opts.items():
            o.load_state_dict(st["opts"][k])
        torch.set_rng_state(st["rng"])
        if self.device.type == "cuda" and st.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(st["rng_cuda"], self.device)
        self.step = int(st["step"])
        self.stage_seconds = {k: float(v) for k, v in st["stage_seconds"].items()}
        self.stage_done = {k: int(v) for k, v in st["stage_done"].items()}
        self.wall = float(st["wall"])
        self.validation = list(st["validation"])
        _truncate_jsonl(self.out / LOG_FILE, self.step)
        _truncate_jsonl(self.out / VALIDATION_FILE, self.step)

    def _save_state(self, finished: bool = False) -> None:
        import torch

        if not self.dist.main:
            return
        st = {
            "identity": self.identity, "finished": finished, "step": self.step,
            "nets": {k: m.state_dict() for k, m in self.nets.items() if _trainable(m)},  # frozen nets: from their files
            "opts": {k: o.state_dict() for k, o in self.opts.items()},
            "rng": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None,
            "stage_seconds": self.stage_seconds, "stage_done": self.stage_done, "wall": self.wall,
            "validation": self.validation,
        }
        _atomic_torch_save(st, self.out / STATE_FILE)

    # -- running --------------------------------------------------------------------------------
    def _stage_at(self) -> tuple[str, float, bool]:
        """(stage, fraction of it done, is this its last step) for the next step; ("", 1, True) at the end."""
        if self.minutes is None:
            start = 0
            for name, n in self.plan:
                if self.step < start + n:
                    done = self.step - start
                    return name, done / n, done == n - 1
                start += n
            return "", 1.0, True
        budget = self.minutes * 60.0
        total_share = sum(x.share for x in self.recipe.stages)
        for s in self.recipe.stages:
            t = budget * s.share / total_share
            if self.stage_seconds[s.name] < t:
                return s.name, self.stage_seconds[s.name] / t, False
        return "", 1.0, True

    def _set_lr(self, stage: str, done: float) -> float:
        f = float(self.recipe.lr_factor(stage, done))
        for k, o in self.opts.items():
            for g, base in zip(o.param_groups, self.base_lr[k]):
                g["lr"] = base * f
        return f

    def _on_signal(self, signum, frame):
        self._stop_signal = signum

    def run(self) -> TrainResult:
        cfg = self.cfg
        old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        in_main = __import__("threading").current_thread() is __import__("threading").main_thread()
        if in_main:
            for s in old:
                signal.signal(s, self._on_signal)
        bar = None
        if cfg.progress and self.dist.main:
            from tqdm import tqdm

            bar = tqdm(total=self.total, initial=self.step, unit="step", dynamic_ncols=True, desc=self.recipe.method)
        pool = ThreadPoolExecutor(max_workers=1)
        try:
            nxt = pool.submit(self.sampler.arrays, self.step)
            last_saved = first = self.step
            while True:
                stage, done, last_of_stage = self._stage_at()
                if not stage:
                    break
                if cfg.pause_after is not None and self.step - first >= cfg.pause_after:
                    self._save_state()
                    return TrainResult(self.out, [], self.provenance(), list(self.validation), finished=False)
                if _any(self.dist, self._stop_signal is not None):
                    self._save_state()
                    raise TrainingInterrupted(
                        f"interrupted after step {self.step}: the training state is saved in {self.out / STATE_FILE}; "
                        f"continue with the same command and --resume"
                    )
                hr, lr = nxt.result()
                nxt = pool.submit(self.sampler.arrays, self.step + 1)
                t0 = time.perf_counter()
                factor = self._set_lr(stage, done)
                for m in self.nets.values():
                    m.train(_trainable(m))  # frozen feature nets (VGG) stay in eval mode
                batch = Batch(hr=to_batch_tensor(hr, self.device), lr=to_batch_tensor(lr, self.device))
                losses = self.recipe.train_step(stage, batch, self.fwd, self.ctx, self.hp)
                bad = [k for k, v in losses.items() if not math.isfinite(float(v))]
                if _any(self.dist, bool(bad)):  # every rank stops, not only the one that saw it
                    raise TrainingError(
                        f"step {self.step + 1} ({stage}): loss {', '.join(bad) or '(on another rank)'} is not finite; "
                        f"the last saved state "
                        f"(step {last_saved}) is in {self.out}; lower the learning rate (--set lr=...) and resume"
                    )
                dt = time.perf_counter() - t0
                if self.minutes is not None:
                    dt = _max(self.dist, dt)  # one clock for all ranks: a time budget ends a stage everywhere at once
                self.step += 1
                self.wall += dt
                self.stage_seconds[stage] += dt
                self.stage_done[stage] += 1
                if self.minutes is not None:
                    # every rank must leave a stage at the same step
                    last_of_stage = _any(self.dist, self._stage_at()[0] != stage)
                if self.dist.main:
                    _append_jsonl(self.out / LOG_FILE, {"step": self.step, "stage": stage, "lr_factor": factor,
                                                         "seconds": round(dt, 6), **{k: float(v) for k, v in losses.items()}})
                if bar is not None:
                    bar.set_postfix({"stage": stage, **{k: f"{float(v):.4g}" for k, v in losses.items()}}, refresh=False)
                    bar.update(1)
                if self.step % self.val_every == 0 or last_of_stage:
                    self._validate(stage)
                if (self.step % self.checkpoint_every == 0 or last_of_stage) and self._stage_at()[0]:
                    self._save_state()  # (after the last step finish() saves the finished state)
                    last_saved = self.step
        finally:
            pool.shutdown(wait=True)
            if bar is not None:
                bar.close()
            if in_main:
                for s, h in old.items():
                    signal.signal(s, h)
        return self.finish()

    # -- validation -----------------------------------------------------------------------------
    def _val_pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        from srbench.conventions import modcrop

        s = self.cfg.scale
        pairs = []
        for i, im in enumerate(self.val_imgs):
            hr = modcrop(im.hr(), s)
            if im.lr is None:
                lr = np.asarray(self.recipe.degrade(hr, s, np.random.default_rng([self.cfg.seed, 1 << 30, i])))
            else:
                lr = im.lr()
                if (lr.shape[0] * s, lr.shape[1] * s) != hr.shape[:2]:
                    raise TrainingDataError(f"{im.name}: LR {lr.shape[1]}x{lr.shape[0]} x{s} does not match HR "
                                            f"{hr.shape[1]}x{hr.shape[0]}")
            pairs.append((hr, lr))
        return pairs

    def _validate(self, stage: str) -> None:
        import torch

        from srbench.imresize import imresize
        from srbench.torch_utils import to_image, to_tensor

        if not self.val_imgs or not self.dist.main:
            return
        if not hasattr(self, "_pairs"):
            self._pairs = self._val_pairs()
        for m in self.nets.values():
            m.eval()
        values = []
        with torch.no_grad():
            for hr, lr in self._pairs:
                sr = self.recipe.super_resolve(self.nets, to_tensor(lr, self.device))
                values.append(_psnr_y(to_image(sr.clamp(0, 1), "half_away"), hr, self.cfg.scale))
        if self._bicubic is None:
            self._bicubic = float(np.mean([_psnr_y(imresize(lr, self.cfg.scale), hr, self.cfg.scale) for hr, lr in self._pairs]))
        row = {"step": self.step, "stage": stage, "psnr_y": float(np.mean(values)), "bicubic_psnr_y": self._bicubic,
               "n_images": len(values)}
        self.validation.append(row)
        _append_jsonl(self.out / VALIDATION_FILE, row)

    # -- output ---------------------------------------------------------------------------------
    def provenance(self) -> dict[str, Any]:
        import srbench

        r = self.recipe
        last = self.validation[-1] if self.validation else None
        return {
            "recipe": f"{r.method}:{self.cfg.recipe}", "recipe_class": f"{type(r).__module__}:{type(r).__name__}",
            "variant": getattr(r, "variant", None), "paper": r.paper,
            "hyper": self.hp.as_dict(), "stages": [{"name": k, "steps": v} for k, v in self.stage_done.items()],
            "steps": self.step, "seed": self.cfg.seed, "scale": self.cfg.scale,
            "data": [s.describe() for s in self.sources], "lr_data": [s.describe() for s in self.lr_sources],
            "validation_images": len(self.val_imgs), "validation_data": self.cfg.val_data or "held-out training images",
            "final_validation": last,
            "srbench_version": srbench.__version__, "srbench_commit": _commit(),
            "wall_seconds": round(self.wall, 3), "device": str(self.device), "world_size": self.dist.world,
            "amp": bool(self.ctx.amp), "minutes": self.minutes,
        }

    def finish(self) -> TrainResult:
        prov = self.provenance()
        files: list[Path] = []
        if self.dist.main:
            for m in self.nets.values():
                m.eval()
            files = self.recipe.export(self.nets, self.cfg.scale, self.out, prov)
            prov = {**prov, "files": [p.name for p in files]}
            (self.out / PROVENANCE_FILE).write_text(json.dumps(prov, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            self._save_state(finished=True)
        return TrainResult(self.out, files, prov, list(self.validation))


def train(cfg: TrainConfig | None = None, **kwargs) -> TrainResult:
    """Train a method (see :class:`TrainConfig`); ``srbench train`` is this function."""
    cfg = cfg or TrainConfig(**kwargs)
    return Trainer(cfg).run()
