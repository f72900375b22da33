"""Throughput of srbench's resize and metrics, side by side with reference implementations.

Every benchmark runs over the same 5 Set5 images at x4 (bicubic SR vs modcropped HR). Benchmarks of
one ``group`` do the same work, so ``--benchmark-group-by=group`` puts srbench next to its reference
(scikit-image, PIL, pyiqa). ``benchmarks/compare_reference.py`` prints the ratios as a table.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

SCALE = 4  # the same as conftest.SCALE


def _ctx():
    from srbench.metrics.base import MetricContext

    return MetricContext(scale=SCALE)


def _luma_planes(pairs):
    from srbench.conventions import shave, to_luma

    return [(shave(to_luma(sr), SCALE), shave(to_luma(hr), SCALE)) for sr, hr in pairs]


# ------------------------------------------------------------------------------------------ resize


@pytest.mark.benchmark(group="resize-down-x4")
def test_imresize_down(benchmark, set5):
    from srbench.conventions import modcrop
    from srbench.imresize import imresize

    hrs = [modcrop(hr, SCALE) for _, hr in set5]
    benchmark(lambda: [imresize(h, 1 / SCALE) for h in hrs])


@pytest.mark.benchmark(group="resize-down-x4")
def test_ref_pil_bicubic_down(benchmark, set5):
    from PIL import Image

    from srbench.conventions import modcrop

    ims = [Image.fromarray(np.ascontiguousarray(modcrop(hr, SCALE))) for _, hr in set5]
    benchmark(lambda: [im.resize((im.width // SCALE, im.height // SCALE), Image.BICUBIC) for im in ims])


@pytest.mark.benchmark(group="resize-up-x4")
def test_imresize_up(benchmark, set5_lr):
    from srbench.imresize import imresize

    benchmark(lambda: [imresize(lr, SCALE) for lr in set5_lr])


@pytest.mark.benchmark(group="resize-up-x4")
def test_ref_pil_bicubic_up(benchmark, set5_lr):
    from PIL import Image

    ims = [Image.fromarray(lr) for lr in set5_lr]
    benchmark(lambda: [im.resize((im.width * SCALE, im.height * SCALE), Image.BICUBIC) for im in ims])


@pytest.mark.benchmark(group="resize-up-x4-float")
def test_imresize_up_float(benchmark, set5_lr):
    """The luma protocol's float path (no rounding between passes)."""
    from srbench.imresize import imresize

    lrs = [lr[..., 0].astype(np.float64) / 255.0 for lr in set5_lr]
    benchmark(lambda: [imresize(lr, SCALE) for lr in lrs])


# -------------------------------------------------------------------------------------------- PSNR


@pytest.mark.benchmark(group="psnr-y")
def test_psnr_y(benchmark, set5_pairs):
    from srbench.metrics.fidelity import psnr_y

    f, ctx = psnr_y(), _ctx()
    benchmark(lambda: [f(sr, hr, ctx) for sr, hr in set5_pairs])


@pytest.mark.benchmark(group="psnr-y")
def test_ref_skimage_psnr(benchmark, set5_pairs):
    """scikit-image PSNR on the same (already converted) Y planes: the conversion is not timed."""
    from skimage.metrics import peak_signal_noise_ratio

    planes = _luma_planes(set5_pairs)
    benchmark(lambda: [peak_signal_noise_ratio(h, s, data_range=255) for s, h in planes])


@pytest.mark.benchmark(group="psnr-y")
def test_ref_pyiqa_psnr(benchmark, set5_tensors):
    pyiqa = pytest.importorskip("pyiqa")
    m = pyiqa.create_metric("psnr", device="cpu", test_y_channel=True, crop_border=SCALE)
    benchmark(lambda: [float(m(sr, hr)) for sr, hr in set5_tensors])


# -------------------------------------------------------------------------------------------- SSIM


@pytest.mark.benchmark(group="ssim-y")
def test_ssim_y(benchmark, set5_pairs):
    from srbench.metrics.fidelity import ssim_y

    f, ctx = ssim_y(), _ctx()
    benchmark(lambda: [f(sr, hr, ctx) for sr, hr in set5_pairs])


@pytest.mark.benchmark(group="ssim-y")
def test_ssim_y_matlab(benchmark, set5_pairs):
    from srbench.metrics.fidelity import ssim_y_matlab

    f, ctx = ssim_y_matlab(), _ctx()
    benchmark(lambda: [f(sr, hr, ctx) for sr, hr in set5_pairs])


@pytest.mark.benchmark(group="ssim-y")
def test_ref_skimage_ssim(benchmark, set5_pairs):
    """scikit-image with Wang et al.'s settings (Gaussian 1.5, no sample covariance) on the Y planes."""
    from skimage.metrics import structural_similarity

    planes = _luma_planes(set5_pairs)
    kw = {"data_range": 255, "gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}
    benchmark(lambda: [structural_similarity(h, s, **kw) for s, h in planes])


@pytest.mark.benchmark(group="ssim-y")
def test_ref_pyiqa_ssim(benchmark, set5_tensors):
    pyiqa = pytest.importorskip("pyiqa")
    m = pyiqa.create_metric("ssim", device="cpu", test_y_channel=True, crop_border=SCALE)
    m(*set5_tensors[0])  # warm-up outside the timing
    benchmark(lambda: [float(m(sr, hr)) for sr, hr in set5_tensors])


# ----------------------------------------------------------------------------------- learned / NR


def _registry_metric(name):
    """srbench's own metric ``name`` (factory from the registry), or skip with the reason."""
    from srbench.errors import SrbenchError
    from srbench.registry import get_metric, import_object

    try:
        info = get_metric(name)
    except SrbenchError as exc:
        pytest.skip(f"srbench metric {name!r} not available: {exc}")
    missing = info.missing_requirements()
    if missing:
        pytest.skip(f"srbench metric {name!r} needs {', '.join(missing)}")
    try:
        return import_object(info.factory)(device="cpu")
    except Exception as exc:  # noqa: BLE001 - missing weights etc.: a benchmark is not the place to fail on it
        pytest.skip(f"srbench metric {name!r} could not be created: {type(exc).__name__}: {exc}")


@pytest.mark.benchmark(group="lpips")
def test_lpips(benchmark, set5_pairs):
    if importlib.util.find_spec("srbench.metrics.lpips_backend") is None:
        pytest.skip("srbench.metrics.lpips_backend not present")
    f, ctx = _registry_metric("lpips"), _ctx()
    f(*set5_pairs[0], ctx)  # warm-up (weights load) outside the timing

    def setup():
        _clear_value_memos()
        return (), {}

    benchmark.pedantic(lambda: [f(sr, hr, ctx) for sr, hr in set5_pairs], setup=setup, rounds=3, iterations=1)


@pytest.mark.benchmark(group="lpips")
def test_ref_lpips_package(benchmark, set5_tensors):
    lpips = pytest.importorskip("lpips")
    torch = pytest.importorskip("torch")
    try:
        net = lpips.LPIPS(net="alex", verbose=False)
    except Exception as exc:  # noqa: BLE001 - any failure to set up the reference skips it
        pytest.skip(f"lpips weights not available: {exc}")

    def go():
        with torch.no_grad():
            return [float(net(sr * 2 - 1, hr * 2 - 1)) for sr, hr in set5_tensors]

    go()
    benchmark.pedantic(go, rounds=3, iterations=1)


def _clear_value_memos():
    """srbench's NR metrics memoise values per image; clear that so a round measures the computation."""
    import sys

    for name in ("srbench.metrics.no_reference", "srbench.metrics.lpips_backend", "srbench.metrics.perceptual"):
        memo = getattr(sys.modules.get(name), "_memo", None)
        if hasattr(memo, "clear"):
            memo.clear()


@pytest.mark.benchmark(group="niqe")
def test_niqe_srbench(benchmark, set5_pairs):
    f, ctx = _registry_metric("niqe"), _ctx()
    f(*set5_pairs[0], ctx)  # warm-up (model load) outside the timing

    def setup():
        _clear_value_memos()
        return (), {}

    benchmark.pedantic(lambda: [f(sr, hr, ctx) for sr, hr in set5_pairs], setup=setup, rounds=3, iterations=1)


@pytest.mark.benchmark(group="niqe")
def test_ref_pyiqa_niqe(benchmark, set5_tensors):
    pyiqa = pytest.importorskip("pyiqa")
    try:
        m = pyiqa.create_metric("niqe", device="cpu")
        m(set5_tensors[0][0])
    except Exception as exc:  # noqa: BLE001 - any failure to set up the reference skips it
        pytest.skip(f"pyiqa niqe not available (model parameters?): {exc}")
    benchmark.pedantic(lambda: [float(m(sr)) for sr, _ in set5_tensors], rounds=3, iterations=1)
