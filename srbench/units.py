"""The work of a run as units, with the cache key of everything a unit produces (the *plan* step).

A :class:`Group` is one (method, scale, leg): the metrics its images are scored with and the key of each
dataset-level value. A :class:`WorkUnit` is one image of a group. :func:`plan_units` lists every unit in
result order (method, scale, leg, image) and works out, **without decoding any pixel**, the keys of its SR
images and metric values from the declared pixel hashes and from memos the cache keeps of earlier runs
(``memo:lr:`` the LR's content key, ``memo:folder:`` a folder file's SR key, by path, size and mtime).
A dataset file is trusted without decoding only while ``memo:verified:`` records that its pixels matched
its hash at this path, size and mtime; a changed file makes its units run again (and be verified).
A unit whose values are all cached and whose files are verified is done: it is never scheduled. A unit whose keys cannot be known
before its pixels are read (first run, an in-process model without identity) is scheduled whole.

The key functions here are the only place the keys are made: the planner (from memos) and the worker
(:mod:`srbench.unit_worker`, from pixels) call the same ones, so they cannot disagree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from srbench import protocols
from srbench.hashing import json_key
from srbench.imresize import VERSION as IMRESIZE_VERSION

MEMO_LR = "memo:lr:"
MEMO_FOLDER = "memo:folder:"
MEMO_VERIFIED = "memo:verified:"


# -- keys ------------------------------------------------------------------------------------------
def hr_key(ref, given: bool, scale: int) -> str | None:
    """The content key of an image's reference side: the HR's declared pixel hash (an LR-only image: its
    LR's); None when the hash is only known once the pixels are read."""
    if given and ref.path is None:
        lr = ref.lr[scale].sha256
        return None if lr is None else "lr-only:" + lr
    return ref.sha256


def lr_id(hr: str, scale: int, protocol: str, degradation: Any, seed: int | None, given_sha: str | None = None) -> str:
    """What determines an LR image: for ``given``, the dataset's LR file pixels; else HR, scale, how it is
    made (protocol base, degradation identity, the image's seed of a stochastic degradation) and the
    imresize version. Also the key of the LR image cache."""
    if protocol == protocols.GIVEN:
        return json_key({"given_lr": given_sha, "hr": hr, "scale": scale})
    base = protocols.base(protocol)
    if base == "luma":
        return json_key({"hr": hr, "scale": scale, "protocol": "luma", "imresize": IMRESIZE_VERSION})
    return json_key({"hr": hr, "scale": scale, "degradation": degradation, "seed": seed, "imresize": IMRESIZE_VERSION})


def sr_keys(identity: dict, lr_pixels: str, scale: int, protocol: str, seed: int | None, count: int) -> list[str]:
    """Keys of a method's SR images of one LR (``seed``: stochastic methods only; ``count`` samples)."""
    base = {**identity, "lr": lr_pixels, "scale": scale, "protocol": protocols.base(protocol)}
    if seed is not None:
        base["seed"] = seed
    return [json_key({**base, "sample": i}) for i in range(count)]


def pixels_key(sr_pixels: str) -> str:
    """The SR key of an image known only by its pixels (folder files, models without identity)."""
    return json_key({"sr_pixels": sr_pixels})


def image_metric_key(info, sr: str, hr: str, scale: int, protocol: str) -> str:
    return json_key({"metric": info.name, "version": info.version, "sr": sr, "hr": hr, "scale": scale,
                     "protocol": protocols.base(protocol)})


def samples_metric_key(info, srs: list[str], hr: str, scale: int, protocol: str) -> str:
    return json_key({"metric": info.name, "version": info.version, "sr": list(srs), "hr": hr, "scale": scale,
                     "protocol": protocols.base(protocol)})


def verified_memo(path, sha256: str | None) -> str | None:
    """Memo name saying a dataset file at this path, size and mtime had pixels ``sha256`` when read."""
    if path is None or sha256 is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return MEMO_VERIFIED + json_key({"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                     "sha256": sha256})


def dataset_files(ref, given: bool, scale: int) -> list[tuple[Any, str | None]]:
    """(path, declared pixel hash) of the dataset files a unit reads."""
    files = [(ref.path, ref.sha256)] if ref.path is not None else []
    if given:
        files.append((ref.lr[scale].path, ref.lr[scale].sha256))
    return files


def folder_memo(path, hr: str, protocol: str) -> str | None:
    """Memo name of a folder file's SR key: its path, size and mtime (a changed file is a new name)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return MEMO_FOLDER + json_key({"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "hr": hr,
                                   "protocol": protocols.base(protocol)})


# -- the plan --------------------------------------------------------------------------------------
@dataclass
class Group:
    """One (method, scale, leg) of a run."""

    index: int
    method: str  # label
    scale: int
    dataset: str
    protocol: str  # the protocol column (given, rgb, luma, rgb:<degradation>)
    image_metrics: list[Any]
    sample_metrics: list[Any]
    set_metrics: list[Any]
    samples: int  # SR images per LR: cfg.samples for a stochastic method, else 1
    n_images: int = 0
    set_keys: dict[str, str | None] = field(default_factory=dict)  # set metric -> key (None: never stored)

    @property
    def name(self) -> str:
        return f"{self.method}/{self.dataset}/x{self.scale}"


@dataclass
class UnitKeys:
    """Every key of one unit: HR side, SR images, and each metric value."""

    hr: str
    lr_pixels: str | None  # array_key of the LR the method got (None: a folder method)
    sr: list[str]
    image_metrics: dict[str, list[str]]  # metric -> one key per SR image
    sample_metrics: dict[str, str]

    def value_keys(self) -> list[str]:
        return [k for ks in self.image_metrics.values() for k in ks] + list(self.sample_metrics.values())


@dataclass
class WorkUnit:
    index: int  # position in result order
    group: int
    image: str
    keys: UnitKeys | None = None  # None: known only once the pixels are read
    set_partials: tuple[str, ...] = ()  # set metrics whose per-image part this unit must compute
    save_images: bool = False
    todo: frozenset[str] | None = None  # the value keys to compute (None: all of them), set by pending()
    unverified: bool = False  # a dataset file changed (or was never read) since it was last verified

    def done(self, values: dict) -> bool:
        """Whether nothing is left to compute, verify or write."""
        return (self.keys is not None and not self.set_partials and not self.save_images and not self.unverified
                and all(k in values for k in self.keys.value_keys()))


@dataclass
class UnitPlan:
    groups: list[Group]
    units: list[WorkUnit]
    values: dict[str, Any]  # every cached value the units need (key -> value)

    def pending(self) -> list[WorkUnit]:
        """The units with something left to do, each told which of its values are missing."""
        out = []
        for u in self.units:
            if not u.done(self.values):
                u.todo = None if u.keys is None else frozenset(k for k in u.keys.value_keys() if k not in self.values)
                out.append(u)
        return out


def plan_units(groups: list[Group], refs: dict[str, list], methods: dict, values_cache, *, seed: int,
               save_images: bool, deg_identity, degradation_stochastic) -> UnitPlan:
    """Every unit of ``groups`` (``refs``: dataset -> its ImageRefs, in order) with the keys that can be
    known now and the cached values found for them (one batched cache read)."""
    from srbench.conventions import image_seed

    units: list[WorkUnit] = []
    drafts: list[tuple[WorkUnit, dict]] = []
    verify: list[tuple[WorkUnit, list]] = []
    memo_names: set[str] = set()
    for g in groups:
        m = methods[g.method]
        g.n_images = len(refs[g.dataset])
        for ref in refs[g.dataset]:
            u = WorkUnit(len(units), g.index, ref.name, save_images=save_images)
            units.append(u)
            checks = [verified_memo(p, sha) for p, sha in dataset_files(ref, g.protocol == protocols.GIVEN, g.scale)]
            verify.append((u, checks))
            memo_names.update(c for c in checks if c is not None)
            draft = _draft(g, m, ref, seed, deg_identity, degradation_stochastic, image_seed)
            if draft is not None:
                memo_names.update(draft["memos"])
                drafts.append((u, draft))
    memos = values_cache.get_many(sorted(memo_names))
    for u, checks in verify:
        u.unverified = any(c is None or c not in memos for c in checks)
    for u, draft in drafts:
        u.keys = _keys(groups[u.group], methods[groups[u.group].method], draft, memos, seed)
    set_keys = [k for g in groups for k in g.set_keys.values() if k is not None]
    wanted = set_keys + [k for u in units if u.keys is not None for k in u.keys.value_keys()]
    values = values_cache.get_many(sorted(set(wanted)))
    for g in groups:
        missing = tuple(name for name, k in g.set_keys.items() if k is None or k not in values)
        if missing:
            for u in units:
                if u.group == g.index:
                    u.set_partials = missing
    return UnitPlan(groups, units, values)


def _draft(g: Group, m, ref, seed, deg_identity, degradation_stochastic, image_seed) -> dict | None:
    """The memo names a unit's keys depend on (None: its keys need its pixels)."""
    given = g.protocol == protocols.GIVEN
    hk = hr_key(ref, given, g.scale)
    if hk is None or not m.cached:
        return None
    if m.folder is not None:
        files = m.folder_index.files[(g.dataset, g.scale, ref.name)]
        names = [folder_memo(p, hk, g.protocol) for p in files]
        if any(n is None for n in names):
            return None
        return {"hr": hk, "memos": names, "folder": names}
    if given:
        lid = lr_id(hk, g.scale, g.protocol, None, None, ref.lr[g.scale].sha256)
    else:
        deg = deg_identity(g.scale) if protocols.base(g.protocol) == "rgb" else None
        img_seed = image_seed(seed, hk) if deg is not None and degradation_stochastic else None
        lid = lr_id(hk, g.scale, g.protocol, deg, img_seed)
    return {"hr": hk, "memos": [MEMO_LR + lid], "lr": MEMO_LR + lid}


def _keys(g: Group, m, draft: dict, memos: dict, seed: int) -> UnitKeys | None:
    if "folder" in draft:
        srs = [memos.get(n) for n in draft["folder"]]
        if any(s is None for s in srs):
            return None
        return unit_keys(g, draft["hr"], None, srs)
    lr_pixels = memos.get(draft["lr"])
    if lr_pixels is None:
        return None
    count = g.samples
    srs = sr_keys(m.identity(g.scale), lr_pixels, g.scale, g.protocol, seed if m.info.stochastic else None, count)
    return unit_keys(g, draft["hr"], lr_pixels, srs)


def unit_keys(g: Group, hr: str, lr_pixels: str | None, srs: list[str]) -> UnitKeys:
    """All the keys of a unit once its HR key and SR keys are known."""
    return UnitKeys(
        hr=hr, lr_pixels=lr_pixels, sr=list(srs),
        image_metrics={mi.name: [image_metric_key(mi, s, hr, g.scale, g.protocol) for s in srs] for mi in g.image_metrics},
        sample_metrics={mi.name: samples_metric_key(mi, srs, hr, g.scale, g.protocol)
                        for mi in g.sample_metrics if len(srs) > 1},
    )


def execution_order(units: list[WorkUnit], groups: list[Group]) -> list[WorkUnit]:
    """The units in the order they run: per method and dataset, image by image with all its scales together
    (a worker reads each HR once); within a group still image order (set metrics merge in that order)."""
    method_rank: dict[str, int] = {}
    dataset_rank: dict[str, int] = {}
    scale_rank: dict[int, int] = {}
    for g in groups:
        method_rank.setdefault(g.method, len(method_rank))
        dataset_rank.setdefault(g.dataset, len(dataset_rank))
        scale_rank.setdefault(g.scale, len(scale_rank))
    start = {g.index: sum(x.n_images for x in groups[:g.index]) for g in groups}

    def rank(u: WorkUnit):
        g = groups[u.group]
        return (method_rank[g.method], dataset_rank[g.dataset], u.index - start[g.index], scale_rank[g.scale],
                u.index)

    return sorted(units, key=rank)
