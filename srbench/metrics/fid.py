"""Fréchet Inception Distance between the SR set and the HR set (pytorch-fid protocol), lower is better.

Protocol (mseitzer/pytorch-fid 0.3, the reference implementation of TTUR's FID in PyTorch):

* features: ``pytorch_fid.inception.InceptionV3([3])`` - the TensorFlow 2015-12-05 FID Inception
  (``pt_inception-2015-12-05-6726825d.pth``, read from ``$TORCH_HOME/hub/checkpoints/`` with
  ``torch.load(weights_only=True)`` through :mod:`srbench.safe_load`: a damaged or replaced file is a
  WeightsError naming it), 2048-d pool3 features; input RGB uint8 / 255 as float32
  (``ToTensor``), resized inside the model to 299x299 (bilinear, ``align_corners=False``, no
  antialiasing) and scaled to [-1, 1]. Grey images are replicated to three channels (pytorch-fid opens
  files with ``.convert('RGB')``).
* statistics: mean and *unbiased* covariance (``np.cov(rowvar=False)``) of each set;
* distance: ``pytorch_fid.fid_score.calculate_frechet_distance`` itself, eps = 1e-6.

Two modes:

* ``fid`` - one sample per image (the whole SR / HR image);
* ``fid_patch`` - each SR/HR pair is cut into the same non-overlapping ``patch`` x ``patch`` crops
  (grid anchored at the top-left corner, ``floor(H/p) x floor(W/p)`` crops, the remainder on the right
  and bottom dropped; an image smaller than the patch gives none); every crop is one sample. Default
  ``patch=64`` (any size is accepted through the factory, e.g. ``fid(patch=32)``).

The statistics are accumulated incrementally in float64 - per set only the sample count, the mean and
the sum of outer products of the centred features (batches merged with Chan et al.'s pairwise update,
numerically safer than raw sums of ``x x^T``), i.e. 2048 + 2048x2048 numbers per set, whatever the
number of images or patches.

Few samples. With ``n <= 2048`` samples a covariance has rank ``<= n - 1`` and is singular (every
benchmark set in whole-image mode; Set5/Set14 even in patch mode). The value is then still what
pytorch-fid reports: ``calculate_frechet_distance`` takes ``scipy.linalg.sqrtm`` of the product and, only
when that is not finite, adds ``eps * I`` (1e-6) to both covariances. It is a biased, set-size dependent
number (FID falls as n grows), so only compare FIDs computed with the same ``n``: ``provenance()``
records the mode, patch size, sample count, whether the covariances are rank deficient and whether the
eps offset was applied.

On CPU the Inception costs about a second per sample (each 64-px patch is upsampled to 299 px), so
patch FID of a large dataset wants a GPU (``device="cuda"``).
"""

from __future__ import annotations

import contextlib
import io
import threading
from typing import Any

import numpy as np

from srbench.metrics.base import MetricContext, MetricInfo, MetricWeight

FID_WEIGHT = MetricWeight(
    file="pt_inception-2015-12-05-6726825d.pth",
    cache="$TORCH_HOME/hub/checkpoints/",
    url="https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
    used_by="pytorch-fid InceptionV3 (TensorFlow 2015-12-05 FID Inception), pool3 features",
)

#: pytorch-fid's InceptionV3.BLOCK_INDEX_BY_DIM (2048 = pool3, the FID protocol; the others for tests)
BLOCK_INDEX_BY_DIM = {64: 0, 192: 1, 768: 2, 2048: 3}
FID_EPS = 1e-6

_lock = threading.Lock()
_models: dict[tuple[str, int, str], Any] = {}


def _require():
    try:
        import pytorch_fid  # noqa: F401
        import scipy.linalg  # noqa: F401
        import torch  # noqa: F401
        from pytorch_fid import inception as _inc  # noqa: F401
    except ImportError as exc:
        from srbench.errors import MissingDependencyError

        raise MissingDependencyError(
            f"metrics fid and fid_patch need torch, torchvision and pytorch-fid ({exc}); "
            "install them with: pip install 'srbench[torch]'"
        ) from exc


def get_inception(device: str = "cpu", dims: int = 2048, metric: str = "fid"):
    """pytorch-fid's ``InceptionV3`` (eval, no grad) on ``device``, weights from the torch hub cache."""
    _require()
    from pytorch_fid import inception as inc

    from srbench.metrics.weights_cache import damaged_weights_error, load_torch, resolve
    from srbench.torch_utils import pick_device

    if dims not in BLOCK_INDEX_BY_DIM:
        raise ValueError(f"dims must be one of {sorted(BLOCK_INDEX_BY_DIM)}, got {dims}")
    dev = pick_device(device)
    path = resolve(FID_WEIGHT, metric)
    key = (str(dev), dims, str(path.resolve()))
    with _lock:
        model = _models.get(key)
        if model is None:
            # pytorch-fid fetches its weights with load_state_dict_from_url(FID_WEIGHTS_URL) (download if
            # absent, full unpickling). Hand it exactly the file resolved above, read with weights_only.
            original = inc.load_state_dict_from_url

            def _load(url, *args, **kwargs):
                state = load_torch(FID_WEIGHT, metric, path)
                if not isinstance(state, dict):
                    raise damaged_weights_error(FID_WEIGHT, metric, path,
                                                f"it holds a {type(state).__name__}, not a state dict")
                return state

            inc.load_state_dict_from_url = _load
            try:
                model = inc.InceptionV3([BLOCK_INDEX_BY_DIM[dims]], resize_input=True, normalize_input=True,
                                        requires_grad=False, use_fid_inception=True)
            except (RuntimeError, KeyError, TypeError, AttributeError) as exc:  # wrong keys / shapes / values
                lines = str(exc).strip().splitlines()
                detail = lines[0][:300] if lines else type(exc).__name__
                raise damaged_weights_error(FID_WEIGHT, metric, path,
                                            f"not the pytorch-fid Inception state dict: {detail}") from exc
            finally:
                inc.load_state_dict_from_url = original
            model = model.eval().to(dev)
            _models[key] = model
    return model, path


class GaussianStats:
    """Streaming mean and covariance of d-dimensional samples in float64 (O(d^2) memory)."""

    def __init__(self, dim: int):
        self.dim = int(dim)
        self.n = 0
        self.mean = np.zeros(self.dim, dtype=np.float64)
        self.m2 = np.zeros((self.dim, self.dim), dtype=np.float64)  # sum of centred outer products

    def add(self, feats: np.ndarray) -> None:
        x = np.asarray(feats, dtype=np.float64)
        if x.ndim == 1:
            x = x[None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected (n, {self.dim}) features, got {x.shape}")
        nb = x.shape[0]
        if nb == 0:
            return
        mb = x.mean(axis=0)
        xc = x - mb
        m2b = xc.T @ xc
        n = self.n + nb
        delta = mb - self.mean
        self.mean = self.mean + delta * (nb / n)
        self.m2 += m2b + np.outer(delta, delta) * (self.n * nb / n)
        self.n = n

    def cov(self) -> np.ndarray:
        """Unbiased covariance (``np.cov(x, rowvar=False)``)."""
        if self.n < 2:
            raise ValueError(f"a covariance needs at least 2 samples, got {self.n}")
        return self.m2 / (self.n - 1)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = FID_EPS) -> tuple[float, bool]:
    """``pytorch_fid.fid_score.calculate_frechet_distance`` and whether it added the eps offset."""
    from pytorch_fid.fid_score import calculate_frechet_distance

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):  # it prints a notice when it adds eps to the diagonals
        value = calculate_frechet_distance(mu1, sigma1, mu2, sigma2, eps=eps)
    return float(value), "adding" in buf.getvalue()


def patch_grid(height: int, width: int, patch: int) -> list[tuple[int, int]]:
    """Top-left corners of the non-overlapping ``patch`` x ``patch`` crops (row-major, from (0, 0))."""
    if patch <= 0:
        raise ValueError(f"patch must be positive, got {patch}")
    return [(y, x) for y in range(0, height - patch + 1, patch) for x in range(0, width - patch + 1, patch)]


def crop_patches(img: np.ndarray, patch: int) -> np.ndarray:
    """(k, patch, patch[, 3]) array of the crops of :func:`patch_grid`."""
    img = np.asarray(img)
    corners = patch_grid(img.shape[0], img.shape[1], patch)
    if not corners:
        return np.empty((0, patch, patch) + img.shape[2:], dtype=img.dtype)
    return np.stack([img[y:y + patch, x:x + patch] for y, x in corners])


def _rgb(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"FID expects uint8 HxWx3 or HxW images, got {img.dtype} {img.shape}")
    return img


class FidAccumulator:
    """Dataset metric: ``update(sr, hr, ctx)`` per image, ``result()`` at the end, ``provenance()``."""

    def __init__(self, device: str = "cpu", patch: int | None = None, dims: int = 2048, batch_size: int = 50,
                 metric: str | None = None, reference=None):
        if patch is not None:
            patch = int(patch)
            if patch < 1:
                raise ValueError(f"patch must be a positive integer, got {patch}")
        self.patch = patch
        self.dims = int(dims)
        self.batch_size = max(1, int(batch_size))
        if reference is not None and patch:
            raise ValueError("a reference set is compared with whole images only (no patch mode)")
        self.reference = reference  # srbench.reference_set.ReferenceSet: compare with it instead of the HR
        self.metric = metric or ("fid_ref" if reference is not None else ("fid_patch" if patch else "fid"))
        self.device = device
        from srbench.metrics.weights_cache import resolve

        self.weight_path = resolve(FID_WEIGHT, self.metric)  # fails now when the weights are missing
        self._model = None  # loaded on the first features(): a driver that only merges never loads it
        self.sr = GaussianStats(self.dims)
        self.hr = GaussianStats(self.dims)
        self.images = 0
        self.images_without_patches = 0
        self._eps_applied: bool | None = None
        self._value: float | None = None

    @property
    def model(self):
        if self._model is None:
            self._model, self.weight_path = get_inception(self.device, self.dims, self.metric)
        return self._model

    # -- features ---------------------------------------------------------------------------------
    def features(self, batch: np.ndarray) -> np.ndarray:
        """(n, H, W, 3) uint8 -> (n, dims) float64 pool features, as pytorch-fid's get_activations."""
        import torch
        from torch.nn.functional import adaptive_avg_pool2d

        dev = next(self.model.parameters()).device
        out = []
        for i in range(0, len(batch), self.batch_size):
            chunk = np.ascontiguousarray(batch[i:i + self.batch_size].transpose(0, 3, 1, 2))
            x = torch.from_numpy(chunk).to(dev).float().div(255.0)  # ToTensor: uint8 / 255 in float32
            with torch.no_grad():
                pred = self.model(x)[0]
            if pred.size(2) != 1 or pred.size(3) != 1:
                pred = adaptive_avg_pool2d(pred, output_size=(1, 1))
            out.append(pred.squeeze(3).squeeze(2).to("cpu", torch.float64).numpy())
        return np.concatenate(out) if out else np.empty((0, self.dims))

    def update(self, sr: np.ndarray, hr: np.ndarray | None, ctx: MetricContext | None = None) -> None:
        self.merge(self.partial(sr, hr, ctx))

    def partial(self, sr: np.ndarray, hr: np.ndarray | None, ctx: MetricContext | None = None) -> dict[str, Any]:
        """The per-image part (computed wherever the image is; picklable): the SR and HR features of one
        pair. The HR side is cached on disk by content (HR pixels, mode, Inception file), so every method
        scored on a dataset shares one pass over its HR images."""
        if self.reference is not None:  # the HR (if any) is not used: the reference set takes its place
            return {"sr": self.features(_rgb(sr)[None]), "hr": None, "no_patches": False}
        sr, hr = _rgb(sr), _rgb(hr)
        if sr.shape != hr.shape:
            raise ValueError(f"FID: SR {sr.shape} and HR {hr.shape} differ in shape")
        if self.patch:
            sp = crop_patches(sr, self.patch)
        else:
            sp = sr[None]
        if not len(sp):
            return {"sr": None, "hr": None, "no_patches": True}
        return {"sr": self.features(sp), "hr": self._hr_features(hr), "no_patches": False}

    def merge(self, part: dict[str, Any]) -> None:
        """Add one image's :meth:`partial` (call in image order: the float sums depend on it)."""
        self.images += 1
        self._value = None
        if part["no_patches"]:
            self.images_without_patches += 1
            return
        self.sr.add(part["sr"])
        if part["hr"] is not None:
            self.hr.add(part["hr"])

    def _hr_features(self, hr: np.ndarray) -> np.ndarray:
        from srbench import paths
        from srbench.fsutil import atomic_write_with
        from srbench.hashing import array_key, json_key
        from srbench.metrics.weights_cache import sha256_of

        key = json_key({"hr": array_key(hr), "patch": self.patch, "dims": self.dims, "batch": self.batch_size,
                        "weights": sha256_of(self.weight_path), "version": 1})
        path = paths.home() / "cache" / "features" / key[:2] / f"{key}.npy"
        if path.is_file():
            try:
                return np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                path.unlink(missing_ok=True)  # damaged: recomputed
        feats = self.features(crop_patches(hr, self.patch) if self.patch else hr[None])

        def write(tmp):
            with open(tmp, "wb") as f:
                np.save(f, feats, allow_pickle=False)

        atomic_write_with(path, write, suffix=".npy")
        return feats

    def update_features(self, sr_feats: np.ndarray, hr_feats: np.ndarray) -> None:
        """Add precomputed features (rows = samples) of the SR and the HR set."""
        self.sr.add(sr_feats)
        self.hr.add(hr_feats)
        self._value = None

    # -- result -----------------------------------------------------------------------------------
    def _reference_stats(self) -> None:
        """Features of the reference set into ``self.hr``: cached on disk per (set pixels, Inception file, dims)."""
        if self.hr.n:
            return
        from srbench import paths
        from srbench.fsutil import atomic_write_with
        from srbench.hashing import json_key
        from srbench.metrics.weights_cache import sha256_of

        key = json_key({"reference": self.reference.identity, "weights": sha256_of(self.weight_path), "dims": self.dims,
                        "version": 1})
        cached = paths.home() / "cache" / "fid_ref" / f"{key}.npz"
        if cached.is_file():
            with np.load(cached) as z:
                self.hr.n, self.hr.mean, self.hr.m2 = int(z["n"]), z["mean"], z["m2"]
            return
        for img in self.reference.images():
            self.hr.add(self.features(_rgb(img)[None]))

        def write(tmp):
            with open(tmp, "wb") as f:
                np.savez(f, n=self.hr.n, mean=self.hr.mean, m2=self.hr.m2)

        atomic_write_with(cached, write, suffix=".npz")

    def result(self) -> float:
        if self.reference is not None:
            self._reference_stats()
        if self._value is None:
            if self.sr.n < 2 or self.hr.n < 2:
                from srbench.errors import SrbenchError

                raise SrbenchError(f"{self.metric}: FID needs at least 2 samples per set, got {self.sr.n} "
                                   f"(SR) and {self.hr.n} (HR)" + (f" {self.patch}-px patches" if self.patch else ""))
            try:
                self._value, self._eps_applied = frechet_distance(self.sr.mean, self.sr.cov(),
                                                                  self.hr.mean, self.hr.cov())
            except ValueError as exc:  # pytorch-fid: "Imaginary component ..." of sqrtm
                from srbench.errors import SrbenchError

                raise SrbenchError(f"{self.metric}: pytorch-fid could not take the matrix square root with "
                                   f"{self.sr.n} samples ({exc}); use more images or the patch mode") from exc
        return self._value

    def provenance(self) -> dict[str, Any]:
        from srbench.metrics.weights_cache import file_record, package_versions
        from srbench.torch_utils import pick_device

        n = self.sr.n
        return {
            "protocol": f"pytorch-fid: TF-2015 FID Inception, block dims={self.dims} (2048 = pool3), bilinear "
                        f"resize to 299, unbiased covariance, calculate_frechet_distance eps={FID_EPS:g}",
            "mode": "patch" if self.patch else "whole-image",
            "reference_set": None if self.reference is None else self.reference.manifest(),
            "patch": self.patch,
            "patch_grid": "non-overlapping, top-left anchored, remainder dropped" if self.patch else None,
            "dims": self.dims,
            "images": self.images,
            "images_without_patches": self.images_without_patches if self.patch else None,
            "n_samples": n,
            "n_samples_hr": self.hr.n,
            "rank_deficient": n <= self.dims or self.hr.n <= self.dims,
            "eps_offset_applied": self._eps_applied,
            "weights": {self.weight_path.name: file_record(self.weight_path, "torch hub cache")},
            "packages": package_versions("pytorch-fid", "torch", "torchvision", "scipy", "numpy"),
            "device": str(pick_device(self.device)),
        }


def fid(device: str = "cpu", patch: int | None = None, dims: int = 2048, batch_size: int = 50) -> FidAccumulator:
    """Factory of the ``fid`` / ``fid_patch`` accumulators (``patch=None``: whole images)."""
    return FidAccumulator(device=device, patch=patch, dims=dims, batch_size=batch_size)


def fid_ref(device: str = "cpu", reference=None, dims: int = 2048, batch_size: int = 50) -> FidAccumulator:
    """Factory of ``fid_ref``: the SR set against ``reference`` (a :class:`srbench.reference_set.ReferenceSet`)."""
    if reference is None:
        from srbench.errors import SrbenchError

        raise SrbenchError("fid_ref needs a reference image set (srbench run --fid-ref DATASET|FOLDER)")
    return FidAccumulator(device=device, dims=dims, batch_size=batch_size, reference=reference)


_CONV = ("pytorch-fid protocol: RGB uint8/255, grey replicated; InceptionV3 (TF 2015-12-05 FID weights) pool3 "
         "2048-d, bilinear resize to 299; SR set vs HR set (HR modcropped); float64 streaming mean and "
         "unbiased covariance; pytorch_fid.calculate_frechet_distance (eps 1e-6 added only if sqrtm is not "
         "finite); fewer than 2049 samples give singular covariances - compare only equal sample counts")

METRICS = [
    MetricInfo(
        name="fid",
        description="FID between the SR and HR sets, one sample per image (pytorch-fid)",
        higher_is_better=False,
        full_reference=True,
        kind="dataset",
        version="1",
        factory="srbench.metrics.fid:fid",
        convention=_CONV + "; whole images",
        extra="torch",
        requires=("torch", "torchvision", "pytorch_fid", "scipy"),
        weights=(FID_WEIGHT,),
        reference="pytorch_fid.fid_score.calculate_frechet_distance on the same features; closed form for Gaussians",
    ),
    MetricInfo(
        name="fid_patch",
        description="FID between the SR and HR sets on non-overlapping 64x64 crops (pytorch-fid)",
        higher_is_better=False,
        full_reference=True,
        kind="dataset",
        version="1",
        factory="srbench.metrics.fid:fid",
        convention=_CONV + "; non-overlapping 64x64 crops anchored top-left (remainder dropped), same crops "
                           "of SR and HR, each crop one sample",
        extra="torch",
        requires=("torch", "torchvision", "pytorch_fid", "scipy"),
        weights=(FID_WEIGHT,),
        reference="pytorch_fid.fid_score.calculate_frechet_distance on the same features; set vs itself = 0",
        options={"patch": 64},
    ),
    MetricInfo(
        name="fid_ref",
        description="FID between the SR set and a reference image set named with --fid-ref (pytorch-fid)",
        higher_is_better=False,
        full_reference=False,
        kind="dataset",
        version="1",
        factory="srbench.metrics.fid:fid_ref",
        convention=_CONV.replace("SR set vs HR set (HR modcropped)", "SR set vs the --fid-ref set (a dataset's "
                                 "HR, an LR-only set's LR, or a folder; whole images, any sizes)")
                   + "; no pairing with HR: runs on LR-only datasets; reference statistics cached per set pixels",
        extra="torch",
        requires=("torch", "torchvision", "pytorch_fid", "scipy"),
        weights=(FID_WEIGHT,),
        reference="equals fid when the reference set is the HR set itself (test); pytorch-fid "
                  "calculate_frechet_distance on the same features",
        reference_set=True,
    ),
]
