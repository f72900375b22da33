"""Datasets declared in ``datasets.yaml``: resolution, verification and loading of HR images.

Resolution order for each image of a dataset:

1. srbench's cache, ``$SRBENCH_HOME/datasets/<name>/HR/<image>.<ext>``;
2. read-only mirrors named in ``SRBENCH_MIRROR`` (``<root>/datasets/<name>/HR/<image>.<ext>``);
3. the embedded copy (``demo``: scikit-image's sample images);
4. the declared downloads: fetched, safely extracted, matched by pixel hash, stored in the cache.

``--offline`` / ``SRBENCH_OFFLINE=1`` turns step 4 into an error saying what is missing and where to put
it. Every image is verified by the sha256 of its decoded pixels when it is loaded; a mismatch is an
error naming the file. Datasets without declared hashes (user-supplied Manga109, DIV2K) are hashed on
first use and checked against that record afterwards.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from srbench import paths
from srbench.errors import DatasetError, UnknownNameError
from srbench.hashing import json_key, sha256_pixels
from srbench.images import LOSSLESS_SUFFIXES, read_image


def _yaml_path() -> Path:
    here = Path(__file__).resolve().parent
    for cand in (here / "datasets.yaml", here.parent / "datasets.yaml"):
        if cand.is_file():
            return cand
    raise DatasetError("datasets.yaml is missing from the installation")


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    description: str = ""
    citation: str = ""
    terms: str = ""
    version: str = "1"
    scales: tuple[int, ...] = (2, 3, 4, 8)
    images: dict[str, dict[str, Any]] | None = None  # name -> {sha256, size, mode}
    downloads: tuple[dict[str, Any], ...] = ()
    crop_to: tuple[int, int] | None = None
    user_supplied: bool = False
    embedded: str | None = None
    homepage: str = ""

    @property
    def pixel_manifest_sha256(self) -> str | None:
        if self.images is None:
            return None
        return json_key({k: v["sha256"] for k, v in sorted(self.images.items())})


@lru_cache(maxsize=1)
def specs() -> dict[str, DatasetSpec]:
    import yaml

    files = [_yaml_path()]
    extra = os.environ.get("SRBENCH_DATASETS")
    if extra:
        files += [Path(p) for p in extra.split(os.pathsep) if p]
    out: dict[str, DatasetSpec] = {}
    for f in files:
        with open(f) as fh:
            doc = yaml.safe_load(fh) or {}
        for name, d in (doc.get("datasets") or {}).items():
            src = d.get("source") or {}
            out[name] = DatasetSpec(
                name=name,
                title=d.get("title", name),
                description=d.get("description", ""),
                citation=d.get("citation", ""),
                terms=d.get("terms", ""),
                version=str(d.get("version", "1")),
                scales=tuple(d.get("scales", (2, 3, 4, 8))),
                images=d.get("images"),
                downloads=tuple(d.get("downloads") or ()),
                crop_to=tuple(d["crop_to"]) if d.get("crop_to") else None,
                user_supplied=bool(d.get("user_supplied", False)),
                embedded=src.get("embedded"),
                homepage=d.get("homepage", ""),
            )
    return out


def get_spec(name: str) -> DatasetSpec:
    known = specs()
    key = name.strip().lower()
    if key not in known:
        raise UnknownNameError("dataset", name, known)
    return known[key]


@dataclass
class ImageRef:
    name: str
    path: Path
    sha256: str | None  # expected pixel hash (None: recorded on first use)


@dataclass
class ResolvedDataset:
    spec: DatasetSpec
    images: list[ImageRef]
    sources: dict[str, int] = field(default_factory=dict)  # cache/mirror/embedded/download -> count

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pixel_manifest_sha256(self) -> str:
        return json_key({im.name: im.sha256 for im in self.images})

    def manifest(self) -> dict[str, Any]:
        return {
            "version": self.spec.version,
            "pixel_manifest_sha256": self.pixel_manifest_sha256,
            "n_images": len(self.images),
            "source": ",".join(f"{k}:{v}" for k, v in sorted(self.sources.items())),
        }


def cache_root(name: str) -> Path:
    return paths.home() / "datasets" / name


def _find(folder: Path, image: str) -> Path | None:
    for suf in LOSSLESS_SUFFIXES:
        p = folder / f"{image}{suf}"
        if p.is_file():
            return p
    return None


def _embedded_dir(spec: DatasetSpec) -> Path | None:
    if spec.embedded == "skimage.data":
        import skimage

        return Path(skimage.__file__).resolve().parent / "data"
    return None


def _lock_path(name: str) -> Path:
    return cache_root(name) / "pixels.lock.json"


def resolve(name: str, offline: bool | None = None) -> ResolvedDataset:
    """Locate every image of a dataset (downloading if allowed); images are verified when loaded."""
    spec = get_spec(name)
    offline = paths.offline() if offline is None else offline
    folders = [("cache", cache_root(spec.name) / "HR")]
    folders += [("mirror", m / "datasets" / spec.name / "HR") for m in paths.mirrors()]
    emb = _embedded_dir(spec)
    if emb is not None:
        folders.append(("embedded", emb))

    if spec.images is None:
        return _resolve_unhashed(spec, folders, offline)

    refs: list[ImageRef] = []
    missing: list[str] = []
    sources: dict[str, int] = {}
    for image, info in sorted(spec.images.items()):
        for kind, folder in folders:
            p = _find(folder, image)
            if p is not None:
                refs.append(ImageRef(image, p, info["sha256"]))
                sources[kind] = sources.get(kind, 0) + 1
                break
        else:
            missing.append(image)
    if missing:
        if offline or not spec.downloads:
            raise DatasetError(_missing_message(spec, missing, offline))
        _download_into_cache(spec, missing)
        return resolve(name, offline=True)
    return ResolvedDataset(spec, refs, sources)


def _missing_message(spec: DatasetSpec, missing: list[str], offline: bool) -> str:
    where = [str(cache_root(spec.name) / "HR")] + [str(m / "datasets" / spec.name / "HR") for m in paths.mirrors()]
    urls = [d["url"] for d in spec.downloads]
    head = ", ".join(missing[:5]) + (f" ... ({len(missing)} in all)" if len(missing) > 5 else "")
    msg = [f"dataset {spec.name!r}: {len(missing)} image(s) not found: {head}."]
    msg.append("Looked in: " + "; ".join(where) + ".")
    if offline and urls:
        msg.append("Downloading is off (--offline / SRBENCH_OFFLINE=1).")
    if urls:
        msg.append("Official download: " + " or ".join(urls))
    if spec.homepage:
        msg.append(f"Homepage: {spec.homepage}")
    msg.append(
        f"Put the HR images (lossless, named <image>.png) in {cache_root(spec.name) / 'HR'} "
        "or in <root>/datasets/" + spec.name + "/HR with SRBENCH_MIRROR=<root>."
    )
    return " ".join(msg)


def _resolve_unhashed(spec: DatasetSpec, folders, offline: bool) -> ResolvedDataset:
    lock = _lock_path(spec.name)
    recorded = json.loads(lock.read_text()) if lock.is_file() else {}
    for kind, folder in folders:
        if not folder.is_dir():
            continue
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in LOSSLESS_SUFFIXES)
        if not files:
            continue
        refs = []
        for p in files:
            if p.stem not in recorded:
                recorded[p.stem] = sha256_pixels(read_image(p))
            refs.append(ImageRef(p.stem, p, recorded[p.stem]))
        lock.parent.mkdir(parents=True, exist_ok=True)
        lock.write_text(json.dumps(recorded, indent=1, sort_keys=True))
        return ResolvedDataset(spec, refs, {kind: len(refs)})
    if spec.downloads and not offline:
        _download_into_cache(spec, None)
        return _resolve_unhashed(spec, folders, True)
    raise DatasetError(_missing_message(spec, ["(all)"], offline))


def _crop(arr: np.ndarray, crop_to: tuple[int, int] | None) -> np.ndarray:
    if crop_to is None:
        return arr
    long_side, short_side = crop_to
    h, w = arr.shape[:2]
    ch, cw = (short_side, long_side) if w >= h else (long_side, short_side)
    return arr[: min(h, ch), : min(w, cw)]


def _download_into_cache(spec: DatasetSpec, wanted: list[str] | None) -> None:
    from srbench.archive import download, safe_extract
    from srbench.images import write_png

    dest = cache_root(spec.name) / "HR"
    errors = []
    for d in spec.downloads:
        try:
            archive = download(d["url"], cache_root(spec.name) / "downloads", d.get("sha256"))
            with tempfile.TemporaryDirectory(dir=cache_root(spec.name)) as tmp:
                files = safe_extract(archive, Path(tmp), d.get("member_prefix", ""))
                by_hash = {}
                if spec.images is not None:
                    by_hash = {v["sha256"]: k for k, v in spec.images.items() if wanted is None or k in wanted}
                for f in files:
                    if f.suffix.lower() not in LOSSLESS_SUFFIXES:
                        continue
                    arr = _crop(read_image(f), spec.crop_to)
                    if spec.images is None:
                        write_png(dest / f"{f.stem}.png", arr)
                    elif (name := by_hash.pop(sha256_pixels(arr), None)) is not None:
                        write_png(dest / f"{name}.png", arr)
                if by_hash:
                    raise DatasetError(f"{d['url']}: {len(by_hash)} declared image(s) not in the archive")
            return
        except Exception as exc:
            errors.append(f"{d['url']}: {exc}")
    raise DatasetError(f"dataset {spec.name!r}: download failed:\n  " + "\n  ".join(errors))


def load_hr(ref: ImageRef) -> np.ndarray:
    """Read an HR image and verify its pixel hash."""
    arr = read_image(ref.path)
    if ref.sha256 is not None:
        got = sha256_pixels(arr)
        if got != ref.sha256:
            raise DatasetError(
                f"{ref.path}: pixel sha256 {got[:16]}... does not match the declared {ref.sha256[:16]}... "
                f"for image {ref.name!r}; the file differs from the reference version (replace it)"
            )
    return arr
