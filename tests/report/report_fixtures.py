"""Helpers for the report tests: fixture run folders (real tiny PNGs, manifest.json, summary.csv,
per_image.csv in the run format) and a tiny DOM built with the standard library's html.parser."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from PIL import Image

EVIL = "<script>alert(1)</script>"
SCALE = 4
# a window of strong texture in the HR "baby" image: the automatic crop must land on it
TEXTURE = (36, 12, 20, 20)  # x, y, w, h


def _versions():
    """Current metric/adapter versions as the registry has them (so fixture cells are not stale)."""
    try:
        from srbench.registry import metrics

        reg = metrics()
    except Exception:  # noqa: BLE001 - fixtures work without a registry
        reg = {}
    return {name: str(reg[name].version) if name in reg else "1" for name in ("psnr_y", "ssim_y", "lpips", "diversity")}


def _adapter(method: str) -> str:
    try:
        from srbench.registry import methods

        info = methods().get(method.partition(":")[0])
    except Exception:  # noqa: BLE001 - fixtures work without a registry
        info = None
    return str(info.adapter_version) if info is not None else "1"


def _hr_images() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:64]
    baby = np.stack([(xx * 3) % 256, (yy * 4) % 256, np.full_like(xx, 120)], -1).astype(np.float64)
    x, y, w, h = TEXTURE
    baby[y:y + h, x:x + w] = rng.integers(0, 256, (h, w, 3))
    bird = np.stack([(xx[:, :48] * 5) % 256, np.full((48, 48), 60), (yy[:, :48] * 5) % 256], -1).astype(np.float64)
    return {"baby": baby.astype(np.uint8), "bird": bird.astype(np.uint8)}


def _save(path: Path, a: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path)


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


SUMMARY_HEADER = ["method", "dataset", "scale", "metric", "value", "n_images", "protocol", "metric_version",
                  "adapter_version", "dataset_version", "weights_sha256"]

METRICS_META = {
    "psnr_y": {"higher_is_better": True, "full_reference": True, "kind": "image"},
    "ssim_y": {"higher_is_better": True, "full_reference": True, "kind": "image"},
    "lpips": {"higher_is_better": False, "full_reference": True, "kind": "image"},
    "diversity": {"higher_is_better": True, "full_reference": False, "kind": "samples"},
}

# set5 x4 values (run A): edsr best PSNR, esrgan:gan best LPIPS
VALUES_A = {
    "edsr": {"psnr_y": 32.5, "ssim_y": 0.90, "lpips": 0.17},
    "bicubic": {"psnr_y": 28.4, "ssim_y": 0.81, "lpips": 0.34},
    "esrgan:gan": {"psnr_y": 27.0, "ssim_y": 0.78, "lpips": 0.11},
    "srflow": {"psnr_y": 27.5, "ssim_y": 0.79, "lpips": 0.12, "diversity": 0.05},
    EVIL: {"psnr_y": 25.0, "ssim_y": 0.70, "lpips": 0.30},
}


def _manifest(created: str, methods: dict, versions: dict) -> dict:
    return {
        "schema": 1, "srbench_version": "0.1.0", "created": created, "finished": created,
        "command": ["srbench", "run", "--methods", "all", "--note", EVIL], "git_commit": "0123456789abcdef",
        "python": "3.11.2", "platform": "Linux-x86_64", "packages": {"numpy": "2.0"},
        "device": "cpu", "protocol": "rgb", "seed": 0, "samples": 3, "scales": [4],
        "methods": methods,
        "datasets": {"set5": {"version": "1", "pixel_manifest_sha256": "ab" * 32, "n_images": 2, "source": "cache"},
                     "set14": {"version": "1", "pixel_manifest_sha256": "cd" * 32, "n_images": 2, "source": "cache"}},
        "metrics": {k: dict(v, version=versions[k], convention="", provenance={}) for k, v in METRICS_META.items()},
        "timings": {"edsr/set5/x4": {"sr_seconds": 0.1, "metric_seconds": 0.2, "images_computed": 2, "images_cached": 0}},
    }


def _method(title, paper, code_license="MIT", weights_license="n/a", stochastic=False, weights=None, adapter="1"):
    return {"title": title, "paper": paper, "code_license": code_license, "weights_license": weights_license,
            "adapter_version": adapter, "variant": None, "stochastic": stochastic, "reference_based": False,
            "weights": weights or {}, "provenance": {}}


def make_runs(root: Path) -> list[Path]:
    """Two runs: A (newer, current versions, images saved) and B (older: a stale cell, a partial cell,
    and an edsr cell superseded by A)."""
    versions = _versions()
    hr = _hr_images()
    run_a, run_b = root / "run_a", root / "run_b"
    sha = "f" * 64
    methods_a = {
        "edsr": _method("EDSR", "Lim et al., CVPRW 2017", weights_license="MIT", adapter=_adapter("edsr"),
                        weights={"edsr_x4.pt": {"sha256": sha, "provenance": "official", "path": "/c/edsr_x4.pt"}}),
        "bicubic": _method("Bicubic", "Keys 1981", adapter=_adapter("bicubic")),
        "esrgan:gan": _method("ESRGAN", "Wang et al., ECCVW 2018", adapter=_adapter("esrgan:gan"),
                              weights={"mine.pth": {"sha256": "e" * 64, "provenance": "user", "path": "/x"}}),
        "srflow": _method("SRFlow", "Lugmayr et al., ECCV 2020", stochastic=True, adapter=_adapter("srflow"),
                          weights={"srflow.pth": {"sha256": "d" * 64, "provenance": "trained", "path": "/y"}}),
        EVIL: _method(EVIL, "<img src=x onerror=alert(2)>", code_license="<b>bold</b>", adapter=_adapter(EVIL)),
    }
    run_a.mkdir(parents=True)
    (run_a / "manifest.json").write_text(json.dumps(_manifest("2024-05-02T10:00:00+00:00", methods_a, versions)))
    summary, per_image = [], []
    for method, vals in VALUES_A.items():
        for metric, v in vals.items():
            w = sha if method == "edsr" else ""
            summary.append([method, "set5", SCALE, metric, v, 2, "rgb", versions[metric], _adapter(method), "1", w])
        for metric in ("psnr_y", "ssim_y"):
            if metric in vals:
                summary.append([method, "set14", SCALE, metric, vals[metric] - (1.0 if metric == "psnr_y" else 0.01),
                                2, "rgb", versions[metric],
                                _adapter(method), "1", ""])
        for k, image in enumerate(sorted(hr)):
            for metric, v in vals.items():
                if metric == "diversity":
                    per_image.append([method, "set5", SCALE, image, metric, v + 0.01 * k, ""])
                elif method == "srflow":
                    for s in range(3):
                        per_image.append([method, "set5", SCALE, image, metric, v + 0.1 * s - 0.05 * k, s])
                else:
                    per_image.append([method, "set5", SCALE, image, metric, v - 0.05 * k, ""])
    # images: HR, LR, SR of the deterministic methods (not the EVIL one), samples of srflow
    rng = np.random.default_rng(1)
    for image, a in hr.items():
        lr = np.asarray(Image.fromarray(a).resize((a.shape[1] // SCALE, a.shape[0] // SCALE), Image.BICUBIC))
        _save(run_a / "images/_hr/set5/x4" / f"{image}.png", a)
        _save(run_a / "images/_lr/set5/x4" / f"{image}.png", lr)
        up = np.asarray(Image.fromarray(lr).resize((a.shape[1], a.shape[0]), Image.BICUBIC))
        _save(run_a / "images/bicubic/set5/x4" / f"{image}.png", up)
        noisy = np.clip(a.astype(int) + rng.integers(-6, 7, a.shape), 0, 255).astype(np.uint8)
        _save(run_a / "images/edsr/set5/x4" / f"{image}.png", noisy)
        sharp = np.clip(up.astype(int) * 2 - 128, 0, 255).astype(np.uint8)
        _save(run_a / "images/esrgan__gan/set5/x4" / f"{image}.png", sharp)
        for s in range(3):
            sample = np.clip(a.astype(int) + rng.integers(-30, 31, a.shape), 0, 255).astype(np.uint8)
            _save(run_a / "images/srflow/set5/x4" / image / f"s{s}.png", sample)
    _write_csv(run_a / "summary.csv", SUMMARY_HEADER, summary)
    _write_csv(run_a / "per_image.csv", ["method", "dataset", "scale", "image", "metric", "value", "sample"], per_image)

    methods_b = {
        "edsr": methods_a["edsr"],
        "oldnet": _method("OldNet", "Old et al. 2015", adapter="1"),
        "partialnet": _method("PartialNet", "Part et al. 2020", adapter="1"),
    }
    run_b.mkdir(parents=True)
    (run_b / "manifest.json").write_text(json.dumps(_manifest("2024-05-01T10:00:00+00:00", methods_b, versions)))
    stale_version = versions["psnr_y"] + "-old"
    summary_b = [
        ["edsr", "set5", SCALE, "psnr_y", 31.0, 2, "rgb", versions["psnr_y"], _adapter("edsr"), "1", sha],
        ["oldnet", "set5", SCALE, "psnr_y", 40.0, 2, "rgb", stale_version, "1", "1", ""],
        ["oldnet", "set5", SCALE, "ssim_y", 0.95, 2, "rgb", versions["ssim_y"], "1", "1", ""],
        ["partialnet", "set5", SCALE, "psnr_y", 35.0, 1, "rgb", versions["psnr_y"], "1", "1", ""],
    ]
    _write_csv(run_b / "summary.csv", SUMMARY_HEADER, summary_b)
    _write_csv(run_b / "per_image.csv", ["method", "dataset", "scale", "image", "metric", "value", "sample"],
               [["oldnet", "set5", SCALE, "../../evil", "psnr_y", 40.0, ""]])
    return [run_a, run_b]


COMPARE_ROWS = [
    {"method": "edsr", "dataset": "set5", "scale": 4, "protocol": "rgb", "metric": "psnr_y", "status": "regressed",
     "current": 32.5, "baseline": 32.62, "delta": -0.12},
    {"method": EVIL, "dataset": "set5", "scale": 4, "protocol": "rgb", "metric": "lpips", "status": "improved",
     "current": 0.30, "baseline": 0.31, "delta": -0.01},
    {"method": "bicubic", "dataset": "set5", "scale": 4, "protocol": "rgb", "metric": "psnr_y", "status": "ok",
     "current": 28.4, "baseline": 28.4, "delta": 0.0},
]


# ------------------------------------------------------------------------------------------- tiny DOM

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict, parent: Node | None):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs) -> list[Node]:
        out = []
        for n in self.iter():
            if n is self:
                continue
            if tag and n.tag != tag:
                continue
            if cls and cls not in n.classes:
                continue
            if any(n.attrs.get(k.rstrip("_")) != v for k, v in attrs.items()):
                continue
            out.append(n)
        return out

    def find(self, *a, **k) -> Node | None:
        found = self.find_all(*a, **k)
        return found[0] if found else None

    @property
    def text(self) -> str:
        return "".join(c.text if isinstance(c, Node) else c for c in self.children)


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, {k: (v or "") for k, v in attrs}, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse_html(path_or_text) -> Node:
    text = path_or_text.read_text(encoding="utf-8") if isinstance(path_or_text, Path) else path_or_text
    b = _Builder()
    b.feed(text)
    b.close()
    return b.root
