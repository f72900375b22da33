"""Dataset resolution (cache > mirrors > embedded > download), verification by pixel hash, clear errors."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from srbench import datasets as ds
from srbench.errors import DatasetError, ImageError, UnknownNameError
from srbench.hashing import sha256_pixels
from srbench.images import read_image

SET5 = ["baby", "bird", "butterfly", "head", "woman"]
SET5_URL = "https://cv.snu.ac.kr/research/EDSR/benchmark.tar"


@pytest.fixture(autouse=True)
def _fresh_specs():
    ds.specs.cache_clear()
    yield
    ds.specs.cache_clear()


@pytest.fixture
def no_network(monkeypatch):
    """Any download attempt fails the test."""
    calls = []

    def boom(url, *a, **kw):
        calls.append(url)
        raise AssertionError(f"network access attempted: {url}")

    monkeypatch.setattr(urllib.request, "urlopen", boom)
    return calls


@pytest.fixture
def mirror_root(mirror, monkeypatch) -> Path:
    root = mirror.parent
    monkeypatch.setenv("SRBENCH_MIRROR", str(root))
    return root


def _cache_hr(home: Path, name: str) -> Path:
    d = home / "datasets" / name / "HR"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _save(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


# --------------------------------------------------------------------------- resolution order


def test_cache_wins_over_mirror(fresh_home, mirror_root, mirror, no_network):
    cached = shutil.copyfile(mirror / "set5" / "HR" / "bird.png", _cache_hr(fresh_home, "set5") / "bird.png")
    rd = ds.resolve("set5", offline=True)
    by = {r.name: r for r in rd.images}
    assert sorted(by) == SET5
    assert by["bird"].path == Path(cached)
    for name in SET5:
        if name != "bird":
            assert by[name].path.parent == mirror / "set5" / "HR"
    assert rd.sources == {"cache": 1, "mirror": 4}
    assert rd.manifest()["n_images"] == 5
    for ref in rd.images:  # all verify against the declared hashes
        ds.load_hr(ref)


def test_mirror_used_when_cache_lacks_images(fresh_home, mirror_root, mirror, no_network):
    rd = ds.resolve("set5", offline=True)
    assert rd.sources == {"mirror": 5}
    assert all(r.path.is_relative_to(mirror) for r in rd.images)
    spec = ds.get_spec("set5")
    assert {r.name: r.sha256 for r in rd.images} == {k: v["sha256"] for k, v in spec.images.items()}
    assert rd.pixel_manifest_sha256 == spec.pixel_manifest_sha256
    assert not (fresh_home / "datasets" / "set5" / "HR").exists() or not any((fresh_home / "datasets" / "set5" / "HR").iterdir())


def test_mirror_list_with_pathsep(fresh_home, mirror, tmp_path, monkeypatch, no_network):
    first = tmp_path / "first"
    shutil.copytree(mirror / "set5" / "HR", first / "datasets" / "set5" / "HR",
                    ignore=lambda d, names: [n for n in names if not n.startswith("head")])
    missing = tmp_path / "does-not-exist"
    monkeypatch.setenv("SRBENCH_MIRROR", os.pathsep.join([str(missing), str(first), str(mirror.parent)]))
    rd = ds.resolve("set5", offline=True)
    by = {r.name: r.path for r in rd.images}
    assert by["head"] == first / "datasets" / "set5" / "HR" / "head.png"
    assert by["baby"] == mirror / "set5" / "HR" / "baby.png"
    assert rd.sources == {"mirror": 5}


def test_demo_embedded_without_mirror_or_network(fresh_home, monkeypatch, no_network):
    monkeypatch.setenv("SRBENCH_MIRROR", "")
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    rd = ds.resolve("demo")
    assert rd.sources == {"embedded": 4}
    assert sorted(r.name for r in rd.images) == ["astronaut", "camera", "chelsea", "coffee"]
    spec = ds.get_spec("demo")
    for ref in rd.images:
        arr = ds.load_hr(ref)
        w, h = spec.images[ref.name]["size"]
        assert arr.shape[:2] == (h, w)
        assert (arr.ndim == 2) == (spec.images[ref.name]["mode"] == "L")
    assert no_network == []


def test_unknown_dataset_suggests():
    with pytest.raises(UnknownNameError, match="Did you mean 'set5'"):
        ds.get_spec("set55")


# --------------------------------------------------------------------------- offline / missing


@pytest.mark.parametrize("how", ["argument", "env"])
def test_offline_missing_names_images_cache_and_url(fresh_home, monkeypatch, no_network, how):
    monkeypatch.setenv("SRBENCH_MIRROR", "")
    if how == "env":
        monkeypatch.setenv("SRBENCH_OFFLINE", "1")
        call = lambda: ds.resolve("set5")  # noqa: E731
    else:
        monkeypatch.delenv("SRBENCH_OFFLINE", raising=False)
        call = lambda: ds.resolve("set5", offline=True)  # noqa: E731
    with pytest.raises(DatasetError) as ei:
        call()
    msg = str(ei.value)
    for name in SET5:
        assert name in msg
    assert str(fresh_home / "datasets" / "set5" / "HR") in msg
    assert SET5_URL in msg
    assert no_network == []


def test_offline_partial_names_only_missing(fresh_home, mirror, monkeypatch, no_network):
    monkeypatch.setenv("SRBENCH_MIRROR", "")
    hr = _cache_hr(fresh_home, "set5")
    for name in ("baby", "bird", "head"):
        shutil.copyfile(mirror / "set5" / "HR" / f"{name}.png", hr / f"{name}.png")
    with pytest.raises(DatasetError) as ei:
        ds.resolve("set5", offline=True)
    msg = str(ei.value)
    assert "2 image(s)" in msg and "butterfly" in msg and "woman" in msg
    assert "baby" not in msg.split("Looked in")[0]


def test_user_supplied_missing_points_to_homepage(fresh_home, monkeypatch, no_network):
    monkeypatch.setenv("SRBENCH_MIRROR", "")
    with pytest.raises(DatasetError) as ei:
        ds.resolve("manga109", offline=False)
    msg = str(ei.value)
    assert "manga109.org" in msg
    assert str(fresh_home / "datasets" / "manga109" / "HR") in msg


# --------------------------------------------------------------------------- verification


def test_pixel_hash_mismatch_is_error_naming_file(fresh_home, mirror_root, mirror, no_network):
    arr = read_image(mirror / "set5" / "HR" / "bird.png").copy()
    arr[10, 10, 0] ^= 1  # one pixel, one bit
    bad = _save(_cache_hr(fresh_home, "set5") / "bird.png", arr)
    rd = ds.resolve("set5", offline=True)
    ref = next(r for r in rd.images if r.name == "bird")
    assert ref.path == bad
    with pytest.raises(DatasetError) as ei:
        ds.load_hr(ref)
    assert str(bad) in str(ei.value)
    assert "bird" in str(ei.value)
    # the untouched images still load
    ds.load_hr(next(r for r in rd.images if r.name == "baby"))


def test_corrupt_file_is_image_error_naming_file(fresh_home, mirror_root, no_network):
    bad = _cache_hr(fresh_home, "set5") / "bird.png"
    bad.write_bytes(b"this is not a PNG file at all" * 10)
    ref = next(r for r in ds.resolve("set5", offline=True).images if r.name == "bird")
    with pytest.raises(ImageError) as ei:
        ds.load_hr(ref)
    assert str(bad) in str(ei.value)


@pytest.mark.parametrize("lenient_pil", [False, True], ids=["default", "LOAD_TRUNCATED_IMAGES"])
def test_truncated_png_is_image_error(fresh_home, mirror_root, mirror, no_network, monkeypatch, lenient_pil):
    # another library in the same process may switch PIL to accept truncated files; srbench must not
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", lenient_pil)
    data = (mirror / "set5" / "HR" / "butterfly.png").read_bytes()
    bad = _cache_hr(fresh_home, "set5") / "butterfly.png"
    bad.write_bytes(data[: len(data) * 2 // 3])
    ref = next(r for r in ds.resolve("set5", offline=True).images if r.name == "butterfly")
    with pytest.raises(ImageError) as ei:
        ds.load_hr(ref)
    assert str(bad) in str(ei.value)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is lenient_pil  # the caller's setting is left as it was


def test_user_supplied_hashed_on_first_use_then_checked(fresh_home, tmp_path, monkeypatch, no_network):
    rng = np.random.default_rng(0)
    root = tmp_path / "m"
    folder = root / "datasets" / "manga109" / "HR"
    a = _save(folder / "VolumeA.png", rng.integers(0, 256, (20, 16, 3), dtype=np.uint8))
    b = _save(folder / "VolumeB.png", rng.integers(0, 256, (18, 24, 3), dtype=np.uint8))
    monkeypatch.setenv("SRBENCH_MIRROR", str(root))

    rd = ds.resolve("manga109", offline=True)
    assert [r.name for r in rd.images] == ["VolumeA", "VolumeB"]
    assert rd.sources == {"mirror": 2}
    assert {r.name: r.sha256 for r in rd.images} == {
        "VolumeA": sha256_pixels(read_image(a)), "VolumeB": sha256_pixels(read_image(b))}
    assert (fresh_home / "datasets" / "manga109" / "pixels.lock.json").is_file()
    for r in rd.images:
        ds.load_hr(r)
    first_manifest = rd.pixel_manifest_sha256

    # the same files again: same record
    assert ds.resolve("manga109", offline=True).pixel_manifest_sha256 == first_manifest

    # a later change of one file is detected
    arr = read_image(b).copy()
    arr[0, 0] = 255 - arr[0, 0]
    _save(b, arr)
    rd2 = ds.resolve("manga109", offline=True)
    ref_b = next(r for r in rd2.images if r.name == "VolumeB")
    with pytest.raises(DatasetError, match="VolumeB"):
        ds.load_hr(ref_b)
    ds.load_hr(next(r for r in rd2.images if r.name == "VolumeA"))


# --------------------------------------------------------------------------- download (file:// URL)


def _png_bytes(arr: np.ndarray) -> bytes:
    bio = io.BytesIO()
    Image.fromarray(arr).save(bio, format="PNG")
    return bio.getvalue()


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tf:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return path


@pytest.fixture
def tiny_download(tmp_path, monkeypatch, fresh_home):
    """A dataset declared in an extra yaml whose only source is a file:// tar (names differ from images)."""
    rng = np.random.default_rng(7)
    alpha_full = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)  # landscape 40x30 (WxH)
    beta_full = rng.integers(0, 256, (40, 30), dtype=np.uint8)  # portrait, single channel
    alpha, beta = alpha_full[:24, :32], beta_full[:32, :24]  # crop_to [32, 24] (long, short), top-left
    archive = _tar(tmp_path / "pack.tar", {
        "pack/HR/img001.png": _png_bytes(beta_full),
        "pack/HR/img002.png": _png_bytes(alpha_full),
        "pack/HR/readme.txt": b"not an image",
        "pack/LR/img001.png": _png_bytes(beta_full[::2, ::2]),
    })
    yml = tmp_path / "extra.yaml"
    yml.write_text(
        "datasets:\n"
        "  tinyset:\n"
        "    title: Tiny\n"
        "    scales: [2, 4]\n"
        "    crop_to: [32, 24]\n"
        "    downloads:\n"
        f"      - {{url: '{archive.as_uri()}', format: tar, member_prefix: pack/HR/, match: pixels}}\n"
        "    images:\n"
        f"      alpha: {{sha256: {sha256_pixels(alpha)}, size: [32, 24], mode: RGB}}\n"
        f"      beta: {{sha256: {sha256_pixels(beta)}, size: [24, 32], mode: L}}\n"
    )
    monkeypatch.setenv("SRBENCH_DATASETS", str(yml))
    monkeypatch.setenv("SRBENCH_MIRROR", "")
    monkeypatch.delenv("SRBENCH_OFFLINE", raising=False)
    ds.specs.cache_clear()
    return {"alpha": alpha, "beta": beta, "archive": archive, "yaml": yml}


def test_download_matches_by_pixels_and_crops(tiny_download, fresh_home):
    assert "tinyset" in ds.specs() and "set5" in ds.specs()  # the extra yaml adds, it does not replace
    rd = ds.resolve("tinyset")
    hr = fresh_home / "datasets" / "tinyset" / "HR"
    assert rd.sources == {"cache": 2}
    assert {r.name: r.path for r in rd.images} == {"alpha": hr / "alpha.png", "beta": hr / "beta.png"}
    assert sorted(p.name for p in hr.iterdir() if not p.name.startswith(".")) == ["alpha.png", "beta.png"]
    for r in rd.images:
        arr = ds.load_hr(r)
        np.testing.assert_array_equal(arr, tiny_download[r.name])
    assert ds.load_hr(rd.images[0]).shape == (24, 32, 3)
    assert ds.load_hr(rd.images[1]).shape == (32, 24)
    # a second resolve works offline from the cache
    assert ds.resolve("tinyset", offline=True).sources == {"cache": 2}


def test_download_refused_offline(tiny_download, fresh_home):
    with pytest.raises(DatasetError) as ei:
        ds.resolve("tinyset", offline=True)
    assert tiny_download["archive"].as_uri() in str(ei.value)
    assert not (fresh_home / "datasets" / "tinyset" / "HR").exists()


def test_download_archive_lacking_an_image_is_error(tiny_download, fresh_home):
    _tar(tiny_download["archive"], {"pack/HR/img002.png": _png_bytes(np.zeros((30, 40, 3), np.uint8))})
    with pytest.raises(DatasetError, match="not in the archive"):
        ds.resolve("tinyset")


def test_download_with_wrong_archive_sha256_is_error(tiny_download, fresh_home):
    text = tiny_download["yaml"].read_text().replace("format: tar,", f"sha256: {'0' * 64}, format: tar,")
    tiny_download["yaml"].write_text(text)
    ds.specs.cache_clear()
    with pytest.raises(DatasetError, match="sha256"):
        ds.resolve("tinyset")
    assert not (fresh_home / "datasets" / "tinyset" / "HR").exists()
    downloads = fresh_home / "datasets" / "tinyset" / "downloads"
    assert not downloads.exists() or list(downloads.iterdir()) == []
