"""No-reference perceptual metrics of the PIRM 2018 challenge: NIQE, Ma et al. (NRQM) and PI.

Computed by ``pyiqa`` (optional extra ``srbench[pi]``: ``pip install 'srbench[pi]'``), whose NIQE and
NRQM are ports of the MATLAB code, on the input that the official PIRM evaluation gives them.
roimehrez/PIRM2018 ``evaluate_results.m`` + ``utils/calc_scores.m`` do, per SR image::

    im   = convert_shave_image(imread(png), shave_width=4)   % rgb2ycbcr -> Y (uint8), shave 4 px
    Ma   = quality_predict(im)                               % Ma et al. (sr-metric)
    NIQE = computequality(im, 96, 96, 0, 0, mu_prisparam, cov_prisparam)   % LIVE NIQE, modelparameters.mat
    perceptual_score = (mean([scores.NIQE]) + (10 - mean([scores.Ma]))) / 2

So here, for every image: Y = MATLAB ``rgb2ycbcr`` luminance of the uint8 SR image rounded to uint8
(:func:`srbench.conventions.to_luma_uint8`; a single-channel image is used as it is), 4 pixels shaved
from each border whatever the scale (``shave_width = 4``), then

* ``niqe`` = LIVE NIQE of that plane (96x96 blocks, the LIVE pristine model ``niqe_modelparameters.mat``
  = ``modelparameters.mat`` of niqe_release), lower is better;
* ``nrqm`` = Ma et al.'s score of that plane (``NRQM_model.mat``), higher is better;
* ``pi`` = ((10 - Ma) + NIQE) / 2 per image, lower is better.

Dataset values are the means of the per-image values (the runner averages). For PI that is exactly the
official number: the official formula applies the same affine map to the means, and the mean of
per-image PI equals PI of the means.

The metrics are no-reference: ``hr`` is ignored. The Y plane goes to pyiqa as a one-channel tensor
(``NIQE``: values / 255, which pyiqa multiplies back and rounds; ``NRQM``: values in [0, 255], what its
feature code expects), so pyiqa's own colour conversion (float32 ``rgb2ycbcr``, or YIQ by default)
is never used - only MATLAB's rounded Y. Weight files are given to pyiqa by path; nothing is downloaded
implicitly (see :mod:`srbench.metrics.weights_cache`).

Calibration (``tests/metrics/test_niqe_pi.py``). NIQE against the MATLAB LIVE NIQE values of pyiqa's
calibration images (``computequality`` on ``rgb2gray`` of the TID2013 images I03/I04/I06/I08/I19:
15.7536, 3.6549, 3.2355, 3.1840, 8.6352): this code on the same rgb2gray planes gives 15.7436,
3.6549, 3.2341, 3.1948, 9.0721 - within 0.011 (0.34 %) on four images. On I19 it is 0.44 (5 %) above; an
independent float64 NumPy transcription of ``computequality.m`` gives 9.07-9.09 too, and pyiqa's own test
allows 6 % for NIQE, so that deviation lies in the MATLAB run, not in this convention. NIQE is a
discontinuous function of its input (the AGGD shape parameter is picked from a 0.001 grid), so
implementations differ at the 1e-2 level on ordinary images. ``nrqm``/``pi`` are checked against the
official PI values when the real ``NRQM_model.mat`` is present (it is not in the offline mirror).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from srbench.conventions import shave, to_luma_uint8
from srbench.metrics.base import MetricContext, MetricInfo, MetricWeight

PIRM_SHAVE = 4
NIQE_BLOCK = 96

NIQE_WEIGHT = MetricWeight(
    file="niqe_modelparameters.mat",
    cache="$TORCH_HOME/hub/pyiqa/",
    url="https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/niqe_modelparameters.mat",
    used_by="pyiqa NIQE: the LIVE NIQE pristine model (modelparameters.mat of LIVE niqe_release.zip)",
)
NRQM_WEIGHT = MetricWeight(
    file="NRQM_model.mat",
    cache="$TORCH_HOME/hub/pyiqa/",
    url="https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/NRQM_model.mat",
    used_by="pyiqa NRQM: Ma et al. 2017 regression model (from chaoma99/sr-metric, converted by pyiqa)",
)

CONVENTION = (
    "PIRM2018 (evaluate_results.m, calc_scores.m): Y = MATLAB rgb2ycbcr of the uint8 SR image, rounded to "
    "uint8 (single-channel images as they are); shave 4 px per border (shave_width=4, any scale); "
    "no-reference (HR unused); dataset value = mean of per-image values"
)

_NEEDS = "metrics niqe, nrqm and pi"


def _require():
    try:
        import torch
        from pyiqa.archs.niqe_arch import NIQE
        from pyiqa.archs.nrqm_arch import NRQM
    except ImportError as exc:
        from srbench.errors import MissingDependencyError

        raise MissingDependencyError(
            f"{_NEEDS} need the Python package pyiqa (and torch): {exc}. "
            "Install them with: pip install 'srbench[pi]'"
        ) from exc
    return torch, NIQE, NRQM


_lock = threading.Lock()
_models: dict[tuple[str, str, str], Any] = {}
_memo: OrderedDict[tuple[str, str, str, str], float] = OrderedDict()
_MEMO_SIZE = 16


def _device(device: str):
    from srbench.torch_utils import pick_device

    return pick_device(device)


def _model(kind: str, device: str, metric: str):
    """pyiqa's NIQE / NRQM module with the parameter file from the standard cache (cached per file)."""
    _, NIQE, NRQM = _require()
    from srbench.metrics.weights_cache import resolve

    weight = NIQE_WEIGHT if kind == "niqe" else NRQM_WEIGHT
    path = resolve(weight, metric)
    dev = _device(device)
    key = (kind, str(dev), str(path.resolve()))
    with _lock:
        m = _models.get(key)
        if m is None:
            try:
                if kind == "niqe":
                    m = NIQE(test_y_channel=True, crop_border=0, version="original", pretrained_model_path=str(path))
                else:
                    m = NRQM(test_y_channel=True, crop_border=0, pretrained_model_path=str(path))
            except Exception as exc:  # scipy.io.loadmat / pyiqa on a damaged or foreign file
                from srbench.metrics.weights_cache import damaged_weights_error

                raise damaged_weights_error(weight, metric, path, _mat_problem(path, exc)) from exc
            m = m.eval().to(dev)
            _models[key] = m
    return m, path


def _mat_problem(path, exc: Exception) -> str:
    """Why a parameter file could not be read, for the error message."""
    from srbench.safe_load import sniff

    try:
        kind = sniff(path)
    except OSError as err:
        return f"cannot be read: {err.strerror or err}"
    if kind == "empty":
        return "an empty file, 0 bytes"
    if kind not in ("matlab", "hdf5"):  # MAT v5 files start with "MATLAB", v7.3 files are HDF5
        what = {"html": "an HTML page", "pickle": "a Python pickle", "zip": "a zip archive",
                "torch-legacy": "a PyTorch checkpoint"}.get(kind, "unknown bytes")
        return f"not a MATLAB .mat file: {what}"
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:200] if lines else ''}".rstrip(": ")


def _plane(y) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 2 or y.dtype != np.uint8:
        raise ValueError(f"expected an HxW uint8 luminance plane, got {y.dtype} {y.shape}")
    return y


def _memo_get(kind, y, device, path):
    key = (kind, hashlib.sha256(f"{y.shape}".encode() + y.tobytes()).hexdigest(), str(device), str(path))
    with _lock:
        if key in _memo:
            _memo.move_to_end(key)
            return key, _memo[key]
    return key, None


def _memo_put(key, value):
    with _lock:
        _memo[key] = value
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)


def pirm_plane(img: np.ndarray) -> np.ndarray:
    """The plane the PIRM scores are computed on: rounded MATLAB Y of the uint8 image, 4 px shaved."""
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise ValueError(f"PIRM metrics expect a uint8 image, got {img.dtype}")
    return np.ascontiguousarray(shave(to_luma_uint8(img), PIRM_SHAVE))


def niqe_score(y: np.ndarray, device: str = "cpu") -> float:
    """LIVE NIQE (pyiqa, ``version='original'``) of an HxW uint8 plane - no conversion, no crop."""
    import torch

    y = _plane(y)
    h, w = y.shape
    if h < NIQE_BLOCK or w < NIQE_BLOCK:
        from srbench.errors import ImageError

        raise ImageError(f"NIQE needs a plane of at least {NIQE_BLOCK}x{NIQE_BLOCK} pixels (one block), got "
                         f"{w}x{h} (after the {PIRM_SHAVE}-px PIRM shave for the niqe/pi metrics)")
    model, path = _model("niqe", device, "niqe")
    key, hit = _memo_get("niqe", y, device, path)
    if hit is not None:
        return hit
    x = torch.from_numpy(y.astype(np.float64) / 255.0)[None, None].to(_device(device))
    with torch.no_grad():
        val = float(model(x).reshape(-1)[0].item())
    _memo_put(key, val)
    return val


def nrqm_score(y: np.ndarray, device: str = "cpu") -> float:
    """Ma et al. score (pyiqa NRQM) of an HxW uint8 plane - no conversion, no crop."""
    import torch

    y = _plane(y)
    model, path = _model("nrqm", device, "nrqm")
    key, hit = _memo_get("nrqm", y, device, path)
    if hit is not None:
        return hit
    x = torch.from_numpy(y.astype(np.float64))[None, None].to(_device(device))
    with torch.no_grad():
        val = float(model(x).reshape(-1)[0].item())
    _memo_put(key, val)
    return val


def pi_from(niqe_value: float, ma_value: float) -> float:
    """PIRM perceptual index of one image: ((10 - Ma) + NIQE) / 2."""
    return ((10.0 - ma_value) + niqe_value) / 2.0


class PirmMetric:
    """``f(sr, hr, ctx) -> float`` for niqe / nrqm / pi, with ``provenance()``."""

    def __init__(self, which: str, device: str = "cpu"):
        if which not in ("niqe", "nrqm", "pi"):
            raise ValueError(which)
        self.which = which
        self.device = device
        # load now so that a missing package or parameter file fails before any SR image is computed
        self._paths = {}
        if which in ("niqe", "pi"):
            self._paths["niqe"] = _model("niqe", device, which)[1]
        if which in ("nrqm", "pi"):
            self._paths["nrqm"] = _model("nrqm", device, which)[1]

    def __call__(self, sr, hr=None, ctx: MetricContext | None = None) -> float:
        y = pirm_plane(sr)
        if self.which == "niqe":
            return niqe_score(y, self.device)
        if self.which == "nrqm":
            return nrqm_score(y, self.device)
        return pi_from(niqe_score(y, self.device), nrqm_score(y, self.device))

    def provenance(self) -> dict[str, Any]:
        from srbench.metrics.weights_cache import file_record, package_versions

        out = {
            "metric": self.which,
            "weights": {p.name: file_record(p, "pyiqa cache ($TORCH_HOME/hub/pyiqa)") for p in self._paths.values()},
            "packages": package_versions("pyiqa", "torch", "scipy", "numpy"),
            "convention": CONVENTION,
            "shave": PIRM_SHAVE,
            "device": str(_device(self.device)),
        }
        if "niqe" in self._paths:
            out["niqe"] = "pyiqa NIQE(version='original'): LIVE pristine model, 96x96 blocks, 2 scales"
        if "nrqm" in self._paths:
            out["nrqm"] = "pyiqa NRQM (Ma et al.), random forests on CPU"
        if self.which == "pi":
            out["pi"] = "((10 - Ma) + NIQE) / 2 per image"
        return out


def niqe(device: str = "cpu") -> PirmMetric:
    return PirmMetric("niqe", device)


def nrqm(device: str = "cpu") -> PirmMetric:
    return PirmMetric("nrqm", device)


def pi(device: str = "cpu") -> PirmMetric:
    return PirmMetric("pi", device)


_REQ = ("torch", "scipy", "pyiqa")

METRICS = [
    MetricInfo(
        name="niqe",
        description="NIQE (LIVE model), no-reference naturalness, PIRM convention",
        higher_is_better=False,
        full_reference=False,
        kind="image",
        version="1",
        factory="srbench.metrics.no_reference:niqe",
        convention=CONVENTION,
        extra="pi",
        requires=_REQ,
        weights=(NIQE_WEIGHT,),
        reference="MATLAB LIVE NIQE (computequality) on pyiqa's calibration images: within 0.011 on 4 of 5 "
                  "(I19: +5 %, unexplained in the MATLAB run as in pyiqa)",
    ),
    MetricInfo(
        name="nrqm",
        description="Ma et al. (NRQM) no-reference SR quality score, PIRM convention",
        higher_is_better=True,
        full_reference=False,
        kind="image",
        version="1",
        factory="srbench.metrics.no_reference:nrqm",
        convention=CONVENTION,
        extra="pi",
        requires=_REQ,
        weights=(NRQM_WEIGHT,),
        reference="pyiqa NRQM (port of chaoma99/sr-metric); official PI values checked when NRQM_model.mat "
                  "is present",
    ),
    MetricInfo(
        name="pi",
        description="PIRM perceptual index ((10 - Ma) + NIQE) / 2",
        higher_is_better=False,
        full_reference=False,
        kind="image",
        version="1",
        factory="srbench.metrics.no_reference:pi",
        convention=CONVENTION + "; PI = ((10 - Ma) + NIQE) / 2 per image (mean of PI = PI of the means)",
        extra="pi",
        requires=_REQ,
        weights=(NIQE_WEIGHT, NRQM_WEIGHT),
        reference="official PI of pyiqa's calibration images (PIRM2018 MATLAB code) when NRQM_model.mat is "
                  "present",
    ),
]
