"""Finding, verifying, importing and safely loading method checkpoints.

Resolution order for each file a method declares (``MethodInfo.variants[variant]``):

1. ``--weights METHOD=PATH`` on the command line, where PATH is
   * a folder: each declared file is taken from it by its declared name;
   * a file: accepted only when it is the *only* file the method declares (for that variant and scale);
     its name does not matter;
   * several files and/or folders, comma-separated (``--weights dsrvae=/a/VAE_SR.pth,/b/VAE_denoiser.pth``):
     each file is matched to a declared file by sha256 (when the declaration has one) or by name, the
     folders supply the declared names they hold.
   Every declared file must be covered and every given file must match one, else a WeightsError lists
   what is needed and what was given. A file the user did not name is never taken from a folder the user
   did not name. With ``--weights`` given, the cache is not consulted for that method.
2. srbench's cache ``$SRBENCH_HOME/weights/<method>/<file>``;
3. download from the declared URLs with sha256 verification (not for ``manual`` Google-Drive files, not
   when offline).

A method whose weights are missing never runs: :class:`WeightsError` says where to get the file and
how to import it (``srbench weights import METHOD FILE``). Each :class:`ResolvedWeight` records the path,
its sha256, its provenance and where it was found (``origin``). Checkpoints are read with
``torch.load(weights_only=True)`` or safetensors through :mod:`srbench.safe_load`, never by unpickling
arbitrary objects.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from srbench.errors import WeightsError
from srbench.hashing import sha256_file
from srbench.method_api import MethodInfo, WeightFile
from srbench.paths import home, offline


@dataclass(frozen=True)
class ResolvedWeight:
    file: WeightFile
    path: Path
    sha256: str
    provenance: str  # official | user | download | trained
    origin: str = ""  # where it was found: "--weights", "cache", "download <url>", "import <file>"

    def manifest(self) -> dict[str, str]:
        out = {"sha256": self.sha256, "provenance": self.provenance, "path": str(self.path)}
        if self.origin:
            out["origin"] = self.origin
        return out

    def describe(self) -> str:
        """``VAE_SR.pth <- /a/VAE_SR.pth (user, sha256 0123456789ab..., from --weights)``."""
        where = f", from {self.origin}" if self.origin else ""
        return f"{self.file.name} <- {self.path} ({self.provenance}, sha256 {self.sha256[:12]}...{where})"


def cache_dir(method: str) -> Path:
    return home() / "weights" / method


def files_for(info: MethodInfo, variant: str | None, scale: int | None = None) -> tuple[WeightFile, ...]:
    if not info.variants:
        return ()
    files = info.variants[variant or info.default_variant]
    if scale is not None and any(f.scale is not None for f in files):
        files = tuple(f for f in files if f.scale in (None, scale))
    return files


def _provenance(wf: WeightFile, digest: str, default: str) -> str:
    if wf.sha256 and digest == wf.sha256:
        return "official"
    return default


def _marker_of(path: Path) -> Path:
    from srbench.checkpoint_format import TRAINED_MARKER_SUFFIX

    return path.with_name(path.name + TRAINED_MARKER_SUFFIX)


def _trained_marker(path: Path) -> bool:
    return _marker_of(path).exists() or path.name.endswith(".srbench.safetensors")


def how_to_get(info: MethodInfo, wf: WeightFile, several: bool = False) -> str:
    lines = [f"  {wf.name}" + (f" ({wf.size:,} bytes)" if wf.size else "")]
    if wf.source:
        lines.append(f"    from: {wf.source}")
    for url in wf.urls:
        lines.append(f"    url:  {url}")
    if wf.sha256:
        lines.append(f"    sha256: {wf.sha256}")
    lines.append(f"    then: srbench weights import {info.name} /path/to/{wf.name}")
    if several:
        lines.append(f"    or:   srbench run --weights {info.name}=/folder/holding/every/file ...")
    else:
        lines.append(f"    or:   srbench run --weights {info.name}=/path/to/{wf.name} ...")
    return "\n".join(lines)


def _download(wf: WeightFile, dest: Path) -> tuple[Path, str]:
    """Download ``wf`` to ``dest`` from the first declared URL that works; ``(dest, url)``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in wf.urls:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
        os.close(fd)
        try:
            with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:  # noqa: S310 - declared URL
                shutil.copyfileobj(r, f)
            digest = sha256_file(tmp)
            if wf.sha256 and digest != wf.sha256:
                raise WeightsError(f"{url}: sha256 {digest} does not match the declared {wf.sha256}")
            os.replace(tmp, dest)
            return dest, url
        except Exception as exc:  # try the next URL
            errors.append(f"{url}: {exc}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise WeightsError("download failed:\n  " + "\n  ".join(errors))


def _override(info: MethodInfo, variant: str | None, overrides) -> tuple[str, Any] | None:
    """``(key, value)`` of the ``--weights`` entry for this method (``name:variant`` before ``name``)."""
    if not overrides:
        return None
    keys = ((f"{info.name}:{variant}",) if variant else ()) + (info.name,)
    for key in keys:
        value = overrides.get(key)
        if value not in (None, "", (), []):
            return key, value
    return None


def _split(value) -> list[Path]:
    """The paths of one ``--weights`` value: a path, a comma-separated list, or a sequence of paths."""
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        text = str(value)
        # a path that exists is one path, even if its name has a comma
        items = [text] if "," not in text or Path(text).expanduser().exists() else text.split(",")
    return [Path(i.strip()).expanduser() for i in items if i.strip()]


def _names(files) -> str:
    names = [wf.name for wf in files]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _match(path: Path, files, digest) -> WeightFile | None:
    """The declared file ``path`` is: by sha256 (where declared), else by name."""
    d = digest(path)
    return next((f for f in files if f.sha256 and f.sha256 == d), None) or next(
        (f for f in files if f.name == path.name), None)


def _from_override(info: MethodInfo, variant: str | None, scale: int | None, files, key: str, value,
                   digest) -> dict[str, Path]:
    """declared file name -> the path the user gave for it (see the module docstring for the rules)."""
    given = _split(value)
    arg = f"--weights {key}={value if isinstance(value, (str, Path)) else ','.join(map(str, value))}"
    what = f"method {info.name!r}" + (f" (variant {variant!r})" if variant else "") + (f" at x{scale}" if scale else "")
    need = f"{what} needs {len(files)} weight file{'s' if len(files) > 1 else ''}: {_names(files)}"
    absent = [p for p in given if not p.exists()]
    if absent:
        raise WeightsError(f"{arg}: {', '.join(map(str, absent))} does not exist ({need})")
    paths = [p for p in given if not p.is_dir()]
    folders = [p for p in given if p.is_dir()]
    if len(files) == 1 and len(given) == 1 and paths:
        # the only declared file: whatever its name, unless it is recognisably the file of another scale
        other = _match(paths[0], [f for f in files_for(info, variant) if f.name != files[0].name], digest)
        if other is not None:
            raise WeightsError(
                f"{arg}: {paths[0]} is {other.name}" + (f", the x{other.scale} file" if other.scale else "")
                + f"; {need}. Give a folder holding the files of every scale you run, or one --weights per run"
            )
        return {files[0].name: paths[0]}
    chosen: dict[str, Path] = {}
    unmatched: list[Path] = []
    for p in paths:
        wf = _match(p, files, digest)
        if wf is None:
            unmatched.append(p)
        elif wf.name in chosen:
            raise WeightsError(f"{arg}: {chosen[wf.name]} and {p} are both {wf.name}; give each file once ({need})")
        else:
            chosen[wf.name] = p
    for folder in folders:
        for wf in files:
            if wf.name not in chosen and (folder / wf.name).is_file():
                chosen[wf.name] = folder / wf.name
    missing = [wf for wf in files if wf.name not in chosen]
    if not missing and not unmatched:
        return chosen
    lines = [f"{arg}: {need}."]
    if len(given) == 1 and paths and len(files) > 1:
        lines[0] += " A single file is only accepted for a method that needs exactly one."
    for name, p in chosen.items():
        lines.append(f"  given:     {p} -> {name}")
    for p in unmatched:
        lines.append(f"  unmatched: {p} (neither the name nor the sha256 of a declared file: {_names(files)})")
    for wf in missing:
        where = f" (not in {', '.join(map(str, folders))})" if folders else ""
        lines.append(f"  missing:   {wf.name}{where}")
    lines.append(
        f"  Give a folder that holds every file (--weights {key}=/folder), or every file, comma-separated: "
        f"--weights {key}=" + ",".join(f"/path/to/{wf.name}" for wf in files)
    )
    raise WeightsError("\n".join(lines))


def resolve(
    info: MethodInfo,
    variant: str | None = None,
    scale: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    allow_download: bool | None = None,
) -> dict[str, ResolvedWeight]:
    """Find every weight file of ``info``/``variant``; raise WeightsError listing what is missing."""
    files = files_for(info, variant, scale)
    if not files:
        return {}
    allow_download = (not offline()) if allow_download is None else allow_download
    digests: dict[Path, str] = {}

    def digest(p: Path) -> str:
        if p not in digests:
            digests[p] = sha256_file(p)
        return digests[p]

    found: dict[str, ResolvedWeight] = {}
    over = _override(info, variant, overrides)
    if over is not None:
        for name, p in _from_override(info, variant, scale, files, *over, digest).items():
            wf = next(f for f in files if f.name == name)
            prov = "trained" if _trained_marker(p) else "user"
            found[name] = ResolvedWeight(wf, p, digest(p), _provenance(wf, digest(p), prov), "--weights")
        return {wf.name: found[wf.name] for wf in files}
    missing: list[WeightFile] = []
    for wf in files:
        cached = cache_dir(info.name) / wf.name
        if cached.is_file():
            path, prov, origin = cached, ("trained" if _trained_marker(cached) else "user"), "cache"
        elif wf.urls and not wf.manual and allow_download:
            (path, url), prov = _download(wf, cached), "download"
            origin = f"download {url}"
        else:
            missing.append(wf)
            continue
        found[wf.name] = ResolvedWeight(wf, path, digest(path), _provenance(wf, digest(path), prov), origin)
    if missing:
        why = "offline mode, downloads disabled" if not allow_download else "no automatic download for these files"
        several = len(files) > 1
        raise WeightsError(
            f"method {info.name!r}"
            + (f" (variant {variant!r})" if variant else "")
            + f" needs weights that are not present ({why}); it will not run without them.\n"
            + "\n".join(how_to_get(info, wf, several) for wf in missing)
            + f"\n  cache folder: {cache_dir(info.name)}"
        )
    return found


def status(info: MethodInfo, variant: str | None = None, offline_mode: bool | None = None) -> str:
    """For `srbench list`, without downloading: "present", "downloadable" (online, every missing file has
    a download URL), "missing (offline; downloadable when online)", "missing" or "n/a" (no weights)."""
    files = files_for(info, variant)
    if not files:
        return "n/a"
    missing = [wf for wf in files if not (cache_dir(info.name) / wf.name).is_file()]
    if not missing:
        return "present"
    if all(wf.urls and not wf.manual for wf in missing):
        is_offline = offline() if offline_mode is None else offline_mode
        return "missing (offline; downloadable when online)" if is_offline else "downloadable"
    return "missing"


def import_file(info: MethodInfo, src: str | Path, variant: str | None = None, name: str | None = None) -> ResolvedWeight:
    """Copy a user-supplied checkpoint into the cache after checking it is one the method declares."""
    src = Path(src).expanduser()
    if not src.is_file():
        raise WeightsError(f"{src} is not a file")
    files = [wf for v in ([variant] if variant else list(info.variants)) for wf in info.variants.get(v, ())]
    if not files:
        raise WeightsError(f"method {info.name!r} declares no weight files")
    digest = sha256_file(src)
    match = [wf for wf in files if wf.sha256 and wf.sha256 == digest]
    if not match:
        match = [wf for wf in files if wf.name == (name or src.name)]
    if not match:
        names = ", ".join(sorted({wf.name for wf in files}))
        raise WeightsError(
            f"{src.name} (sha256 {digest}) is none of the files {info.name!r} declares ({names}); "
            "pass --name to say which one it is"
        )
    wf = match[0]
    # refuse anything that is not a loadable checkpoint before caching it
    load_checkpoint(src)
    dest = cache_dir(info.name) / wf.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
    os.close(fd)
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
    marker = _marker_of(src)  # written by srbench train beside a .pth in a released layout
    if marker.is_file():
        shutil.copyfile(marker, _marker_of(dest))
    default = "trained" if _trained_marker(dest) else "user"
    return ResolvedWeight(wf, dest, digest, _provenance(wf, digest, default), f"import {src}")


def _remedy_for(path: Path) -> str:
    """How to get a good copy of a method checkpoint at ``path`` (for error messages)."""
    try:
        method, name = path.resolve().relative_to((home() / "weights").resolve()).parts
    except ValueError:  # not in srbench's cache, or not <method>/<file>
        return ("get a good copy from where it came from (`srbench list methods --verbose` shows where each "
                "method's files are published) and pass it again")
    try:
        from srbench import registry

        info = registry.methods().get(method)
    except Exception:  # noqa: BLE001 - only for the message
        info = None
    wf = next((f for v in (info.variants.values() if info else ()) for f in v if f.name == name), None)
    source = ((wf.urls[0] if wf.urls else wf.source) or "") if wf is not None else ""
    return (f"delete {path} and get the file again" + (f" from {source}" if source else "")
            + f", then `srbench weights import {method} /path/to/{name}`")


def load_checkpoint(path: str | Path, remedy: str | None = None) -> dict[str, Any]:
    """Read a state dict without executing code: safetensors, or ``torch.load(weights_only=True)``.

    A damaged file, a pickle holding objects other than tensors, or an unreadable file is a
    :class:`~srbench.safe_load.CheckpointError` (a WeightsError) that says what is wrong and ``remedy``
    (default: how to get the file again).
    """
    from srbench.safe_load import safetensors_load_safe, torch_load_safe

    path = Path(path)
    remedy = remedy or _remedy_for(path)
    if path.suffix == ".safetensors":
        return safetensors_load_safe(path, "checkpoint", remedy)
    obj = torch_load_safe(path, "checkpoint", remedy)
    if not isinstance(obj, dict):
        raise WeightsError(f"checkpoint {path} holds a {type(obj).__name__}, not a state dict. {remedy[:1].upper()}{remedy[1:]}.")
    return obj


def unwrap(state: Mapping[str, Any], *keys: str, strip_prefix: str = "") -> dict[str, Any]:
    """Take ``state[key]`` for the first key present (e.g. "params_ema", "params") and strip a prefix
    such as DataParallel's ``"module."``."""
    for k in keys:
        if k in state and isinstance(state[k], Mapping):
            state = state[k]
            break
    if strip_prefix:
        state = {(k[len(strip_prefix):] if k.startswith(strip_prefix) else k): v for k, v in state.items()}
    return dict(state)


def load_strict(model, state: Mapping[str, Any], source: str = "checkpoint", rename: Callable[[str], str] | None = None):
    """``model.load_state_dict(strict=True)`` with an error that lists missing/unexpected/misshaped keys."""
    if rename is not None:
        state = {rename(k): v for k, v in state.items()}
    own = model.state_dict()
    # checkpoints saved before PyTorch 0.4.1 have no BatchNorm step counters; they are not weights
    # (only used when momentum=None in training), so take the model's own
    state = dict(state)
    for k in set(own) - set(state):
        if k.endswith("num_batches_tracked"):
            state[k] = own[k]
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(state))
        if hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shapes:
        def head(xs):
            return ", ".join(xs[:8]) + (f" ... (+{len(xs) - 8})" if len(xs) > 8 else "")

        parts = []
        if missing:
            parts.append(f"missing keys: {head(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {head(unexpected)}")
        if shapes:
            parts.append(f"shape mismatches: {head(shapes)}")
        raise WeightsError(f"{source} does not fit {type(model).__name__}: " + "; ".join(parts))
    model.load_state_dict(state, strict=True)
    return model
