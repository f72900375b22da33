"""srbench.weights: resolution order, download verification, offline errors, import, strict and safe loading."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import pytest
import torch

from srbench.errors import WeightsError
from srbench.method_api import MethodInfo, WeightFile
from srbench.weights import (
    cache_dir,
    files_for,
    import_file,
    load_checkpoint,
    load_strict,
    resolve,
    status,
    unwrap,
)


def _save_state(path: Path, seed: int = 0) -> str:
    g = torch.Generator().manual_seed(seed)
    torch.save({"w": torch.randn(3, 2, generator=g), "b": torch.randn(3, generator=g)}, path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _info(*files: WeightFile, name: str = "toy", **variants) -> MethodInfo:
    return MethodInfo(
        name=name,
        title="Toy",
        paper="-",
        variants={"main": tuple(files), **variants},
        loader="x:y",
    )


@pytest.fixture
def ckpt(tmp_path) -> tuple[Path, str]:
    path = tmp_path / "src" / "toy.pth"
    path.parent.mkdir()
    return path, _save_state(path)


# ---------------------------------------------------------------- resolve order


def test_resolve_prefers_override_then_cache_then_download(fresh_home, tmp_path, ckpt):
    src, digest = ckpt
    wf = WeightFile("toy.pth", urls=(src.as_uri(),), sha256=digest)
    info = _info(wf)

    # 1. nothing cached: downloaded from the file:// URL into the cache, verified
    got = resolve(info, allow_download=True)["toy.pth"]
    assert got.provenance == "official" and got.sha256 == digest
    assert got.path == cache_dir("toy") / "toy.pth" and got.path.read_bytes() == src.read_bytes()

    # 2. cached copy wins over the URL (the URL is gone now)
    src.unlink()
    got = resolve(info, allow_download=True)["toy.pth"]
    assert got.path == cache_dir("toy") / "toy.pth"

    # 3. an override wins over the cache, and its sha256 is what gets recorded
    other = tmp_path / "mine.pth"
    other_digest = _save_state(other, seed=1)
    got = resolve(info, overrides={"toy": other})["toy.pth"]
    assert got.path == other and got.sha256 == other_digest and got.provenance == "user"

    # an override folder holding the declared name
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "toy.pth").write_bytes(other.read_bytes())
    assert resolve(info, overrides={"toy": folder})["toy.pth"].path == folder / "toy.pth"


def test_resolve_override_missing_is_an_error(fresh_home, tmp_path):
    info = _info(WeightFile("toy.pth"))
    with pytest.raises(WeightsError, match="does not exist"):
        resolve(info, overrides={"toy": tmp_path / "nope.pth"})


def test_download_sha256_mismatch_is_rejected_and_nothing_cached(fresh_home, ckpt):
    src, digest = ckpt
    wf = WeightFile("toy.pth", urls=(src.as_uri(),), sha256="0" * 64)
    with pytest.raises(WeightsError) as exc:
        resolve(_info(wf), allow_download=True)
    assert "does not match" in str(exc.value) and digest in str(exc.value)
    assert not (cache_dir("toy") / "toy.pth").exists()
    assert not list(cache_dir("toy").glob(".part-*"))


def test_download_tries_the_next_url(fresh_home, tmp_path, ckpt):
    src, digest = ckpt
    wf = WeightFile("toy.pth", urls=((tmp_path / "missing.pth").as_uri(), src.as_uri()), sha256=digest)
    assert resolve(_info(wf), allow_download=True)["toy.pth"].sha256 == digest


def test_offline_error_says_where_to_get_the_file(fresh_home, monkeypatch, ckpt):
    src, digest = ckpt
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    wf = WeightFile("toy.pth", urls=(src.as_uri(),), sha256=digest, size=1234, source="the toy authors")
    with pytest.raises(WeightsError) as exc:
        resolve(_info(wf))
    msg = str(exc.value)
    for part in ("toy.pth", "offline", src.as_uri(), digest, "1,234 bytes", "the toy authors",
                 "srbench weights import toy", "--weights toy=", str(cache_dir("toy"))):
        assert part in msg, part
    assert not (cache_dir("toy") / "toy.pth").exists()


def test_manual_files_are_never_downloaded(fresh_home, ckpt):
    src, digest = ckpt
    wf = WeightFile("toy.pth", urls=(src.as_uri(),), sha256=digest, manual=True)
    with pytest.raises(WeightsError, match="no automatic download"):
        resolve(_info(wf), allow_download=True)
    assert status(_info(wf)) == "missing"
    assert status(_info(WeightFile("toy.pth", urls=(src.as_uri(),)))) == "downloadable"


def test_files_for_filters_by_scale():
    files = tuple(WeightFile(f"x{s}.pth", scale=s) for s in (2, 4))
    info = _info(*files)
    assert [f.name for f in files_for(info, None, 4)] == ["x4.pth"]
    assert [f.name for f in files_for(info, "main")] == ["x2.pth", "x4.pth"]


# ---------------------------------------------------------------- import


def test_import_file_by_sha_and_by_name(fresh_home, tmp_path, ckpt):
    src, digest = ckpt
    info = _info(WeightFile("official.pth", sha256=digest), WeightFile("other.pth"))
    # matched by sha256 although the name differs; recorded as the official file
    got = import_file(info, src)
    assert got.file.name == "official.pth" and got.provenance == "official"
    assert (cache_dir("toy") / "official.pth").read_bytes() == src.read_bytes()
    # matched by name (no sha256 declared)
    other = tmp_path / "other.pth"
    _save_state(other, seed=3)
    got = import_file(info, other)
    assert got.file.name == "other.pth" and got.provenance == "user"
    # neither: a clear error listing the declared names
    stray = tmp_path / "stray.pth"
    _save_state(stray, seed=4)
    with pytest.raises(WeightsError, match="official.pth, other.pth"):
        import_file(info, stray)
    # --name picks the file
    assert import_file(info, stray, name="other.pth").file.name == "other.pth"


def test_import_refuses_unreadable_files(fresh_home, tmp_path):
    bad = tmp_path / "toy.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="cannot read checkpoint"):
        import_file(_info(WeightFile("toy.pth")), bad)
    assert not (cache_dir("toy") / "toy.pth").exists()
    with pytest.raises(WeightsError, match="is not a file"):
        import_file(_info(WeightFile("toy.pth")), tmp_path / "absent.pth")


# ---------------------------------------------------------------- safe loading


class _Evil:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_malicious_pickle_is_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.pth"
    torch.save({"w": torch.zeros(1), "payload": _Evil(str(marker))}, bad)
    with pytest.raises(WeightsError):
        load_checkpoint(bad)
    assert not marker.exists()
    # a plain pickle file, not torch's zip container
    raw = tmp_path / "evil.pkl.pth"
    raw.write_bytes(pickle.dumps(_Evil(str(marker))))
    with pytest.raises(WeightsError):
        load_checkpoint(raw)
    assert not marker.exists()
    # sanity: the payload really does create the marker when unpickled unsafely
    pickle.loads(raw.read_bytes())
    assert marker.exists()


def test_load_checkpoint_formats(tmp_path):
    from safetensors.torch import save_file

    st = tmp_path / "a.safetensors"
    save_file({"w": torch.ones(2)}, str(st))
    assert torch.equal(load_checkpoint(st)["w"], torch.ones(2))
    notdict = tmp_path / "list.pth"
    torch.save([torch.ones(1)], notdict)
    with pytest.raises(WeightsError, match="not a state dict"):
        load_checkpoint(notdict)


def test_unwrap():
    inner = {"module.a": 1, "b": 2}
    assert unwrap({"params_ema": inner, "params": {}}, "params_ema", "params", strip_prefix="module.") == {"a": 1, "b": 2}
    assert unwrap({"params": inner}, "params_ema", "params") == inner
    assert unwrap(inner, "params") == inner


# ---------------------------------------------------------------- strict loading


def _net():
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(4, 2, 1))


def test_load_strict_accepts_an_exact_state_and_renames():
    src = _net()
    dst = load_strict(_net(), src.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(src.state_dict().values(), dst.state_dict().values()))
    renamed = {"x." + k: v for k, v in src.state_dict().items()}
    load_strict(_net(), renamed, rename=lambda k: k[2:])


@pytest.mark.parametrize(
    "edit, expect",
    [
        (lambda s: s.pop("1.bias"), "missing keys: 1.bias"),
        (lambda s: s.__setitem__("2.weight", torch.zeros(1)), "unexpected keys: 2.weight"),
        (lambda s: s.__setitem__("0.bias", torch.zeros(5)), "shape mismatches: 0.bias: checkpoint (5,) vs model (4,)"),
        (lambda s: s.__setitem__("first.weight", s.pop("0.weight")), "missing keys: 0.weight; unexpected keys: first.weight"),
    ],
)
def test_load_strict_errors_name_the_keys(edit, expect):
    state = dict(_net().state_dict())
    edit(state)
    with pytest.raises(WeightsError) as exc:
        load_strict(_net(), state, source="toy.pth")
    assert expect in str(exc.value) and "toy.pth does not fit Sequential" in str(exc.value)
