"""The ``srbench`` command line. Sub-commands import their modules lazily so ``--help`` stays fast."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from srbench import __version__
from srbench.errors import OutputDirError, SrbenchError

#: sub-commands implemented in their own modules: name -> (module, help). Each module exposes
#: ``add_arguments(parser)`` and ``run(args) -> int``.
EXTERNAL = {
    "compare": ("srbench.compare", "compare two runs / summaries cell by cell (CI regression)"),
    "baseline": ("srbench.baseline", "write a checked-in baseline from a run"),
    "report": ("srbench.report", "build a static HTML leaderboard site from run folders"),
    "train": ("srbench.training.cli", "train a method's reference checkpoint with its paper's recipe"),
}


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _scales(text: str) -> list[int]:
    try:
        out = [int(t) for t in _csv(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"scales must be integers like 4 or 2,3,4, got {text!r}") from None
    if not out or any(s < 1 for s in out):
        raise argparse.ArgumentTypeError(f"invalid scales {text!r}")
    return out


def _kv(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    k, v = text.split("=", 1)
    return k.strip(), v.strip()


def _add_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--methods", "-m", type=_csv, required=True, help="comma-separated, e.g. bicubic,esrgan:psnr")
    p.add_argument("--datasets", "-d", type=_csv, default=None, help="comma-separated, e.g. set5,urban100")
    p.add_argument("--track", default=None,
                   help="run a named protocol (datasets, scale, metrics, conventions): see `srbench list tracks`")
    p.add_argument("--scale", type=_scales, default=None, help="scale(s), e.g. 4 or 2,3,4 (default 4)")
    p.add_argument("--metrics", type=_csv, default=None, help="comma-separated (default: psnr_y,ssim_y)")
    p.add_argument("--out", type=Path, default=None, help="run folder (default: runs/<timestamp>)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    p.add_argument("--protocol", default=None, choices=["rgb", "luma"],
                   help="rgb: methods see RGB uint8 LR (default); luma: the SRCNN/VDSR luminance pipeline of the classic bicubic table")
    p.add_argument("--degradation", default=None,
                   help="make the LR with this degradation instead of MATLAB bicubic (see `srbench list degradations`)")
    p.add_argument("--seed", type=int, default=0, help="seed for stochastic methods (default 0)")
    p.add_argument("--samples", type=int, default=None, help="SR samples per image for stochastic methods (diversity)")
    p.add_argument("--fid-ref", default=None, metavar="DATASET|FOLDER",
                   help="the reference image set of the fid_ref metric (a dataset's HR, an LR-only set's LR, or a folder)")
    p.add_argument("--ref", default=None, help="reference for reference-based methods: lr, noise, an image or a folder")
    p.add_argument("--tile", type=int, default=None, help="tile size for tiled inference (learned methods)")
    p.add_argument("--tile-overlap", type=int, default=None, help="tile overlap in LR pixels")
    p.add_argument("--option", type=_kv, action="append", default=[], metavar="[METHOD.]KEY=VALUE",
                   help="adapter option for the methods that take it, or for METHOD only (repeatable; "
                        "`srbench list --verbose` shows each method's options)")
    p.add_argument("--weights", type=_kv, action="append", default=[], metavar="METHOD=PATH[,PATH...]",
                   help="use these checkpoint files, or the files in this folder, for METHOD (repeatable)")
    p.add_argument("--lr-source", default="auto", choices=["auto", "made"],
                   help="auto: a dataset's own LR where it gives one (protocol 'given'), else made from HR (default); "
                        "made: always make the LR from the HR")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a different run that --out already holds (default: refuse; the same command resumes)")
    p.add_argument("--save-images", action="store_true", help="write SR images into the run folder")
    p.add_argument("--offline", action="store_true", default=None, help="never download (also SRBENCH_OFFLINE=1)")
    p.add_argument("--report", type=Path, nargs="?", const=True, default=None, help="also build the HTML site (default <run>/site)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--workers", default=os.environ.get("SRBENCH_WORKERS", "auto"), metavar="N|auto",
                   help="worker processes (or Ray actors) for the missing work; auto: the machine's cores, capped by "
                        "memory and by the work; 1 on a GPU (default auto, or $SRBENCH_WORKERS)")
    p.add_argument("--executor", default="local", choices=["local", "ray"],
                   help="local: this machine (default); ray: Ray tasks on a local Ray or an existing cluster "
                        "(pip install 'srbench[ray]'; docs/scale-out.md)")
    p.add_argument("--address", default=None, metavar="auto|HOST:PORT",
                   help="--executor ray: the cluster to join (default: start a local Ray)")


def config_from_args(args):
    """The :class:`srbench.plan.RunConfig` of parsed ``srbench run`` arguments (a track filled in)."""
    from srbench.executors import parse_workers
    from srbench.plan import RunConfig

    if args.address and args.executor != "ray":
        raise SrbenchError("--address is for --executor ray")
    options = dict(args.option)
    if args.ref is not None:
        options["ref"] = args.ref
    if args.tile is not None:
        options["tile"] = args.tile
    if args.tile_overlap is not None:
        options["tile_overlap"] = args.tile_overlap
    cfg = RunConfig(
        methods=args.methods, datasets=args.datasets or [], scales=args.scale or [4], metrics=args.metrics, out=args.out,
        device=args.device, protocol=args.protocol or "rgb", seed=args.seed, samples=args.samples or 1,
        save_images=args.save_images or bool(args.report), weights=dict(args.weights), offline=args.offline,
        options=options, progress=not args.no_progress and sys.stderr.isatty(), command=sys.argv[:],
        degradation=args.degradation, overwrite=args.overwrite, log=lambda text: print(text, file=sys.stderr),
        lr_source=args.lr_source, fid_ref=args.fid_ref,
        workers=parse_workers(args.workers), executor=args.executor, address=args.address,
    )
    if args.track:
        from srbench.tracks import apply_track

        given = [f for f, v in (("--datasets", args.datasets), ("--scale", args.scale), ("--metrics", args.metrics),
                                ("--protocol", args.protocol), ("--samples", args.samples)) if v is not None]
        if given:
            raise SrbenchError(f"--track {args.track} sets the datasets, scale, metrics, protocol and samples; "
                               f"do not also give {', '.join(given)}")
        apply_track(cfg, args.track)
    elif not args.datasets:
        raise SrbenchError("give --datasets (e.g. set5,urban100) or --track (see `srbench list tracks`)")
    return cfg


def cmd_run(args) -> int:
    import signal

    from srbench.plan import prepare_report_dir
    from srbench.results import load
    from srbench.runner import run

    cfg = config_from_args(args)
    if args.report not in (None, True):
        prepare_report_dir(args.report)  # an unwritable --report folder fails before any work

    def _terminated(signum, frame):  # SIGTERM (kill, a batch system) ends a run like Ctrl-C: marked, resumable
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        out = run(cfg)
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(load(out).table())
    print("\nprotocol: rgb = MATLAB-bicubic LR from the HR, luma = the SRCNN/VDSR Y pipeline, rgb:<degradation> = LR "
          "made by that degradation, given = the dataset's own LR (README, Conventions)")
    print(f"\nrun folder: {out}")
    if args.report:
        from srbench.report import build_site

        site = out / "site" if args.report is True else args.report
        try:
            index = build_site([out], site)
        except OSError as exc:
            raise OutputDirError(f"cannot write the report to {site}: {exc.strerror or exc}") from exc
        print(f"report: {index}")
    return 0


def _add_weights(p):
    sub = p.add_subparsers(dest="action", required=True)
    imp = sub.add_parser("import", help="verify a checkpoint file and copy it into the cache")
    imp.add_argument("method")
    imp.add_argument("file", type=Path)
    imp.add_argument("--name", default=None, help="declared file name, when the file was renamed")
    sub.add_parser("list", help="declared weight files and whether they are present")
    where = sub.add_parser("where", help="print the cache folder of a method")
    where.add_argument("method")


def cmd_weights(args) -> int:
    from srbench import registry
    from srbench import weights as w

    if args.action == "import":
        info, variant = registry.get_method(args.method)
        r = w.import_file(info, args.file, variant if ":" in args.method else None, args.name)
        print(f"imported {r.file.name} for {info.name}: sha256 {r.sha256} ({r.provenance}) -> {r.path}")
        return 0
    if args.action == "where":
        info, _ = registry.get_method(args.method)
        print(w.cache_dir(info.name))
        return 0
    for name, info in sorted(registry.methods().items()):
        for variant, files in info.variants.items():
            for wf in files:
                present = (w.cache_dir(name) / wf.name).is_file()
                print(f"{name}:{variant:<10} {wf.name:<45} {'present' if present else 'missing':<8} {wf.urls[0] if wf.urls else wf.source}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="srbench", description="Evaluate image super-resolution methods on standard datasets.")
    parser.add_argument("--version", action="version", version=f"srbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run(sub.add_parser("run", help="run methods on datasets and compute metrics"))
    from srbench.listing import add_arguments as _add_list

    _add_list(sub.add_parser("list", help="list methods, datasets and metrics"))
    _add_weights(sub.add_parser("weights", help="manage method checkpoints"))
    for name, (module, help_text) in EXTERNAL.items():
        sp = sub.add_parser(name, help=help_text)
        sp.set_defaults(_module=module)
        # defer the module import until this sub-command is actually used
        if name in sys.argv[1:2]:
            try:
                importlib.import_module(module).add_arguments(sp)
            except ModuleNotFoundError as exc:
                sp.set_defaults(_missing=str(exc))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in EXTERNAL and sys.argv[1:2] != argv[:1]:
        sys.argv = [sys.argv[0], *argv]
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "list":
            from srbench.listing import run as cmd_list

            return cmd_list(args)
        if args.command == "weights":
            return cmd_weights(args)
        if getattr(args, "_missing", None):
            raise SrbenchError(f"the {args.command!r} command is not available: {args._missing}")
        return int(importlib.import_module(args._module).run(args) or 0)
    except SrbenchError as exc:
        import os

        from srbench.errors import MethodFailedError

        if os.environ.get("SRBENCH_TRACEBACK"):
            import traceback

            traceback.print_exc()
        hint = ""
        if isinstance(exc, MethodFailedError) and not os.environ.get("SRBENCH_TRACEBACK"):
            hint = " (finished work is cached: re-run the same command to resume; SRBENCH_TRACEBACK=1 shows the traceback)"
        print(f"srbench: error: {exc}{hint}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into `head` etc.: not an error of the run
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("srbench: interrupted; finished images are cached - re-run the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
