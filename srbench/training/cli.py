"""``srbench train METHOD --data DATASET[,...] --scale S ...``"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _kv(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    k, v = text.split("=", 1)
    return k.strip(), _value(v.strip())


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("method", help="METHOD[:VARIANT], e.g. hvae-cnn or cyclesr:srresnet (srbench list --verbose shows recipes)")
    p.add_argument("--data", required=True, help="training HR: DATASET[,...] (use: train in datasets.yaml) or folder:PATH")
    p.add_argument("--lr-data", default=None, help="unpaired recipes (cyclesr, ssrvae): the real LR images, DATASET or folder:PATH")
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--recipe", default="paper", choices=["paper", "short"], help="the paper's schedule or a short one")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--steps", type=int, default=None, help="optimisation steps of the whole run (all stages)")
    g.add_argument("--minutes", type=float, default=None, help="a time budget instead of steps (the stages share it)")
    p.add_argument("--device", default=None, help="cuda, cpu (default: cuda when there is one)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default ./train-<method>-x<scale>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last saved state")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", dest="overrides", type=_kv, action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value (batch, patch, lr, or a recipe extra such as beta)")
    p.add_argument("--val-images", type=int, default=None, help="held-out validation images (default 4; CIFAR-10 256)")
    p.add_argument("--val-data", default=None, metavar="DATASET",
                   help="validate on a declared dataset (its given LR where it has one, e.g. ntire2020_rwsr_t1_val) "
                        "instead of held-out training images")
    p.add_argument("--val-every", type=int, default=None, help="validate every N steps (default: a tenth of the run)")
    p.add_argument("--checkpoint-every", type=int, default=None, help="save the training state every N steps")
    p.add_argument("--no-amp", dest="amp", action="store_false", help="no bf16 autocast on CUDA")
    p.add_argument("--force", action="store_true", help="allow a declared test set (or a folder holding its images) as training data")
    p.add_argument("--pause-after", type=int, default=None, metavar="N",
                   help="save the state and stop after N steps (time-sliced jobs); continue with --resume")
    p.add_argument("--no-progress", dest="progress", action="store_false")


def run(args) -> int:
    from srbench.training.loop import TrainConfig, train

    cfg = TrainConfig(
        method=args.method, data=args.data, scale=args.scale, recipe=args.recipe, steps=args.steps,
        minutes=args.minutes, device=args.device, out=args.out, resume=args.resume, seed=args.seed,
        lr_data=args.lr_data, val_images=args.val_images, val_data=args.val_data, val_every=args.val_every,
        checkpoint_every=args.checkpoint_every, amp=args.amp, force=args.force,
        overrides=dict(args.overrides), progress=args.progress and sys.stderr.isatty(), pause_after=args.pause_after,
    )
    result = train(cfg)
    if not result.finished:
        print(f"paused after step {result.provenance['steps']}: the state is in {result.out}; continue with --resume")
        return 0
    v = result.provenance.get("final_validation") or {}
    for f in result.files:
        print(f"checkpoint: {f}")
    if v:
        print(f"validation (step {v['step']}, {v['n_images']} held-out images): PSNR-Y {v['psnr_y']:.4f} dB "
              f"(bicubic {v['bicubic_psnr_y']:.4f} dB)")
    name = args.method.split(":")[0]
    if result.files:
        print(f"use it: srbench run --methods {args.method} --weights {name}={result.files[0]} ...  "
              f"or: srbench weights import {name} {result.files[0]}")
    return 0
