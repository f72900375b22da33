"""What a method adapter declares and returns. Imports nothing heavy: ``srbench list`` reads this.

An adapter package (``methods/<folder>/__init__.py``, shipped as ``srbench_methods.<folder>``, or any
module named by an entry point of the group ``srbench.methods``) exposes ``METHODS``: a list of
:class:`MethodInfo`. Its ``loader`` names ``"module:function"``; the function is imported only when the
method runs and is called as ``function(scale=..., device=..., weights=..., variant=..., options=...)``.
It returns an :class:`SRModel`.

Options. An adapter declares every option it reads in ``MethodInfo.options`` (:class:`OptionSpec`);
``srbench run --option KEY=VALUE`` (or ``--option METHOD.KEY=VALUE`` for one method of the run) reaches
only the methods that declare ``KEY``, parsed to the declared type, and an option that no method of the
run takes is an error. The loader receives the given options plus the declared defaults. Options that
change the output (``OptionSpec.affects_output``) and differ from their default are part of the
method's identity: its label (``dsrvae[latent=zero]``), cache keys and result rows. The seed is not an
option: it is ``srbench run --seed`` (``sample(..., seed)``) for every stochastic method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np


@dataclass(frozen=True)
class WeightFile:
    """One checkpoint file a method needs."""

    name: str  # file name as cached, e.g. "RRDB_ESRGAN_x4.pth"
    urls: tuple[str, ...] = ()  # official download locations (tried in order)
    sha256: str | None = None  # of the official file, when known; None = record what is used
    size: int | None = None  # bytes, when known
    license: str = "unknown"
    source: str = ""  # who published it and where (human-readable)
    manual: bool = False  # True for Google-Drive-only files: fetched by hand, then `srbench weights import`
    scale: int | None = None  # scale this file is for, when a method has one file per scale


@dataclass(frozen=True)
class PaperValue:
    """One line of an adapter's "paper vs srbench" table (``MethodInfo.paper_vs_srbench``, shown by
    ``srbench list --verbose``): a value the paper states (or ``"not stated"``), the value srbench uses, and
    why they differ or where srbench's choice comes from when the paper is silent (empty when they agree)."""

    what: str  # e.g. "styleVAE latent code size"
    paper: str  # e.g. "256 (Sec. 3.1)" or "not stated"
    srbench: str  # e.g. "256"
    why: str = ""

    def __post_init__(self):
        if not (self.what and self.paper and self.srbench):
            raise ValueError(f"PaperValue needs what, paper and srbench: {self!r}")


def paper_table_lines(rows: Sequence[PaperValue], indent: str = "      ", title: str = "paper vs srbench") -> list[str]:
    """The ``srbench list --verbose`` lines of a paper-vs-srbench table."""
    if not rows:
        return []
    w = max(len(r.what) for r in rows)
    wp = max(len(r.paper) for r in rows)
    ws = max(len(r.srbench) for r in rows)
    out = [f"{indent}{title}:", f"{indent}  {'':<{w}}  {'paper':<{wp}}  {'srbench':<{ws}}  why"]
    for r in rows:
        out.append(f"{indent}  {r.what:<{w}}  {r.paper:<{wp}}  {r.srbench:<{ws}}  {r.why}".rstrip())
    return out


OPTION_TYPES = ("str", "int", "float", "bool", "choice", "ref")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class OptionSpec:
    """One option an adapter reads (``srbench run --option NAME=VALUE``).

    ``type``: ``str``, ``int``, ``float``, ``bool`` (true/false, 1/0, yes/no, on/off), ``choice`` (one of
    ``choices``) or ``ref`` (a reference image: ``lr``, ``noise``, an image file or a folder; its
    identity is the content of the file(s), see :mod:`srbench.options`). ``default`` is what the adapter
    uses when the option is not given (``None``: absent). ``affects_output=False`` only for options that
    cannot change a single output pixel (e.g. a batch size, or a tile size where tiling is exact).
    """

    name: str
    help: str
    type: str = "str"
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    affects_output: bool = True

    def __post_init__(self):
        if self.type not in OPTION_TYPES:
            raise ValueError(f"OptionSpec {self.name!r}: type must be one of {OPTION_TYPES}, got {self.type!r}")
        if self.type == "choice" and not self.choices:
            raise ValueError(f"OptionSpec {self.name!r}: a choice option needs choices")
        if "." in self.name or "=" in self.name or not self.name:
            raise ValueError(f"OptionSpec name {self.name!r} must be non-empty without '.' or '='")

    def parse(self, value: Any) -> Any:
        """The value as the adapter gets it; ``ValueError`` with a readable reason when it is not valid."""
        text = str(value).strip()
        if self.type == "int":
            if isinstance(value, bool):
                raise ValueError(f"expected an integer, got {value!r}")
            try:
                out = int(text)
            except ValueError:
                raise ValueError(f"expected an integer, got {value!r}") from None
        elif self.type == "float":
            try:
                out = float(text)
            except ValueError:
                raise ValueError(f"expected a number, got {value!r}") from None
            if out != out or out in (float("inf"), float("-inf")):
                raise ValueError(f"expected a finite number, got {value!r}")
        elif self.type == "bool":
            if isinstance(value, bool):
                return value
            if text.lower() not in _TRUE + _FALSE:
                raise ValueError(f"expected true or false, got {value!r}")
            return text.lower() in _TRUE
        elif self.type == "choice":
            if text not in self.choices:
                raise ValueError(f"expected one of {', '.join(self.choices)}, got {value!r}")
            return text
        else:
            if not text:
                raise ValueError("expected a value, got an empty string")
            return text
        if self.minimum is not None and out < self.minimum:
            raise ValueError(f"must be >= {self.minimum:g}, got {value!r}")
        return out

    def describe(self) -> str:
        kind = "|".join(self.choices) if self.type == "choice" else self.type
        default = "" if self.default is None else f", default {self.default}"
        effect = "" if self.affects_output else ", does not change the output"
        return f"{self.name} ({kind}{default}{effect}): {self.help}"


def tile_option_specs(default_overlap: int, exact: bool) -> tuple[OptionSpec, OptionSpec]:
    """``tile`` / ``tile_overlap`` (:mod:`srbench.tiling`). ``exact``: the adapter's tiling reproduces
    whole-image output at ``default_overlap`` (its receptive-field radius), so ``tile`` alone never
    changes the output; a smaller ``tile_overlap`` may, so it always counts as identity."""
    return (
        OptionSpec("tile", "tile size in LR pixels for tiled inference (0 = whole image)", "int", 0, minimum=0,
                   affects_output=not exact),
        OptionSpec("tile_overlap", "LR pixels of context around each tile", "int", default_overlap, minimum=0),
    )


REF_OPTION = OptionSpec(
    "ref", "reference image: lr (the LR itself), noise, an image file or a folder (srbench run --ref)", "ref", "lr",
)


def check_options(info: Any, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options a loader works with: ``options`` checked against ``info.options`` (a :class:`MethodInfo`
    or a :class:`~srbench.degradation_api.DegradationInfo`).

    Every loader calls this first. The runner already hands a loader only its declared options, parsed,
    plus the defaults; a direct caller (Python API, tests) may pass any subset, as values or strings.
    Returns every declared option: given values through :meth:`OptionSpec.parse` (idempotent on parsed
    values; a ``ref`` that is not a string or path, e.g. an array, is passed as it is), the others - and
    ``None`` values - as the declared default. An undeclared option or an invalid value raises
    :class:`~srbench.errors.SrbenchError`.
    """
    import os

    from srbench.errors import SrbenchError

    kind = "method" if isinstance(info, MethodInfo) else "degradation"
    specs = {o.name: o for o in info.options}
    out = {name: spec.default for name, spec in specs.items()}
    for key, value in (options or {}).items():
        spec = specs.get(key)
        if spec is None:
            takes = f"it takes: {', '.join(specs)}" if specs else "it takes no options"
            hint = " (the seed is not an option: srbench run --seed, or sample(lr, n, seed))" if key == "seed" else ""
            raise SrbenchError(f"{kind} {info.name} takes no option {key!r}; {takes}{hint}")
        if value is None:
            continue
        if spec.type == "ref" and not isinstance(value, (str, os.PathLike)):
            out[key] = value
            continue
        try:
            out[key] = spec.parse(value)
        except ValueError as exc:
            raise SrbenchError(f"{kind} {info.name}: option {key}={value!r}: {exc}") from None
    return out


@dataclass(frozen=True)
class MethodInfo:
    name: str  # registry name, lower-case, e.g. "esrgan"
    title: str  # display name, e.g. "ESRGAN"
    paper: str  # short reference "Wang et al., ECCVW 2018"
    citation: str = ""  # BibTeX or full reference
    code_url: str = ""
    code_license: str = "unknown"
    weights_license: str = "n/a"
    scales: tuple[int, ...] = (4,)
    stochastic: bool = False  # can draw many SR images for one LR (seeded)
    reference_based: bool = False  # takes a reference image
    protocols: tuple[str, ...] = ("rgb",)  # evaluation protocols it supports (see srbench.protocols)
    learned: bool = True  # False for methods without weights (bicubic)
    variants: Mapping[str, tuple[WeightFile, ...]] = field(default_factory=dict)  # variant -> files; first = default
    variant_notes: Mapping[str, str] = field(default_factory=dict)
    loader: str = ""  # "module:function"
    adapter_version: str = "1"  # bump when the adapter's output may change (invalidates caches)
    notes: str = ""  # implementation choices, differences to the paper
    param_count: Callable[[], int] | None = None  # optional: parameter count for `srbench list --verbose`
    options: tuple[OptionSpec, ...] = ()  # every option the loader reads (see the module docstring)
    rounding: str = "half_away"  # how float output becomes uint8: a key of srbench.conventions.ROUNDING
    paper_vs_srbench: tuple[PaperValue, ...] = ()  # what the paper states vs what srbench does (list --verbose)
    training_recipe: str = ""  # "module:Class" of its srbench.training.recipe.Recipe (``srbench train``); "" = none

    def __post_init__(self):
        from srbench.conventions import ROUNDING

        if self.rounding not in ROUNDING:
            raise ValueError(f"method {self.name!r}: rounding {self.rounding!r} is not one of {', '.join(ROUNDING)}")
        names = [o.name for o in self.options]
        if len(names) != len(set(names)):
            raise ValueError(f"method {self.name!r}: an option is declared twice: {names}")
        if self.reference_based and "ref" not in names:
            raise ValueError(f"method {self.name!r} is reference-based but declares no 'ref' option (REF_OPTION)")

    def option(self, name: str) -> OptionSpec | None:
        return next((o for o in self.options if o.name == name), None)

    @property
    def default_variant(self) -> str | None:
        return next(iter(self.variants), None)


class SRModel:
    """A loaded method. Subclasses implement :meth:`upscale`; stochastic ones also :meth:`sample`.

    Output contract (checked by the runner, which refuses anything else and says what it got):
    ``upscale`` and ``sample`` take an HxWx3 uint8 RGB LR and return HxWx3 **uint8** RGB images of size
    (scale*H, scale*W). Float output is refused, never guessed ([0, 1] and [0, 255] look alike): convert
    with :func:`srbench.conventions.to_uint8` and the rounding rule of the official code
    (``MethodInfo.rounding``). ``upscale`` must be deterministic. Only the ``luma`` protocol differs
    (:meth:`upscale_luma`: float Y in [0, 1] in and out).
    """

    scale: int = 4
    #: provenance recorded in the run manifest (weights sha256, variant, options ...)
    provenance: dict[str, Any] = {}

    def upscale(self, lr: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def sample(self, lr: np.ndarray, n: int, seed: int, ref: Any = None) -> Sequence[np.ndarray]:
        """n SR images for one LR, reproducible for the same seed on the same device.

        Deterministic methods return ``n`` copies of :meth:`upscale` (the runner avoids calling this).
        """
        out = self.upscale(lr)
        return [out] * n

    def upscale_luma(self, lr_y: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        """Luminance protocol: float HxW Y in [0, 1] in, float HxW in [0, 1] out (not rounded)."""
        raise NotImplementedError


def parse_method_name(spec: str) -> tuple[str, str | None]:
    """``"esrgan:psnr"`` -> ``("esrgan", "psnr")``; ``"bicubic"`` -> ``("bicubic", None)``."""
    name, _, variant = spec.partition(":")
    return name.strip().lower(), (variant.strip() or None)
