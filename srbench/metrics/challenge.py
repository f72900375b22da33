"""PSNR / SSIM as three SR challenges scored them, for their tracks' datasets (x4, RGB).

Every metric here takes the uint8 SR and the (modcropped) HR of one image, HxWx3 or HxW; a single-channel
image is scored as one channel, which gives the same value as the scorer on it replicated to RGB.

NTIRE 2017 (``psnr_rgb_ntire17``, ``ssim_rgb_ntire17``)
    The challenge's scoring functions ``NTIRE_PeakSNR_imgs.m`` / ``NTIRE_SSIM_imgs.m`` ("NTIRE 2017 image
    super-resolution challenge scoring function"; the bundle is linked as the CodaLab 16306 evaluation code
    in XPixelGroup/BasicSR@b2eb612cbc2b6d34f2af1af812a3444ee625f675:basicsr/metrics/README_CN.md; read here
    in third-party copies, code index ids 14538836085 and 6897690725):

    1. ``6 + scale`` px removed from each border (``F(b+1:end-b, b+1:end-b, :)``); the functions do not
       modcrop - srbench hands them the modcropped HR and an SR of the same size;
    2. PSNR: ``im2double`` (x / 255), ``E = F - G``, ``10 log10(numel(E) / sum(E(:).^2))``: all pixels and
       all three channels pooled, peak 1;
    3. SSIM: Wang et al.'s ``ssim_index`` with its defaults (11x11 Gaussian, sigma 1.5, K = (0.01, 0.03),
       L = 255, ``filter2(..., 'valid')``) on each RGB channel in [0, 255], mean over the channels.

    One deviation: the MATLAB PSNR converts an image with ``im2double`` only ``if max(F(:)) > 1``, so an
    image whose pixels are all 0 or 1 stays on [0, 255] there; srbench always divides by 255.

NTIRE 2018 realistic tracks (``psnr_ntire18``, ``ssim_ntire18``; track 2 "mild", track 4 "wild": the LR is
    not aligned with the HR). No official bundle was found; the scoring function below is the one shared by
    two third-party copies in the CodaLab scoring-program layout (``input_dir/ref``, ``res``,
    ``scores.txt``; code index ids 36829218737, with SSIM, and 30677208469, SSIM commented out) and by
    nmhkahn/NTIRE2018@add39be80efefcb2d24122afcbeafaebc3b3cbe8:track23/evaluate.py (``output_measures``,
    PSNR part; its images are not border-cropped). Steps (``SCALE = 4``, ``SHIFT = 40``, ``SIZE = 30``):

    1. ``_open_img_measures``: each image cropped top-left to a multiple of 4, then ``6 + 4`` px removed
       from each border;
    2. the HR window: rows ``h//2 - 30 .. h//2 + 29``, columns likewise (60x60 at the centre of the
       cropped HR, ``h`` its height);
    3. for every integer shift ``(dy, dx)`` in [-40, 40]^2 (6561 shifts) the SR window is the same 60x60
       rectangle moved by ``(dy, dx)`` in the (cropped) SR;
    4. PSNR: the SR window is rescaled as ``tmp_l / mean(tmp_l) * mean(hr_window)`` (one scalar over all
       channels), PSNR over RGB on [0, 1] (values / 255, all pixels and channels pooled);
       **score = max over the 6561 shifts**;
    5. SSIM: only at shifts with ``dy`` and ``dx`` both even (1681 shifts), without the rescaling, on the
       uint8 windows: per channel ``compare_ssim(sr_win, hr_win, gaussian_weights=True,
       use_sample_covariance=False)`` of the bundles' ``myssim.py`` (scikit-image's ``compare_ssim`` of
       2018: Gaussian sigma 1.5 truncated at 4 sigma = 13 taps, ``reflect`` borders at the window edge,
       data range 255 from the uint8 dtype, K = (0.01, 0.03), the map's mean after cropping 5 px), mean
       over channels; **score = max over the shifts, chosen independently of the PSNR's shift**. The
       scorer keeps a zero row for every shift it skips and takes the maximum over all 6561 rows, so a
       score below 0 is reported as 0; srbench does the same.

    The scorer's constants belong to the x4 tracks: both metrics refuse other scales. Images must be at
    least 160x160 px (after the 4-crop) so that every shifted window lies inside the SR (the scorer's
    slices would silently wrap or fail). A shift whose SR window is all black has no brightness scale
    (0/0, NaN in the scorer): srbench leaves it out, and the PSNR is NaN only if every shift is such. (The
    scorer's builtin ``max`` returns NaN when the *first* shift, (-40, -40), is NaN and skips NaN
    elsewhere; srbench does not copy that accident of iteration order.)

    srbench computes the PSNR of every shift from exact integer window sums (``sum a``, ``sum a^2`` by
    summed-area tables, ``sum a*h`` by matrix products of integer-valued floats, below 2^53), as
    ``10 log10(N 255^2 Sa^2 / (Sh^2 Saa - 2 Sh Sa Sah + Sa^2 Shh))``: the scorer's formula, without its
    float64 rounding. The SSIMs are :func:`srbench.metrics.fidelity_math.ssim_gaussian_reflect` over
    the 1681 windows of each channel (matrix form of the same Gaussian filter). Measured on a 2040x1356
    image, 2 CPU cores: PSNR ~0.02 s, SSIM ~0.6 s, whatever the image size (only the 140x140 search
    region is read); the scorer itself took 3-6 s per image (the golden pairs) on the same machine.

NTIRE 2020 Real-World SR track 1 (``psnr_rgb_skimage``, ``ssim_rgb_skimage``)
    No official scorer was found; the organisers' own measuring code (andreas128/SRFlow ``code/Measure.py``,
    read at 205e63f1f96f8d98956c4a1034c6cfa04c6db8bc; volflow/DeFlow ``codes/MeasureLib/__init__.py``,
    read at 4ecbe5170d8fa29cd41802bd5202ad20678fd402) calls scikit-image on the uint8
    RGB images: ``peak_signal_noise_ratio(a, b)`` (data range 255 from the dtype) and
    ``structural_similarity(a, b, multichannel=True)`` with its defaults (7x7 uniform window, sample
    covariance, K = (0.01, 0.03), ``reflect`` borders, the map's mean after cropping 3 px, mean over
    channels); no border shave, no alignment, no Y conversion. scikit-image *is* the reference
    implementation here, so these metrics call it (``channel_axis=-1``, today's name of
    ``multichannel=True``; data range 255 given explicitly, the value the dtype gives) and record its
    version in ``provenance()``.
"""

from __future__ import annotations

import math

import numpy as np

from srbench.conventions import shave
from srbench.metrics.base import MetricContext, MetricInfo

#: NTIRE 2017: border removed = 6 + scale px per side
NTIRE17_BORDER = 6

#: NTIRE 2018 realistic tracks: the scorer's SCALE, SHIFT and SIZE (half the window side)
NTIRE18_SCALE = 4
NTIRE18_SHIFT = 40
NTIRE18_HALF = 30
NTIRE18_BORDER = 6 + NTIRE18_SCALE
#: scikit-image Gaussian radius of the NTIRE 2018 SSIM: int(truncate * sigma + 0.5), truncate 4.0, sigma 1.5
NTIRE18_SSIM_RADIUS = 6
#: the smallest image (after the 4-crop) in which every shifted window fits
NTIRE18_MIN_SIZE = 2 * (NTIRE18_HALF + NTIRE18_SHIFT) + 2 * NTIRE18_BORDER

NTIRE17_SOURCE = (
    "NTIRE 2017 scoring functions NTIRE_PeakSNR_imgs.m / NTIRE_SSIM_imgs.m with Wang's ssim_index.m (CodaLab "
    "16306 evaluation code, linked in XPixelGroup/BasicSR@b2eb612:basicsr/metrics/README_CN.md; read in "
    "third-party copies)"
)
NTIRE18_SOURCE = (
    "NTIRE 2018 realistic-track scoring function (output_measures, _open_img_measures) as third-party "
    "CodaLab scoring-program copies and nmhkahn/NTIRE2018@add39be80efefcb2d24122afcbeafaebc3b3cbe8:"
    "track23/evaluate.py have it; SSIM = the bundles' myssim.py compare_ssim "
    "(tunglm2203/hw1_supper_resolution@6412bdabd0f8b9d2a6fcd50684cce3dfc44a61e1:myssim.py)"
)
SKIMAGE_SOURCE = (
    "NTIRE 2020 RWSR track 1 organisers' code: andreas128/SRFlow@205e63f1f96f8d98956c4a1034c6cfa04c6db8bc:"
    "code/Measure.py, volflow/DeFlow@4ecbe5170d8fa29cd41802bd5202ad20678fd402:codes/MeasureLib/__init__.py"
)


def _check(sr: np.ndarray, hr: np.ndarray, ctx: MetricContext) -> None:
    if sr.shape != hr.shape:
        raise ValueError(f"SR {sr.shape} and HR {hr.shape} differ in shape ({ctx.image})")
    if sr.dtype != np.uint8 or hr.dtype != np.uint8:
        raise TypeError(f"challenge metrics take uint8 images, got {sr.dtype} and {hr.dtype} ({ctx.image})")
    if sr.ndim not in (2, 3) or (sr.ndim == 3 and sr.shape[2] != 3):
        raise ValueError(f"expected HxWx3 or HxW images, got {sr.shape} ({ctx.image})")


def _hwc(img: np.ndarray) -> np.ndarray:
    return img[:, :, None] if img.ndim == 2 else img


# -- NTIRE 2017 ---------------------------------------------------------------------------------------


def ntire17_crop(img: np.ndarray, scale: int) -> np.ndarray:
    """Remove ``6 + scale`` px from each border (the NTIRE 2017 scoring functions' ``boundarypixels``)."""
    b = NTIRE17_BORDER + int(scale)
    if img.shape[0] <= 2 * b or img.shape[1] <= 2 * b:
        raise ValueError(f"image {img.shape} is too small for the NTIRE 2017 border of {b} px per side")
    return shave(img, b)


def ntire17_psnr(sr: np.ndarray, hr: np.ndarray, scale: int) -> float:
    """``NTIRE_PeakSNR_imgs(hr, sr, scale)``: RGB pooled, peak 1, ``6 + scale`` px border removed."""
    from srbench.metrics.fidelity_math import psnr

    # 10 log10(N / sum(E^2)) with E = (F - G) / 255 is 10 log10(255^2 / mean((F - G)^2))
    return psnr(ntire17_crop(sr, scale), ntire17_crop(hr, scale), data_range=255.0)


def ntire17_ssim(sr: np.ndarray, hr: np.ndarray, scale: int) -> float:
    """``NTIRE_SSIM_imgs(hr, sr, scale)``: Wang's ``ssim_index`` per channel on [0, 255], mean of channels."""
    from srbench.metrics.fidelity_math import ssim_channels

    return ssim_channels(ntire17_crop(hr, scale), ntire17_crop(sr, scale), data_range=255.0)


def _with_provenance(f, convention: str, *packages: str):
    def provenance() -> dict:
        from srbench.metrics.weights_cache import package_versions

        return {"convention": convention, "packages": package_versions(*packages)}

    f.provenance = provenance
    return f


def psnr_rgb_ntire17(device: str = "cpu"):
    def f(sr, hr, ctx: MetricContext) -> float:
        _check(sr, hr, ctx)
        return ntire17_psnr(sr, hr, int(ctx.scale))

    return _with_provenance(f, NTIRE17_CONVENTION, "numpy")


def ssim_rgb_ntire17(device: str = "cpu"):
    def f(sr, hr, ctx: MetricContext) -> float:
        _check(sr, hr, ctx)
        return ntire17_ssim(sr, hr, int(ctx.scale))

    return _with_provenance(f, NTIRE17_CONVENTION, "numpy", "scipy")


# -- NTIRE 2018 ---------------------------------------------------------------------------------------


def ntire18_crop(img: np.ndarray) -> np.ndarray:
    """The scorer's ``_open_img_measures``: top-left crop to a multiple of 4, then 10 px off each border."""
    h, w = img.shape[:2]
    img = img[: h - h % NTIRE18_SCALE, : w - w % NTIRE18_SCALE]
    return img[NTIRE18_BORDER:-NTIRE18_BORDER, NTIRE18_BORDER:-NTIRE18_BORDER]


def _ntire18_windows(sr: np.ndarray, hr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(SR search region, HR window) as int64 HxWxC: the region holds the SR window at every shift, its
    window ``[dy + 40 : dy + 100, dx + 40 : dx + 100]`` being the scorer's ``tmp_l`` at shift (dy, dx)."""
    if sr.shape != hr.shape:
        raise ValueError(f"SR {sr.shape} and HR {hr.shape} differ in shape")
    if sr.dtype != np.uint8 or hr.dtype != np.uint8:
        raise TypeError(f"the NTIRE 2018 scorer takes uint8 images, got {sr.dtype} and {hr.dtype}")
    s, h = _hwc(ntire18_crop(sr)), _hwc(ntire18_crop(hr))
    rows, cols = h.shape[:2]
    if min(rows, cols) < 2 * (NTIRE18_HALF + NTIRE18_SHIFT):
        raise ValueError(
            f"image {sr.shape[:2]} is too small for the NTIRE 2018 shift search: it needs at least "
            f"{NTIRE18_MIN_SIZE}x{NTIRE18_MIN_SIZE} px after the crop to a multiple of 4"
        )
    r0, c0 = rows // 2 - NTIRE18_HALF, cols // 2 - NTIRE18_HALF  # the scorer's h_left, w_left
    k, m = 2 * NTIRE18_HALF, NTIRE18_SHIFT
    region = s[r0 - m : r0 + k + m, c0 - m : c0 + k + m].astype(np.int64)
    return region, h[r0 : r0 + k, c0 : c0 + k].astype(np.int64)


def _box_sums(plane: np.ndarray, k: int) -> np.ndarray:
    """Sums of every k x k window of an integer plane (summed-area table, exact in int64)."""
    t = np.zeros((plane.shape[0] + 1, plane.shape[1] + 1), dtype=np.int64)
    t[1:, 1:] = plane.cumsum(axis=0).cumsum(axis=1)
    return t[k:, k:] - t[:-k, k:] - t[k:, :-k] + t[:-k, :-k]


def _cross_sums(region: np.ndarray, win: np.ndarray) -> np.ndarray:
    """``out[dy, dx] = sum(region[dy:dy+k, dx:dx+k, :] * win)`` for every placement, exact.

    Integer-valued float64 products (< 2^16) and sums (< 2^30 here) are exact in any summation order,
    so the matrix product gives the integer sums bit for bit.
    """
    k, _, c = win.shape
    n = region.shape[1] - k + 1
    strips = np.lib.stride_tricks.sliding_window_view(region.astype(np.float64), k, axis=1)  # (R, n, c, k)
    # rows[r, dx, i] = sum_{j, ch} region[r, dx + j, ch] * win[i, j, ch]
    rows = strips.reshape(-1, c * k) @ win.transpose(0, 2, 1).reshape(k, c * k).T.astype(np.float64)
    rows = rows.reshape(region.shape[0], n, k)
    out = np.zeros((region.shape[0] - k + 1, n), dtype=np.float64)
    for i in range(k):
        out += rows[i : i + out.shape[0], :, i]
    return out.astype(np.int64)


def ntire18_psnr_shifts(sr: np.ndarray, hr: np.ndarray) -> np.ndarray:
    """The scorer's PSNR at every shift: 81x81 array, ``[dy + 40, dx + 40]``; NaN where the SR window is black."""
    region, hwin = _ntire18_windows(sr, hr)
    k = hwin.shape[0]
    n = hwin.size
    sa = _box_sums(region.sum(axis=2), k)
    saa = _box_sums((region * region).sum(axis=2), k)
    sah = _cross_sums(region, hwin)
    sh, shh = int(hwin.sum()), int((hwin * hwin).sum())
    # Python integers: Sh^2 Saa reaches ~1e22
    sa_o, saa_o, sah_o = sa.astype(object), saa.astype(object), sah.astype(object)
    num = (sh * sh) * saa_o - (2 * sh) * sa_o * sah_o + shh * sa_o * sa_o  # Sa^2 * sum((a Sh/Sa - h)^2)
    den = (n * 255 * 255) * sa_o * sa_o
    num_f, den_f = num.astype(np.float64), den.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        psnr = 10.0 * np.log10(den_f / num_f)  # num = 0 < den: +inf, as the scorer's 1 / 0
    psnr[sa == 0] = np.nan
    return psnr


def ntire18_ssim_shifts(sr: np.ndarray, hr: np.ndarray, radius: int = NTIRE18_SSIM_RADIUS) -> np.ndarray:
    """The scorer's SSIM (mean over channels) at the even shifts: 41x41 array, ``[(dy + 40) / 2, (dx + 40) / 2]``.

    ``radius``: of the Gaussian, 6 as the scorer's ``myssim.py``; 5 gives what the scorer computes with
    today's scikit-image ``structural_similarity`` (11 taps) in its place.
    """
    from srbench.metrics.fidelity_math import ssim_gaussian_reflect

    region, hwin = _ntire18_windows(sr, hr)
    k = hwin.shape[0]
    total = None
    for c in range(hwin.shape[2]):
        wins = np.lib.stride_tricks.sliding_window_view(region[:, :, c], (k, k))[::2, ::2]  # -40 is even
        v = ssim_gaussian_reflect(wins, hwin[:, :, c], radius=radius, crop=5, data_range=255.0)
        total = v if total is None else total + v
    return total / hwin.shape[2]


def _require_x4(ctx: MetricContext, name: str) -> None:
    if int(ctx.scale) != NTIRE18_SCALE:
        raise ValueError(
            f"{name} is the NTIRE 2018 x4 realistic-track scorer (its crop, border and shift window are "
            f"fixed for scale 4); it is not defined at x{ctx.scale} ({ctx.image})"
        )


def ntire18_psnr(sr: np.ndarray, hr: np.ndarray) -> float:
    """NTIRE 2018 realistic-track PSNR: max over the 6561 integer shifts (brightness-rescaled SR window)."""
    p = ntire18_psnr_shifts(sr, hr)
    return math.nan if np.isnan(p).all() else float(np.nanmax(p))


def ntire18_ssim(sr: np.ndarray, hr: np.ndarray) -> float:
    """NTIRE 2018 realistic-track SSIM: max over the even shifts, floored at 0 as the scorer's zero rows."""
    return max(0.0, float(np.max(ntire18_ssim_shifts(sr, hr))))


def psnr_ntire18(device: str = "cpu"):
    def f(sr, hr, ctx: MetricContext) -> float:
        _check(sr, hr, ctx)
        _require_x4(ctx, "psnr_ntire18")
        return ntire18_psnr(sr, hr)

    return _with_provenance(f, NTIRE18_CONVENTION, "numpy")


def ssim_ntire18(device: str = "cpu"):
    def f(sr, hr, ctx: MetricContext) -> float:
        _check(sr, hr, ctx)
        _require_x4(ctx, "ssim_ntire18")
        return ntire18_ssim(sr, hr)

    return _with_provenance(f, NTIRE18_CONVENTION, "numpy")


# -- NTIRE 2020 RWSR track 1 (scikit-image) -----------------------------------------------------------


def skimage_psnr(sr: np.ndarray, hr: np.ndarray) -> float:
    """``skimage.metrics.peak_signal_noise_ratio`` on the uint8 images (data range 255); +inf if equal."""
    from skimage.metrics import peak_signal_noise_ratio

    with np.errstate(divide="ignore"):
        return float(peak_signal_noise_ratio(hr, sr, data_range=255))


def skimage_ssim(sr: np.ndarray, hr: np.ndarray) -> float:
    """``skimage.metrics.structural_similarity`` with its defaults, channels last (mean over channels)."""
    from skimage.metrics import structural_similarity

    kw = {"channel_axis": -1} if hr.ndim == 3 else {}
    return float(structural_similarity(hr, sr, data_range=255, **kw))


def psnr_rgb_skimage(device: str = "cpu"):
    def f(sr, hr, ctx: MetricContext) -> float:
        _check(sr, hr, ctx)
        return skimage_psnr(sr, hr)

    return _with_provenance(f, SKIMAGE_CONVENTION, "scikit-image", "numpy")


def ssim_rgb_skimage(device: str = "cpu"):
    def f(sr, hr, ctx: MetricContext) -> float:
        _check(sr, hr, ctx)
        return skimage_ssim(sr, hr)

    return _with_provenance(f, SKIMAGE_CONVENTION, "scikit-image", "numpy", "scipy")


NTIRE17_CONVENTION = (
    "RGB uint8 (grey: one channel); HR modcropped, no further crop; 6 + scale px removed per border; PSNR = "
    "10 log10(N / sum(E^2)), E = (SR - HR) / 255 over all pixels and channels; SSIM = Wang ssim_index "
    "(11x11 Gaussian sigma 1.5, K=(0.01,0.03), L=255, valid) per channel on [0,255], mean over channels; "
    "dataset mean of per-image values. Source: " + NTIRE17_SOURCE
)
NTIRE18_CONVENTION = (
    "x4 only; RGB uint8; both images cropped top-left to a multiple of 4, then 10 px per border; 60x60 HR "
    "window at the centre; SR window moved by every integer shift in [-40,40]^2; PSNR: SR window times "
    "mean(HR win)/mean(SR win), RGB on [0,1] pooled, max over shifts; SSIM: even shifts only, no rescale, "
    "per channel skimage-2018 compare_ssim (Gaussian sigma 1.5, 13 taps, reflect, population covariance, "
    "5 px crop), mean over channels, max over shifts (independent of the PSNR's), floored at 0; dataset "
    "mean of per-image values. Source: " + NTIRE18_SOURCE
)
SKIMAGE_CONVENTION = (
    "RGB uint8, no shave, no alignment; scikit-image peak_signal_noise_ratio (data range 255) / "
    "structural_similarity(channel_axis=-1) with its defaults (7x7 uniform window, sample covariance); "
    "dataset mean of per-image values. Source: " + SKIMAGE_SOURCE
)


def _info(name, description, factory, convention, reference, **kw) -> MetricInfo:
    return MetricInfo(
        name=name,
        description=description,
        higher_is_better=True,
        full_reference=True,
        kind="image",
        version="1",
        factory=f"srbench.metrics.challenge:{factory}",
        convention=convention,
        reference=reference,
        protocols=("rgb",),
        **kw,
    )


METRICS = [
    _info(
        "psnr_rgb_ntire17", "PSNR on RGB as the NTIRE 2017 SR challenge scored it (6+scale border), dB",
        "psnr_rgb_ntire17", NTIRE17_CONVENTION,
        "NumPy transcription of NTIRE_PeakSNR_imgs.m (tests/metrics/test_challenge.py) on random images and on "
        "Set5 x4 bicubic; tolerance 1e-12 dB (measured max 7.1e-15)",
    ),
    _info(
        "ssim_rgb_ntire17", "SSIM (Wang ssim_index) per RGB channel, mean, as the NTIRE 2017 SR challenge scored it",
        "ssim_rgb_ntire17", NTIRE17_CONVENTION,
        "NumPy transcription of NTIRE_SSIM_imgs.m + ssim_index.m (2-D fspecial window, valid correlation) on "
        "random images and on Set5 x4 bicubic; tolerance 1e-12 (measured max 1.4e-14)",
    ),
    _info(
        "psnr_ntire18", "NTIRE 2018 realistic-track PSNR (x4): best of 81x81 integer shifts, brightness-matched "
        "60x60 centre window, dB", "psnr_ntire18", NTIRE18_CONVENTION,
        "the scoring function run on 6 seeded synthetic misaligned pairs and 2 mirrored bicubic pairs "
        "(Urban100 img_004, Set5 baby; tests/fixtures/ntire18/golden.json); tolerance 1e-12 dB (measured "
        "max 7.1e-15), best shift equal", scales=(4,),
    ),
    _info(
        "ssim_ntire18", "NTIRE 2018 realistic-track SSIM (x4): best of the even shifts, 60x60 centre window",
        "ssim_ntire18", NTIRE18_CONVENTION,
        "the scoring function with its myssim.py compare_ssim on the pairs of tests/fixtures/ntire18/golden.json; "
        "tolerance 1e-12 (measured max 1.5e-14), best shift equal; scikit-image's later 11-tap Gaussian "
        "(scikit-image PR 3802, 2019) in its place lowers the score by up to 5.1e-4 (recorded there too)",
        scales=(4,),
    ),
    _info(
        "psnr_rgb_skimage", "PSNR on RGB uint8, no shave (scikit-image; NTIRE 2020 RWSR track 1 organisers' code), dB",
        "psnr_rgb_skimage", SKIMAGE_CONVENTION,
        "scikit-image peak_signal_noise_ratio itself (the reference); checked against srbench's own float64 "
        "PSNR to 1e-10 dB; version recorded in provenance()", requires=("skimage",),
    ),
    _info(
        "ssim_rgb_skimage", "SSIM on RGB uint8, skimage defaults (7x7 uniform, sample covariance), no shave "
        "(NTIRE 2020 RWSR track 1 organisers' code)", "ssim_rgb_skimage", SKIMAGE_CONVENTION,
        "scikit-image structural_similarity itself (the reference); checked against srbench's SSIM formula with "
        "a 7x7 uniform reflect filter to 1e-12; version recorded in provenance()", requires=("skimage",),
    ),
]
