"""Adapter options of a run: which method (or degradation) gets which option, parsed and checked.

``srbench run --option KEY=VALUE`` reaches every method and the degradation of the run that declares
``KEY`` (:class:`srbench.method_api.OptionSpec`); ``--option NAME.KEY=VALUE`` reaches only the method or
degradation called ``NAME``. ``--ref``, ``--tile`` and ``--tile-overlap`` are the options ``ref``,
``tile`` and ``tile_overlap``. An option that nothing of the run declares, or a value its declaration
refuses, is an error before any work is done.

The options that change the output (``affects_output``) and differ from their default are the method's
*identity options*: they go into its label (``dsrvae[latent=zero]``), the cache keys of its SR images
and every result row, so runs with different options are never mixed. A ``ref`` option that names an
image file or folder is identified by the pixels of those images, not by the path.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srbench.errors import SrbenchError
from srbench.method_api import OptionSpec


class OptionError(SrbenchError):
    """An option no method of the run takes, or a value its declaration refuses."""


@dataclass
class Target:
    """Something that takes options: a method (by label) or the run's degradation."""

    kind: str  # "method" | "degradation"
    name: str  # registry name (what NAME.KEY=VALUE scopes to)
    label: str  # as shown (method label with variant)
    specs: Sequence[OptionSpec]
    given: dict[str, Any] = field(default_factory=dict)  # parsed options given for this target
    ref_ids: dict[str, str] = field(default_factory=dict)  # ref options -> pixel identity (decoded once, in assign)

    def spec(self, key: str) -> OptionSpec | None:
        return next((s for s in self.specs if s.name == key), None)

    def takes(self) -> str:
        return ", ".join(s.name for s in self.specs) or "none"

    def loader_options(self) -> dict[str, Any]:
        """Given options plus the declared defaults of the others (what the loader receives)."""
        out = {s.name: s.default for s in self.specs if s.default is not None}
        out.update(self.given)
        return out

    def identity(self) -> dict[str, str]:
        """Identity options as text (for labels): non-default values of output-changing options."""
        out = {}
        for key, value in sorted(self.given.items()):
            spec = self.spec(key)
            if spec is not None and spec.affects_output and value != spec.default:
                out[key] = _text(value)
        return out

    def identity_key(self) -> dict[str, str]:
        """Identity options for cache keys: as :meth:`identity`, references by their pixels."""
        out = self.identity()
        for key in out:
            if self.spec(key).type == "ref":
                if key not in self.ref_ids:
                    self.ref_ids[key] = ref_identity(self.given[key])
                out[key] = self.ref_ids[key]
        return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def split_scope(key: str, scopes: set[str]) -> tuple[str | None, str]:
    """``"dsrvae.latent"`` -> ``("dsrvae", "latent")`` when ``dsrvae`` is a target name; else ``(None, key)``."""
    head, dot, rest = key.partition(".")
    if dot and head.lower() in scopes:
        return head.lower(), rest
    if dot:
        raise OptionError(
            f"--option {key}=...: {head!r} is not a method or degradation of this run "
            f"(scoped options are NAME.KEY=VALUE with NAME one of: {', '.join(sorted(scopes)) or 'none'})"
        )
    return None, key


def _how(key: str) -> str:
    return {"ref": "--ref", "tile": "--tile", "tile_overlap": "--tile-overlap"}.get(key, f"--option {key}=...")


def _unknown(key: str, targets: Sequence[Target]) -> OptionError:
    known = sorted({s.name for t in targets for s in t.specs})
    close = difflib.get_close_matches(key, known, n=2, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    if key == "ref":
        return OptionError(
            f"--ref: no method of this run takes a reference image ({', '.join(t.label for t in targets if t.kind == 'method')} "
            f"{'is' if len(targets) == 1 else 'are'} not reference-based)"
        )
    if key == "seed":
        hint = " The seed is not an option: use --seed N (it seeds every stochastic method and degradation)."
    if len(targets) == 1:
        t = targets[0]
        return OptionError(f"{t.kind} {t.label} takes no option {key!r}; it takes: {t.takes()}.{hint}")
    per = "; ".join(f"{t.label}: {t.takes()}" for t in targets)
    return OptionError(f"no method or degradation of this run takes option {key!r} ({per}).{hint}")


def assign(options: Mapping[str, Any], targets: Sequence[Target]) -> None:
    """Parse ``options`` (``--option`` pairs, keys possibly scoped) into each target's ``given``."""
    scopes = {t.name for t in targets}
    for raw_key, value in options.items():
        scope, key = split_scope(str(raw_key).strip(), scopes)
        chosen = [t for t in targets if scope is None or t.name == scope]
        takers = [t for t in chosen if t.spec(key) is not None]
        if not takers:
            raise _unknown(key, chosen)
        for t in takers:
            spec = t.spec(key)
            try:
                t.given[key] = spec.parse(value)
            except ValueError as exc:
                raise OptionError(f"{_how(key)}: option {key}={value!r} for {t.kind} {t.label}: {exc}") from None
            if spec.type == "ref":  # a missing or corrupt reference image fails now, not mid-run
                t.ref_ids[key] = ref_identity(t.given[key])


def label(base: str, identity: Mapping[str, str]) -> str:
    """``dsrvae`` + ``{"latent": "zero"}`` -> ``dsrvae[latent=zero]``."""
    if not identity:
        return base
    return base + "[" + ",".join(f"{k}={v}" for k, v in sorted(identity.items())) + "]"


_REF_WORDS = {"lr": "lr", "self": "lr", "noise": "noise", "random": "noise"}


def ref_identity(value: Any) -> str:
    """``lr`` / ``noise``, or ``pixels:<sha256>`` of the reference image(s) (every file decoded and hashed).

    A folder is identified by its images' pixels in name order; an unreadable image is an
    :class:`~srbench.errors.ImageError` naming the file.
    """
    from srbench.hashing import array_key, json_key
    from srbench.images import REFERENCE_SUFFIXES, read_image

    text = str(value).strip()
    if text.lower() in _REF_WORDS:
        return _REF_WORDS[text.lower()]
    p = Path(text).expanduser()
    if p.is_file():
        files = [p]
    elif p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in REFERENCE_SUFFIXES)
        if not files:
            raise OptionError(f"--ref {text}: the folder holds no images ({', '.join(REFERENCE_SUFFIXES)})")
    else:
        raise OptionError(f"--ref {text}: not 'lr', 'noise', an image file or a folder of images")
    # sample i of a folder uses its i-th image (sorted by name): the order is part of the identity, names are not
    return "pixels:" + json_key([array_key(read_image(f)) for f in files])
