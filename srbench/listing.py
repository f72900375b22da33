"""``srbench list``: methods, datasets, degradations and metrics, and whether they can run here.

Weight states are read from the file system only (nothing is loaded or downloaded, torch is not imported
except for ``--verbose`` parameter counts). ``--offline`` (or ``SRBENCH_OFFLINE=1``) reports what is true
without a network: a downloadable file that is not cached is *missing* then.
"""

from __future__ import annotations


def add_arguments(p):
    p.add_argument("what", nargs="?", choices=["methods", "datasets", "metrics", "degradations", "tracks", "all"], default="all")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="notes, weight files and parameter counts (parameter counts import torch)")
    p.add_argument("--offline", action="store_true", default=None,
                   help="report weights as they are without a network (also SRBENCH_OFFLINE=1)")


def metric_availability(m, offline: bool) -> str:
    """``available``, or what stops metric ``m`` from running here: a package, its weight files."""
    parts = []
    missing = m.missing_requirements()
    if missing:
        parts.append(f"needs {', '.join(missing)}" + (f" (pip install 'srbench[{m.extra}]')" if m.extra else ""))
    weights = m.weights_status(offline)
    if weights != "available":
        parts.append(weights)
    return "; ".join(parts) or "available"


def weight_lines(m) -> list[str]:
    """One line per declared weight file of metric ``m``: state and path (``--verbose``)."""
    from srbench.metrics.weights_cache import cache_dir, status

    out = []
    for wt in m.weights:
        st = status(wt)
        label = {"present": "present", "missing": "missing", "empty": "damaged (empty file)"}[st]
        line = f"      weights: {wt.file:<38} {label:<8} {cache_dir(wt) / wt.file}"
        if st != "present":
            line += f"  (from {wt.url})"
        out.append(line)
    return out


def option_lines(options) -> list[str]:
    """``--verbose`` lines for the options an adapter declares (srbench run --option KEY=VALUE)."""
    if not options:
        return ["      options: none"]
    return ["      options (--option KEY=VALUE):"] + [f"        {o.describe()}" for o in options]


def run(args) -> int:
    from srbench import datasets, registry
    from srbench.method_api import paper_table_lines
    from srbench.conventions import ROUNDING
    from srbench import weights as w
    from srbench.paths import offline as offline_env

    offline = bool(getattr(args, "offline", None)) or offline_env()

    if args.what in ("methods", "all"):
        print("methods:")
        for name, info in sorted(registry.methods().items()):
            flags = ",".join(f for f, on in (("stochastic", info.stochastic), ("reference", info.reference_based),
                                             ("trainable", bool(info.training_recipe))) if on)
            variants = list(info.variants) or ["-"]
            status = {v: w.status(info, v, offline) for v in info.variants} if info.learned else {}
            wtxt = "no weights needed" if not info.learned else " ".join(f"{v}:{s}" for v, s in status.items())
            print(f"  {name:<12} x{','.join(map(str, info.scales)):<8} {flags:<20} weights[{wtxt}]  {info.title} ({info.paper})")
            if args.verbose:
                if len(variants) > 1:
                    print(f"      variants: {', '.join(variants)}")
                print(f"      code license: {info.code_license}; weights license: {info.weights_license}")
                print(f"      output rounding: {info.rounding} - {ROUNDING[info.rounding]}")
                for line in option_lines(info.options):
                    print(line)
                if info.param_count is not None:
                    try:
                        print(f"      parameters: {info.param_count():,}")
                    except Exception as exc:  # noqa: BLE001 - listing must not fail
                        print(f"      parameters: unavailable ({type(exc).__name__}: {exc})")
                if info.notes:
                    print(f"      notes: {info.notes}")
                for line in paper_table_lines(info.paper_vs_srbench):
                    print(line)
                if info.training_recipe:
                    for line in recipe_lines(name):
                        print(line)
        for name, err in sorted(registry.BROKEN.items()):
            print(f"  {name:<12} BROKEN: {err}")
    if args.what in ("datasets", "all"):
        print("datasets:")
        for name, spec in specs_sorted(datasets.specs()):
            declared = spec.images if spec.hr else next(iter(spec.lr.values())).images
            n = len(declared) if declared is not None else (spec.n_images or "?")
            kind = "user-supplied" if spec.user_supplied else ("embedded" if spec.embedded else "download/mirror")
            print(f"  {name:<26} {n:>5} images  x{','.join(map(str, spec.scales)):<8} {spec.kind:<8} {spec.use:<5} "
                  f"{kind:<16} {spec.title}")
    if args.what in ("degradations", "all"):
        from srbench.degradations import degradations

        print("degradations:")
        for name, d in sorted(degradations().items()):
            kind = "learned" if d.learned else "fixed"
            flags = "stochastic" if d.stochastic else ""
            print(f"  {name:<14} x{','.join(map(str, d.scales)):<8} {kind:<8} {flags:<10} {d.title}")
            if args.verbose:
                for line in option_lines(d.options):
                    print(line)
            if args.verbose and d.param_count is not None:
                try:
                    print(f"      parameters: {d.param_count():,}")
                except Exception as exc:  # noqa: BLE001 - listing must not fail
                    print(f"      parameters: unavailable ({type(exc).__name__}: {exc})")
            if args.verbose:
                for line in paper_table_lines(d.paper_vs_srbench):
                    print(line)
    if args.what in ("tracks", "all"):
        print_tracks(args.verbose)
    if args.what in ("metrics", "all"):
        print("metrics:")
        metrics = sorted(registry.metrics().items())
        avail = {name: metric_availability(m, offline) for name, m in metrics}
        width = max([12, *map(len, avail.values())])
        for name, m in metrics:
            fr = "full-ref" if m.full_reference else "no-ref"
            print(f"  {name:<14} {m.arrow} {m.kind:<8} {fr:<8} v{m.version:<3} {avail[name]:<{width}} {m.description}")
            if args.verbose:
                if m.convention:
                    print(f"      convention: {m.convention}")
                print(f"      protocols: {', '.join(m.protocols)}")
                for line in weight_lines(m):
                    print(line)
    return 0


def recipe_lines(method: str) -> list[str]:
    """``--verbose``: the training recipe of ``method`` (``srbench train``) and its paper-vs-srbench table."""
    from srbench.method_api import paper_table_lines

    try:
        from srbench.training.loop import load_recipe

        r = load_recipe(method)
    except Exception as exc:  # noqa: BLE001 - listing must not fail
        return [f"      training recipe: unavailable ({type(exc).__name__}: {exc})"]
    stages = ", ".join(f"{s.name} ({s.share:g}: {s.what or '+'.join(s.trains)})" for s in r.stages)
    out = [f"      training recipe (srbench train {method}): {r.data} data, x{', x'.join(map(str, r.scales))}; stages {stages}"]
    for name, hp in r.presets.items():
        extra = ", ".join(f"{k} {v}" for k, v in hp.extra.items())
        out.append(f"        --recipe {name}: {hp.steps:,} steps, batch {hp.batch}, HR crop {hp.patch}, lr {hp.lr:g}"
                   + (f", {extra}" if extra else ""))
    return out + paper_table_lines(r.paper_vs_srbench, title="training: paper vs srbench")


def print_tracks(verbose: bool) -> None:
    from srbench.tracks import TRACKS, readiness

    print("tracks:")
    for name, t in sorted(TRACKS.items()):
        print(f"  {name:<22} x{t.scale:<2} {','.join(t.datasets):<36} {t.title}")
        if verbose:
            r = readiness(t)
            state = "runnable offline here" if r.runnable else "not runnable offline here"
            print(f"      {state}: datasets " + "; ".join(f"{k} {v}" for k, v in r.datasets.items())
                  + " | metrics " + "; ".join(f"{k} {v}" for k, v in r.metrics.items()))
            for leg in t.legs:
                print(f"      leg: {leg.dataset} protocol {leg.protocol} (given LR where the dataset has it) "
                      f"metrics {', '.join(leg.metrics or ())}" + (f", {t.samples} samples" if t.samples > 1 else ""))
            print(f"      source: {t.source}")
            print(f"      official: {t.official}")
            for table in t.tables:
                print(f"      paper table: {table}")
            if t.notes:
                print(f"      notes: {t.notes}")


def specs_sorted(specs):
    return sorted(specs.items())
