"""Lazy registry of degradations (HR -> LR generators), and the built-in ``bicubic`` degradation.

Degradations come from (in this order; a later one with the same name shadows, with a warning):

1. the built-ins of this module (``bicubic``: MATLAB ``imresize(hr, 1/scale)``, :mod:`srbench.imresize`;
   ``gauss-noise``: the same, plus seeded i.i.d. Gaussian noise, :class:`GaussianNoiseDegradation`);
2. the adapter packages shipped in ``srbench_methods`` (each sub-package's ``__init__.py`` may define
   ``DEGRADATIONS``, a list of :class:`srbench.degradation_api.DegradationInfo`);
3. third-party entry points of the group ``srbench.degradations`` (a module or an object with
   ``DEGRADATIONS``).

Only light metadata modules are imported to list them; a failing package is recorded in ``BROKEN`` and
skipped. :func:`load_degradation` resolves weights (the same cache and ``--weights`` overrides as methods,
under ``$SRBENCH_HOME/weights/<degradation name>/``) and calls the loader.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from srbench.degradation_api import INPUT_HR, Degradation, DegradationInfo, OptionSpec
from srbench.errors import SrbenchError, UnknownNameError
from srbench.method_api import parse_method_name
from srbench.registry import scan_adapters

ENTRY_POINT_GROUP = "srbench.degradations"

#: packages whose DEGRADATIONS failed to import: name -> error text
BROKEN: dict[str, str] = {}


class BicubicDegradation(Degradation):
    """``imresize(hr, 1/scale)`` with MATLAB's rules (antialiased bicubic, uint8 rounding per pass)."""

    input = INPUT_HR
    stochastic = False

    def __init__(self, scale: int):
        self.scale = int(scale)
        self.provenance = {"implementation": "srbench.imresize (MATLAB-exact)", "scale": self.scale}

    def __call__(self, img: np.ndarray, seed: int | None = None) -> np.ndarray:
        from srbench.imresize import imresize

        img = np.asarray(img)
        if img.dtype != np.uint8:
            raise TypeError(f"bicubic degradation takes uint8 images, got {img.dtype}")
        return imresize(img, 1.0 / self.scale)


def _load_bicubic(scale: int, device: str = "cpu", weights=None, variant=None, options=None) -> BicubicDegradation:
    from srbench.method_api import check_options

    check_options(_builtin("bicubic"), options)
    return BicubicDegradation(scale)


#: ``gauss-noise`` default: dSRVAE's BSD68 denoising setting, a standard deviation of 15 on [0, 255]
GAUSS_NOISE_SIGMA = 15.0


class GaussianNoiseDegradation(Degradation):
    """MATLAB bicubic ``1/scale``, then i.i.d. Gaussian noise ``N(0, sigma^2)`` on the [0, 255] scale.

    ``lr = quantize(imresize(hr, 1/scale) + Generator(PCG64(seed)).normal(0, sigma, lr.shape))``: the
    bicubic LR is uint8 (MATLAB's per-pass rounding), the noise is drawn in float64 with one local
    generator per call (C order over rows, columns, channels), and the sum is clipped to [0, 255] and
    rounded half away from zero (:func:`srbench.conventions.quantize`). ``seed=None`` means
    :data:`srbench.conventions.DEFAULT_SEED`. ``sigma = 0`` gives the bicubic LR bit for bit.
    """

    input = INPUT_HR
    stochastic = True

    def __init__(self, scale: int, sigma: float = GAUSS_NOISE_SIGMA):
        sigma = float(sigma)
        if not sigma >= 0:  # also refuses NaN
            raise ValueError(f"gauss-noise: sigma must be >= 0, got {sigma}")
        self.scale = int(scale)
        self.sigma = sigma
        self.provenance = {
            "implementation": "srbench.imresize (MATLAB-exact) + numpy.random.Generator(PCG64(seed)).normal",
            "scale": self.scale,
            "sigma": self.sigma,
            "numpy": np.__version__,  # NumPy does not promise the same Generator stream in every release
        }

    def __call__(self, img: np.ndarray, seed: int | None = None) -> np.ndarray:
        from srbench.conventions import DEFAULT_SEED, quantize

        img = np.asarray(img)
        if img.dtype != np.uint8:
            raise TypeError(f"gauss-noise degradation takes uint8 images, got {img.dtype}")
        lr = BicubicDegradation(self.scale)(img)
        rng = np.random.Generator(np.random.PCG64(DEFAULT_SEED if seed is None else int(seed)))
        noise = rng.normal(0.0, self.sigma, size=lr.shape)
        return quantize(lr.astype(np.float64) + noise)


def _load_gauss_noise(scale: int, device: str = "cpu", weights=None, variant=None, options=None) -> GaussianNoiseDegradation:
    from srbench.method_api import check_options

    opts = check_options(_builtin("gauss-noise"), options)
    return GaussianNoiseDegradation(scale, sigma=opts["sigma"])


BUILTIN: list[DegradationInfo] = [
    DegradationInfo(
        name="bicubic",
        title="Bicubic (MATLAB imresize)",
        paper="MATLAB imresize bicubic (Keys 1981, a = -0.5, antialiased)",
        citation="R. Keys, Cubic convolution interpolation for digital image processing, IEEE TASSP 1981.",
        loader="srbench.degradations:_load_bicubic",
        stochastic=False,
        scales=(2, 3, 4, 8),
        input=INPUT_HR,
        learned=False,
        code_license="srbench (MIT)",
        notes=(
            "imresize(hr, 1/scale) with MATLAB's rules (srbench.imresize): the standard LR of the SR "
            "benchmarks. Output size ceil(H/scale) x ceil(W/scale); crop the HR to a multiple of the "
            "scale first (srbench.conventions.modcrop) to keep HR and LR aligned."
        ),
    ),
    DegradationInfo(
        name="gauss-noise",
        title="Bicubic (MATLAB imresize) + additive Gaussian noise",
        paper="Bicubic 1/s + i.i.d. Gaussian noise; default sigma 15 as dSRVAE's BSD68 test (Liu et al., CVPRW 2020)",
        citation=(
            "Z.-S. Liu, W.-C. Siu, L.-W. Wang, C.-T. Li, M.-P. Cani, Y.-L. Chan, Unsupervised Real Image "
            "Super-Resolution via Generative Variational AutoEncoder, CVPR Workshops (NTIRE) 2020."
        ),
        loader="srbench.degradations:_load_gauss_noise",
        stochastic=True,
        scales=(2, 3, 4, 8),
        input=INPUT_HR,
        learned=False,
        code_license="srbench (MIT)",
        notes=(
            "imresize(hr, 1/scale) with MATLAB's rules (uint8), then + noise drawn as "
            "numpy.random.Generator(PCG64(seed)).normal(0, sigma, LR shape) (float64, i.i.d. per pixel and "
            "channel, on the [0, 255] scale; seed = srbench.conventions.image_seed of srbench run --seed and the image's pixels, so each image gets its own noise), then clipped and rounded half away "
            "from zero to uint8 (srbench.conventions.quantize). sigma is the standard deviation. Default 15: "
            "dSRVAE's BSD68 setting. Its Table 1 is headed 'BSD68 (sigma=15)' while its text says 'Gaussian "
            "noise of variance 15'; the baselines it lists (BM3D 31.07, TNRD 31.42, DnCNN 31.73, FFDNet "
            "31.63 dB) are the denoising literature's sigma = 15 results, so 'variance' there means a "
            "standard deviation of 15. dSRVAE adds the noise to full-size BSD68 images (a denoising test); "
            "here it is added to the bicubic LR. The uint8 rounding adds quantisation noise (variance "
            "1/12) and clips the tails at 0 and 255. sigma = 0 is the bicubic degradation bit for bit."
        ),
        options=(
            OptionSpec("sigma", "standard deviation of the Gaussian noise on the [0, 255] scale", "float",
                       GAUSS_NOISE_SIGMA, minimum=0),
        ),
    ),
]


def _builtin(name: str) -> DegradationInfo:
    return next(info for info in BUILTIN if info.name == name)


class _Builtins:
    DEGRADATIONS = BUILTIN


def _collect(source: str, obj: Any, out: dict[str, DegradationInfo]) -> None:
    for info in getattr(obj, "DEGRADATIONS", ()):
        if not isinstance(info, DegradationInfo):
            raise TypeError(f"{source}: DEGRADATIONS must hold DegradationInfo objects, got {type(info).__name__}")
        if info.name in out:
            warnings.warn(f"degradation {info.name!r} from {source} shadows an earlier definition", stacklevel=3)
        out[info.name] = info


@lru_cache(maxsize=1)
def degradations() -> dict[str, DegradationInfo]:
    """All degradation metadata, by name."""
    out: dict[str, DegradationInfo] = {}
    _collect("srbench.degradations", _Builtins, out)
    scan_adapters(lambda source, obj: _collect(source, obj, out), BROKEN, ENTRY_POINT_GROUP)
    return out


def get_degradation(name: str) -> DegradationInfo:
    """The metadata of degradation ``name`` (a ``:variant`` suffix is ignored here)."""
    base, _ = parse_method_name(name)
    known = degradations()
    if base not in known:
        if base in BROKEN:
            raise SrbenchError(f"degradation {base!r} failed to load: {BROKEN[base]}")
        raise UnknownNameError("degradation", base, known)
    return known[base]


def load_degradation(
    spec: str,
    scale: int,
    device: str = "cpu",
    weights: Mapping[str, str | Path] | None = None,
    options: Mapping[str, Any] | None = None,
    allow_download: bool | None = None,
) -> Degradation:
    """Load ``"name"`` or ``"name:variant"`` for ``scale``: resolve its weights, call its loader.

    ``weights`` are overrides as for methods: ``{"cyclesr-g1": "/path/to/g1.srbench.safetensors"}``.
    A learned degradation without weights raises :class:`srbench.errors.WeightsError`.
    """
    from srbench.registry import import_object
    from srbench.weights import resolve

    name, variant = parse_method_name(spec)
    info = get_degradation(name)
    if variant is None:
        variant = info.default_variant
    elif variant not in info.variants:
        raise UnknownNameError(f"variant of degradation {name}", variant, info.variants)
    if scale not in info.scales:
        raise SrbenchError(
            f"degradation {name!r} supports x{', x'.join(map(str, info.scales))}, not x{scale}"
        )
    resolved = resolve(info, variant, scale=scale, overrides=weights, allow_download=allow_download) if info.learned else {}
    fn = import_object(info.loader)
    deg = fn(scale=scale, device=device, weights=resolved, variant=variant, options=dict(options or {}))
    if not isinstance(deg, Degradation):
        raise TypeError(f"{info.loader} returned {type(deg).__name__}, not a Degradation")
    return deg
