"""A folder of SR images that a researcher's own model already produced, matched to the images of a run.

``srbench run --methods folder:PATH[@label]`` scores those files as if a method had returned them.
:func:`parse_folder_method` reads the method text; :func:`index_folder` finds the file (or one file per
sample) for every image the run scores and checks it, or raises :class:`FolderOutputsError` listing
*every* problem at once.

**Layouts.** Decided once per folder, from what ``PATH`` holds:

* ``dataset/xS``: ``PATH/<dataset>/x<scale>/<image>.png``. This is what ``--save-images`` writes, so
  ``RUN/images/<method>/`` is such a folder. It is chosen when a dataset folder holds a scale folder
  (``x4`` or ``X4``). Every dataset then needs its ``x<scale>`` folders, and image files directly in
  a dataset folder are not used.
* ``dataset``: ``PATH/<dataset>/<image>.png``, for a dataset the run scores at one scale only.
* ``flat``: ``PATH/<image>.png``, only when the run scores one dataset at one scale and ``PATH`` holds
  no folder named for it.

A dataset folder is named like the srbench dataset or one of its ``aliases`` (``BSD100``, ``Urban100``),
in any case. Folders nobody looks into (datasets or scales the run does not score, other folders) are
not refused. They are listed in :attr:`FolderIndex.ignored`, as paths relative to ``PATH`` ending in
``/``. So are image files directly in ``PATH`` or in a dataset folder when those are not used.

**File names.** A file's stem names an image by the first of these rules that fits. The rules are
tried with exact names first, then with loose names: casefolded, with only letters and digits kept.
Loose names make ``img001`` fit ``img_001`` and ``Baby`` fit ``baby``. Leading zeros still count, so
``img1`` does not fit ``img_001``.

1. The stem *is* the image name, or its ``safe_name`` (how ``--save-images`` names files).
2. The stem is the image name, then a separator (``_``, ``-`` or ``.``), then a tag made of
   ``[A-Za-z0-9_.-]``: ``baby_x4``, ``baby_SR``, ``img_001_ESRGAN``, ``baby_EDSR_x4``.
3. The stem is the image name with the run's scale glued on, DIV2K style (``x<scale>`` and at most one
   letter), then nothing or a separator and a tag: ``0801x4``, ``0801x4w_SR`` (x4 run only).

The longest image name wins, so ``img_10_SR`` is ``img_10``, not ``img_1`` with the tag ``10_SR``. A
stem that fits several images equally well is *ambiguous*; srbench never guesses. Some tags say the
file is not an SR output of this run, and such a file is an *extra* file:

* a part of the tag (between separators) that reads ``HR`` or ``GT`` (``HRx4`` too), anywhere;
* a *last* part that reads ``LR`` (``LR``, ``LR4``, ``LRbicx4``: ``lr(bi|bd|de|bic)?x?<n>?``, any case).
  An ``LR`` part followed by more (``Canon_003_LR4_SR``) is an SR output named after its LR file;
* a scale tag for another scale (``x2`` or ``2x`` in an x4 run).

**Samples** (``samples > 1``). Two forms are read: ``<image>/s<k>.png`` (what ``--save-images`` writes;
the folder is named by the rules above), and ``<stem>_s<k>.png`` or ``<stem>-s<k>.png``, where
``<stem>`` names the image by the rules above (``baby_SR_s0.png``). Exactly ``s0`` .. ``s<n-1>`` are
needed. A missing, extra or doubled index is a problem, and so is an untagged file such as ``baby.png``.
With one sample, ``_s<k>`` is a tag like any other: ``baby_s0.png`` alone is ``baby``, while
``baby_s0.png`` and ``baby_s1.png`` together are two files for one image (ambiguous).

**Formats.** srbench reads the lossless formats in ``srbench.images.LOSSLESS_SUFFIXES``, with the
suffix in any case. JPEG is refused as lossy, and GIF, HEIC, AVIF and similar formats as ones srbench
does not read. Any other file is not looked at: ``README.txt``, ``*.json``, and hidden files (``.*``).

**Checks.** Every image has its file(s). No file in a folder that is used is left over, no file fits
two images, and no image has two files. Every file opens, reading only its header, at the expected
size. For made LR, the expected size is the HR cropped to a multiple of the scale.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from srbench.errors import FolderOutputsError
from srbench.names import safe_name

PREFIX = "folder:"
LABEL_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._+-]*"
LAYOUTS = ("dataset/xS", "dataset", "flat")
#: refused as lossy (the error says so) rather than ignored
JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")
#: image formats srbench does not read: refused rather than ignored, so a missing image is explained
UNSUPPORTED_SUFFIXES = (".gif", ".heic", ".heif", ".avif", ".jxl", ".jp2", ".j2k", ".exr", ".hdr", ".tga", ".ico")
#: lines shown per problem group; the rest is counted
MAX_LINES = 20

_LABEL = re.compile(LABEL_PATTERN)
_SCALE_DIR = re.compile(r"x(\d+)", re.IGNORECASE)
_SEPARATORS = "_-."
_TAG = re.compile(r"[A-Za-z0-9_.-]+")
_LR_PART = re.compile(r"lr(bi|bd|de|bic)?x?\d*", re.IGNORECASE)
_HR_PART = re.compile(r"(hr|gt)x?\d*", re.IGNORECASE)
_SCALE_TAG = re.compile(r"x(\d+)|(\d+)x", re.IGNORECASE)
_SAMPLE_TAG = re.compile(r"(.+)[_-]s(\d+)", re.IGNORECASE)
_SAMPLE_FILE = re.compile(r"s(\d+)", re.IGNORECASE)

_GROUPS = {
    "layout": "folder layout",
    "missing": "missing (no SR file for an image of the run)",
    "ambiguous": "ambiguous (a file fits several images, or an image has several files)",
    "samples": "samples (this run needs s0 .. s{last} for every image)",
    "size": "wrong size (expected HxW, got HxW; for made LR the expected size is the HR cropped to a multiple of the scale)",
    "lossy": "lossy format (JPEG): save SR outputs losslessly (PNG)",
    "unsupported": "format srbench does not read: save SR outputs losslessly (PNG)",
    "unreadable": "unreadable (PIL cannot open the file)",
    "extra": "extra files (image files that fit no image of the run)",
}


# ------------------------------------------------------------------ the method text


@dataclass(frozen=True)
class FolderSpec:
    path: Path  # resolved, absolute
    label: str  # the method label in results


def parse_folder_method(text: str) -> FolderSpec | None:
    """``folder:PATH[@label]`` -> :class:`FolderSpec`. Any other method text gives ``None``.

    The last ``@`` starts the label only when what follows is a valid label (``LABEL_PATTERN``: no ``/``,
    not empty). Otherwise the ``@`` belongs to ``PATH`` (``folder:/data/me@host/out``). To name a folder
    that itself ends in ``@word``, add a label: ``folder:/x/run@2@run2``. The default label is the base
    name of the resolved folder.
    """
    if not text.startswith(PREFIX):
        return None
    rest = text[len(PREFIX):]
    where, label = rest, None
    head, at, tail = rest.rpartition("@")
    if at and _LABEL.fullmatch(tail):
        where, label = head, tail
    if not where:
        raise FolderOutputsError(f"{text!r}: no folder given (write folder:PATH or folder:PATH@label)")
    path = Path(where).expanduser()
    if not path.exists():
        if label is None and at and head and Path(head).expanduser().is_dir():
            raise FolderOutputsError(
                f"{text!r}: label {tail!r} after '@' is not valid ({LABEL_PATTERN}, no '/')")
        hint = ""
        if label is not None and Path(rest).expanduser().is_dir():
            hint = (f" (the text after the last '@' is read as the label; to use the folder {rest!r}, add a "
                    f"label: folder:{rest}@{label})")
        raise FolderOutputsError(f"{text!r}: no such folder {str(path)!r}{hint}")
    if not path.is_dir():
        raise FolderOutputsError(f"{text!r}: {str(path)!r} is a file, not a folder of SR images")
    path = path.resolve()
    if label is None:
        label = path.name
        if not _LABEL.fullmatch(label):
            suggestion = re.sub(r"[^A-Za-z0-9._+-]+", "_", label).lstrip("._+-") or "outputs"
            raise FolderOutputsError(
                f"{text!r}: the folder name {label!r} is not a valid method label ({LABEL_PATTERN}); "
                f"name it: folder:{where}@{suggestion}")
    return FolderSpec(path=path, label=label)


# ------------------------------------------------------------------ what the run wants, what was found


@dataclass(frozen=True)
class Wanted:
    dataset: str  # srbench dataset name, e.g. "set5"
    scale: int
    image: str  # dataset image name, e.g. "baby", "img_001", "0801"
    size: tuple[int, int] | None  # expected (height, width) of the SR image; None: not checked


@dataclass
class FolderIndex:
    root: Path
    layout: str  # one of LAYOUTS
    #: (dataset, scale, image) -> the file, or the sample files in sample order (s0, s1, ...)
    files: dict[tuple[str, int, str], tuple[Path, ...]]
    #: what was not looked into, relative to ``root`` (folders end in ``/``), e.g. ``BSD100/``, ``set5/x2/``
    ignored: list[str] = field(default_factory=list)

    def identity(self, memo=None) -> str:
        """The folder's content identity: sha256 hex over every matched file's decoded pixels
        (``srbench.hashing.array_key``) with its ``(dataset, scale, image, sample)`` key, in sorted key
        order. The same pixels in another file (re-saved, other PNG compression, BMP) have the same
        identity. This decodes every file, except those ``memo`` (a :class:`srbench.cache.ValueCache`)
        knows at the same path, size and mtime."""
        import hashlib
        import json
        import os

        from srbench.hashing import array_key, json_key
        from srbench.images import read_image

        def name(path):
            st = os.stat(path)
            return "memo:pixels:" + json_key({"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns})

        paths = [(key, sample, path) for key in sorted(self.files) for sample, path in enumerate(self.files[key])]
        names = [name(p) for _, _, p in paths]
        known = memo.get_many(names) if memo is not None else {}
        new = {}
        h = hashlib.sha256(b"srbench folder outputs 1\n")
        for (key, sample, path), n in zip(paths, names):
            pixels = known.get(n)
            if pixels is None:
                pixels = new[n] = array_key(read_image(path))
            h.update(json.dumps([*key, sample, pixels], ensure_ascii=True).encode() + b"\n")
        if memo is not None:
            memo.put_many(new)
        return h.hexdigest()


# ------------------------------------------------------------------ names


def _loose(name: str) -> str:
    """``Img_001`` -> ``img001``: casefolded, letters and digits only (leading zeros kept)."""
    return "".join(c for c in name.casefold() if c.isalnum())


def _tag_problem(stem: str, tag: str, scale: int) -> str | None:
    """Why a file with this tag after an image name is not an SR output of this run (``""``: it is one)."""
    if not _TAG.fullmatch(tag):
        return None  # not a tag: the stem does not name the image
    parts = [p for p in re.split(r"[_.-]+", tag) if p]
    for part in parts:
        if _HR_PART.fullmatch(part):
            return f"tag {part!r}: an HR / ground-truth image, not SR"
    if parts and _LR_PART.fullmatch(parts[-1]):
        return f"tag {parts[-1]!r}: named as an LR image (an SR output named after its LR file: {stem}_SR.png)"
    for part in parts:
        m = _SCALE_TAG.fullmatch(part)
        if m and int(m[1] or m[2]) != scale:
            return f"tag {part!r}: another scale than x{scale}"
    return ""


class _Names:
    """The image names of one (dataset, scale), and which of them a file stem names (module docstring)."""

    def __init__(self, images: Sequence[str], scale: int):
        self.scale = scale
        self.glued = re.compile(rf"(?=x{scale}[a-z]?(?:$|[{re.escape(_SEPARATORS)}]))", re.IGNORECASE)
        self.exact: dict[str, set[str]] = defaultdict(set)
        self.loose: dict[str, set[str]] = defaultdict(set)
        for image in images:
            self.exact[image].add(image)
            self.exact[safe_name(image)].add(image)
            if _loose(image):
                self.loose[_loose(image)].add(image)

    def match(self, stem: str) -> tuple[tuple[str, ...], str]:
        """(the images the stem names: one, several = ambiguous, none; why a fitting stem is refused)."""
        cuts = [(stem, "")] + [(stem[:i], stem[i + 1:]) for i in range(len(stem) - 1, 0, -1) if stem[i] in _SEPARATORS]
        cuts += [(stem[:m.start()], stem[m.start():]) for m in self.glued.finditer(stem)
                 if m.start() > 0 and stem[m.start() - 1] not in _SEPARATORS]
        cuts.sort(key=lambda cut: -len(cut[0]))  # stable: the whole stem first
        for table, key in ((self.exact, str), (self.loose, _loose)):
            for base, tag in cuts:  # longest base (= longest image name) first
                hits = table.get(key(base))
                if not hits:
                    continue
                why = _tag_problem(stem, tag, self.scale) if tag else ""
                if why is None:
                    return (), ""
                if why:
                    return (), why  # every shorter base has this tag part too
                return tuple(sorted(hits)), ""
        return (), ""


def _folder_names(dataset: str, aliases: Mapping[str, Sequence[str]]) -> set[str]:
    return {n.casefold() for n in (dataset, safe_name(dataset), *aliases.get(dataset, ()))}


def _kind(path: Path, lossless: Sequence[str]) -> str | None:
    suffix = path.suffix.lower()
    if suffix in lossless:
        return "image"
    if suffix in JPEG_SUFFIXES:
        return "lossy"
    if suffix in UNSUPPORTED_SUFFIXES:
        return "unsupported"
    return None


def _names_list(items, limit: int = 6) -> str:
    items = list(items)
    more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _all_missing(n: int) -> str:
    return "the image is missing" if n == 1 else f"all {n} images missing"


def _expected(image: str, samples: int) -> str:
    names = [image] if safe_name(image) == image else [image, safe_name(image)]
    if samples > 1:
        last = samples - 1
        return " or ".join(f"{n}/s0..s{last}.png or {n}_s0..s{last}.png" for n in names)
    return " or ".join(f"{n}.png" for n in names)


# ------------------------------------------------------------------ indexing


def index_folder(spec_or_root: FolderSpec | str | Path, wanted: Sequence[Wanted], samples: int = 1,
                 aliases: Mapping[str, Sequence[str]] | None = None) -> FolderIndex:
    """Find the SR file(s) of every ``wanted`` image under the folder (layouts and rules: module docstring).

    ``samples``: files per image (``s0`` .. ``s<n-1>``). ``aliases``: more folder names per dataset
    (``{"b100": ["BSD100", "B100"]}``). Raises :class:`FolderOutputsError` (exit 2) listing every problem.
    """
    root = Path(spec_or_root.path if isinstance(spec_or_root, FolderSpec) else spec_or_root)
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    if not wanted:
        raise ValueError("index_folder: no images wanted")
    if not root.is_dir():
        raise FolderOutputsError(f"SR outputs folder {str(root)!r}: no such folder")
    return _Indexer(root, wanted, samples, aliases or {}).run()


class _Indexer:
    def __init__(self, root: Path, wanted: Sequence[Wanted], samples: int, aliases: Mapping[str, Sequence[str]]):
        from srbench.images import LOSSLESS_SUFFIXES

        self.root, self.samples, self.aliases = root, samples, aliases
        self.lossless = tuple(s.lower() for s in LOSSLESS_SUFFIXES)
        self.runs: dict[tuple[str, int], dict[str, tuple[int, int] | None]] = defaultdict(dict)
        for w in wanted:
            self.runs[(w.dataset, int(w.scale))][w.image] = w.size
        self.scales: dict[str, list[int]] = defaultdict(list)
        for dataset, scale in sorted(self.runs):
            self.scales[dataset].append(scale)
        self.problems: dict[str, list[str]] = {g: [] for g in _GROUPS}
        self.ignored: list[str] = []
        self.files: dict[tuple[str, int, str], tuple[Path, ...]] = {}
        self.layout: str | None = None  # None: no layout fits (a problem says why)
        self._refused: set[str] = set()  # datasets whose folder is unclear (a problem says why)
        self._listed: dict[Path, list[Path]] = {}
        self._matched = 0  # files that named an image (usable or not)

    # -------------------------------------------------------------- folders

    def _entries(self, folder: Path) -> list[Path]:
        """The folder's entries, hidden ones (``.*``) left out; listed once."""
        if folder not in self._listed:
            try:
                self._listed[folder] = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
            except OSError as exc:
                self.problems["unreadable"].append(f"{self._rel(folder)}/: cannot list the folder ({exc.strerror or exc})")
                self._listed[folder] = []
        return self._listed[folder]

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _image_files(self, folder: Path) -> list[Path]:
        return [p for p in self._entries(folder) if p.is_file() and _kind(p, self.lossless)]

    def _ignore(self, path: Path) -> None:
        rel = self._rel(path) + ("/" if path.is_dir() else "")
        if rel not in self.ignored:
            self.ignored.append(rel)

    def run(self) -> FolderIndex:
        folders = self._dataset_folders()
        if folders is None:
            pass  # a layout problem says why
        elif not folders:
            self.layout = "flat"
            (dataset, scale), images = next(iter(self.runs.items()))
            self._scan(self.root, dataset, scale, images)
            if not self._matched and (self.root / f"x{scale}").is_dir():
                self.problems["layout"].append(
                    f"nothing matched directly in the folder, which holds x{scale}/: give folder:{self.root / f'x{scale}'}, "
                    f"or a folder holding <dataset>/x{scale}/")
        else:
            scaled = any(p.is_dir() and _SCALE_DIR.fullmatch(p.name) for d in folders.values() for p in self._entries(d))
            self.layout = "dataset/xS" if scaled else "dataset"
            for dataset in self.scales:
                if dataset in folders:
                    (self._scaled if scaled else self._unscaled)(dataset, folders[dataset])
                elif dataset not in self._refused:
                    names = sorted(_folder_names(dataset, self.aliases))
                    for scale in self.scales[dataset]:
                        self.problems["missing"].append(
                            f"{dataset} x{scale}: no folder for {dataset} (looked for {', '.join(names)}, any case); "
                            f"{_all_missing(len(self.runs[(dataset, scale)]))}")
        self._raise_if_any()
        return FolderIndex(root=self.root, layout=self.layout, files=dict(sorted(self.files.items())), ignored=self.ignored)

    def _dataset_folders(self) -> dict[str, Path] | None:
        """dataset -> its folder in root; ``{}``: flat; ``None``: the layout is refused (a problem says why)."""
        found: dict[str, list[Path]] = defaultdict(list)
        names = {d: _folder_names(d, self.aliases) for d in self.scales}
        subdirs = [p for p in self._entries(self.root) if p.is_dir()]
        for sub in subdirs:
            owners = [d for d in self.scales if sub.name.casefold() in names[d]]
            if len(owners) > 1:
                self.problems["layout"].append(f"{sub.name}/: fits several datasets of the run ({', '.join(owners)})")
                self._refused.update(owners)
            elif owners:
                found[owners[0]].append(sub)
            else:
                self._ignore(sub)
        for dataset, subs in found.items():
            if len(subs) > 1:
                self.problems["layout"].append(
                    f"{dataset}: several folders ({', '.join(s.name + '/' for s in subs)}); keep one")
                self._refused.add(dataset)
        if self._refused:
            return {d: s[0] for d, s in found.items() if d not in self._refused} or None
        if found:
            for p in self._image_files(self.root):
                self._ignore(p)
            return {d: s[0] for d, s in found.items()}
        if len(self.runs) == 1:
            return {}
        wanted = ", ".join(f"{d} x{s}" for d, s in sorted(self.runs))
        nested = [f"{sub.name}/" for sub in subdirs
                  if any(p.is_dir() and any(p.name.casefold() in n for n in names.values()) for p in self._entries(sub))]
        hint = f"; did you mean the folder {_names_list(nested)} inside it?" if nested else ""
        self.problems["layout"].append(
            f"no folder named for a dataset of the run ({', '.join(self.scales)}); a flat folder of images is "
            f"accepted only when the run scores one dataset at one scale, this one scores {wanted}{hint}")
        return None

    def _scaled(self, dataset: str, folder: Path) -> None:
        by_scale: dict[int, list[Path]] = defaultdict(list)
        for p in self._entries(folder):
            m = _SCALE_DIR.fullmatch(p.name) if p.is_dir() else None
            if m and int(m[1]) in self.scales[dataset]:
                by_scale[int(m[1])].append(p)
            elif p.is_dir() or _kind(p, self.lossless):
                self._ignore(p)
        for scale in self.scales[dataset]:
            dirs = by_scale.get(scale, [])
            if len(dirs) > 1:
                self.problems["layout"].append(
                    f"{folder.name}/: several folders for x{scale} ({', '.join(d.name + '/' for d in dirs)}); keep one")
            elif not dirs:
                loose = self._image_files(folder)
                n = len(loose)
                also = f"; {folder.name}/ holds {n} image file{'s' * (n != 1)} directly, not used in this layout" if n else ""
                self.problems["missing"].append(
                    f"{dataset} x{scale}: no folder {folder.name}/x{scale}/ (layout dataset/xS); "
                    f"{_all_missing(len(self.runs[(dataset, scale)]))}{also}")
            else:
                self._scan(dirs[0], dataset, scale, self.runs[(dataset, scale)])

    def _unscaled(self, dataset: str, folder: Path) -> None:
        scales = self.scales[dataset]
        if len(scales) > 1:
            where = ", ".join(f"{folder.name}/x{s}/" for s in scales)
            self.problems["layout"].append(
                f"{folder.name}/: holds the images directly, but the run scores {dataset} at "
                f"{', '.join(f'x{s}' for s in scales)}: put each scale's images in {where}")
            return
        self._scan(folder, dataset, scales[0], self.runs[(dataset, scales[0])])

    # -------------------------------------------------------------- files

    def _scan(self, leaf: Path, dataset: str, scale: int, images: Mapping[str, tuple[int, int] | None]) -> None:
        """Match the files of one (dataset, scale) folder to its images; record files and problems."""
        names = _Names(list(images), scale)
        hits: dict[str, list[tuple[int | None, Path]]] = defaultdict(list)
        refused: dict[str, set[int | None]] = defaultdict(set)  # (image, sample) covered by a JPEG etc.
        for entry in self._entries(leaf):
            if entry.is_dir():
                found = names.match(entry.name)[0] if self.samples > 1 else ()
                if len(found) == 1:
                    self._scan_samples(entry, found[0], hits, refused)
                elif len(found) > 1:
                    self.problems["ambiguous"].append(f"{self._rel(entry)}/: fits several images ({', '.join(found)})")
                else:
                    self._ignore(entry)
                continue
            kind = _kind(entry, self.lossless) if entry.is_file() else None
            if kind is None:
                continue
            stem, sample = entry.stem, None
            m = _SAMPLE_TAG.fullmatch(stem) if self.samples > 1 else None
            if m and names.match(m[1])[0]:
                stem, sample = m[1], int(m[2])
            found, why = names.match(stem)
            if not found:
                self.problems["extra"].append(f"{self._rel(entry)}" + (f" ({why})" if why else ""))
            elif len(found) > 1:
                self.problems["ambiguous"].append(f"{self._rel(entry)}: fits several images ({', '.join(found)})")
            else:
                self._found(found[0], sample, entry, kind, hits, refused)
        for image, size in images.items():
            if self.samples == 1:
                self._single(dataset, scale, image, size, hits.get(image, []), bool(refused.get(image)), leaf)
            else:
                self._sampled(dataset, scale, image, size, hits.get(image, []), refused.get(image, set()), leaf)

    def _scan_samples(self, folder: Path, image: str, hits, refused) -> None:
        for entry in self._entries(folder):
            kind = _kind(entry, self.lossless) if entry.is_file() else None
            if entry.is_dir():
                self._ignore(entry)
            elif kind is None:
                continue
            elif m := _SAMPLE_FILE.fullmatch(entry.stem):
                self._found(image, int(m[1]), entry, kind, hits, refused)
            else:
                self.problems["extra"].append(f"{self._rel(entry)} (in a sample folder, files are s0.png, s1.png, ...)")

    def _found(self, image: str, sample: int | None, path: Path, kind: str, hits, refused) -> None:
        self._matched += 1
        if kind == "image":
            hits[image].append((sample, path))
        else:
            self.problems[kind].append(f"{self._rel(path)} ({image})")
            refused[image].add(sample)

    def _single(self, dataset, scale, image, size, got, refused: bool, leaf: Path) -> None:
        paths = [p for _, p in got]
        if len(paths) > 1:
            note = ""
            if all(_SAMPLE_TAG.fullmatch(p.stem) for p in paths):
                note = "; sample files? this run scores one sample per image"
            self.problems["ambiguous"].append(
                f"{dataset} x{scale} {image}: several files ({', '.join(self._rel(p) for p in paths)}){note}")
        elif paths:
            if self._size_ok(paths[0], size, scale):
                self.files[(dataset, scale, image)] = (paths[0],)
        elif not refused:
            self._missing(dataset, scale, image, leaf)

    def _sampled(self, dataset, scale, image, size, got, refused: set, leaf: Path) -> None:
        n = self.samples
        untagged = [p for k, p in got if k is None]
        for p in untagged:
            self.problems["samples"].append(
                f"{self._rel(p)}: no sample index for {image} (name the files {_expected(image, n)})")
        by_k: dict[int, list[Path]] = defaultdict(list)
        for k, p in got:
            if k is not None:
                by_k[k].append(p)
        have = set(by_k) | {k for k in refused if k is not None}
        if not have and not untagged and not refused:
            self._missing(dataset, scale, image, leaf)
            return
        ok = not untagged
        for k, ps in sorted(by_k.items()):
            if len(ps) > 1:
                self.problems["ambiguous"].append(
                    f"{dataset} x{scale} {image} s{k}: several files ({', '.join(self._rel(p) for p in ps)})")
                ok = False
        lack = [k for k in range(n) if k not in have]
        beyond = sorted(k for k in have if k >= n)
        ok = ok and not lack and not beyond
        if (lack or beyond) and have:  # with nothing indexed, the lines above say why
            said = [f"missing {', '.join(f's{k}' for k in lack)}"] if lack else []
            said += [f"{', '.join(f's{k}' for k in beyond)} beyond the {n} samples of the run"] if beyond else []
            self.problems["samples"].append(
                f"{dataset} x{scale} {image}: {'; '.join(said)} (found {', '.join(f's{k}' for k in sorted(have))})")
        if ok and all(k in by_k for k in range(n)):
            paths = tuple(by_k[k][0] for k in range(n))
            checked = [self._size_ok(p, size, scale) for p in paths]  # every file checked, every problem said
            if all(checked):
                self.files[(dataset, scale, image)] = paths

    def _missing(self, dataset, scale, image, leaf: Path) -> None:
        where = f"{self._rel(leaf)}/" if leaf != self.root else ""
        self.problems["missing"].append(f"{dataset} x{scale} {image}: no file (expected {where}{_expected(image, self.samples)})")

    def _size_ok(self, path: Path, size: tuple[int, int] | None, scale: int) -> bool:
        """Read the header only; record an unreadable file or a wrong size."""
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as im:
                width, height = im.size
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            self.problems["unreadable"].append(f"{self._rel(path)}: {type(exc).__name__}")
            return False
        if size is not None and (height, width) != tuple(size):
            lr = f" (1/{scale} of the expected size: the LR image?)" if (height * scale, width * scale) == tuple(size) else ""
            self.problems["size"].append(f"{self._rel(path)}: expected {size[0]}x{size[1]}, got {height}x{width}{lr}")
            return False
        return True

    # -------------------------------------------------------------- the one error

    def _raise_if_any(self) -> None:
        problems = {g: lines for g, lines in self.problems.items() if lines}
        if not problems:
            return
        total = sum(len(v) for v in problems.values())
        layout = f" (layout {self.layout})" if self.layout else ""
        out = [f"SR outputs in {self.root}{layout}: {total} problem{'s' if total != 1 else ''}"]
        for group, lines in problems.items():
            out.append(f"  {_GROUPS[group].format(last=self.samples - 1)}: {len(lines)}")
            out += [f"    {line}" for line in lines[:MAX_LINES]]
            if len(lines) > MAX_LINES:
                out.append(f"    ... and {len(lines) - MAX_LINES} more")
        if self.ignored:
            out.append(f"  not looked into: {_names_list(self.ignored, MAX_LINES)}")
        raise FolderOutputsError("\n".join(out), problems)
