"""Training data: image sources, the held-out validation split, and the deterministic patch sampler.

Sources (``--data`` / ``--lr-data``, comma-separated):

* a dataset declared in ``datasets.yaml`` with ``use: train`` (DIV2K train, Flickr2K, the NTIRE
  challenge training tracks, ``cifar10``) - found in the cache or mirror, downloaded where allowed;
* a dataset declared for testing (Set5 ...) only with ``force=True``: training on a test set makes its
  numbers meaningless, so it is refused by default;
* ``folder:PATH`` - every lossless image in ``PATH`` (sorted by name). Its images are hashed by pixels;
  a folder holding any image of a declared test set is refused like the test set itself;
* any of these with ``@FIRST-LAST``: only its images FIRST..LAST (1-based, inclusive, in name order), e.g.
  CycleSR's unpaired split ``--data div2k_train@1-400 --lr-data div2k_train_unknown_x4@401-800``.

The data of step ``k`` depends only on ``(seed, k, rank)`` (:meth:`PatchSampler.batch`), so an
interrupted run resumes exactly without saving a sampler state, and DDP ranks draw different crops.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from srbench.errors import SrbenchError

FOLDER_PREFIX = "folder:"


class TrainingDataError(SrbenchError):
    """The training data cannot be used (missing, too small, a test set ...)."""


@dataclass(frozen=True)
class TrainImage:
    name: str  # "<source>/<image>"
    sha256: str | None  # pixel hash (None: a source whose images are hashed as a whole, e.g. CIFAR-10)
    load: Callable[[], np.ndarray]  # HxWx3 uint8


@dataclass
class ImageSource:
    """The images of one ``--data`` entry and the hash that identifies them."""

    name: str
    images: list[TrainImage]
    manifest_sha256: str  # sha256 of the pixel manifest (or of the archive's pixel content)
    validation: list[TrainImage] | None = None  # a source's own held-out images (CIFAR-10's test batch)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "n_images": len(self.images), "pixel_manifest_sha256": self.manifest_sha256}


def _rgb(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2)
    return arr


def _test_hashes() -> dict[str, str]:
    """pixel sha256 -> "dataset/image" of every declared test image whose hash is known."""
    from srbench.datasets import specs

    out: dict[str, str] = {}
    for spec in specs().values():
        if spec.use != "test":
            continue
        for image, info in (spec.images or {}).items():
            out[info["sha256"]] = f"{spec.name}/{image}"
        for lr in spec.lr.values():
            for image, info in (lr.images or {}).items():
                out[info["sha256"]] = f"{spec.name}/LR/{image}"
    return out


def _folder_source(path: Path, force: bool) -> ImageSource:
    from srbench.hashing import json_key, sha256_pixels
    from srbench.images import LOSSLESS_SUFFIXES, read_image

    if not path.is_dir():
        raise TrainingDataError(f"{FOLDER_PREFIX}{path}: not a folder")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in LOSSLESS_SUFFIXES)
    if not files:
        raise TrainingDataError(f"{FOLDER_PREFIX}{path}: no lossless images ({', '.join(LOSSLESS_SUFFIXES)})")
    tests = _test_hashes()
    images, manifest, clashes = [], {}, []
    for p in files:
        digest = sha256_pixels(read_image(p))
        manifest[p.name] = digest
        if digest in tests:
            clashes.append(f"{p.name} = {tests[digest]}")
        images.append(TrainImage(f"{path.name}/{p.stem}", digest, lambda p=p: _rgb(read_image(p))))
    if clashes and not force:
        raise TrainingDataError(
            f"{FOLDER_PREFIX}{path} holds images of declared test sets ({'; '.join(clashes[:5])}"
            f"{' ...' if len(clashes) > 5 else ''}): training on them would make those test numbers meaningless; "
            "remove them or pass --force"
        )
    return ImageSource(f"{FOLDER_PREFIX}{path}", images, json_key(manifest))


def _declared_source(name: str, force: bool, role: str, scale: int) -> ImageSource:
    from srbench.datasets import get_spec, load_hr, load_lr, resolve

    spec = get_spec(name)
    if spec.use != "train" and not force:
        raise TrainingDataError(
            f"{spec.name!r} is a test set (datasets.yaml use: {spec.use}): training on it makes its numbers "
            "meaningless. Train on a training set (srbench list --datasets shows them) or pass --force"
        )
    if spec.source_format == "cifar10-binary":
        from srbench.training.cifar import cifar10_source

        if role != "hr":
            raise TrainingDataError(f"{spec.name!r} has no LR images")
        return cifar10_source(spec)
    if role == "hr":
        if not spec.hr:
            raise TrainingDataError(f"{spec.name!r} has no HR images (an LR-only set: use it as LR data)")
        ds = resolve(spec.name)
        images = [TrainImage(f"{spec.name}/{im.name}", im.sha256, lambda im=im: _rgb(load_hr(im))) for im in ds.images]
    else:
        if spec.given_lr(scale) is None:
            raise TrainingDataError(f"{spec.name!r} gives no LR images at x{scale}")
        ds = resolve(spec.name, scales=[scale])
        images = [
            TrainImage(f"{spec.name}/{im.name}", im.lr[scale].sha256, lambda im=im: _rgb(load_lr(im, scale)))
            for im in ds.images
            if scale in im.lr
        ]
    if not images:
        raise TrainingDataError(f"{spec.name!r}: no {role.upper()} images found")
    return ImageSource(spec.name, images, ds.pixel_manifest_sha256)


_RANGE = __import__("re").compile(r"^(?P<src>.+)@(?P<first>\d+)-(?P<last>\d+)$")


def _subset(src: ImageSource, first: int, last: int, text: str) -> ImageSource:
    from srbench.hashing import json_key

    n = len(src.images)
    if not 1 <= first <= last <= n:
        raise TrainingDataError(f"{text}: {src.name} has {n} images, so the range must lie within 1-{n}")
    images = src.images[first - 1: last]
    return ImageSource(f"{src.name}@{first}-{last}", images,
                       json_key({"of": src.manifest_sha256, "images": [im.sha256 or im.name for im in images]}),
                       src.validation)


def resolve_sources(text: str | Sequence[str], role: str = "hr", scale: int = 4, force: bool = False) -> list[ImageSource]:
    """The sources of a ``--data`` (``role='hr'``) or ``--lr-data`` (``role='lr'``) value."""
    items = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t and t.strip()]
    if not items:
        raise TrainingDataError("no training data given (--data DATASET[,...] or folder:PATH)")
    out = []
    for item in items:
        m = _RANGE.match(item)
        base = m["src"] if m else item
        if base.startswith(FOLDER_PREFIX):
            src = _folder_source(Path(base[len(FOLDER_PREFIX):]).expanduser(), force)
        else:
            src = _declared_source(base, force, role, scale)
        out.append(_subset(src, int(m["first"]), int(m["last"]), item) if m else src)
    return out


def split_validation(sources: list[ImageSource], n_val: int) -> tuple[list[TrainImage], list[TrainImage]]:
    """(training images, validation images). A source with its own held-out images (CIFAR-10) gives
    them; otherwise the last ``n_val`` images of the last source are held out (never trained on)."""
    train = [im for s in sources for im in s.images]
    own = [im for s in sources for im in (s.validation or [])]
    if own:
        return train, own[:n_val]
    if n_val <= 0:
        return train, []
    if len(train) <= n_val:
        raise TrainingDataError(
            f"{len(train)} training image(s) cannot spare {n_val} for validation; give more images or --val-images 0"
        )
    return train[:-n_val], train[-n_val:]


@dataclass(frozen=True)
class ValidationImage:
    name: str
    hr: Callable[[], np.ndarray]
    lr: Callable[[], np.ndarray] | None = None  # the dataset's given LR; None: the recipe's degradation makes it


def validation_set(name: str, scale: int, n: int | None = None) -> list[ValidationImage]:
    """``--val-data``: the first ``n`` images (all when None) of a declared dataset with HR - its given LR at
    ``scale`` where it has one (the NTIRE validation tracks), else LR by the recipe's degradation. Validating
    on a test set is allowed: nothing is trained on it, the numbers only show how training goes."""
    from srbench.datasets import get_spec, load_hr, load_lr, resolve

    spec = get_spec(name)
    if not spec.hr:
        raise TrainingDataError(f"--val-data {spec.name!r} has no HR images: validation needs a reference")
    if spec.source_format is not None:
        raise TrainingDataError(f"--val-data {spec.name!r}: a {spec.source_format} source; give an image dataset")
    given = spec.given_lr(scale) is not None
    ds = resolve(spec.name, scales=[scale] if given else ())
    out = [
        ValidationImage(f"{spec.name}/{im.name}", lambda im=im: _rgb(load_hr(im)),
                        (lambda im=im: _rgb(load_lr(im, scale))) if given else None)
        for im in ds.images
    ]
    if not out:
        raise TrainingDataError(f"--val-data {spec.name!r}: no images found")
    return out[:n] if n else out


class ImageStore:
    """Decoded images by index, with a bounded LRU cache (DIV2K does not fit in memory decoded)."""

    def __init__(self, images: Sequence[TrainImage], max_bytes: int = 2 << 30):
        self.images = list(images)
        self.max_bytes = max_bytes
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self.images)

    def get(self, i: int) -> np.ndarray:
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        arr = self.images[i].load()
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
            raise TrainingDataError(f"{self.images[i].name}: expected an HxWx3 uint8 image, got {arr.shape} {arr.dtype}")
        self._cache[i] = arr
        self._bytes += arr.nbytes
        while self._bytes > self.max_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._bytes -= old.nbytes
        return arr


def _augment(arr: np.ndarray, code: int) -> np.ndarray:
    """One of the 8 flips/rotations (code 0..7; 0 = identity)."""
    if code & 1:
        arr = arr[:, ::-1]
    if code & 2:
        arr = arr[::-1]
    if code & 4:
        arr = arr.transpose(1, 0, 2)
    return np.ascontiguousarray(arr)


def _crop(arr: np.ndarray, size: int, rng: np.random.Generator, what: str) -> np.ndarray:
    h, w = arr.shape[:2]
    if h < size or w < size:
        raise TrainingDataError(f"{what}: {w}x{h} is smaller than the {size}x{size} training crop")
    y = int(rng.integers(0, h - size + 1))
    x = int(rng.integers(0, w - size + 1))
    return arr[y: y + size, x: x + size]


class PatchSampler:
    """The batch of every step: random HR crops (``patch`` px), a random flip/rotation, and the LR -
    made by ``degrade`` (paired recipes) or cropped from ``lr_store`` (unpaired recipes)."""

    def __init__(self, hr: ImageStore, scale: int, patch: int, batch: int, seed: int, rank: int = 0,
                 degrade: Callable[[np.ndarray, int, np.random.Generator], np.ndarray] | None = None,
                 lr: ImageStore | None = None):
        if patch % scale:
            raise TrainingDataError(f"the HR crop {patch} is not a multiple of the scale {scale}")
        if (degrade is None) == (lr is None):
            raise ValueError("give exactly one of degrade (paired) and lr (unpaired)")
        if not len(hr) or (lr is not None and not len(lr)):
            raise TrainingDataError("no training images")
        self.hr, self.lr = hr, lr
        self.scale, self.patch, self.batch_size = scale, patch, batch
        self.seed, self.rank, self.degrade = int(seed), int(rank), degrade

    def rng(self, step: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, int(step), self.rank])

    def arrays(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """(HR N x P x P x 3, LR N x P/s x P/s x 3) uint8 for ``step``."""
        rng = self.rng(step)
        his, lrs = [], []
        p_lr = self.patch // self.scale
        for _ in range(self.batch_size):
            i = int(rng.integers(len(self.hr)))
            hr = _augment(_crop(self.hr.get(i), self.patch, rng, self.hr.images[i].name), int(rng.integers(8)))
            if self.lr is None:
                lr = np.asarray(self.degrade(hr, self.scale, rng))
                if lr.shape != (p_lr, p_lr, 3) or lr.dtype != np.uint8:
                    raise TrainingDataError(f"the recipe's degradation returned {lr.shape} {lr.dtype}, expected {(p_lr, p_lr, 3)} uint8")
            else:
                j = int(rng.integers(len(self.lr)))
                lr = _augment(_crop(self.lr.get(j), p_lr, rng, self.lr.images[j].name), int(rng.integers(8)))
            his.append(hr)
            lrs.append(lr)
        return np.stack(his), np.stack(lrs)


def to_batch_tensor(arr: np.ndarray, device) -> Any:
    """N x H x W x 3 uint8 -> N x 3 x H x W float32 in [0, 1] on ``device``."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float().div_(255.0)
    return t.to(device)
