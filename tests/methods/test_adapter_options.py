"""Every adapter in srbench_methods declares the options its loader reads, and its loader refuses the rest.

What each loader does with its options (and that every declared one is read) is tested next to the
adapter (``test_declared_options_are_read`` in test_<adapter>.py); this file checks the declarations and
:func:`srbench.method_api.check_options` for all of them at once.
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import pytest
import srbench_methods

from srbench import registry
from srbench.errors import SrbenchError
from srbench.method_api import (
    REF_OPTION,
    MethodInfo,
    OptionSpec,
    check_options,
    tile_option_specs,
)


def _adapters():
    out = []
    for mod in sorted(pkgutil.iter_modules(srbench_methods.__path__), key=lambda m: m.name):
        pkg = importlib.import_module(f"srbench_methods.{mod.name}")
        out += [*getattr(pkg, "METHODS", ()), *getattr(pkg, "DEGRADATIONS", ())]
    return out


ADAPTERS = _adapters()
IDS = [a.name for a in ADAPTERS]
OPTIONS = [(a, o) for a in ADAPTERS for o in a.options]

#: tiled output equals whole-image output at the default overlap (each adapter's tests show it)
EXACT_TILING = {"srgan": True, "cyclesr": True, "cyclesrgan": True, "hvae-cnn": True, "esrgan": False, "ssrvae": False}


def _kind(info) -> str:
    return "method" if isinstance(info, MethodInfo) else "degradation"


def _invalid(spec: OptionSpec) -> list[str]:
    """Values ``spec.parse`` must refuse."""
    below = [] if spec.minimum is None else [f"{spec.minimum - 1:g}"]
    return {
        "int": ["x", "1.5", *below],
        "float": ["x", "nan", "inf", *below],
        "bool": ["maybe", ""],
        "choice": ["no-such-choice", ""],
    }.get(spec.type, [""])


def test_every_adapter_is_covered():
    names = set(IDS)
    assert {"bicubic", "esrgan", "srgan", "dsrvae", "refvae", "cyclesr", "ssrvae", "hvae", "hvae-gauss"} <= names
    assert set(registry.methods()) >= {a.name for a in ADAPTERS if isinstance(a, MethodInfo)}


@pytest.mark.parametrize("info", ADAPTERS, ids=IDS)
def test_declarations_are_well_formed(info):
    for spec in info.options:
        assert spec.help.strip(), f"{info.name}.{spec.name} has no help text"
        if spec.type != "ref":
            assert spec.parse(spec.default) == spec.default, f"{info.name}.{spec.name}: default is not a valid value"
    names = [o.name for o in info.options]
    if "tile" in names:  # declared together, by tile_option_specs
        overlap = info.option("tile_overlap").default
        assert tuple(o for o in info.options if o.name.startswith("tile")) == tile_option_specs(overlap, EXACT_TILING[info.name])
    assert ("tile" in names) == (info.name in EXACT_TILING)
    if getattr(info, "reference_based", False):
        assert info.option("ref") == REF_OPTION
    assert "seed" not in names  # the seed is srbench run --seed / sample(..., seed)


@pytest.mark.parametrize("info", ADAPTERS, ids=IDS)
def test_loader_refuses_an_undeclared_option(info):
    loader = registry.import_object(info.loader)
    takes = ", ".join(o.name for o in info.options) if info.options else "no options"
    # options are checked first: no weights are needed to be refused
    with pytest.raises(SrbenchError, match=rf"^{_kind(info)} {info.name} takes no option 'no_such_option'; it takes:? {takes}$"):
        loader(scale=info.scales[0], device="cpu", weights=None, variant=None, options={"no_such_option": "1"})


@pytest.mark.parametrize("info, spec", OPTIONS, ids=[f"{a.name}.{o.name}" for a, o in OPTIONS])
def test_invalid_values_are_refused(info, spec):
    loader = registry.import_object(info.loader)
    for value in _invalid(spec):
        with pytest.raises(ValueError):
            spec.parse(value)
        with pytest.raises(SrbenchError, match=rf"^{_kind(info)} {info.name}: option {spec.name}={value!r}: "):
            loader(scale=info.scales[0], device="cpu", weights=None, variant=None, options={spec.name: value})


# ---------------------------------------------------------------- check_options itself


INFO = MethodInfo(
    name="toy",
    title="Toy",
    paper="test",
    learned=False,
    reference_based=True,
    options=(
        *tile_option_specs(7, exact=True),
        OptionSpec("mode", "a choice", "choice", "a", choices=("a", "b")),
        OptionSpec("noise", "a flag", "bool", False),
        OptionSpec("sigma", "a number", "float", 1.0, minimum=0),
        REF_OPTION,
    ),
)


def test_check_options_fills_defaults_and_parses():
    assert check_options(INFO, None) == {"tile": 0, "tile_overlap": 7, "mode": "a", "noise": False, "sigma": 1.0, "ref": "lr"}
    got = check_options(INFO, {"tile": "64", "mode": "b", "noise": "yes", "sigma": "0.5", "ref": "noise", "tile_overlap": None})
    assert got == {"tile": 64, "tile_overlap": 7, "mode": "b", "noise": True, "sigma": 0.5, "ref": "noise"}
    assert check_options(INFO, got) == got  # parsed values (what the runner passes) stay as they are
    arr = np.zeros((4, 4, 3), np.uint8)
    assert check_options(INFO, {"ref": arr})["ref"] is arr  # the Python API may pass a reference array


def test_check_options_refuses():
    with pytest.raises(SrbenchError, match=r"^method toy takes no option 'quantize'; it takes: tile, tile_overlap, mode, noise, sigma, ref$"):
        check_options(INFO, {"quantize": "round"})
    with pytest.raises(SrbenchError, match=r"takes no option 'seed'.*the seed is not an option: srbench run --seed"):
        check_options(INFO, {"seed": 0})
    with pytest.raises(SrbenchError, match=r"^method toy: option sigma='-0.5': must be >= 0, got '-0.5'$"):
        check_options(INFO, {"sigma": "-0.5"})
    with pytest.raises(SrbenchError, match=r"^method toy: option tile=True: expected an integer"):
        check_options(INFO, {"tile": True})
    bare = MethodInfo(name="bare", title="Bare", paper="test", learned=False)
    assert check_options(bare, {}) == {}
    with pytest.raises(SrbenchError, match=r"^method bare takes no option 'tile'; it takes no options$"):
        check_options(bare, {"tile": None})  # undeclared even without a value
