"""``srbench list``: methods, datasets, degradations and metrics, and whether they can run here."""

from __future__ import annotations


def add_arguments(p):
    p.add_argument("what", nargs="?", choices=["methods", "datasets", "metrics", "degradations", "all"], default="all")
    p.add_argument("--verbose", "-v", action="store_true", help="notes and parameter counts (imports torch)")


def run(args) -> int:
    from srbench import datasets, registry
    from srbench import weights as w

    if args.what in ("methods", "all"):
        print("methods:")
        for name, info in sorted(registry.methods().items()):
            flags = ",".join(f for f, on in (("stochastic", info.stochastic), ("reference", info.reference_based)) if on)
            variants = list(info.variants) or ["-"]
            status = {v: w.status(info, v) for v in info.variants} if info.learned else {}
            wtxt = "no weights needed" if not info.learned else " ".join(f"{v}:{s}" for v, s in status.items())
            print(f"  {name:<12} x{','.join(map(str, info.scales)):<8} {flags:<20} weights[{wtxt}]  {info.title} ({info.paper})")
            if args.verbose:
                if len(variants) > 1:
                    print(f"      variants: {', '.join(variants)}")
                print(f"      code license: {info.code_license}; weights license: {info.weights_license}")
                if info.param_count is not None:
                    try:
                        print(f"      parameters: {info.param_count():,}")
                    except Exception as exc:  # noqa: BLE001 - listing must not fail
                        print(f"      parameters: unavailable ({type(exc).__name__}: {exc})")
                if info.notes:
                    print(f"      notes: {info.notes}")
        for name, err in sorted(registry.BROKEN.items()):
            print(f"  {name:<12} BROKEN: {err}")
    if args.what in ("datasets", "all"):
        print("datasets:")
        for name, spec in specs_sorted(datasets.specs()):
            n = len(spec.images) if spec.images is not None else "?"
            kind = "user-supplied" if spec.user_supplied else ("embedded" if spec.embedded else "download/mirror")
            print(f"  {name:<12} {n:>4} images  x{','.join(map(str, spec.scales)):<8} {kind:<16} {spec.title}")
    if args.what in ("degradations", "all"):
        from srbench.degradations import degradations

        print("degradations:")
        for name, d in sorted(degradations().items()):
            kind = "learned" if d.learned else "fixed"
            flags = "stochastic" if d.stochastic else ""
            print(f"  {name:<14} x{','.join(map(str, d.scales)):<8} {kind:<8} {flags:<10} {d.title}")
            if args.verbose and d.param_count is not None:
                try:
                    print(f"      parameters: {d.param_count():,}")
                except Exception as exc:  # noqa: BLE001 - listing must not fail
                    print(f"      parameters: unavailable ({type(exc).__name__}: {exc})")
    if args.what in ("metrics", "all"):
        print("metrics:")
        for name, m in sorted(registry.metrics().items()):
            missing = m.missing_requirements()
            avail = "available" if not missing else f"needs {', '.join(missing)}" + (f" (pip install 'srbench[{m.extra}]')" if m.extra else "")
            fr = "full-ref" if m.full_reference else "no-ref"
            print(f"  {name:<14} {m.arrow} {m.kind:<8} {fr:<8} v{m.version:<3} {avail:<12} {m.description}")
            if args.verbose:
                if m.convention:
                    print(f"      convention: {m.convention}")
                for wt in m.weights:
                    print(f"      weights: {wt.file} in {wt.cache} (from {wt.url})")
    return 0


def specs_sorted(specs):
    return sorted(specs.items())
