"""srbench speed ratios against reference implementations, side by side in one run on the same images.

    .venv/bin/python benchmarks/suite.py [P1 P2 P3 P4 P5] [--quick] [--rounds N] [--markdown FILE] [--keep]

Not a test: nothing here is collected by ``pytest tests``. Every side runs in its own subprocess (a fresh
interpreter: its imports, model loading and file reading are part of its time), the sides of one
measurement run interleaved (the order rotates each round) and the table shows the median of N rounds
(default 3; ``--quick``: 1 round, Set5 only). Wall seconds are ``time.perf_counter`` around the
subprocess; CPU seconds are user + system time of the subprocess and everything it waited for
(``resource.getrusage(RUSAGE_CHILDREN)`` before/after). ``ratio = reference / srbench`` (> 1: srbench
faster).

* P1  classic suite, cold: bicubic x2/x3/x4 on Set5/Set14/B100/Urban100, PSNR-Y + SSIM-Y (``psnr_y``,
      ``ssim_y``: BasicSR's ``calculate_psnr`` / ``calculate_ssim`` with ``test_y_channel=True,
      crop_border=scale``). srbench = the CLI ``srbench run -m bicubic -d set5,set14,b100,urban100
      --scale 2,3,4 --metrics psnr_y,ssim_y --out DIR --no-progress`` with a fresh empty ``SRBENCH_HOME``.
      Reference A = BasicSR's own functions (PyPI ``basicsr``, loaded by file path without executing the
      package ``__init__``, which imports a torchvision module that no longer exists): ``cv2.imread``
      (``IMREAD_UNCHANGED``), ``mod_crop``, ``imresize`` down then up (input in [0, 1] as its docstring
      asks, rounded to uint8 after each call as BasicSR's ``tensor2img`` does), ``calculate_psnr`` /
      ``calculate_ssim``. Reference B = scikit-image: ``io.imread``, ``transform.resize(order=3,
      mode='edge', anti_aliasing=True)`` (the setting closest to MATLAB's bicubic), ``color.rgb2ycbcr``,
      ``metrics.peak_signal_noise_ratio`` / ``structural_similarity(gaussian_weights=True, sigma=1.5,
      use_sample_covariance=False)`` on the shaved Y plane.
* P2  LPIPS + NIQE + FID on Urban100 x4 (bicubic SR): srbench CLI ``--metrics lpips,niqe,fid`` (cold)
      vs a pyiqa ``create_metric`` loop (``lpips``, ``niqe`` with ``crop_border=4``, ``fid`` on folders,
      ``mode='legacy_pytorch'``). The SR/HR PNGs for pyiqa are written beforehand, outside the timing.
* P3  warm re-run of P1 (same ``SRBENCH_HOME``, same command, new ``--out``): wall seconds.
* P4  peak RSS of ``srbench run -m bicubic -d urban100 --scale 4 --metrics psnr_y,ssim_y,lpips,niqe,fid``
      (cold): ``/usr/bin/time -v`` (largest single process) and the sampled PSS sum of the process tree.
* P5  scaling: P1 (cold) with ``--workers 1`` vs ``--workers 2`` and vs ``--executor ray --workers 2``;
      "not available" when ``srbench run --help`` lacks the flags or ``import ray`` fails.

The datasets come from the offline mirror: ``$SRBENCH_MIRROR``, else ``../shared/mirror`` beside the
repository; ``TORCH_HOME`` is set to ``<mirror>/torch`` and ``SRBENCH_OFFLINE=1``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ALL = ("P1", "P2", "P3", "P4", "P5")
P1_DATASETS = ("set5", "set14", "b100", "urban100")
SCALES = (2, 3, 4)
IMAGE_EXT = {".png", ".webp", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff"}
GIB = 2**30
TARGETS = {
    "P1": "BasicSR: >= 3x wall, >= 2x CPU, identical values",
    "P2": ">= 2x wall",
    "P3": "<= 2 s wall",
    "P4": "<= 2 GiB",
    "P5": ">= 1.6x wall",
}


# ---------------------------------------------------------------------------------------------------
# environment
# ---------------------------------------------------------------------------------------------------
def find_mirror() -> Path | None:
    cands = [p for p in os.environ.get("SRBENCH_MIRROR", "").split(os.pathsep) if p.strip()]
    cands += [str(ROOT.parent / "shared" / "mirror")]
    for c in cands:
        if (Path(c) / "datasets").is_dir():
            return Path(c).resolve()
    return None


def base_env(mirror: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["SRBENCH_MIRROR"] = str(mirror)
    env["TORCH_HOME"] = str(mirror / "torch")
    env["SRBENCH_OFFLINE"] = "1"
    env.pop("SRBENCH_WORKERS", None)  # the CLI's own default (--workers auto) unless a P sets it
    env.pop("SRBENCH_HOME", None)
    env.setdefault("PYTHONWARNINGS", "ignore")
    return env


def srbench_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "srbench"
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("srbench")
    return [found] if found else [sys.executable, "-m", "srbench"]


def list_images(mirror: Path, dataset: str) -> list[Path]:
    folder = mirror / "datasets" / dataset / "HR"
    if not folder.is_dir():
        raise SystemExit(f"dataset {dataset!r}: {folder} not found")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXT)


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in ("srbench", "basicsr", "scikit-image", "pyiqa", "torch", "numpy", "opencv-python", "ray"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


# ---------------------------------------------------------------------------------------------------
# reference implementations (imported lazily: these run inside the worker subprocesses)
# ---------------------------------------------------------------------------------------------------
def basicsr_modules():
    """BasicSR's psnr_ssim, matlab_functions and data.transforms, loaded by file path.

    ``import basicsr`` runs the package ``__init__``, which imports every arch/model/data module and trips
    over ``torchvision.transforms.functional_tensor`` (removed from torchvision). The parent packages are
    stubbed in ``sys.modules`` (empty modules with the right ``__path__``) so that only the modules needed
    here and what they import are executed, unmodified, from the installed package.
    """
    import importlib.util
    import types

    spec = importlib.util.find_spec("basicsr")  # locates the package without executing it
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("BasicSR is not installed: .venv/bin/pip install basicsr==1.4.2 (benchmark-only)")
    root = Path(next(iter(spec.submodule_search_locations)))

    def stub(name: str, folder: Path):
        mod = types.ModuleType(name)
        mod.__path__ = [str(folder)]
        sys.modules[name] = mod
        return mod

    def load(name: str, rel: str):
        s = importlib.util.spec_from_file_location(name, root / rel)
        mod = importlib.util.module_from_spec(s)
        sys.modules[name] = mod
        s.loader.exec_module(mod)
        return mod

    stub("basicsr", root)
    utils = stub("basicsr.utils", root / "utils")
    stub("basicsr.metrics", root / "metrics")
    stub("basicsr.data", root / "data")
    color = load("basicsr.utils.color_util", "utils/color_util.py")
    utils.bgr2ycbcr = color.bgr2ycbcr  # metric_util does `from basicsr.utils import bgr2ycbcr`
    load("basicsr.utils.registry", "utils/registry.py")
    load("basicsr.metrics.metric_util", "metrics/metric_util.py")
    psnr_ssim = load("basicsr.metrics.psnr_ssim", "metrics/psnr_ssim.py")
    matlab = load("basicsr.utils.matlab_functions", "utils/matlab_functions.py")
    transforms = load("basicsr.data.transforms", "data/transforms.py")
    return psnr_ssim, matlab, transforms


def basicsr_sr(hr, scale, matlab):
    """BasicSR bicubic down then up of a modcropped uint8 (BGR or grey) HR; LR and SR uint8."""
    import numpy as np

    def u8(x):  # BasicSR tensor2img: clamp to [0, 1], * 255, round
        return np.clip(np.round(np.clip(x, 0, 1) * 255.0), 0, 255).astype(np.uint8)

    lr = u8(matlab.imresize(hr.astype(np.float32) / 255.0, 1 / scale))
    sr = u8(matlab.imresize(lr.astype(np.float32) / 255.0, scale))
    return lr, sr


def skimage_sr(hr, scale):
    """scikit-image bicubic down then up of a modcropped uint8 (RGB or grey) HR; LR and SR uint8."""
    import numpy as np
    from skimage.transform import resize

    def u8(x):
        return np.clip(np.round(x), 0, 255).astype(np.uint8)

    h, w = hr.shape[:2]
    lr = u8(resize(hr, (h // scale, w // scale) + hr.shape[2:], order=3, mode="edge", anti_aliasing=True,
                   preserve_range=True))
    sr = u8(resize(lr, hr.shape, order=3, mode="edge", anti_aliasing=False, preserve_range=True))
    return lr, sr


def skimage_scores(sr, hr, scale):
    import numpy as np
    from skimage.color import rgb2ycbcr
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    def y(a):
        return rgb2ycbcr(a)[..., 0] if a.ndim == 3 else a.astype(np.float64)

    ys, yh = y(sr)[scale:-scale, scale:-scale], y(hr)[scale:-scale, scale:-scale]
    p = peak_signal_noise_ratio(yh, ys, data_range=255)
    s = structural_similarity(yh, ys, data_range=255, gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False)
    return float(p), float(s)


def worker_basicsr(spec: dict) -> dict:
    t0 = time.perf_counter()
    import cv2

    psnr_ssim, matlab, transforms = basicsr_modules()
    t_import = time.perf_counter() - t0
    out: dict[str, dict] = {}
    for ds in spec["datasets"]:
        for path in list_images(Path(spec["mirror"]), ds):
            img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)  # BGR (or HxW grey), as BasicSR's scripts read
            for s in spec["scales"]:
                hr = transforms.mod_crop(img, s)
                _, sr = basicsr_sr(hr, s, matlab)
                p = psnr_ssim.calculate_psnr(sr, hr, crop_border=s, input_order="HWC", test_y_channel=True)
                q = psnr_ssim.calculate_ssim(sr, hr, crop_border=s, input_order="HWC", test_y_channel=True)
                out.setdefault(f"{ds}/{s}", {})[path.stem] = [float(p), float(q)]
    return {"values": out, "import_s": t_import}


def worker_skimage(spec: dict) -> dict:
    t0 = time.perf_counter()
    from skimage.io import imread

    t_import = time.perf_counter() - t0
    out: dict[str, dict] = {}
    for ds in spec["datasets"]:
        for path in list_images(Path(spec["mirror"]), ds):
            img = imread(path)
            for s in spec["scales"]:
                h, w = img.shape[:2]
                hr = img[: h - h % s, : w - w % s]
                _, sr = skimage_sr(hr, s)
                out.setdefault(f"{ds}/{s}", {})[path.stem] = list(skimage_scores(sr, hr, s))
    return {"values": out, "import_s": t_import}


def worker_pyiqa(spec: dict) -> dict:
    t0 = time.perf_counter()
    import lpips
    import pyiqa
    import pyiqa.archs.inception as pyiqa_inception
    import torch

    mirror = Path(spec["mirror"])
    # pyiqa looks for its FID Inception and LPIPS linear layers in $TORCH_HOME/hub/pyiqa (and downloads them
    # when absent); the mirror holds the Inception under hub/checkpoints and the LPIPS v0.1 layers ship with
    # the lpips package (the same tensors pyiqa's LPIPS_v0.1_alex file holds): hand both over by path.
    pyiqa_inception.FID_WEIGHTS_URL = str(mirror / "torch/hub/checkpoints/pt_inception-2015-12-05-6726825d.pth")
    lin = Path(lpips.__file__).parent / "weights" / "v0.1" / "alex.pth"
    m_lpips = pyiqa.create_metric("lpips", device="cpu", pretrained_model_path=str(lin))
    m_niqe = pyiqa.create_metric("niqe", device="cpu", crop_border=4, color_space="ycbcr")  # PIRM: Y of rgb2ycbcr, 4 px shaved
    m_fid = pyiqa.create_metric("fid", device="cpu")
    t_import = time.perf_counter() - t0
    lp, nq = {}, {}
    with torch.no_grad():
        for name, sr, hr in spec["pairs"]:
            lp[name] = float(m_lpips(sr, hr))
            nq[name] = float(m_niqe(sr))
        fid = float(m_fid(spec["sr_dir"], spec["hr_dir"], mode="legacy_pytorch", verbose=False))
    return {"lpips": lp, "niqe": nq, "fid": fid, "import_s": t_import}


def worker_checks(spec: dict) -> dict:
    """Untimed: where the P1 values come apart. Same SR through the other metric code; same HR through the
    other resize code."""
    import numpy as np
    from PIL import Image

    sys.path.insert(0, str(ROOT))
    from srbench.conventions import modcrop
    from srbench.imresize import imresize
    from srbench.metrics.base import MetricContext
    from srbench.metrics.fidelity import psnr_y, ssim_y

    psnr_ssim, matlab, _ = basicsr_modules()
    f_p, f_s = psnr_y(), ssim_y()
    acc = {k: 0.0 for k in ("bsr_metric_p", "bsr_metric_s", "sk_metric_p", "sk_metric_s")}
    px = {k: [0, 0, 0] for k in ("bsr_lr", "bsr_sr", "sk_lr", "sk_sr")}  # max |d|, differing px, px

    def bgr(a):
        return np.ascontiguousarray(a[..., ::-1]) if a.ndim == 3 else a

    def cmp(key, a, b):
        d = np.abs(a.astype(np.int16) - b.astype(np.int16))
        px[key][0] = max(px[key][0], int(d.max()))
        px[key][1] += int(np.count_nonzero(d))
        px[key][2] += d.size

    for ds in spec["datasets"]:
        for path in list_images(Path(spec["mirror"]), ds):
            with Image.open(path) as im:
                img = np.asarray(im if im.mode == "L" else im.convert("RGB"))
            for s in spec["scales"]:
                hr = modcrop(img, s)
                lr = imresize(hr, 1 / s)
                sr = imresize(lr, s)
                ctx = MetricContext(scale=s)
                p0, s0 = f_p(sr, hr, ctx), f_s(sr, hr, ctx)
                p1 = psnr_ssim.calculate_psnr(bgr(sr), bgr(hr), crop_border=s, test_y_channel=True)
                s1 = psnr_ssim.calculate_ssim(bgr(sr), bgr(hr), crop_border=s, test_y_channel=True)
                p2, s2 = skimage_scores(sr, hr, s)
                acc["bsr_metric_p"] = max(acc["bsr_metric_p"], abs(p1 - p0))
                acc["bsr_metric_s"] = max(acc["bsr_metric_s"], abs(s1 - s0))
                acc["sk_metric_p"] = max(acc["sk_metric_p"], abs(p2 - p0))
                acc["sk_metric_s"] = max(acc["sk_metric_s"], abs(s2 - s0))
                b_lr, b_sr = basicsr_sr(bgr(hr), s, matlab)
                cmp("bsr_lr", bgr(b_lr), lr)
                cmp("bsr_sr", bgr(b_sr), sr)
                k_lr, k_sr = skimage_sr(hr, s)
                cmp("sk_lr", k_lr, lr)
                cmp("sk_sr", k_sr, sr)
    return {"metric": acc, "pixels": px}


WORKERS = {"basicsr": worker_basicsr, "skimage": worker_skimage, "pyiqa": worker_pyiqa, "checks": worker_checks}


def worker_main(kind: str, spec_file: str, result_file: str) -> int:
    spec = json.loads(Path(spec_file).read_text())
    res = WORKERS[kind](spec)
    Path(result_file).write_text(json.dumps(res))
    return 0


# ---------------------------------------------------------------------------------------------------
# running and timing one side
# ---------------------------------------------------------------------------------------------------
class SideFailed(RuntimeError):
    pass


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str], env: dict, log: Path) -> tuple[float, float]:
    """(wall s, CPU s) of one subprocess; raises SideFailed with the log's tail on a non-zero exit."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        c0, t0 = _cpu_children(), time.perf_counter()
        rc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False).returncode
        wall, cpu = time.perf_counter() - t0, _cpu_children() - c0
    if rc != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise SideFailed(f"exit {rc}: {' '.join(cmd)}\n--- {log} (tail) ---\n{tail}")
    return wall, cpu


def worker_cmd(kind: str, spec: dict, work: Path, tag: str) -> tuple[list[str], Path]:
    spec_file, result = work / f"{tag}.spec.json", work / f"{tag}.result.json"
    spec_file.write_text(json.dumps(spec))
    return [sys.executable, str(Path(__file__).resolve()), "--worker", kind, spec_file.as_posix(), result.as_posix()], result


def run_rounds(sides: dict[str, callable], rounds: int, label: str) -> dict[str, dict]:
    """Run each side once per round, the order rotated each round; medians of wall and CPU seconds.

    ``sides[name](round) -> (wall, cpu, extra)``; the result keeps the last round's ``extra``."""
    names = list(sides)
    res = {n: {"wall": [], "cpu": [], "extra": None} for n in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for n in order:
            print(f"  [{label}] round {r + 1}/{rounds}: {n} ...", end="", flush=True)
            wall, cpu, extra = sides[n](r)
            print(f" {wall:.1f} s wall, {cpu:.1f} CPU-s", flush=True)
            res[n]["wall"].append(wall)
            res[n]["cpu"].append(cpu)
            res[n]["extra"] = extra
    for n in names:
        res[n]["wall_med"] = statistics.median(res[n]["wall"])
        res[n]["cpu_med"] = statistics.median(res[n]["cpu"])
    return res


# ---------------------------------------------------------------------------------------------------
# srbench run folders
# ---------------------------------------------------------------------------------------------------
def read_summary(run: Path) -> dict[tuple, float]:
    out = {}
    with open(run / "summary.csv", newline="") as f:
        for row in csv.DictReader(f):
            out[(row["dataset"], int(row["scale"]), row["metric"])] = float(row["value"])
    return out


def read_per_image(run: Path) -> dict[tuple, float]:
    out = {}
    with open(run / "per_image.csv", newline="") as f:
        for row in csv.DictReader(f):
            out[(row["dataset"], int(row["scale"]), row["image"], row["metric"])] = float(row["value"])
    return out


def p1_cli(datasets, out: Path, extra=()) -> list[str]:
    return srbench_cmd() + ["run", "-m", "bicubic", "-d", ",".join(datasets), "--scale", ",".join(map(str, SCALES)),
                            "--metrics", "psnr_y,ssim_y", "--out", str(out), "--no-progress", *extra]


def srbench_side(cmd_for, env: dict, work: Path, tag: str, keep_home: list | None = None):
    """A side that runs the srbench CLI with a fresh SRBENCH_HOME each round."""

    def side(r: int):
        for old in work.glob(f"{tag}-r*/home"):  # ~0.8 GiB each for the full P1: keep only the newest
            shutil.rmtree(old, ignore_errors=True)
        d = work / f"{tag}-r{r}"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        e = dict(env, SRBENCH_HOME=str(d / "home"))
        wall, cpu = timed(cmd_for(d / "run"), e, work / "logs" / f"{tag}-r{r}.log")
        if keep_home is not None:
            keep_home[:] = [d / "home", cmd_for]
        return wall, cpu, d / "run"

    return side


# ---------------------------------------------------------------------------------------------------
# formatting
# ---------------------------------------------------------------------------------------------------
def fmt_s(x) -> str:
    return "-" if x is None else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def fmt_ratio(x) -> str:
    return "-" if x is None else f"{x:.2f}x"


def agreement(dp: float, ds: float) -> str:
    if dp <= 1e-6 and ds <= 1e-8:
        return "identical"
    if dp < 0.005 and ds < 0.00005:
        return "agree to table precision"
    return "differ"


def text_table(head, rows) -> str:
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def md_table(head, rows) -> str:
    esc = lambda c: str(c).replace("|", "\\|")
    out = ["| " + " | ".join(map(esc, head)) + " |", "|" + "---|" * len(head)]
    return "\n".join(out + ["| " + " | ".join(map(esc, r)) + " |" for r in rows])


MAIN_HEAD = ("P", "measurement", "reference", "ref wall s", "ref CPU s", "srbench wall s", "srbench CPU s",
             "result", "target", "met", "values")


# ---------------------------------------------------------------------------------------------------
# the measurements
# ---------------------------------------------------------------------------------------------------
class Suite:
    def __init__(self, args, mirror: Path, work: Path):
        self.args, self.mirror, self.work = args, mirror, work
        self.env = base_env(mirror)
        self.rounds = 1 if args.quick and args.rounds is None else (args.rounds or 3)
        self.p1_datasets = ("set5",) if args.quick else P1_DATASETS
        self.big = "set5" if args.quick else "urban100"
        self.rows: list[list] = []
        self.details: list[tuple[str, tuple, list[list]]] = []  # (title, head, rows)
        self.notes: list[str] = []
        self.commands: list[str] = []
        self.p1_warm: list = []  # [home, cmd_for] of the last cold srbench P1 run
        self.vers = versions()
        self._help = None

    # -- helpers
    def run_help(self) -> str:
        if self._help is None:
            p = subprocess.run(srbench_cmd() + ["run", "--help"], env=self.env, capture_output=True, text=True, check=False)
            self._help = p.stdout + p.stderr
        return self._help

    def spec(self, **kw) -> dict:
        return {"mirror": str(self.mirror), **kw}

    def worker_side(self, kind: str, spec: dict, tag: str):
        def side(r: int):
            cmd, result = worker_cmd(kind, spec, self.work, f"{tag}-r{r}")
            wall, cpu = timed(cmd, self.env, self.work / "logs" / f"{tag}-r{r}.log")
            return wall, cpu, json.loads(result.read_text())

        return side

    def fail_row(self, p, what, exc) -> None:
        msg = str(exc).splitlines()[0]
        print(f"  {p} failed: {exc}", file=sys.stderr)
        self.rows.append([p, what, "-", "-", "-", "-", "-", "failed", TARGETS[p], "-", msg[:120]])

    # -- P1
    def p1(self) -> None:
        ds = self.p1_datasets
        what = f"bicubic x2/x3/x4, {'+'.join(ds)}, psnr_y+ssim_y, cold"
        print(f"P1: {what}")
        self.commands.append("P1 srbench: " + " ".join(p1_cli(ds, Path("DIR"))) + "   (fresh SRBENCH_HOME)")
        spec = self.spec(datasets=list(ds), scales=list(SCALES))
        sides = {
            "srbench": srbench_side(lambda out: p1_cli(ds, out), self.env, self.work, "p1-srbench", self.p1_warm),
            "basicsr": self.worker_side("basicsr", spec, "p1-basicsr"),
        }
        if not self.args.no_skimage:
            sides["skimage"] = self.worker_side("skimage", spec, "p1-skimage")
        try:
            res = run_rounds(sides, self.rounds, "P1")
        except SideFailed as exc:
            self.fail_row("P1", what, exc)
            return
        run = res["srbench"]["extra"]
        summ, per = read_summary(run), read_per_image(run)
        sw, sc = res["srbench"]["wall_med"], res["srbench"]["cpu_med"]
        detail_rows = {}
        for ref, label in (("basicsr", f"BasicSR {self.vers.get('basicsr', '?')}"),
                           ("skimage", f"scikit-image {self.vers.get('scikit-image', '?')}")):
            if ref not in res:
                continue
            r = res[ref]
            vals = r["extra"]["values"]
            dmp = dms = dip = dis = 0.0
            for key, imgs in vals.items():
                d, s = key.split("/")
                s = int(s)
                mp = statistics.fmean(v[0] for v in imgs.values())
                ms = statistics.fmean(v[1] for v in imgs.values())
                dmp = max(dmp, abs(mp - summ[(d, s, "psnr_y")]))
                dms = max(dms, abs(ms - summ[(d, s, "ssim_y")]))
                for name, (p, q) in imgs.items():
                    dip = max(dip, abs(p - per[(d, s, name, "psnr_y")]))
                    dis = max(dis, abs(q - per[(d, s, name, "ssim_y")]))
                detail_rows.setdefault((d, s), {})[ref] = (mp, ms)
            rw, rc = r["wall_med"], r["cpu_med"]
            ratio_w, ratio_c = rw / sw, rc / sc
            verdict = agreement(dmp, dms)
            if ref == "basicsr":
                met = (f"wall {'yes' if ratio_w >= 3 else 'no'}, CPU {'yes' if ratio_c >= 2 else 'no'}, "
                       f"values {'yes' if verdict == 'identical' else 'no'}")
                target = TARGETS["P1"]
            else:
                met, target = "-", "- (information)"
            values = (f"{verdict}: means PSNR max|d| {dmp:.2g} dB, SSIM {dms:.2g}; per image {dip:.2g} dB, {dis:.2g}")
            self.rows.append(["P1", what, label, fmt_s(rw), fmt_s(rc), fmt_s(sw), fmt_s(sc),
                              f"{fmt_ratio(ratio_w)} wall, {fmt_ratio(ratio_c)} CPU", target, met, values])
            self.notes.append(f"P1 {label}: imports/module loading {r['extra']['import_s']:.1f} s of its wall time")
        head = ("dataset", "scale", "srbench PSNR", "srbench SSIM", "BasicSR PSNR", "BasicSR SSIM",
                "skimage PSNR", "skimage SSIM")
        rows = []
        for (d, s) in sorted(detail_rows, key=lambda k: (P1_DATASETS.index(k[0]) if k[0] in P1_DATASETS else 9, k[1])):
            b = detail_rows[(d, s)]["basicsr"]
            k = detail_rows[(d, s)].get("skimage")
            rows.append([d, f"x{s}", f"{summ[(d, s, 'psnr_y')]:.4f}", f"{summ[(d, s, 'ssim_y')]:.4f}",
                         f"{b[0]:.4f}", f"{b[1]:.4f}"] + ([f"{k[0]:.4f}", f"{k[1]:.4f}"] if k else ["-", "-"]))
        self.details.append(("P1 values (dataset means)", head, rows))
        self.checks()

    def checks(self) -> None:
        ds = [d for d in self.p1_datasets if d in ("set5", "set14")]
        print(f"P1 value checks (untimed, {'+'.join(ds)}): metric code on srbench's SR, resize code on the same HR")
        cmd, result = worker_cmd("checks", self.spec(datasets=ds, scales=list(SCALES)), self.work, "p1-checks")
        try:
            timed(cmd, self.env, self.work / "logs" / "p1-checks.log")
        except SideFailed as exc:
            print(f"  checks failed: {exc}", file=sys.stderr)
            return
        c = json.loads(result.read_text())
        m, px = c["metric"], c["pixels"]

        def pix(k):
            mx, n, tot = px[k]
            return f"max|d| {mx} grey levels, {100 * n / max(tot, 1):.1f} % of values differ"

        head = ("check", "what", "result")
        rows = [
            ["metric code", "BasicSR calculate_psnr/ssim on srbench's SR vs psnr_y/ssim_y (per image)",
             f"PSNR max|d| {m['bsr_metric_p']:.2g} dB, SSIM {m['bsr_metric_s']:.2g}"],
            ["metric code", "skimage PSNR/SSIM (rgb2ycbcr Y) on srbench's SR vs psnr_y/ssim_y (per image)",
             f"PSNR max|d| {m['sk_metric_p']:.2g} dB, SSIM {m['sk_metric_s']:.2g}"],
            ["resize code", "BasicSR imresize LR vs srbench (MATLAB-exact) LR", pix("bsr_lr")],
            ["resize code", "BasicSR SR vs srbench SR", pix("bsr_sr")],
            ["resize code", "skimage resize LR vs srbench LR", pix("sk_lr")],
            ["resize code", "skimage SR vs srbench SR", pix("sk_sr")],
        ]
        self.details.append((f"P1 where the values differ ({'+'.join(ds)}, x2/x3/x4, untimed)", head, rows))

    # -- P2
    def p2(self) -> None:
        ds = self.big
        what = f"lpips+niqe+fid, {ds} x4 (bicubic SR), cold"
        print(f"P2: {what}")
        cli = lambda out: srbench_cmd() + ["run", "-m", "bicubic", "-d", ds, "--scale", "4", "--metrics",
                                           "lpips,niqe,fid", "--out", str(out), "--no-progress"]
        self.commands.append("P2 srbench: " + " ".join(cli(Path("DIR"))) + "   (fresh SRBENCH_HOME)")
        try:
            spec = self.prepare_pyiqa(ds, 4)
            res = run_rounds({
                "srbench": srbench_side(cli, self.env, self.work, "p2-srbench"),
                "pyiqa": self.worker_side("pyiqa", spec, "p2-pyiqa"),
            }, self.rounds, "P2")
        except SideFailed as exc:
            self.fail_row("P2", what, exc)
            return
        run = res["srbench"]["extra"]
        summ, per = read_summary(run), read_per_image(run)
        q = res["pyiqa"]["extra"]
        rows, diffs = [], []
        for metric in ("lpips", "niqe"):
            mean_q = statistics.fmean(q[metric].values())
            mean_s = summ[(ds, 4, metric)]
            d_img = max(abs(v - per[(ds, 4, n, metric)]) for n, v in q[metric].items())
            rows.append([metric, f"{mean_s:.4f}", f"{mean_q:.4f}", f"{abs(mean_s - mean_q):.2g}", f"{d_img:.2g}"])
            diffs.append(f"{metric.upper()} |d| {abs(mean_s - mean_q):.2g}")
        rows.append(["fid", f"{summ[(ds, 4, 'fid')]:.4f}", f"{q['fid']:.4f}", f"{abs(summ[(ds, 4, 'fid')] - q['fid']):.2g}", "-"])
        diffs.append(f"FID |d| {abs(summ[(ds, 4, 'fid')] - q['fid']):.2g}")
        self.details.append((f"P2 values ({ds} x4)", ("metric", "srbench", f"pyiqa {self.vers.get('pyiqa', '?')}",
                                                         "mean |d|", "per image max|d|"), rows))
        sw, sc = res["srbench"]["wall_med"], res["srbench"]["cpu_med"]
        rw, rc = res["pyiqa"]["wall_med"], res["pyiqa"]["cpu_med"]
        self.rows.append(["P2", what, f"pyiqa {self.vers.get('pyiqa', '?')}", fmt_s(rw), fmt_s(rc), fmt_s(sw), fmt_s(sc),
                          f"{fmt_ratio(rw / sw)} wall, {fmt_ratio(rc / sc)} CPU", TARGETS["P2"],
                          "yes" if rw / sw >= 2 else "no", "; ".join(diffs) + " (dataset values)"])
        self.notes.append(f"P2 pyiqa: imports/model creation {q['import_s']:.1f} s of its wall time; its SR/HR PNGs "
                          "were written before the timing, srbench's time includes making the SR")

    def prepare_pyiqa(self, ds: str, s: int) -> dict:
        """SR (srbench's MATLAB bicubic, the same SR the srbench side scores) and modcropped HR as PNGs."""
        import numpy as np
        from PIL import Image

        sys.path.insert(0, str(ROOT))
        from srbench.conventions import modcrop
        from srbench.imresize import imresize

        sr_dir, hr_dir = self.work / f"p2-{ds}-x{s}" / "SR", self.work / f"p2-{ds}-x{s}" / "HR"
        sr_dir.mkdir(parents=True, exist_ok=True)
        hr_dir.mkdir(parents=True, exist_ok=True)
        pairs = []
        for p in list_images(self.mirror, ds):
            with Image.open(p) as im:
                hr = modcrop(np.asarray(im if im.mode == "L" else im.convert("RGB")), s)
            sr = imresize(imresize(hr, 1 / s), s)
            a, b = sr_dir / f"{p.stem}.png", hr_dir / f"{p.stem}.png"
            Image.fromarray(sr).save(a)
            Image.fromarray(np.ascontiguousarray(hr)).save(b)
            pairs.append([p.stem, str(a), str(b)])
        return self.spec(pairs=pairs, sr_dir=str(sr_dir), hr_dir=str(hr_dir))

    # -- P3
    def p3(self) -> None:
        ds = self.p1_datasets
        what = f"warm re-run of P1 ({'+'.join(ds)})"
        print(f"P3: {what}")
        try:
            if not self.p1_warm:
                print("  [P3] cold P1 run to fill the cache (untimed) ...", flush=True)
                srbench_side(lambda out: p1_cli(ds, out), self.env, self.work, "p3-cold", self.p1_warm)(0)
            home, cmd_for = self.p1_warm
            env = dict(self.env, SRBENCH_HOME=str(home))
            self.commands.append("P3 srbench: the P1 command again with the same SRBENCH_HOME, a new --out")

            def side(r):
                out = self.work / f"p3-warm-r{r}"
                shutil.rmtree(out, ignore_errors=True)
                wall, cpu = timed(cmd_for(out), env, self.work / "logs" / f"p3-r{r}.log")
                return wall, cpu, out

            res = run_rounds({"srbench": side}, self.rounds, "P3")
        except SideFailed as exc:
            self.fail_row("P3", what, exc)
            return
        w, c = res["srbench"]["wall_med"], res["srbench"]["cpu_med"]
        self.rows.append(["P3", what, "-", "-", "-", fmt_s(w), fmt_s(c), f"{w:.2f} s", TARGETS["P3"],
                          "yes" if w <= 2 else "no", "-"])

    # -- P4
    def p4(self) -> None:
        ds = self.big
        metrics = "psnr_y,ssim_y,lpips,niqe,fid"
        what = f"peak memory, {ds} x4, {metrics}, cold"
        print(f"P4: {what}")
        d = self.work / "p4"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        cmd = srbench_cmd() + ["run", "-m", "bicubic", "-d", ds, "--scale", "4", "--metrics", metrics,
                               "--out", str(d / "run"), "--no-progress"]
        self.commands.append("P4 srbench: " + " ".join(cmd).replace(str(d / "run"), "DIR") + "   (fresh SRBENCH_HOME)")
        gnu_time = Path("/usr/bin/time")
        report = d / "time.txt"
        if gnu_time.is_file():
            full = [str(gnu_time), "-v", "-o", str(report)] + cmd
        else:
            full = [sys.executable, str(Path(__file__).resolve()), "--rss-wrapper", str(report), "--"] + cmd
        env = dict(self.env, SRBENCH_HOME=str(d / "home"))
        sampler = TreeSampler()
        log = self.work / "logs" / "p4.log"
        try:
            with open(log, "w") as fh:
                c0, t0 = _cpu_children(), time.perf_counter()
                proc = subprocess.Popen(full, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                sampler.start(proc.pid)
                rc = proc.wait()
                sampler.stop()
                wall, cpu = time.perf_counter() - t0, _cpu_children() - c0
            if rc != 0:
                raise SideFailed(f"exit {rc}: {' '.join(cmd)} (log {log})")
        except SideFailed as exc:
            self.fail_row("P4", what, exc)
            return
        text = report.read_text(errors="replace")
        m = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", text)
        peak = int(m.group(1)) * 1024 if m else int(text.strip().split()[-1]) * 1024
        tree = sampler.peak_pss
        self.rows.append(["P4", what, "-", "-", "-", fmt_s(wall), fmt_s(cpu), f"{peak / GIB:.2f} GiB", TARGETS["P4"],
                          "yes" if max(peak, tree) <= 2 * GIB else "no",
                          (f"largest process (max RSS, {'/usr/bin/time -v' if gnu_time.is_file() else 'getrusage'}); "
                           f"process tree peak PSS sum {tree / GIB:.2f} GiB (sampled every {sampler.every}s)")])

    # -- P5
    def p5(self) -> None:
        ds = self.p1_datasets
        what = f"P1 cold ({'+'.join(ds)}), scaling"
        print(f"P5: {what}")
        if "--workers" not in self.run_help():
            print("  [P5] not available: `srbench run --help` has no --workers")
            self.rows.append(["P5", what, "--workers 1", "-", "-", "-", "-", "not available", TARGETS["P5"], "-",
                              "srbench run has no --workers"])
            return
        sides = {
            "workers1": srbench_side(lambda out: p1_cli(ds, out, ("--workers", "1")), self.env, self.work, "p5-w1"),
            "workers2": srbench_side(lambda out: p1_cli(ds, out, ("--workers", "2")), self.env, self.work, "p5-w2"),
        }
        ray_why = None
        if "--executor" not in self.run_help() or "ray" not in self.run_help():
            ray_why = "srbench run has no --executor ray"
        else:
            p = subprocess.run([sys.executable, "-c", "import ray"], env=self.env, capture_output=True, text=True, check=False)
            if p.returncode != 0:
                ray_why = "import ray failed (" + (p.stderr.strip().splitlines() or ["?"])[-1][:80] + ")"
        if ray_why is None:
            sides["ray2"] = srbench_side(lambda out: p1_cli(ds, out, ("--executor", "ray", "--workers", "2")),
                                         self.env, self.work, "p5-ray2")
        self.commands.append("P5 srbench: the P1 command + `--workers 1` / `--workers 2` / `--executor ray --workers 2`"
                             "   (fresh SRBENCH_HOME each)")
        try:
            res = run_rounds(sides, self.rounds, "P5")
        except SideFailed as exc:
            self.fail_row("P5", what, exc)
            return
        w1 = res["workers1"]
        base = read_summary(w1["extra"])
        for key, label in (("workers2", "--workers 2"), ("ray2", "--executor ray --workers 2")):
            if key not in res:
                self.rows.append(["P5", f"{what}: {label}", "--workers 1", "-", "-", "-", "-", "not available",
                                  TARGETS["P5"], "-", ray_why])
                continue
            r = res[key]
            other = read_summary(r["extra"])
            same = "values identical to --workers 1" if other == base else (
                f"values differ from --workers 1 (max|d| {max(abs(other[k] - base.get(k, float('nan'))) for k in other):.2g})")
            ratio = w1["wall_med"] / r["wall_med"]
            self.rows.append(["P5", f"{what}: {label}", "--workers 1", fmt_s(w1["wall_med"]), fmt_s(w1["cpu_med"]),
                              fmt_s(r["wall_med"]), fmt_s(r["cpu_med"]),
                              f"{fmt_ratio(ratio)} wall, {fmt_ratio(w1['cpu_med'] / r['cpu_med'])} CPU", TARGETS["P5"],
                              "yes" if ratio >= 1.6 else "no", same])
        if "ray2" in res:
            self.notes.append("P5 ray: CPU seconds count only the processes srbench waits for; Ray's own daemons "
                              "may be missing from them")

    # -- output
    def report(self) -> str:
        head = (f"srbench suite, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores ({platform.machine()}), "
                f"median of {self.rounds} round(s){', QUICK (Set5 only; targets refer to the full run)' if self.args.quick else ''}; "
                "ratio = reference / srbench (> 1: srbench faster)")
        vers = ", ".join(f"{k} {v}" for k, v in self.vers.items())
        out = [head, vers, "", text_table(MAIN_HEAD, self.rows)]
        for title, h, rows in self.details:
            out += ["", title, text_table(h, rows)]
        if self.notes or self.commands:
            out += [""] + [f"- {n}" for n in self.commands + self.notes]
        return "\n".join(out)

    def markdown(self) -> str:
        out = [f"Measured {time.strftime('%Y-%m-%d')}: {os.cpu_count()} cores, median of {self.rounds} round(s)"
               f"{' (QUICK: Set5 only)' if self.args.quick else ''}; "
               + ", ".join(f"{k} {v}" for k, v in self.vers.items()) + "; ratio = reference / srbench (> 1: srbench faster).",
               "", md_table(MAIN_HEAD, self.rows)]
        for title, h, rows in self.details:
            out += ["", f"**{title}**", "", md_table(h, rows)]
        if self.notes or self.commands:
            out += [""] + [f"- {n}" for n in self.commands + self.notes]
        return "\n".join(out) + "\n"


class TreeSampler:
    """Peak of the summed PSS (RSS where PSS is unreadable) of a process and its descendants, from /proc."""

    every = 0.2

    def __init__(self):
        self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = None

    @staticmethod
    def _children() -> dict[int, list[int]]:
        kids: dict[int, list[int]] = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    stat = Path(f"/proc/{d}/stat").read_text()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
        return kids

    @staticmethod
    def _mem(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _loop(self, root: int) -> None:
        while not self._stop.is_set():
            if os.path.isdir("/proc"):
                kids = self._children()
                todo, total = [root], 0
                while todo:
                    pid = todo.pop()
                    total += self._mem(pid)
                    todo += kids.get(pid, [])
                self.peak_pss = max(self.peak_pss, total)
            self._stop.wait(self.every)

    def start(self, pid: int) -> None:
        self._thread = threading.Thread(target=self._loop, args=(pid,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()


def rss_wrapper(report: str, cmd: list[str]) -> int:
    """Fallback for /usr/bin/time -v: run cmd, write the children's max RSS (KiB) to report."""
    rc = subprocess.run(cmd, check=False).returncode
    Path(report).write_text(f"Maximum resident set size (kbytes): {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\n")
    return rc


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        return worker_main(*argv[1:4])
    if argv[:1] == ["--rss-wrapper"]:
        return rss_wrapper(argv[1], argv[3:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("parts", nargs="*", metavar="P", help="P1 ... P5 (default: all)")
    ap.add_argument("--quick", action="store_true", help="1 round, Set5 only (a check that everything runs)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per measurement (default 3; --quick: 1)")
    ap.add_argument("--markdown", metavar="FILE", help="also write the tables as markdown to FILE")
    ap.add_argument("--no-skimage", action="store_true",
                    help="P1 without the scikit-image side (its bicubic resize makes it ~15x slower than srbench)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (run folders, logs)")
    ap.add_argument("--workdir", metavar="DIR", help="work folder (default: a new temporary folder)")
    args = ap.parse_args(argv)
    parts = [p.upper() for p in args.parts] or list(ALL)
    bad = [p for p in parts if p not in ALL]
    if bad:
        ap.error(f"unknown part(s) {bad}; choose from {', '.join(ALL)}")
    mirror = find_mirror()
    if mirror is None:
        ap.error("offline mirror not found: set SRBENCH_MIRROR=<folder with datasets/> (or ../shared/mirror)")
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="srbench-suite-"))
    work.mkdir(parents=True, exist_ok=True)
    suite = Suite(args, mirror, work)
    print(f"mirror {mirror}; TORCH_HOME {suite.env['TORCH_HOME']}; work folder {work}; srbench {' '.join(srbench_cmd())}")
    try:
        for p in ALL:
            if p in parts:
                getattr(suite, p.lower())()
    finally:
        text = suite.report()
        print("\n" + text)
        if args.markdown:
            Path(args.markdown).write_text(suite.markdown())
            print(f"\nmarkdown written to {args.markdown}")
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if not any(r[7] == "failed" for r in suite.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
