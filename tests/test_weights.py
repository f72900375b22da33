"""srbench.weights: resolution order, download verification, offline errors, import, strict and safe loading."""

from __future__ import annotations

import hashlib
import pickle
import re
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


# ---------------------------------------------------------------- --weights for methods with several files


def _two_files(tmp_path: Path, digest_of_sr: str | None = None) -> MethodInfo:
    # like dsrvae: two files per variant, both needed
    return _info(WeightFile("VAE_denoiser.pth"), WeightFile("VAE_SR.pth", sha256=digest_of_sr), name="twofile")


def test_a_single_file_is_refused_for_a_method_with_several(fresh_home, tmp_path):
    """Item 6: --weights dsrvae=/a/VAE_SR.pth must not take VAE_denoiser.pth from /a silently."""
    folder = tmp_path / "a"
    folder.mkdir()
    _save_state(folder / "VAE_SR.pth", 1)
    _save_state(folder / "VAE_denoiser.pth", 2)  # right beside it, but not named by the user
    info = _two_files(tmp_path)
    with pytest.raises(WeightsError) as err:
        resolve(info, overrides={"twofile": str(folder / "VAE_SR.pth")})
    msg = str(err.value)
    assert "needs 2 weight files: VAE_denoiser.pth and VAE_SR.pth" in msg
    assert f"given:     {folder / 'VAE_SR.pth'} -> VAE_SR.pth" in msg
    assert "missing:   VAE_denoiser.pth" in msg
    assert "only accepted for a method that needs exactly one" in msg
    assert "--weights twofile=/path/to/VAE_denoiser.pth,/path/to/VAE_SR.pth" in msg
    # the folder itself is fine: each declared name is taken from it
    got = resolve(info, overrides={"twofile": folder})
    assert {k: v.path for k, v in got.items()} == {"VAE_denoiser.pth": folder / "VAE_denoiser.pth",
                                                   "VAE_SR.pth": folder / "VAE_SR.pth"}


def test_comma_separated_files_are_matched_by_name_and_sha256(fresh_home, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    sr_digest = _save_state(a / "renamed_sr.pth", 1)
    den_digest = _save_state(b / "VAE_denoiser.pth", 2)
    info = _two_files(tmp_path, digest_of_sr=sr_digest)
    got = resolve(info, overrides={"twofile": f"{a / 'renamed_sr.pth'},{b / 'VAE_denoiser.pth'}"})
    assert list(got) == ["VAE_denoiser.pth", "VAE_SR.pth"]  # declared order
    sr, den = got["VAE_SR.pth"], got["VAE_denoiser.pth"]
    assert sr.path == a / "renamed_sr.pth" and sr.sha256 == sr_digest and sr.provenance == "official"
    assert den.path == b / "VAE_denoiser.pth" and den.sha256 == den_digest and den.provenance == "user"
    assert sr.origin == den.origin == "--weights"
    assert sr.describe() == f"VAE_SR.pth <- {a / 'renamed_sr.pth'} (official, sha256 {sr_digest[:12]}..., from --weights)"
    assert sr.manifest()["origin"] == "--weights"
    # a sequence of paths works the same (API callers)
    again = resolve(info, overrides={"twofile": [b / "VAE_denoiser.pth", a / "renamed_sr.pth"]})
    assert {k: v.path for k, v in again.items()} == {k: v.path for k, v in got.items()}


def test_unmatched_duplicate_and_missing_files_are_errors(fresh_home, tmp_path):
    info = _two_files(tmp_path)
    den, sr, stray = tmp_path / "VAE_denoiser.pth", tmp_path / "x" / "VAE_SR.pth", tmp_path / "stray.pth"
    sr.parent.mkdir()
    for i, p in enumerate((den, sr, stray)):
        _save_state(p, i)
    with pytest.raises(WeightsError) as err:
        resolve(info, overrides={"twofile": f"{den},{stray}"})
    msg = str(err.value)
    assert f"unmatched: {stray} (neither the name nor the sha256 of a declared file" in msg
    assert "missing:   VAE_SR.pth" in msg and f"given:     {den} -> VAE_denoiser.pth" in msg
    with pytest.raises(WeightsError, match="are both VAE_SR.pth"):
        resolve(info, overrides={"twofile": f"{sr},{sr},{den}"})
    with pytest.raises(WeightsError, match="does not exist"):
        resolve(info, overrides={"twofile": f"{den},{tmp_path / 'gone.pth'}"})
    # a folder lacking a declared file: the error says which, and where it was looked for
    with pytest.raises(WeightsError, match=re.escape(f"missing:   VAE_SR.pth (not in {tmp_path})")):
        resolve(info, overrides={"twofile": tmp_path})
    # folder + file: the folder supplies what the files do not
    got = resolve(info, overrides={"twofile": f"{sr},{tmp_path}"})
    assert got["VAE_SR.pth"].path == sr and got["VAE_denoiser.pth"].path == tmp_path / "VAE_denoiser.pth"


def test_per_scale_files_and_a_shared_file(fresh_home, tmp_path):
    """refvae-like: one model file per scale plus a shared encoder; a lone model file is not enough."""
    info = _info(WeightFile("net_4x.pth", scale=4), WeightFile("net_8x.pth", scale=8), WeightFile("enc.pth"),
                 name="perscale")
    net4, enc = tmp_path / "net_4x.pth", tmp_path / "enc" / "enc.pth"
    enc.parent.mkdir()
    _save_state(net4, 1)
    _save_state(enc, 2)
    with pytest.raises(WeightsError, match="at x4 needs 2 weight files: net_4x.pth and enc.pth"):
        resolve(info, scale=4, overrides={"perscale": net4})
    got = resolve(info, scale=4, overrides={"perscale": f"{net4},{enc}"})
    assert {k: v.path for k, v in got.items()} == {"net_4x.pth": net4, "enc.pth": enc}
    # a method with one file per scale takes a single file of any name ...
    single = _info(WeightFile("a_4x.pth", scale=4), WeightFile("a_8x.pth", scale=8), name="single")
    assert resolve(single, scale=4, overrides={"single": net4})["a_4x.pth"].path == net4
    # ... but not the file of another scale (e.g. `--weights srgan=netG_epoch_4_100.pth --scale 2,4`)
    a8 = tmp_path / "a_8x.pth"
    _save_state(a8, 3)
    with pytest.raises(WeightsError, match="a_8x.pth is a_8x.pth, the x8 file; method 'single' at x4 needs 1 weight file"):
        resolve(single, scale=4, overrides={"single": a8})
    assert resolve(single, scale=8, overrides={"single": a8})["a_8x.pth"].path == a8


def test_variant_specific_override_wins(fresh_home, tmp_path):
    info = _info(WeightFile("toy.pth"), name="toy", other=(WeightFile("other.pth"),))
    generic, specific = tmp_path / "generic.pth", tmp_path / "specific.pth"
    _save_state(generic, 1)
    _save_state(specific, 2)
    got = resolve(info, "other", overrides={"toy": generic, "toy:other": specific})
    assert got["other.pth"].path == specific


def test_real_dsrvae_declaration(fresh_home, tmp_path):
    from srbench import registry

    info, variant = registry.get_method("dsrvae")
    (tmp_path / "VAE_SR.pth").write_bytes(b"x")
    (tmp_path / "VAE_denoiser.pth").write_bytes(b"y")
    with pytest.raises(WeightsError, match="VAE_denoiser.pth and VAE_SR.pth"):
        resolve(info, variant, 4, overrides={"dsrvae": str(tmp_path / "VAE_SR.pth")})
    got = resolve(info, variant, 4, overrides={"dsrvae": f"{tmp_path / 'VAE_SR.pth'},{tmp_path / 'VAE_denoiser.pth'}"})
    assert sorted(got) == ["VAE_SR.pth", "VAE_denoiser.pth"]
    # the cache is found with origin "cache"
    cache_dir("dsrvae").mkdir(parents=True)
    for name in ("VAE_SR.pth", "VAE_denoiser.pth"):
        (cache_dir("dsrvae") / name).write_bytes(b"z")
    assert {r.origin for r in resolve(info, variant, 4).values()} == {"cache"}


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


def test_manual_files_are_never_downloaded(fresh_home, ckpt, monkeypatch):
    monkeypatch.delenv("SRBENCH_OFFLINE", raising=False)
    src, digest = ckpt
    wf = WeightFile("toy.pth", urls=(src.as_uri(),), sha256=digest, manual=True)
    with pytest.raises(WeightsError, match="no automatic download"):
        resolve(_info(wf), allow_download=True)
    assert status(_info(wf)) == "missing"
    assert status(_info(WeightFile("toy.pth", urls=(src.as_uri(),)))) == "downloadable"


def test_status_tells_the_truth_offline(fresh_home, ckpt, monkeypatch):
    """Item 5: offline, a downloadable file that is not cached is missing (and downloadable when online)."""
    src, _ = ckpt
    info = _info(WeightFile("toy.pth", urls=(src.as_uri(),)))
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    assert status(info) == "missing (offline; downloadable when online)"
    monkeypatch.delenv("SRBENCH_OFFLINE")
    assert status(info) == "downloadable"
    assert status(info, offline_mode=True) == "missing (offline; downloadable when online)"
    assert status(_info(WeightFile("toy.pth", urls=(src.as_uri(),), manual=True)), offline_mode=True) == "missing"
    cache_dir("toy").mkdir(parents=True)
    (cache_dir("toy") / "toy.pth").write_bytes(src.read_bytes())
    assert status(info, offline_mode=True) == "present"


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


def test_import_keeps_the_srbench_trained_marker(fresh_home, tmp_path):
    """A .pth written by `srbench train` (released layout + <file>.srbench-trained) stays 'trained' when imported."""
    src = tmp_path / "other.pth"
    _save_state(src, seed=5)
    src.with_suffix(".pth.srbench-trained").write_text('{"training": {"recipe": "toy:paper"}}')
    got = import_file(_info(WeightFile("other.pth")), src)
    assert got.provenance == "trained"
    assert (cache_dir("toy") / "other.pth.srbench-trained").read_text() == '{"training": {"recipe": "toy:paper"}}'


def test_import_refuses_unreadable_files(fresh_home, tmp_path):
    bad = tmp_path / "toy.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="cannot read checkpoint .* is not a PyTorch checkpoint"):
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
    with pytest.raises(WeightsError) as err:
        load_checkpoint(bad)
    assert "refused" in str(err.value) and "srbench never unpickles code" in str(err.value)
    assert "weights_only" not in str(err.value)
    assert not marker.exists()
    # a plain pickle file, not torch's zip container
    raw = tmp_path / "evil.pkl.pth"
    raw.write_bytes(pickle.dumps(_Evil(str(marker))))
    with pytest.raises(WeightsError) as err:
        load_checkpoint(raw)
    assert "refused" in str(err.value) and "weights_only" not in str(err.value)
    assert not marker.exists()
    # sanity: the payload really does create the marker when unpickled unsafely
    pickle.loads(raw.read_bytes())
    assert marker.exists()


def test_garbage_checkpoint_is_explained_without_torch_advice(fresh_home, tmp_path, monkeypatch):
    """Item 1: torch says "Re-running torch.load with weights_only set to False will likely succeed"."""
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(bytes(range(3, 200)) * 3)
    with pytest.raises(WeightsError) as err:
        load_checkpoint(garbage)
    msg = str(err.value)
    assert f"cannot read checkpoint {garbage}: it is not a PyTorch checkpoint" in msg
    assert "damaged or not what it claims" in msg and "srbench list methods --verbose" in msg
    assert "weights_only" not in msg and err.value.__cause__ is None
    # a damaged file in srbench's cache: the message says how to import a good copy
    src = WeightFile("toy.pth", urls=("https://example.org/toy.pth",))
    cached = cache_dir("toy") / "toy.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    from srbench import registry

    known = registry.methods()
    monkeypatch.setattr(registry, "methods", lambda: {**known, "toy": _info(src)})
    with pytest.raises(WeightsError) as err:
        load_checkpoint(cached)
    msg = str(err.value)
    assert "empty file, 0 bytes" in msg and f"Delete {cached} and get the file again from https://example.org/toy.pth" in msg
    assert "srbench weights import toy /path/to/toy.pth" in msg


def test_damaged_safetensors_checkpoint(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(WeightsError, match="it is not a valid safetensors file"):
        load_checkpoint(bad)
    from srbench.checkpoint_format import read_config

    with pytest.raises(WeightsError, match="it is not a valid safetensors file"):
        read_config(bad)


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
