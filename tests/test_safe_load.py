"""srbench.safe_load: one loader for every torch.load / safetensors read, with errors that explain the file.

Covers the hardening item "checkpoints that are not checkpoints": garbage, truncated, empty, HTML and
plain-pickle files are "not a PyTorch checkpoint"; pickles holding Python objects other than tensors
are refused (and their payload never runs); I/O errors say what is wrong; torch's advice to re-run
with weights_only=False never reaches the user; damaged safetensors files get the same treatment.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import pytest
import torch

from srbench.errors import WeightsError
from srbench.safe_load import (
    CheckpointReadError,
    NotACheckpointError,
    UnsafeCheckpointError,
    safetensors_load_safe,
    safetensors_metadata_safe,
    sniff,
    torch_load_safe,
    unsafe_globals,
)

REMEDY = "download it again from https://example.org/toy.pth"
REPO = Path(__file__).resolve().parents[1]


class _Mkdir:
    """Unpickling this creates a folder: proof that code ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _good(path: Path, zip_format: bool = True) -> Path:
    torch.save({"w": torch.arange(6.0).reshape(2, 3), "step": 3, "name": "toy"}, path,
               _use_new_zipfile_serialization=zip_format)
    return path


def _no_torch_advice(exc: BaseException) -> None:
    """torch's text suggests weights_only=False: it must be neither in the message nor chained."""
    assert "weights_only" not in str(exc)
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)


# ---------------------------------------------------------------- not a checkpoint


def _garbage(p: Path):
    p.write_bytes(bytes(range(7, 250)) * 5)


def _empty(p: Path):
    p.write_bytes(b"")


def _html(p: Path):
    p.write_bytes(b"<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head></html>")


def _truncated_zip(p: Path):
    _good(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def _truncated_legacy(p: Path):
    _good(p, zip_format=False)
    data = p.read_bytes()
    p.write_bytes(data[:-10])


def _plain_pickle(p: Path):
    p.write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=4))


@pytest.mark.parametrize(
    "make, reason",
    [
        (_garbage, r"neither a zip archive nor a pickle"),
        (_empty, r"empty file, 0 bytes"),
        (_html, r"HTML page"),
        (_truncated_zip, r"truncated or damaged zip archive"),
        (_truncated_legacy, r"truncated or damaged"),
        (_plain_pickle, r"plain Python pickle"),
    ],
    ids=["garbage", "empty", "html", "truncated-zip", "truncated-legacy", "plain-pickle"],
)
def test_files_that_are_not_checkpoints(tmp_path, make, reason):
    path = tmp_path / "toy.pth"
    make(path)
    with pytest.raises(NotACheckpointError) as err:
        torch_load_safe(path, "checkpoint", REMEDY)
    msg = str(err.value)
    assert isinstance(err.value, WeightsError)
    assert f"checkpoint {path}" in msg and "is not a PyTorch checkpoint" in msg
    assert re.search(reason, msg), msg
    assert "damaged or not what it claims" in msg and "Download it again from https://example.org/toy.pth" in msg
    assert err.value.path == path
    _no_torch_advice(err.value)


# ---------------------------------------------------------------- objects other than tensors


def test_malicious_pickles_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    zipped, legacy, raw = tmp_path / "zip.pth", tmp_path / "legacy.pth", tmp_path / "raw.pth"
    torch.save({"w": torch.zeros(2), "payload": _Mkdir(str(marker))}, zipped)
    torch.save({"w": torch.zeros(2), "payload": _Mkdir(str(marker))}, legacy, _use_new_zipfile_serialization=False)
    raw.write_bytes(pickle.dumps(_Mkdir(str(marker))))
    mkdir = f"{os.mkdir.__module__}.mkdir"  # posix.mkdir / nt.mkdir
    for path in (zipped, legacy, raw):
        assert mkdir in unsafe_globals(path)  # read from the opcodes
        with pytest.raises(UnsafeCheckpointError) as err:
            torch_load_safe(path, "checkpoint", REMEDY)
        msg = str(err.value)
        assert msg.startswith(f"cannot read checkpoint {path}: refused")
        assert "Python objects other than tensors" in msg and mkdir in msg
        assert "srbench never unpickles code" in msg and "download it again from https://example.org" in msg
        assert err.value.objects == (mkdir,)
        _no_torch_advice(err.value)
        assert not marker.exists()
    # the payload is real: unpickling it without the safe loader creates the marker
    pickle.loads(raw.read_bytes())
    assert marker.exists()


def test_full_model_pickle_is_refused_with_state_dict_advice(tmp_path):
    path = tmp_path / "model.pth"
    torch.save(torch.nn.Linear(2, 3), path)
    with pytest.raises(UnsafeCheckpointError) as err:
        torch_load_safe(path)
    msg = str(err.value)
    assert "torch.nn.modules.linear.Linear" in msg and "model.state_dict()" in msg
    assert "builtins.set" not in msg  # allowed by torch; Python 2 names are mapped as the unpickler does
    _no_torch_advice(err.value)


def test_numpy_values_are_objects_other_than_tensors(tmp_path):
    import numpy as np

    path = tmp_path / "np.pth"
    torch.save({"w": torch.zeros(1), "mean": np.zeros(3)}, path)
    with pytest.raises(UnsafeCheckpointError, match="numpy"):
        torch_load_safe(path)


# ---------------------------------------------------------------- I/O errors and good files


def test_io_errors(tmp_path):
    with pytest.raises(CheckpointReadError, match="does not exist"):
        torch_load_safe(tmp_path / "absent.pth")
    with pytest.raises(CheckpointReadError, match="is a folder, not a file"):
        torch_load_safe(tmp_path)
    with pytest.raises(CheckpointReadError, match="does not exist"):
        safetensors_load_safe(tmp_path / "absent.safetensors")
    if hasattr(os, "geteuid") and os.geteuid() != 0:  # root reads anything
        locked = _good(tmp_path / "locked.pth")
        locked.chmod(0)
        try:
            with pytest.raises(CheckpointReadError, match="permission denied"):
                torch_load_safe(locked)
        finally:
            locked.chmod(0o600)


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_good_checkpoints_load(tmp_path, zip_format):
    obj = torch_load_safe(_good(tmp_path / "ok.pth", zip_format))
    assert torch.equal(obj["w"], torch.arange(6.0).reshape(2, 3)) and obj["step"] == 3 and obj["name"] == "toy"
    assert unsafe_globals(tmp_path / "ok.pth") == []
    assert sniff(tmp_path / "ok.pth") == ("zip" if zip_format else "torch-legacy")


# ---------------------------------------------------------------- safetensors


def test_damaged_safetensors(tmp_path):
    from safetensors.torch import save_file

    good = tmp_path / "good.safetensors"
    save_file({"w": torch.ones(64)}, str(good), metadata={"k": "v"})
    assert torch.equal(safetensors_load_safe(good)["w"], torch.ones(64))
    assert safetensors_metadata_safe(good) == {"k": "v"}
    data = good.read_bytes()
    cases = {
        "truncated": data[:-16],
        "garbage": bytes(range(256)) * 2,
        "empty": b"",
        "html": b"<html><body>sign in</body></html>",
    }
    pth = tmp_path / "pth.safetensors"
    _good(pth)
    cases["pth"] = pth.read_bytes()
    for name, blob in cases.items():
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(blob)
        for load in (safetensors_load_safe, safetensors_metadata_safe):
            with pytest.raises(NotACheckpointError) as err:
                load(path, "checkpoint", REMEDY)
            msg = str(err.value)
            assert f"cannot read checkpoint {path}: it is not a valid safetensors file" in msg, msg
            assert "damaged or not what it claims" in msg and "https://example.org/toy.pth" in msg
    with pytest.raises(NotACheckpointError, match="give it the suffix .pth"):
        safetensors_load_safe(pth)


# ---------------------------------------------------------------- one loader everywhere


def test_no_direct_torch_load_or_safetensors_read_outside_safe_load():
    """Every torch.load / safetensors read in srbench and its adapters goes through srbench.safe_load."""
    pattern = re.compile(r"\btorch\.load\(|\bload_file\(|\bsafe_open\(|\bsafetensors\.torch\.load\(")
    offenders = []
    for root in (REPO / "srbench", REPO / "methods"):
        for path in root.rglob("*.py"):
            if path == REPO / "srbench" / "safe_load.py":
                continue
            for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if pattern.search(code) and "``" not in code:
                    offenders.append(f"{path.relative_to(REPO)}:{no}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
