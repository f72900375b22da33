"""A reference image set that a distribution metric compares the SR set with (``--fid-ref``).

SSRVAE-style evaluations compare the SR images of a real-LR set with *another* set of images (real HR
photos, a clean dataset), not with paired HR. ``--fid-ref`` names that set:

* a declared dataset (``--fid-ref div2k_val``): its HR images, or for an LR-only set its given LR images,
  verified by pixel hash as every dataset image;
* a folder (``--fid-ref ~/photos/clean``): every image file in it (lossless formats and JPEG), in name order.

The set's identity is the hash of its decoded pixels, so a changed file is never compared from a stale
cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from srbench.errors import DatasetError


@dataclass
class ReferenceSet:
    name: str  # the dataset name or the folder as given
    kind: str  # "dataset" | "folder"
    identity: str  # sha256 over the images' pixels
    _load: list[Any] = field(default_factory=list, repr=False)  # one zero-argument loader per image

    def __len__(self) -> int:
        return len(self._load)

    def images(self) -> Iterator[np.ndarray]:
        for load in self._load:
            yield load()

    def manifest(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "n_images": len(self), "pixel_manifest_sha256": self.identity}


def reference_set(spec: str, offline: bool | None = None) -> ReferenceSet:
    """Resolve ``--fid-ref``: a declared dataset name, else a folder of images."""
    from srbench import datasets as ds

    name = str(spec).strip()
    if name.lower() in ds.specs():
        dspec = ds.get_spec(name)
        if dspec.hr:
            rd = ds.resolve(name, offline=offline)
            loads = [lambda r=r: ds.load_hr(r) for r in rd.images]
        else:
            scale = next(iter(dspec.lr))
            scale = 4 if scale == "any" else int(scale)
            rd = ds.resolve(name, offline=offline, scales=[scale])
            loads = [lambda r=r, s=scale: ds.load_lr(r, s) for r in rd.images]
        return ReferenceSet(dspec.name, "dataset", rd.pixel_manifest_sha256, loads)
    folder = Path(name).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"--fid-ref {name}: neither a declared dataset nor a folder of images")
    from srbench.hashing import array_key, json_key
    from srbench.images import REFERENCE_SUFFIXES, read_image

    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in REFERENCE_SUFFIXES)
    if len(files) < 2:
        raise DatasetError(f"--fid-ref {name}: a reference set needs at least 2 images, found {len(files)}")
    identity = json_key([[p.name, array_key(read_image(p))] for p in files])  # a corrupt file fails here
    return ReferenceSet(str(folder), "folder", identity, [lambda p=p: read_image(p) for p in files])
