"""Diversity score of the NTIRE 2021 "Learning the Super-Resolution Space" challenge (+ its per-image stats).

Official code: repository andreas128/NTIRE21_Learning_SR_Space, ``measure.py`` (function
``lpips_analysis``; the NTIRE 2022 edition's ``measure.py`` computes the same). Per image, with the n SR
samples of that image (the challenge uses n = 10):

* crop: HR cropped top-left to a multiple of 8 (``gt[:(h//8)*8, :(w//8)*8]``, also at x4), each SR
  cropped to the cropped HR's size; no border shave;
* LPIPS: ``lpips.LPIPS(spatial=True)`` from the PerceptualSimilarity submodule (commit 05f4ec2, whose
  ``lpips.py`` computes what the ``lpips`` 0.1.4 package computes, with the same ``weights/v0.1/alex.pth``),
  i.e. net='alex', version='0.1', linear layers on, spatial map bilinearly upsampled
  (``align_corners=False``) to the image size; inputs RGB uint8 -> float32 ``/255`` -> ``2x - 1``
  (``normalize=False``);
* global best = min over samples of the mean of the sample's LPIPS map;
  local best = mean over pixels of the per-pixel min over samples;
  ``score = (global best - local best) / global best * 100``;
* also reported: ``LPIPS_mean`` (mean over samples of the map means), ``LRPSNR_mean`` and
  ``LRPSNR_worst`` (mean / min over samples of the LR-PSNR, see ``srbench.metrics.lr_consistency``);
* dataset value: the mean over images of each per-image value (``pandas.DataFrame.mean``, which skips
  NaN).

The official measure reports no PSNR/SSIM; compute those per sample with the ``image`` metrics.

Edge case: if a sample equals the HR, its LPIPS map is exactly 0, global best = 0 and the official score
is 0/0 = NaN (numpy warning); ``diversity`` is NaN then as well.
"""

from __future__ import annotations

import math

import numpy as np

from srbench.metrics.base import MetricContext, MetricInfo, MetricWeight

REFERENCE = (
    "andreas128/NTIRE21_Learning_SR_Space measure.py (lpips_analysis), PerceptualSimilarity @05f4ec2; "
    "golden values in tests/fixtures/ntire21/"
)

#: The per-image values ``diversity`` returns: key -> (higher_is_better, description). The runner
#: records each key; the dataset value of each is the mean over images (NaN skipped, as pandas does).
OUTPUTS: dict[str, tuple[bool, str]] = {
    "diversity": (True, "NTIRE21 diversity score, (global best - local best) / global best * 100 (LPIPS)"),
    "lpips_mean": (False, "mean over the samples of the LPIPS (spatial map mean) vs HR (official LPIPS_mean)"),
    "lpips_best": (False, "global best: min over the samples of the LPIPS vs HR"),
    "lpips_local_best": (False, "local best: mean over pixels of the per-pixel min LPIPS over the samples"),
    "lr_psnr_mean": (True, "mean over the samples of the NTIRE21 LR-PSNR, dB (official LRPSNR_mean)"),
    "lr_psnr_worst": (True, "min over the samples of the NTIRE21 LR-PSNR, dB (official LRPSNR_worst)"),
}

ALEXNET_WEIGHT = MetricWeight(
    file="alexnet-owt-7be5be79.pth",
    cache="$TORCH_HOME/hub/checkpoints/",
    url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    used_by="lpips (net='alex') through torchvision",
)


def diversity_stats(maps: np.ndarray) -> dict[str, float]:
    """Global best, local best, mean and score of n spatial distance maps (n x H x W), float64."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3 or maps.shape[0] < 1 or maps.shape[1] < 1 or maps.shape[2] < 1:
        raise ValueError(f"expected n x H x W maps with n >= 1, got shape {maps.shape}")
    per_sample = maps.reshape(maps.shape[0], -1).mean(axis=1)  # lpips_sp.mean() per sample
    return _stats(per_sample, float(maps.min(axis=0).mean()))


def _stats(per_sample: np.ndarray, local_best: float) -> dict[str, float]:
    global_best = float(np.min(per_sample))
    score = (global_best - local_best) / global_best * 100.0 if global_best != 0 else math.nan
    return {
        "diversity": score,
        "lpips_mean": float(per_sample.mean()),
        "lpips_best": global_best,
        "lpips_local_best": local_best,
    }


def diversity_from_maps(maps: np.ndarray) -> float:
    """NTIRE21 diversity score of n spatial distance maps (n x H x W): (global - local) / global * 100.

    global = min_i mean(maps[i]); local = mean(min_i maps[i]). NaN when global is 0.
    """
    return diversity_stats(maps)["diversity"]


def _lpips_map_fn(device: str):
    """``(sr, hr) -> HxW float64`` LPIPS map (alex, v0.1, spatial) of the shared backend.

    The model is loaded here, so that a missing or damaged AlexNet file fails when the metric is created,
    before any SR image is computed."""
    from srbench.metrics.lpips_backend import get_lpips_model, lpips_spatial_map

    get_lpips_model("alex", device)

    def fn(sr: np.ndarray, hr: np.ndarray) -> np.ndarray:
        return lpips_spatial_map(sr, hr, net="alex", device=device)

    fn.source = "srbench.metrics.lpips_backend.lpips_spatial_map(net='alex')"
    return fn


def _rgb(img: np.ndarray) -> np.ndarray:
    # the official code reads images with cv2.IMREAD_COLOR: grey images become 3 equal channels
    return np.repeat(img[:, :, None], 3, axis=2) if img.ndim == 2 else img


def diversity(device: str = "cpu"):
    from srbench.metrics.lr_consistency import (
        lr_psnr_official,
        ntire_crop,
        ntire_imresize,
    )

    map_fn = _lpips_map_fn(device)

    def f(samples, hr: np.ndarray, ctx: MetricContext) -> dict[str, float]:
        samples = list(samples)
        if not samples:
            raise ValueError(f"diversity needs at least one SR sample ({ctx.image})")
        scale = int(ctx.scale)
        hr = np.asarray(hr)
        hr_c = ntire_crop(hr, scale)
        h, w = hr_c.shape[:2]
        if h == 0 or w == 0:
            raise ValueError(f"HR {hr.shape} is smaller than the crop multiple (lcm(8, scale)) ({ctx.image})")
        hr_lr = ntire_imresize(hr_c, 1.0 / scale)
        hr_rgb = _rgb(hr_c)
        # per-sample map means and the running per-pixel minimum (no n x H x W stack kept in memory)
        means, lrpsnrs, best = [], [], None
        for k, sr in enumerate(samples):
            sr = np.asarray(sr)
            if sr.shape != hr.shape or sr.dtype != np.uint8 or hr.dtype != np.uint8:
                raise ValueError(
                    f"sample {k} {sr.shape} {sr.dtype} does not match HR {hr.shape} {hr.dtype} ({ctx.image})"
                )
            sr_c = sr[:h, :w]
            m = np.asarray(map_fn(_rgb(sr_c), hr_rgb), dtype=np.float64)
            if m.shape != (h, w):
                raise ValueError(f"LPIPS map {m.shape} is not {(h, w)} ({ctx.image})")
            means.append(float(m.mean()))
            best = m if best is None else np.minimum(best, m)
            lrpsnrs.append(lr_psnr_official(sr_c, hr_c, scale, hr_lr=hr_lr))
        out = _stats(np.asarray(means), float(best.mean()))
        out["lr_psnr_mean"] = float(np.mean(lrpsnrs))
        out["lr_psnr_worst"] = float(np.min(lrpsnrs))
        return out

    def provenance() -> dict:
        import lpips
        import torch

        return {
            "lpips": getattr(lpips, "__version__", "?"),
            "torch": torch.__version__,
            "lpips_map": getattr(map_fn, "source", "?"),
        }

    f.provenance = provenance
    return f


METRICS = [
    MetricInfo(
        name="diversity",
        outputs=OUTPUTS,
        description="NTIRE21 Learning-the-SR-Space diversity score over the n SR samples of an image (LPIPS), %",
        higher_is_better=True,
        full_reference=True,
        kind="samples",
        version="1",
        factory="srbench.metrics.diversity:diversity",
        convention=(
            "HR cropped top-left to a multiple of lcm(8, scale) (official: 8), samples to the same size; "
            "LPIPS alex v0.1 spatial map on RGB 2*(uint8/255)-1; global best = min over samples of the map "
            "mean, local best = mean of the per-pixel min; score = (global - local) / global * 100; also "
            "lpips_mean/lpips_best/lpips_local_best and lr_psnr_mean/lr_psnr_worst (NTIRE21 LR-PSNR); "
            "dataset value = mean over images of each per-image value (NaN skipped)"
        ),
        requires=("torch", "lpips"),
        weights=(ALEXNET_WEIGHT,),
        reference=REFERENCE,
    ),
]
