"""Safe extraction of dataset archives and verified downloads (file:// URLs, no network)."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from srbench.archive import download, safe_extract
from srbench.errors import DatasetError


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w") as tf:
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                tf.addfile(m)
            else:
                name, data = m
                ti = tarfile.TarInfo(name)
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
    return path


def _link(name: str, target: str, kind) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = target
    return ti


def _files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- tar


def test_tar_extracts_only_under_prefix(tmp_path):
    arc = _tar(tmp_path / "a.tar", [
        ("bench/Set5/HR/baby.png", b"1"),
        ("bench/Set5/HR/bird.png", b"22"),
        ("bench/Set5/LR_bicubic/X4/baby.png", b"333"),
        ("bench/Set14/HR/zebra.png", b"4444"),
        ("README", b"5"),
    ])
    dest = tmp_path / "out"
    got = safe_extract(arc, dest, "bench/Set5/HR/")
    assert sorted(p.relative_to(dest).as_posix() for p in got) == ["bench/Set5/HR/baby.png", "bench/Set5/HR/bird.png"]
    assert _files_under(dest) == ["bench/Set5/HR/baby.png", "bench/Set5/HR/bird.png"]
    assert (dest / "bench/Set5/HR/bird.png").read_bytes() == b"22"


@pytest.mark.parametrize("name", ["../evil.txt", "bench/HR/../../evil.txt", "/tmp/evil-abs.txt", "bench/HR/..\\..\\evil.txt"])
def test_tar_refuses_unsafe_names(tmp_path, name):
    arc = _tar(tmp_path / "a.tar", [("bench/HR/ok.png", b"ok"), (name, b"evil")])
    dest = tmp_path / "deep" / "out"
    with pytest.raises(DatasetError, match="unsafe member"):
        safe_extract(arc, dest, "")
    assert not (tmp_path / "deep" / "evil.txt").exists()
    assert not (tmp_path / "evil.txt").exists()
    assert not Path("/tmp/evil-abs.txt").exists()


def test_tar_refuses_unsafe_names_even_outside_prefix(tmp_path):
    arc = _tar(tmp_path / "a.tar", [("bench/HR/ok.png", b"ok"), ("../evil.txt", b"evil")])
    with pytest.raises(DatasetError):
        safe_extract(arc, tmp_path / "out", "bench/HR/")


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE], ids=["symlink", "hardlink"])
@pytest.mark.parametrize("target", ["/etc/passwd", "../../outside", "bench/HR/ok.png"])
def test_tar_refuses_links(tmp_path, kind, target):
    arc = _tar(tmp_path / "a.tar", [("bench/HR/ok.png", b"ok"), _link("bench/HR/link.png", target, kind)])
    dest = tmp_path / "out"
    with pytest.raises(DatasetError, match="link.png"):
        safe_extract(arc, dest, "bench/HR/")
    assert not (dest / "bench/HR/link.png").exists()
    assert not (dest / "bench/HR/link.png").is_symlink()


def test_tar_refuses_device_files(tmp_path):
    dev = tarfile.TarInfo("bench/HR/dev.png")
    dev.type = tarfile.CHRTYPE
    dev.devmajor, dev.devminor = 1, 3
    arc = _tar(tmp_path / "a.tar", [dev])
    with pytest.raises(DatasetError, match="non-regular"):
        safe_extract(arc, tmp_path / "out", "bench/HR/")


def test_not_an_archive(tmp_path):
    bad = tmp_path / "x.tar"
    bad.write_bytes(b"plain text, not an archive" * 100)
    with pytest.raises(DatasetError, match="not a tar or zip"):
        safe_extract(bad, tmp_path / "out")


def test_tgz_is_read(tmp_path):
    arc = tmp_path / "a.tgz"
    with tarfile.open(arc, "w:gz") as tf:
        ti = tarfile.TarInfo("BSDS300/images/test/3096.jpg")
        ti.size = 3
        tf.addfile(ti, io.BytesIO(b"abc"))
    got = safe_extract(arc, tmp_path / "out", "BSDS300/images/test/")
    assert [p.name for p in got] == ["3096.jpg"] and got[0].read_bytes() == b"abc"


# --------------------------------------------------------------------------- zip


def test_zip_extracts_only_under_prefix(tmp_path):
    arc = tmp_path / "a.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr("DIV2K_valid_HR/0801.png", b"a")
        zf.writestr("DIV2K_valid_HR/0802.png", b"b")
        zf.writestr("other/0803.png", b"c")
    dest = tmp_path / "out"
    got = safe_extract(arc, dest, "DIV2K_valid_HR/")
    assert sorted(p.name for p in got) == ["0801.png", "0802.png"]
    assert _files_under(dest) == ["DIV2K_valid_HR/0801.png", "DIV2K_valid_HR/0802.png"]


def test_zip_refuses_symlink_entry(tmp_path):
    arc = tmp_path / "a.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr("DIV2K_valid_HR/0801.png", b"a")
        link = zipfile.ZipInfo("DIV2K_valid_HR/0802.png")
        link.external_attr = (0o120777 << 16)  # S_IFLNK: the content is the link target
        link.create_system = 3
        zf.writestr(link, "/etc/passwd")
    dest = tmp_path / "out"
    with pytest.raises(DatasetError, match="0802.png"):
        safe_extract(arc, dest, "DIV2K_valid_HR/")
    assert not (dest / "DIV2K_valid_HR/0802.png").is_symlink()


@pytest.mark.parametrize("name", ["../evil.txt", "/evil-abs.txt", "DIV2K_valid_HR/../../evil.txt"])
def test_zip_refuses_unsafe_names(tmp_path, name):
    arc = tmp_path / "a.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr("DIV2K_valid_HR/0801.png", b"a")
        zf.writestr(zipfile.ZipInfo(name), b"evil")
    assert any(i.filename == name for i in zipfile.ZipFile(arc).infolist())  # stored as given
    with pytest.raises(DatasetError, match="unsafe member"):
        safe_extract(arc, tmp_path / "deep" / "out", "")
    assert not (tmp_path / "deep" / "evil.txt").exists()
    assert not (tmp_path / "evil.txt").exists()


# --------------------------------------------------------------------------- download


def test_download_file_url_with_matching_sha256(tmp_path):
    src = tmp_path / "src" / "bundle.tar"
    src.parent.mkdir()
    src.write_bytes(b"archive bytes" * 1000)
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    dest_dir = tmp_path / "downloads"
    got = download(src.as_uri(), dest_dir, sha)
    assert got == dest_dir / "bundle.tar"
    assert got.read_bytes() == src.read_bytes()
    assert sorted(p.name for p in dest_dir.iterdir()) == ["bundle.tar"]  # no temporary left over
    # a second call reuses the verified file
    src.write_bytes(b"changed upstream")
    assert download(src.as_uri(), dest_dir, sha).read_bytes() == b"archive bytes" * 1000


def test_download_sha256_mismatch_is_error_and_leaves_no_file(tmp_path):
    src = tmp_path / "bundle.tar"
    src.write_bytes(b"archive bytes")
    dest_dir = tmp_path / "downloads"
    wrong = "0" * 64
    with pytest.raises(DatasetError) as ei:
        download(src.as_uri(), dest_dir, wrong)
    assert wrong in str(ei.value) and hashlib.sha256(b"archive bytes").hexdigest() in str(ei.value)
    assert list(dest_dir.iterdir()) == []


def test_download_replaces_stale_cached_file_with_wrong_hash(tmp_path):
    src = tmp_path / "bundle.tar"
    src.write_bytes(b"good")
    dest_dir = tmp_path / "downloads"
    dest_dir.mkdir()
    (dest_dir / "bundle.tar").write_bytes(b"stale partial")
    got = download(src.as_uri(), dest_dir, hashlib.sha256(b"good").hexdigest())
    assert got.read_bytes() == b"good"


def test_download_missing_source_is_error_and_leaves_no_file(tmp_path):
    dest_dir = tmp_path / "downloads"
    with pytest.raises(OSError):
        download((tmp_path / "nope.tar").as_uri(), dest_dir)
    assert list(dest_dir.iterdir()) == []
