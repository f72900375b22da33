"""LPIPS (lpips, lpips_vgg): calibration against published values, weight loading, conventions.

Official LPIPS (AlexNet, v0.1) values of pyiqa's five calibration pairs (ResultsCalibra/dist_dir vs
ref_dir, TID2013 I03 I04 I06 I08 I19), from chaofengc/IQA-PyTorch ResultsCalibra/results_official.csv,
computed by the authors' PerceptualSimilarity code. They are printed with 4 significant digits, so the
rounding alone allows 5e-5 (I04, I03, I19) / 5e-6 (I06, I08); the tolerance is 1e-4.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srbench.errors import MissingDependencyError, WeightsError
from srbench.metrics.base import MetricContext

OFFICIAL_LPIPS = {"I03": 0.7237, "I04": 0.2572, "I06": 0.05079, "I08": 0.05205, "I19": 0.4253}
TOL_OFFICIAL = 1e-4


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _rand(shape, seed):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.fixture(scope="module")
def pairs(calib):
    return {n: (_rgb(calib / "dist_dir" / f"{n}.bmp"), _rgb(calib / "ref_dir" / f"{n}.bmp")) for n in OFFICIAL_LPIPS}


def test_lpips_reproduces_official_values(torch_home, pairs):
    from srbench.metrics.lpips_backend import lpips_spatial_map
    from srbench.metrics.perceptual import lpips_alex

    metric = lpips_alex(device="cpu")
    ctx = MetricContext(scale=4)
    diffs = {}
    for name, (dist, ref) in pairs.items():
        val = metric(dist, ref, ctx)
        diffs[name] = val - OFFICIAL_LPIPS[name]
        assert abs(diffs[name]) <= TOL_OFFICIAL, f"{name}: {val:.6f} vs official {OFFICIAL_LPIPS[name]}"
        # the spatial map is the same model with spatial=True: HxW float64, its mean ~ the distance
        m = lpips_spatial_map(dist, ref, net="alex", device="cpu")
        assert m.shape == dist.shape[:2] and m.dtype == np.float64
        assert abs(m.mean() - val) < 1e-5
    print("LPIPS - official:", {k: f"{v:+.2e}" for k, v in diffs.items()})


def test_same_as_lpips_package_loaded_its_own_way(torch_home):
    """Our explicit weight loading gives what lpips.LPIPS(net='alex') computes when it loads itself."""
    import lpips
    import torch

    from srbench.metrics.lpips_backend import (
        get_lpips_model,
        lpips_distance,
        lpips_spatial_map,
    )

    a, b = _rand((48, 64, 3), 1), _rand((48, 64, 3), 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lpips.LPIPS(net="alex", version="0.1", verbose=False).eval()
        ref_sp = lpips.LPIPS(net="alex", version="0.1", spatial=True, verbose=False).eval()
    ta, tb = lpips.im2tensor(a), lpips.im2tensor(b)
    with torch.no_grad():
        want = float(ref(ta, tb))
        want_map = ref_sp(ta, tb)[0, 0].double().numpy()
    # lpips.im2tensor returns a non-contiguous (channels-last strided) tensor, which takes another float32
    # convolution kernel path: measured 1.1e-7 apart; everything else is identical.
    assert lpips_distance(a, b) == pytest.approx(want, abs=1e-6)
    np.testing.assert_allclose(lpips_spatial_map(a, b), want_map, rtol=0, atol=1e-6)
    ours = get_lpips_model("alex", "cpu").state_dict()
    for k, v in ref.state_dict().items():
        assert torch.equal(ours[k], v), k
    assert get_lpips_model("alex", "cpu") is get_lpips_model("alex", "cpu")  # cached


def test_grey_image_is_replicated(torch_home):
    from srbench.metrics.lpips_backend import lpips_distance

    a, b = _rand((40, 40), 3), _rand((40, 40), 4)
    rep = lambda x: np.repeat(x[:, :, None], 3, axis=2)
    assert lpips_distance(a, b) == lpips_distance(rep(a), rep(b))
    assert lpips_distance(a, a) == 0.0


def test_shape_mismatch_is_an_error(torch_home):
    from srbench.metrics.lpips_backend import lpips_distance

    with pytest.raises(ValueError, match="differ in shape"):
        lpips_distance(_rand((32, 32, 3), 0), _rand((32, 36, 3), 0))


def test_provenance_records_files_actually_used(torch_home):
    from srbench.metrics.lpips_backend import lin_weights_path
    from srbench.metrics.perceptual import lpips_alex

    prov = lpips_alex().provenance()
    trunk = torch_home / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    rec = prov["weights"]["alexnet-owt-7be5be79.pth"]
    assert Path(rec["path"]).resolve() == trunk.resolve()
    assert rec["sha256"] == hashlib.sha256(trunk.read_bytes()).hexdigest()
    lin = prov["weights"]["lpips/weights/v0.1/alex.pth"]
    assert lin["sha256"] == hashlib.sha256(lin_weights_path("alex").read_bytes()).hexdigest()
    assert {"torch", "torchvision", "lpips"} <= set(prov["packages"])
    assert prov["lpips_version"] == "0.1" and prov["net"] == "alex"


@pytest.mark.parametrize("net,metric,file", [("alex", "lpips_alex", "alexnet-owt-7be5be79.pth"),
                                             ("vgg", "lpips_vgg", "vgg16-397923af.pth")])
def test_missing_backbone_is_a_clear_error(empty_torch_home, net, metric, file):
    from srbench.metrics import perceptual

    with pytest.raises(WeightsError) as err:
        getattr(perceptual, metric)(device="cpu")
    msg = str(err.value)
    assert file in msg
    assert f"https://download.pytorch.org/models/{file}" in msg
    assert str(empty_torch_home / "hub" / "checkpoints") in msg
    assert not (empty_torch_home / "hub" / "checkpoints" / file).exists()


def test_vgg_backbone_mapping(tmp_path, monkeypatch):
    """lpips_vgg assigns torchvision's vgg16 features.* to lpips' slices (checked with a synthetic file)."""
    import torch
    import torchvision

    from srbench.metrics.lpips_backend import get_lpips_model, lin_weights_path

    torch.manual_seed(0)
    features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"]).eval()
    ckpt = tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth"
    ckpt.parent.mkdir(parents=True)
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, ckpt)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")

    model = get_lpips_model("vgg", "cpu")
    x = torch.rand(1, 3, 40, 40) * 2 - 1
    with torch.no_grad():
        outs = model.net(x)
        want, h = [], x
        for i, layer in enumerate(features):
            h = layer(h)
            if i in (3, 8, 15, 22, 29):  # relu1_2 relu2_2 relu3_3 relu4_3 relu5_3
                want.append(h)
    for o, w in zip(outs, want):
        assert torch.equal(o, w)
    lin = torch.load(lin_weights_path("vgg"), map_location="cpu", weights_only=True)
    sd = model.state_dict()
    for k, v in lin.items():
        assert torch.equal(sd[k], v), k


def test_missing_lpips_package_names_the_extra(monkeypatch, torch_home):
    from srbench.metrics import perceptual

    monkeypatch.setitem(sys.modules, "lpips", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'srbench\[torch\]'"):
        perceptual.lpips_alex()


def test_metadata_and_light_import():
    from srbench.metrics.perceptual import METRICS

    info = {m.name: m for m in METRICS}
    assert set(info) == {"lpips", "lpips_vgg"}
    for m in info.values():
        assert m.kind == "image" and m.full_reference and not m.higher_is_better
        assert m.extra == "torch" and "lpips" in m.requires
        assert m.weights and m.weights[0].url.startswith("https://download.pytorch.org/models/")
        assert m.convention and m.reference
    code = ("import sys, srbench.metrics.perceptual, srbench.metrics.lpips_backend, srbench.metrics.fid, "
            "srbench.metrics.no_reference, srbench.metrics.weights_cache; "
            "bad = [m for m in ('torch', 'lpips', 'pyiqa', 'pytorch_fid', 'torchvision') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.skipif("not __import__('torch').cuda.is_available()", reason="no CUDA device")
def test_cuda_matches_cpu(torch_home):
    from srbench.metrics.lpips_backend import lpips_distance, lpips_spatial_map

    a, b = _rand((64, 80, 3), 5), _rand((64, 80, 3), 6)
    assert lpips_distance(a, b, device="cuda") == pytest.approx(lpips_distance(a, b), abs=1e-5)
    np.testing.assert_allclose(lpips_spatial_map(a, b, device="cuda"), lpips_spatial_map(a, b), atol=1e-5)


# ---------------------------------------------------------------- damaged / replaced weight files


class _Mkdir:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.mkdir, (self.marker,))


def _damage(kind: str, path: Path, good: Path, marker: Path) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "garbage":
        path.write_bytes(bytes(range(1, 255)) * 40)
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "malicious":
        torch.save({"features.0.weight": torch.zeros(1), "x": _Mkdir(str(marker))}, path)
    elif kind == "wrong-tensors":
        torch.save({"conv.weight": torch.zeros(3, 3)}, path)
    else:
        raise ValueError(kind)


DAMAGE = ["garbage", "truncated", "empty", "malicious", "wrong-tensors"]


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_alexnet_in_torch_home_is_a_clear_error(tmp_path, monkeypatch, torch_home, kind):
    """A replaced $TORCH_HOME/hub/checkpoints/alexnet-owt-7be5be79.pth: the error names it and the fix."""
    from srbench.metrics import perceptual

    home = tmp_path / "torch-home"
    path = home / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    marker = tmp_path / "pwned"
    _damage(kind, path, torch_home / "hub" / "checkpoints" / path.name, marker)
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    with pytest.raises(WeightsError) as err:
        perceptual.lpips_alex(device="cpu")
    msg = str(err.value)
    assert str(path) in msg and "'lpips'" in msg
    assert "damaged" in msg or "refused" in msg
    assert f"elete {path}: srbench downloads it again from https://download.pytorch.org/models/{path.name}" in msg
    assert "weights_only" not in msg
    if kind == "malicious":
        assert "refused" in msg and "srbench never unpickles code" in msg
    assert not marker.exists()


def test_damaged_weights_fail_the_cli_with_exit_2(tmp_path, torch_home):
    """End to end: `srbench run --metrics lpips` with a damaged AlexNet prints one line, exits 2."""
    import os

    home = tmp_path / "torch-home"
    _damage("garbage", home / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth", Path(), tmp_path / "m")
    env = {**os.environ, "TORCH_HOME": str(home), "SRBENCH_OFFLINE": "1", "SRBENCH_HOME": str(tmp_path / "sb")}
    r = subprocess.run([sys.executable, "-m", "srbench", "run", "-m", "bicubic", "-d", "demo", "--scale", "8",
                        "--metrics", "lpips", "--out", str(tmp_path / "run"), "--no-progress"],
                       env=env, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("srbench: error: ") and "Traceback" not in r.stderr
    assert "alexnet-owt-7be5be79.pth" in r.stderr and "damaged" in r.stderr and "weights_only" not in r.stderr
