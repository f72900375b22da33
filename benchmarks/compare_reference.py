"""Side-by-side timings of srbench and reference implementations on the same images, as ratios.

    .venv/bin/python benchmarks/compare_reference.py [--repeat 5] [--dataset set5] [--scale 4]

For each task, both sides process the same Set5 (default) x4 images; the table shows the best-of-N
wall time of each side, the ratio srbench / reference (> 1: srbench is slower) and how far the values
differ (the references do not all follow the MATLAB conventions srbench reproduces, so a difference is
not necessarily an error: PIL's bicubic is not MATLAB's, pyiqa's Y-PSNR/SSIM round the Y channel
differently). Needs the mirror (``SRBENCH_MIRROR`` or ``../shared/mirror``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def best_of(fn, repeat: int) -> tuple[float, object]:
    out, best = None, float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _tensor(torch, a: np.ndarray):
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float() / 255


def load(dataset: str) -> list[np.ndarray]:
    from PIL import Image

    roots = [p for p in os.environ.get("SRBENCH_MIRROR", "").split(os.pathsep) if p.strip()]
    roots.append(str(HERE.parent.parent / "shared" / "mirror"))
    for r in roots:
        folder = Path(r) / "datasets" / dataset / "HR"
        if folder.is_dir():
            files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".png", ".webp", ".bmp"})
            return [np.asarray(Image.open(p).convert("RGB")) for p in files]
    sys.exit(f"dataset {dataset!r} not found under {roots} (set SRBENCH_MIRROR)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="set5")
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-torch", action="store_true", help="skip the pyiqa references")
    args = ap.parse_args(argv)
    s, rep = args.scale, args.repeat

    from PIL import Image
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from srbench.conventions import modcrop, shave, to_luma
    from srbench.imresize import imresize
    from srbench.metrics.base import MetricContext
    from srbench.metrics.fidelity import psnr_y, ssim_y

    hrs = [modcrop(h, s) for h in load(args.dataset)]
    lrs = [imresize(h, 1 / s) for h in hrs]
    srs = [imresize(lr, s) for lr in lrs]
    ctx = MetricContext(scale=s)
    planes = [(shave(to_luma(sr), s), shave(to_luma(hr), s)) for sr, hr in zip(srs, hrs)]
    pil_hr = [Image.fromarray(np.ascontiguousarray(h)) for h in hrs]
    pil_lr = [Image.fromarray(lr) for lr in lrs]
    f_psnr, f_ssim = psnr_y(), ssim_y()

    def diff(a, b):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        return float(np.max(np.abs(a - b)))

    tasks = []  # (task, reference name, srbench fn, reference fn, value comparison)
    tasks.append((
        f"bicubic down x{s} (uint8 RGB)", "PIL Image.resize BICUBIC",
        lambda: [imresize(h, 1 / s) for h in hrs],
        lambda: [np.asarray(im.resize((im.width // s, im.height // s), Image.BICUBIC)) for im in pil_hr],
        lambda a, b: f"max |d| {max(diff(x, y) for x, y in zip(a, b)):.0f} grey levels",
    ))
    tasks.append((
        f"bicubic up x{s} (uint8 RGB)", "PIL Image.resize BICUBIC",
        lambda: [imresize(lr, s) for lr in lrs],
        lambda: [np.asarray(im.resize((im.width * s, im.height * s), Image.BICUBIC)) for im in pil_lr],
        lambda a, b: f"max |d| {max(diff(x, y) for x, y in zip(a, b)):.0f} grey levels",
    ))
    tasks.append((
        "PSNR-Y (incl. Y conversion)", "skimage peak_signal_noise_ratio (Y given)",
        lambda: [f_psnr(sr, hr, ctx) for sr, hr in zip(srs, hrs)],
        lambda: [peak_signal_noise_ratio(h, x, data_range=255) for x, h in planes],
        lambda a, b: f"max |d| {diff(a, b):.1e} dB",
    ))
    kw = {"data_range": 255, "gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}
    tasks.append((
        "SSIM-Y (incl. Y conversion)", "skimage structural_similarity (Y given)",
        lambda: [f_ssim(sr, hr, ctx) for sr, hr in zip(srs, hrs)],
        lambda: [structural_similarity(h, x, **kw) for x, h in planes],
        lambda a, b: f"max |d| {diff(a, b):.1e}",
    ))
    if not args.no_torch:
        try:
            import pyiqa
            import torch
        except ImportError:
            pyiqa = None
        if pyiqa is not None:
            torch.set_num_threads(max(1, os.cpu_count() or 1))
            tens = [(_tensor(torch, sr), _tensor(torch, hr)) for sr, hr in zip(srs, hrs)]
            p = pyiqa.create_metric("psnr", device="cpu", test_y_channel=True, crop_border=s)
            q = pyiqa.create_metric("ssim", device="cpu", test_y_channel=True, crop_border=s)
            q(*tens[0])
            tasks.append((
                "PSNR-Y", "pyiqa psnr (test_y_channel)",
                lambda: [f_psnr(sr, hr, ctx) for sr, hr in zip(srs, hrs)],
                lambda: [float(p(a, b)) for a, b in tens],
                lambda a, b: f"max |d| {diff(a, b):.2g} dB (pyiqa's own Y convention)",
            ))
            tasks.append((
                "SSIM-Y", "pyiqa ssim (test_y_channel)",
                lambda: [f_ssim(sr, hr, ctx) for sr, hr in zip(srs, hrs)],
                lambda: [float(q(a, b)) for a, b in tens],
                lambda a, b: f"max |d| {diff(a, b):.2g} (pyiqa's own Y convention)",
            ))

    rows = []
    for task, ref, mine, theirs, cmp in tasks:
        t_mine, v_mine = best_of(mine, rep)
        t_ref, v_ref = best_of(theirs, rep)
        rows.append((task, ref, f"{t_mine * 1e3:.1f}", f"{t_ref * 1e3:.1f}", f"{t_mine / t_ref:.2f}", cmp(v_mine, v_ref)))

    head = ("task", "reference", "srbench ms", "ref ms", "ratio", "values")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    fmt = lambda r: "  ".join(str(c).rjust(w) if 2 <= i <= 4 else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    print(f"{args.dataset} x{s}, {len(hrs)} images, best of {rep}; ratio = srbench / reference (>1: srbench slower)")
    print(fmt(head))
    print(fmt(["-" * w for w in widths]))
    for r in rows:
        print(fmt(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
