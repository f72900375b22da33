"""Reading weight files without executing code, with errors that say what is wrong with the file.

Every file srbench reads with ``torch.load`` goes through :func:`torch_load_safe` (``weights_only=True``,
never anything else) and every safetensors file through :func:`safetensors_load_safe` /
:func:`safetensors_metadata_safe`. A failure is one of three :class:`~srbench.errors.WeightsError`
subclasses, each naming the file and saying what to do:

* :class:`NotACheckpointError` - the bytes are not a PyTorch checkpoint at all: empty, truncated, a
  damaged zip archive, an HTML page saved in place of the file, random bytes, a plain Python pickle;
* :class:`UnsafeCheckpointError` - a pickle that holds Python objects other than tensors (a malicious
  file, or a whole model saved with ``torch.save(model)``); it is refused, the objects are named (found
  by reading the pickle's opcodes, nothing is executed);
* :class:`CheckpointReadError` - the file cannot be read (absent, a folder, no permission, I/O error).

PyTorch's own message for a refused file advises re-running ``torch.load`` with ``weights_only=False``.
srbench never gives that advice: torch's text is not part of these messages, and the errors are raised
without chaining torch's exception.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import warnings
import zipfile
from pathlib import Path
from typing import Any

from srbench.errors import WeightsError

__all__ = [
    "CheckpointError",
    "CheckpointReadError",
    "NotACheckpointError",
    "UnsafeCheckpointError",
    "safetensors_load_safe",
    "safetensors_metadata_safe",
    "sniff",
    "torch_load_safe",
    "unsafe_globals",
]

DEFAULT_REMEDY = "download it again from where it came from"

#: what torch.save writes first in its legacy (non-zip) format: pickle protocol 2, LONG1 of the magic number
_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class CheckpointError(WeightsError):
    """A weight file that cannot be used; ``path`` is the file, ``reason`` the short diagnosis."""

    def __init__(self, message: str, path: Path, reason: str):
        super().__init__(message)
        self.path, self.reason = Path(path), reason


class NotACheckpointError(CheckpointError):
    pass


class UnsafeCheckpointError(CheckpointError):
    def __init__(self, message: str, path: Path, reason: str, objects: tuple[str, ...]):
        super().__init__(message, path, reason)
        self.objects = objects


class CheckpointReadError(CheckpointError):
    pass


# ------------------------------------------------------------------------------------------ sniffing


def _head(path: Path, n: int = 64) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def sniff(path: str | Path) -> str:
    """What a file looks like from its first bytes: ``empty``, ``zip``, ``torch-legacy``, ``pickle``,
    ``safetensors``, ``html``, ``hdf5``, ``matlab`` or ``unknown``. Reads 64 bytes, executes nothing."""
    head = _head(Path(path))
    if not head:
        return "empty"
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if head.startswith(_LEGACY_MAGIC):
        return "torch-legacy"
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return "pickle"
    if len(head) > 8 and head[8:9] == b"{" and 2 <= int.from_bytes(head[:8], "little") < Path(path).stat().st_size:
        return "safetensors"  # 8-byte little-endian header length, then the JSON header
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        return "html"
    if head.startswith(b"\x89HDF"):
        return "hdf5"
    if head.startswith(b"MATLAB"):
        return "matlab"
    return "unknown"


def _allowed_globals() -> set[str]:
    """The globals torch's weights-only unpickler accepts (for messages only: torch enforces its list)."""
    try:
        from torch._weights_only_unpickler import _get_allowed_globals

        allowed = set(_get_allowed_globals())
    except Exception:  # noqa: BLE001 - private API; fall back to the tensor-rebuilding names
        allowed = set()
    return allowed


def _is_allowed(name: str, allowed: set[str]) -> bool:
    if allowed:
        return name in allowed
    return name in {"collections.OrderedDict", "torch.Size", "torch.device"} or name.startswith(
        ("torch._utils._rebuild", "torch._tensor._rebuild")
    ) or (name.startswith("torch.") and name.endswith(("Storage", "Tensor")))


def _global_name(module: str, name: str) -> str:
    """``module.name`` with Python 2 names mapped as the unpickler maps them (``__builtin__`` -> ``builtins``)."""
    import _compat_pickle

    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return f"{module}.{name}"


_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}


def _globals_in_pickle(stream) -> list[str]:
    """``module.name`` of every GLOBAL / STACK_GLOBAL / INST in one pickle (opcodes only, no execution).

    STACK_GLOBAL takes its module and name from the stack: the two strings pushed (directly or from the
    memo) just before it, which is how every pickler writes it. Raises ValueError on damaged data."""
    found: list[str] = []
    memo: dict[int, Any] = {}
    recent: list[Any] = []  # last values pushed (strings, or None for anything else)
    for op, arg, _pos in pickletools.genops(stream):
        name = op.name
        if name in ("GLOBAL", "INST"):
            found.append(_global_name(*(str(arg).split(" ", 1) + [""])[:2]))
            recent.append(None)
        elif name == "STACK_GLOBAL":
            mod, attr = (recent[-2], recent[-1]) if len(recent) >= 2 else (None, None)
            found.append(_global_name(mod, attr) if isinstance(mod, str) and isinstance(attr, str) else "<unknown global>")
            recent.append(None)
        elif name in _STRING_OPS:
            recent.append(arg if isinstance(arg, str) else (arg.decode("latin-1") if isinstance(arg, bytes) else None))
        elif name == "MEMOIZE":
            memo[len(memo)] = recent[-1] if recent else None
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[int(arg)] = recent[-1] if recent else None
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            recent.append(memo.get(int(arg)))
        elif name in ("PROTO", "FRAME", "STOP"):
            pass
        else:
            recent.append(None)
        del recent[:-4]
    return found


def _pickles_of(path: Path, kind: str) -> list[bytes]:
    """The pickle streams a checkpoint holds: ``data.pkl`` of a zip checkpoint, the leading pickles of the
    legacy format, or the whole file for a plain pickle. Raises ValueError when the container is damaged."""
    if kind == "zip":
        try:
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if n == "data.pkl" or n.endswith("/data.pkl")]
                if not names:
                    raise ValueError("a zip archive without data.pkl")
                return [z.read(names[0])]
        except zipfile.BadZipFile as exc:
            raise ValueError(f"a truncated or damaged zip archive: {exc}") from None
    data = path.read_bytes()
    if kind == "torch-legacy":  # magic number, protocol, sys info, the object, storage keys (+ raw data)
        out, f = [], io.BytesIO(data)
        for _ in range(5):
            start = f.tell()
            if start >= len(data):
                break
            try:
                list(pickletools.genops(f))
            except Exception:  # noqa: BLE001 - damaged; report what was read so far
                out.append(data[start:])
                break
            out.append(data[start:f.tell()])
        return out
    return [data]


def unsafe_globals(path: str | Path) -> list[str]:
    """Python objects (``module.name``) a pickle checkpoint refers to that are not tensor data, in order of
    appearance. Nothing is executed. Raises ValueError when the file's pickle data is damaged."""
    path = Path(path)
    kind = sniff(path)
    if kind not in ("zip", "torch-legacy", "pickle"):
        raise ValueError(f"not a pickle ({kind})")
    allowed = _allowed_globals()
    out: list[str] = []
    for blob in _pickles_of(path, kind):
        try:
            names = _globals_in_pickle(io.BytesIO(blob))
        except Exception:  # noqa: BLE001 - pickletools raises ValueError or others on damage
            if out:
                break
            raise ValueError("its pickle data is truncated or damaged") from None
        out += [n for n in names if not _is_allowed(n, allowed) and n not in out]
    return out


# ------------------------------------------------------------------------------------------ messages


def _label(path: Path, what: str) -> str:
    return f"{what} {path}" if what else str(path)


def _remedy(remedy: str | None) -> str:
    text = (remedy or DEFAULT_REMEDY).strip()
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _io_error(path: Path, what: str, exc: OSError, remedy: str | None) -> CheckpointReadError:
    if isinstance(exc, FileNotFoundError):
        reason = "it does not exist"
    elif isinstance(exc, IsADirectoryError):
        reason = "it is a folder, not a file"
    elif isinstance(exc, PermissionError):
        reason = "permission denied"
    else:
        reason = f"I/O error: {exc.strerror or exc}"
    return CheckpointReadError(f"cannot read {_label(path, what)}: {reason}. {_remedy(remedy)}", path, reason)


_REASONS = {
    "empty": "an empty file, 0 bytes",
    "html": "it is an HTML page, e.g. a download site's sign-in or virus-scan warning page saved in place of the file",
    "safetensors": "it is a safetensors file; give it the suffix .safetensors",
    "hdf5": "it is an HDF5 file",
    "matlab": "it is a MATLAB .mat file",
}


def _not_a_checkpoint(path: Path, what: str, reason: str, remedy: str | None) -> NotACheckpointError:
    return NotACheckpointError(
        f"cannot read {_label(path, what)}: it is not a PyTorch checkpoint ({reason}); the file is damaged "
        f"or not what it claims. {_remedy(remedy)}",
        path,
        reason,
    )


def _unsafe(path: Path, what: str, objects: list[str], remedy: str | None) -> UnsafeCheckpointError:
    shown = ", ".join(objects[:6]) + (f" ... (+{len(objects) - 6})" if len(objects) > 6 else "")
    reason = f"it contains Python objects other than tensors: {shown}"
    return UnsafeCheckpointError(
        f"cannot read {_label(path, what)}: refused, {reason}. srbench never unpickles code: the file is "
        "malicious, or it holds more than a state dict (a whole model saved with torch.save(model), numpy "
        "values, training options). If you made it, save only model.state_dict() in the code that built the "
        "model and use that file; otherwise " + _remedy(remedy)[:1].lower() + _remedy(remedy)[1:],
        path,
        reason,
        tuple(objects),
    )


def _first_line(text: str) -> str:
    """One line of a library's message, without any advice about ``weights_only``."""
    for line in str(text).splitlines():
        line = line.strip()
        if line and "weights_only" not in line:
            return line[:200]
    return ""


def _diagnose(path: Path, what: str, remedy: str | None, detail: str = "") -> CheckpointError:
    """The error for a file that torch.load(weights_only=True) did not accept."""
    kind = sniff(path)
    if kind in _REASONS:
        return _not_a_checkpoint(path, what, _REASONS[kind], remedy)
    if kind in ("zip", "torch-legacy", "pickle"):
        try:
            objects = unsafe_globals(path)
        except ValueError as exc:
            return _not_a_checkpoint(path, what, str(exc), remedy)
        if objects:
            return _unsafe(path, what, objects, remedy)
        if kind == "pickle":
            return _not_a_checkpoint(path, what, "a plain Python pickle, not a file written by torch.save", remedy)
        return _not_a_checkpoint(path, what, f"truncated or damaged: {detail}" if detail else "truncated or damaged",
                                 remedy)
    head = _head(path, 8).hex(" ")
    return _not_a_checkpoint(path, what, f"its first bytes ({head}) are neither a zip archive nor a pickle", remedy)


# ------------------------------------------------------------------------------------------ loaders


def torch_load_safe(path: str | Path, what: str = "checkpoint", remedy: str | None = None) -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)``; a :class:`CheckpointError` when the file
    is not a checkpoint, holds objects other than tensors, or cannot be read.

    ``what`` names the file in messages (e.g. ``"metric 'lpips' weight file"``); ``remedy`` says how to
    get a good copy (e.g. ``"delete it; srbench downloads it again from https://..."``).
    """
    import torch

    path = Path(path)
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(path))
        if path.stat().st_size == 0:
            raise _not_a_checkpoint(path, what, _REASONS["empty"], remedy)
        with warnings.catch_warnings():  # torch's notice about pickle protocols > 2 ("please file an issue")
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except CheckpointError:
        raise
    except OSError as exc:
        raise _io_error(path, what, exc, remedy) from None
    except pickle.UnpicklingError:  # the weights-only unpickler refused something, or garbage bytes
        err = _diagnose(path, what, remedy)
    except EOFError:
        err = _not_a_checkpoint(path, what, "the file ends early: truncated", remedy)
    except Exception as exc:  # noqa: BLE001 - RuntimeError for damaged zips / legacy files, and others
        err = _diagnose(path, what, remedy, _first_line(str(exc)) or type(exc).__name__)
    raise err from None  # never chain torch's message: it suggests weights_only=False


def _safetensors_error(path: Path, what: str, exc: Exception, remedy: str | None) -> CheckpointError:
    if isinstance(exc, OSError):
        return _io_error(path, what, exc, remedy)
    kind = sniff(path) if path.is_file() else "unknown"
    if kind in _REASONS and kind != "safetensors":
        reason = _REASONS[kind]
    elif kind in ("zip", "torch-legacy", "pickle"):
        reason = "it is a PyTorch pickle checkpoint; give it the suffix .pth"
    else:
        reason = _first_line(str(exc)) or type(exc).__name__
        reason = reason.replace("Error while deserializing header: ", "damaged header: ")
    return NotACheckpointError(
        f"cannot read {_label(path, what)}: it is not a valid safetensors file ({reason}); the file is damaged "
        f"or not what it claims. {_remedy(remedy)}",
        path,
        reason,
    )


def safetensors_load_safe(path: str | Path, what: str = "checkpoint", remedy: str | None = None) -> dict[str, Any]:
    """Every tensor of a safetensors file (on the CPU); a :class:`CheckpointError` when it is damaged."""
    from safetensors.torch import load_file

    path = Path(path)
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(path))
        return dict(load_file(str(path), device="cpu"))
    except Exception as exc:  # noqa: BLE001 - SafetensorError, OSError ...
        raise _safetensors_error(path, what, exc, remedy) from None


def safetensors_metadata_safe(path: str | Path, what: str = "checkpoint", remedy: str | None = None) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors header (``{}`` if none); a :class:`CheckpointError` when damaged."""
    from safetensors import safe_open

    path = Path(path)
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(path))
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return dict(f.metadata() or {})
    except Exception as exc:  # noqa: BLE001
        raise _safetensors_error(path, what, exc, remedy) from None
