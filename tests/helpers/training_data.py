"""Test data for srbench.training: tiny synthetic image folders and a synthetic CIFAR-10 archive."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest


def smooth_images(folder: Path, n: int, size: int, seed: int = 0) -> Path:
    """``n`` smooth random RGB PNGs (bicubic-enlarged noise: learnable, not white noise)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        small = (rng.random((size // 4, size // 4, 3)) * 255).astype(np.uint8)
        Image.fromarray(small).resize((size, size), Image.BICUBIC).save(folder / f"im{i:02d}.png")
    return folder


def cifar_bytes(n: int, seed: int) -> tuple[bytes, np.ndarray]:
    """A CIFAR-10 binary batch of ``n`` records and the N x 32 x 32 x 3 images it holds."""
    rng = np.random.default_rng(seed)
    imgs = (rng.random((n, 4, 4, 3)) * 255).astype(np.uint8).repeat(8, axis=1).repeat(8, axis=2)
    labels = rng.integers(0, 10, (n, 1), dtype=np.uint8)
    rec = np.concatenate([labels, imgs.transpose(0, 3, 1, 2).reshape(n, -1)], axis=1)
    return rec.tobytes(), imgs


def write_cifar_archive(path: Path, n_train: int = 8, n_test: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A ``cifar-10-binary.tar.gz`` of the official layout; returns (train, test) images."""
    from srbench.training.cifar import FOLDER, TEST_MEMBER, TRAIN_MEMBERS

    train, members = [], {}
    for i, name in enumerate(TRAIN_MEMBERS):
        raw, imgs = cifar_bytes(n_train, seed=i)
        members[name] = raw
        train.append(imgs)
    raw, test = cifar_bytes(n_test, seed=99)
    members[TEST_MEMBER] = raw
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"{FOLDER}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return np.concatenate(train), test


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324 - test of the md5 check


def declare_cifar(tmp_path: Path, monkeypatch, home: Path | None = None, name: str = "cifar10_tiny"):
    """Declare ``name`` (format cifar10-binary, a file:// download with its md5) through SRBENCH_DATASETS and,
    when ``home`` is given, put its archive into that srbench cache as a download would.
    Returns (name, archive path, train images, test images)."""
    import shutil

    from srbench import datasets as ds

    src = tmp_path / "upstream" / "cifar-10-binary.tar.gz"
    train, test = write_cifar_archive(src)
    yml = tmp_path / "extra.yaml"
    yml.write_text(
        "datasets:\n"
        f"  {name}:\n"
        "    title: tiny synthetic CIFAR-10\n"
        "    use: train\n"
        "    scales: [4]\n"
        "    source: {format: cifar10-binary}\n"
        "    downloads:\n"
        f"      - url: {src.as_uri()}\n"
        f"        md5: {md5(src)}\n"
        "    images: null\n"
    )
    monkeypatch.setenv("SRBENCH_DATASETS", str(yml))
    ds.specs.cache_clear()
    archive = src
    if home is not None:
        archive = home / "datasets" / name / src.name
        archive.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, archive)
    return name, archive, train, test


def fake_vgg19(path: Path) -> Path:
    """Random tensors with the keys/shapes of torchvision's vgg19().features, prefixed ``features.``."""
    import torch
    from torchvision.models import vgg19

    torch.manual_seed(0)
    torch.save({f"features.{k}": v for k, v in vgg19().features.state_dict().items()}, path)
    return path


def declare_tiny(root: Path, home: Path, mp, size: int = 64) -> str:
    """A one-image test set ``tinytrained`` (declared through SRBENCH_DATASETS, already in the cache)."""
    from PIL import Image

    from srbench import datasets as ds
    from srbench.hashing import sha256_pixels

    yy, xx = np.indices((size, size))
    img = (128 + 90 * np.sin(yy[:, :, None] / 6.0 + xx[:, :, None] / 9.0 + np.array([0, 1, 2]))).astype(np.uint8)
    hr = home / "datasets" / "tinytrained" / "HR"
    hr.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(hr / "wave.png")
    yml = root / "tinytrained.yaml"
    yml.write_text("datasets:\n  tinytrained:\n    title: Tiny\n    scales: [4, 8]\n    images:\n"
                   f"      wave: {{sha256: {sha256_pixels(img)}, size: [{size}, {size}], mode: RGB}}\n")
    mp.setenv("SRBENCH_DATASETS", str(yml))
    ds.specs.cache_clear()
    return "tinytrained"


@pytest.fixture
def one_thread():
    """Tiny networks: one intra-op torch thread is as fast, and does not stall when the cores are shared.
    Use as ``pytestmark = pytest.mark.usefixtures("one_thread")`` after importing it."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def train_log(out: Path) -> list[dict]:
    """The rows of a training run's ``train_log.jsonl`` (step, stage, losses ...)."""
    import json

    from srbench.training.loop import LOG_FILE

    return [json.loads(ln) for ln in (Path(out) / LOG_FILE).read_text().splitlines() if ln.strip()]


def load_state(path: Path) -> dict:
    """A released-layout .pth a recipe wrote, read as srbench reads checkpoints (weights only)."""
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)
