"""Fixtures for the performance benchmarks (pytest-benchmark). Not collected by ``pytest tests``.

Images come from Set5 in the offline mirror: ``$SRBENCH_MIRROR`` (first entry) or ``../shared/mirror``
beside the repository. Benchmarks that need it are skipped, with a reason, when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCALE = 4


def mirror_root() -> Path | None:
    candidates = [p for p in os.environ.get("SRBENCH_MIRROR", "").split(os.pathsep) if p.strip()]
    candidates.append(str(ROOT.parent / "shared" / "mirror"))
    for c in candidates:
        if (Path(c) / "datasets" / "set5" / "HR").is_dir():
            return Path(c)
    return None


def pytest_configure(config):
    root = mirror_root()
    if root is not None:
        os.environ.setdefault("SRBENCH_MIRROR", str(root))
        if (root / "torch").is_dir():
            os.environ.setdefault("TORCH_HOME", str(root / "torch"))
    os.environ.setdefault("SRBENCH_OFFLINE", "1")


def load_set5() -> list[tuple[str, np.ndarray]]:
    from PIL import Image

    root = mirror_root()
    if root is None:
        pytest.skip("Set5 not found: set SRBENCH_MIRROR=<root with datasets/set5/HR>")
    out = []
    for p in sorted((root / "datasets" / "set5" / "HR").glob("*.png")):
        with Image.open(p) as im:
            out.append((p.stem, np.asarray(im.convert("RGB"))))
    return out


def bicubic_pairs(images, scale=SCALE):
    """(sr, hr) uint8 RGB pairs: MATLAB-bicubic down and up of the modcropped HR."""
    from srbench.conventions import modcrop
    from srbench.imresize import imresize

    pairs = []
    for _, hr in images:
        hr = modcrop(hr, scale)
        pairs.append((imresize(imresize(hr, 1 / scale), scale), hr))
    return pairs


@pytest.fixture(scope="session")
def set5():
    return load_set5()


@pytest.fixture(scope="session")
def set5_lr(set5):
    from srbench.conventions import modcrop
    from srbench.imresize import imresize

    return [imresize(modcrop(hr, SCALE), 1 / SCALE) for _, hr in set5]


@pytest.fixture(scope="session")
def set5_pairs(set5):
    return bicubic_pairs(set5)


@pytest.fixture(scope="session")
def set5_tensors(set5_pairs):
    """The same pairs as float32 NCHW tensors in [0, 1] (for pyiqa / lpips)."""
    torch = pytest.importorskip("torch")
    def conv(a):
        return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float() / 255.0

    return [(conv(sr), conv(hr)) for sr, hr in set5_pairs]
