"""Datasets declared in ``datasets.yaml``: resolution, verification and loading of HR and given-LR images.

Three kinds of dataset:

* **HR sets** (Set5 ...): HR images only; the LR is made by the run (MATLAB bicubic or a degradation);
* **paired sets** (NTIRE 2020 RWSR track 1 val, DIV2K mild/wild ...): HR images and, per scale, the LR
  images the challenge gave (``lr:`` in the YAML) - a run feeds methods exactly those LR;
* **LR-only sets** (RealSRSet, NTIRE 2020 RWSR track 2 ...): ``hr: false``, given LR only; only
  no-reference metrics can score them.

Given LR images live beside the HR: ``<root>/datasets/<name>/LR/x<scale>/<file>`` or, for a set that
gives LR at one scale (or at ``any`` scale), ``<root>/datasets/<name>/LR/<file>``, where ``<file>`` is
``lr.name`` (default ``{image}``) with a lossless suffix. They are verified by pixel hash exactly as HR
images (declared hashes, or hashed on first use).

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


#: what a declared dataset is for
USES = ("test", "train")


def _yaml_path() -> Path:
    here = Path(__file__).resolve().parent
    for cand in (here / "datasets.yaml", here.parent / "datasets.yaml"):
        if cand.is_file():
            return cand
    raise DatasetError("datasets.yaml is missing from the installation")


@dataclass(frozen=True)
class LRSpec:
    """The LR images a dataset gives for one scale (or for ``any`` scale)."""

    name: str = "{image}"  # file name (without suffix) of the LR of HR image ``image``
    images: dict[str, dict[str, Any]] | None = None  # LR-only sets: name -> {sha256, size, mode}
    hashes: dict[str, str] | None = None  # paired sets: HR image name -> LR pixel sha256, when known


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
    hr: bool = True  # False: an LR-only set
    hr_from: str | None = None  # the HR images are those of another declared dataset (DIV2K mild -> div2k_val)
    lr: dict[Any, LRSpec] = field(default_factory=dict)  # scale (int) or "any" -> given LR
    n_images: int | None = None  # declared count when the hashes are not known (shown by `srbench list`)
    hr_name: str = "{image}"  # HR file name (without suffix) of image ``image`` (RealSR: "{image}_HR")
    use: str = "test"  # "test": a benchmark set; "train": a training set (``srbench train --data``, never scored)
    source_format: str | None = None  # a non-folder source read by its own loader ("cifar10-binary")

    def given_lr(self, scale: int) -> LRSpec | None:
        """The LR this dataset gives at ``scale``, or None (the run makes the LR)."""
        return self.lr.get(int(scale)) or self.lr.get("any")

    @property
    def kind(self) -> str:
        return "lr-only" if not self.hr else ("paired" if self.lr else "hr")

    @property
    def pixel_manifest_sha256(self) -> str | None:
        if self.images is None:
            return None
        return json_key({k: v["sha256"] for k, v in sorted(self.images.items())})


@lru_cache(maxsize=1)
def specs() -> dict[str, DatasetSpec]:
    from srbench import yamlio

    files = [_yaml_path()]
    extra = os.environ.get("SRBENCH_DATASETS")
    if extra:
        files += [Path(p) for p in extra.split(os.pathsep) if p]
    out: dict[str, DatasetSpec] = {}
    for f in files:
        with open(f) as fh:
            doc = yamlio.load(fh) or {}
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
                hr=bool(d.get("hr", True)),
                hr_from=d.get("hr_from"),
                lr=_parse_lr(name, d.get("lr") or {}),
                n_images=d.get("n_images"),
                hr_name=str(d.get("hr_name", "{image}")),
                use=str(d.get("use", "test")),
                source_format=src.get("format"),
            )
    for spec in out.values():
        if spec.use not in USES:
            raise DatasetError(f"datasets.yaml: {spec.name!r}: 'use' must be one of {USES}, got {spec.use!r}")
        if "{image}" not in spec.hr_name:
            raise DatasetError(f"datasets.yaml: {spec.name!r}: 'hr_name' must contain {{image}}, got {spec.hr_name!r}")
        if not spec.hr and not spec.lr:
            raise DatasetError(f"datasets.yaml: {spec.name!r} has neither HR (hr: false) nor given LR (lr:)")
        if spec.hr_from is not None and spec.hr_from not in out:
            raise DatasetError(f"datasets.yaml: {spec.name!r} takes its HR from {spec.hr_from!r}, which is not declared")
    return out


def _parse_lr(name: str, block: dict) -> dict[Any, LRSpec]:
    out: dict[Any, LRSpec] = {}
    for key, d in block.items():
        scale = "any" if str(key) == "any" else int(key)
        d = d or {}
        lr_name = str(d.get("name", "{image}"))
        if "{image}" not in lr_name:
            raise DatasetError(f"datasets.yaml: {name!r} lr {key}: 'name' must contain {{image}}, got {lr_name!r}")
        out[scale] = LRSpec(name=lr_name, images=d.get("images"), hashes=d.get("hashes"))
    return out


def get_spec(name: str) -> DatasetSpec:
    known = specs()
    key = name.strip().lower()
    if key not in known:
        raise UnknownNameError("dataset", name, known)
    return known[key]


@dataclass
class LRRef:
    path: Path
    sha256: str | None  # expected pixel hash (None: recorded on first use)


@dataclass
class ImageRef:
    name: str
    path: Path | None  # the HR file (None in an LR-only set)
    sha256: str | None  # expected pixel hash (None: recorded on first use)
    lr: dict[int, LRRef] = field(default_factory=dict)  # scale -> the given LR (paired and LR-only sets)


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
        if not self.spec.lr:
            return json_key({im.name: im.sha256 for im in self.images})
        return json_key({im.name: [im.sha256, {f"x{s}": r.sha256 for s, r in sorted(im.lr.items())}] for im in self.images})

    def gives_lr(self, scale: int) -> bool:
        return bool(self.images) and all(int(scale) in im.lr for im in self.images)

    @property
    def has_hr(self) -> bool:
        return self.spec.hr

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


def _lock_path(name: str, part: str = "HR") -> Path:
    """Pixel hashes recorded on first use: ``pixels.lock.json`` (HR), ``lr_x4.pixels.lock.json`` ..."""
    return cache_root(name) / ("pixels.lock.json" if part == "HR" else f"{part.lower()}.pixels.lock.json")


def _roots(spec: DatasetSpec) -> list[tuple[str, Path]]:
    """(kind, dataset root) in resolution order: srbench's cache, then the mirrors."""
    return [("cache", cache_root(spec.name))] + [("mirror", m / "datasets" / spec.name) for m in paths.mirrors()]


def resolve(name: str, offline: bool | None = None, scales=()) -> ResolvedDataset:
    """Locate every image of a dataset (downloading if allowed) - the HR and, for each of ``scales`` at
    which the dataset gives LR, the given LR; images are verified when loaded."""
    spec = get_spec(name)
    offline = paths.offline() if offline is None else offline
    refs: list[ImageRef] | None = None
    sources: dict[str, int] = {}
    if spec.hr:
        hr_spec = get_spec(spec.hr_from) if spec.hr_from else spec
        hr = _resolve_hr(hr_spec, offline)
        refs, sources = hr.images, dict(hr.sources)
    for scale in sorted({int(s) for s in scales}):
        if spec.given_lr(scale) is not None:
            refs, found = _resolve_lr(spec, scale, refs, offline)
            for kind, n in found.items():
                sources[f"lr-x{scale}:{kind}"] = sources.get(f"lr-x{scale}:{kind}", 0) + n
    if refs is None:  # an LR-only set asked for no scale it gives: list its images without LR
        refs = []
    return ResolvedDataset(spec, refs, sources)


def _resolve_hr(spec: DatasetSpec, offline: bool) -> ResolvedDataset:
    folders = [(kind, root / "HR") for kind, root in _roots(spec)]
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
            p = _find(folder, spec.hr_name.format(image=image))
            if p is not None:
                refs.append(ImageRef(image, p, info["sha256"]))
                sources[kind] = sources.get(kind, 0) + 1
                break
        else:
            missing.append(image)
    if missing:
        if offline or not _downloads(spec, "hr"):
            raise DatasetError(_missing_message(spec, missing, offline))
        _download_into_cache(spec, missing)
        return _resolve_hr(spec, offline=True)
    return ResolvedDataset(spec, refs, sources)


def _lr_folders(spec: DatasetSpec, scale: int) -> list[tuple[str, Path]]:
    single = len(spec.lr) == 1  # one LR set (one scale, or "any"): LR/<file> as well as LR/x<s>/<file>
    out = []
    for kind, root in _roots(spec):
        out.append((kind, root / "LR" / f"x{scale}"))
        if single:
            out.append((kind, root / "LR"))
    return out


def _lr_part(spec: DatasetSpec, scale: int) -> str:
    return "LR" if int(scale) not in spec.lr else f"LR_x{scale}"


def _resolve_lr(spec: DatasetSpec, scale: int, refs: list[ImageRef] | None, offline: bool):
    """Attach the given LR of ``scale`` to ``refs`` (paired sets) or make the refs (LR-only sets)."""
    lrspec = spec.given_lr(scale)
    folders = _lr_folders(spec, scale)
    part = _lr_part(spec, scale)
    lock = _lock_path(spec.name, part)
    recorded = json.loads(lock.read_text()) if lock.is_file() else {}
    sources: dict[str, int] = {}

    def find(file_stem: str) -> tuple[str, Path] | None:
        for kind, folder in folders:
            p = _find(folder, file_stem)
            if p is not None:
                return kind, p
        return None

    if refs is None:  # LR-only: the LR images are the dataset
        if lrspec.images is not None:
            wanted = {img: info.get("sha256") for img, info in sorted(lrspec.images.items())}
        else:
            pattern = _name_pattern(lrspec.name)
            wanted = [m.group("image") for stem in _listed(folders) if (m := pattern.fullmatch(stem))]
            if not wanted:
                return _lr_missing(spec, scale, ["(all)"], offline, refs)
            wanted = {img: None for img in wanted}
        refs = [ImageRef(img, None, None) for img in wanted]
        expected = wanted
    else:
        expected = {r.name: (lrspec.hashes or {}).get(r.name) for r in refs}
    missing = []
    for ref in refs:
        stem = lrspec.name.format(image=ref.name)
        hit = find(stem)
        if hit is None:
            missing.append(stem)
            continue
        kind, path = hit
        sha = expected.get(ref.name)
        if sha is None:  # hash on first use
            key = f"{ref.name}"
            if key not in recorded:
                recorded[key] = sha256_pixels(read_image(path))
            sha = recorded[key]
        ref.lr[int(scale)] = LRRef(path, sha)
        sources[kind] = sources.get(kind, 0) + 1
    if missing:
        return _lr_missing(spec, scale, missing, offline, refs)
    if recorded:
        from srbench.fsutil import atomic_write_text

        atomic_write_text(lock, json.dumps(recorded, indent=1, sort_keys=True))
    return refs, sources


def _lr_missing(spec: DatasetSpec, scale: int, missing: list[str], offline: bool, refs):
    if not offline and _downloads(spec, "lr", scale):
        _download_into_cache(spec, None, role="lr", scale=scale)
        return _resolve_lr(spec, scale, None if not spec.hr else refs, True)
    raise DatasetError(_missing_message(spec, missing, offline, scale=scale))


def _listed(folders) -> list[str]:
    for _, folder in folders:
        if folder.is_dir():
            files = sorted(p.stem for p in folder.iterdir() if p.is_file() and p.suffix.lower() in LOSSLESS_SUFFIXES)
            if files:
                return files
    return []


def _downloads(spec: DatasetSpec, role: str, scale: int | None = None) -> list[dict]:
    """The declared downloads of one role: ``hr`` (default) or ``lr`` (with ``scale``: an int or ``any``)."""
    out = []
    for d in spec.downloads:
        if d.get("role", "hr") != role:
            continue
        if role == "lr" and scale is not None and str(d.get("scale", "any")) not in (str(scale), "any"):
            continue
        out.append(d)
    return out


def _missing_message(spec: DatasetSpec, missing: list[str], offline: bool, scale: int | None = None) -> str:
    part = "HR" if scale is None else ("LR" if len(spec.lr) == 1 else f"LR/x{scale}")
    where = [str(root / part) for _, root in _roots(spec)]
    urls = [d["url"] for d in _downloads(spec, "hr" if scale is None else "lr", scale)]
    head = ", ".join(missing[:5]) + (f" ... ({len(missing)} in all)" if len(missing) > 5 else "")
    what = "image(s)" if scale is None else f"given LR image(s) for x{scale}"
    msg = [f"dataset {spec.name!r}: {len(missing)} {what} not found: {head}."]
    msg.append("Looked in: " + "; ".join(where) + ".")
    if offline and urls:
        msg.append("Downloading is off (--offline / SRBENCH_OFFLINE=1).")
    if urls:
        msg.append("Official download: " + " or ".join(urls))
    if spec.homepage:
        msg.append(f"Homepage: {spec.homepage}")
    kind = "HR images (lossless, named <image>.png)" if scale is None else (
        f"LR images (lossless, named {spec.given_lr(scale).name.format(image='<image>')}.png)")
    msg.append(
        f"Put the {kind} in {cache_root(spec.name) / part} "
        f"or in <root>/datasets/{spec.name}/{part} with SRBENCH_MIRROR=<root>."
    )
    return " ".join(msg)


def _resolve_unhashed(spec: DatasetSpec, folders, offline: bool) -> ResolvedDataset:
    lock = _lock_path(spec.name)
    recorded = json.loads(lock.read_text()) if lock.is_file() else {}
    for kind, folder in folders:
        if not folder.is_dir():
            continue
        pattern = _name_pattern(spec.hr_name)
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in LOSSLESS_SUFFIXES and pattern.fullmatch(p.stem))
        if not files:
            continue
        refs = []
        for p in files:
            image = pattern.fullmatch(p.stem).group("image")
            if image not in recorded:
                recorded[image] = sha256_pixels(read_image(p))
            refs.append(ImageRef(image, p, recorded[image]))
        from srbench.fsutil import atomic_write_text

        atomic_write_text(lock, json.dumps(recorded, indent=1, sort_keys=True))
        return ResolvedDataset(spec, refs, {kind: len(refs)})
    if _downloads(spec, "hr") and not offline:
        _download_into_cache(spec, None)
        return _resolve_unhashed(spec, folders, True)
    raise DatasetError(_missing_message(spec, ["(all)"], offline))


def _name_pattern(template: str):
    """``"{image}_HR"`` -> a regex whose group ``image`` is the image name of a file stem."""
    import re

    head, _, tail = template.partition("{image}")
    return re.compile(re.escape(head) + r"(?P<image>.+?)" + re.escape(tail))


def _crop(arr: np.ndarray, crop_to: tuple[int, int] | None) -> np.ndarray:
    if crop_to is None:
        return arr
    long_side, short_side = crop_to
    h, w = arr.shape[:2]
    ch, cw = (short_side, long_side) if w >= h else (long_side, short_side)
    return arr[: min(h, ch), : min(w, cw)]


def _download_into_cache(spec: DatasetSpec, wanted: list[str] | None, role: str = "hr", scale=None) -> None:
    """Fetch the downloads of ``role`` (``hr``, or ``lr`` for ``scale``), extract them safely and store
    the images in the cache: declared images are matched by pixel hash (archive names may differ),
    undeclared ones are kept under their file names.

    Archive entries are alternatives (the first that works is used); ``format: file`` entries are the
    parts of one set (each a single image, e.g. a raw GitHub URL with its file sha256) and all are fetched.
    """
    from srbench.archive import download, safe_extract

    if role == "hr":
        dest, declared = cache_root(spec.name) / "HR", spec.images
    else:
        dest = cache_root(spec.name) / "LR" / (f"x{scale}" if int(scale) in spec.lr else "")
        declared = spec.given_lr(scale).images
    by_hash = {v["sha256"]: k for k, v in (declared or {}).items() if wanted is None or k in wanted}
    entries = _downloads(spec, role, scale)
    parts = [d for d in entries if d.get("format") == "file"]
    downloads_dir = cache_root(spec.name) / "downloads"
    errors = []
    if parts:
        try:
            files = [download(d["url"], downloads_dir, d.get("sha256")) for d in parts]
            _store(files, spec, role, dest, declared, by_hash)
            if by_hash:
                raise DatasetError(f"{len(by_hash)} declared image(s) are not among the downloaded files")
            return
        except Exception as exc:
            errors.append(f"{parts[0]['url']} (+{len(parts) - 1} files): {exc}")
    for d in (d for d in entries if d.get("format") != "file"):
        try:
            archive = download(d["url"], downloads_dir, d.get("sha256"))
            with tempfile.TemporaryDirectory(dir=cache_root(spec.name)) as tmp:
                files = safe_extract(archive, Path(tmp), d.get("member_prefix", ""))
                remaining = dict(by_hash)
                _store(files, spec, role, dest, declared, remaining)
                if remaining:
                    raise DatasetError(f"{d['url']}: {len(remaining)} declared image(s) not in the archive")
            return
        except Exception as exc:
            errors.append(f"{d['url']}: {exc}")
    raise DatasetError(f"dataset {spec.name!r}: download failed:\n  " + "\n  ".join(errors))


def _store(files, spec: DatasetSpec, role: str, dest: Path, declared, by_hash: dict) -> None:
    """Write the lossless images among ``files`` into ``dest``: declared ones (popped from ``by_hash``) under
    their declared names, all of them under their own names when nothing is declared."""
    from srbench.images import write_png

    for f in files:
        if Path(f).suffix.lower() not in LOSSLESS_SUFFIXES:
            continue
        arr = read_image(f)
        if role == "hr":
            arr = _crop(arr, spec.crop_to)
        if declared is None:
            write_png(dest / f"{Path(f).stem}.png", arr)
        elif (name := by_hash.pop(sha256_pixels(arr), None)) is not None:
            write_png(dest / f"{name}.png", arr)


def _verified(path: Path, sha256: str | None, what: str) -> np.ndarray:
    arr = read_image(path)
    if sha256 is not None:
        got = sha256_pixels(arr)
        if got != sha256:
            raise DatasetError(
                f"{path}: pixel sha256 {got[:16]}... does not match the declared {sha256[:16]}... "
                f"for {what}; the file differs from the reference version (replace it)"
            )
    return arr


def load_hr(ref: ImageRef) -> np.ndarray:
    """Read an HR image and verify its pixel hash."""
    if ref.path is None:
        raise DatasetError(f"image {ref.name!r} has no HR (an LR-only dataset)")
    return _verified(ref.path, ref.sha256, f"image {ref.name!r}")


def load_lr(ref: ImageRef, scale: int) -> np.ndarray:
    """Read the given LR of an image at ``scale`` and verify its pixel hash."""
    lr = ref.lr.get(int(scale))
    if lr is None:
        raise DatasetError(f"image {ref.name!r} has no given LR at x{scale}")
    return _verified(lr.path, lr.sha256, f"the x{scale} LR of image {ref.name!r}")
