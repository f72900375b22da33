"""CycleSR / CycleSRGAN adapter and the CycleSR G1 degradation.

No official weights exist; the golden fixtures come from the authors' reference code (Huawei Vega's
cyclesrbodys, reduced sizes, see tests/fixtures/cyclesr/README.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from helpers.float_outputs import assert_float_close, assert_uint8_matches
from srbench_methods.cyclesr import DEGRADATIONS, METHODS, SCALES, TILE_OVERLAP
from srbench_methods.cyclesr import degradation as g1mod
from srbench_methods.cyclesr import model as cmod
from srbench_methods.cyclesr.networks import VDSR, CycleGANGenerator, SRResNet

from srbench.checkpoint_format import load_checkpoint_with_config, save_checkpoint
from srbench.errors import SrbenchError, WeightsError
from srbench.hashing import sha256_file
from srbench.method_api import WeightFile
from srbench.weights import ResolvedWeight, resolve

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "cyclesr"
INFO = {m.name: m for m in METHODS}


def rw(path: Path) -> dict[str, ResolvedWeight]:
    path = Path(path)
    return {path.name: ResolvedWeight(WeightFile(path.name), path, sha256_file(path), "user")}


def conv(cin, cout, k):
    return cin * cout * k * k + cout


def io():
    from safetensors.torch import load_file

    return load_file(str(FIX / "io.safetensors"))


def tiny(arch: str, scale: int, seed: int = 0):
    torch.manual_seed(seed)
    net = VDSR(scale, nf=8, nb=2) if arch == "vdsr" else SRResNet(scale, nf=8, nb=2)
    for m in net.modules():  # non-trivial BatchNorm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return net.eval()


# ---------------------------------------------------------------- parameter counts (paper / code sizes)


def test_param_count_vdsr():
    nf, nb = 64, 20
    bn = 2 * nf
    expected_x4 = (
        conv(3, nf, 3)  # head
        + nb * (conv(nf, nf, 3) + bn)  # 20 conv-BN-ReLU
        + conv(nf, nf, 3) + bn  # last conv-BN of the global skip
        + 2 * conv(nf, 4 * nf, 3)  # two pixel-shuffle x2 stages
        + conv(nf, nf, 3) + conv(nf, 3, 3)  # HR_conv0, HR_conv1
    )
    assert expected_x4 == 1_114_051
    assert sum(p.numel() for p in VDSR(4).parameters()) == expected_x4
    assert sum(p.numel() for p in VDSR(2).parameters()) == expected_x4 - conv(nf, 4 * nf, 3)
    assert INFO["cyclesr"].param_count() == expected_x4 == INFO["cyclesrgan"].param_count()


def test_param_count_srresnet():
    nf, nb, prelu = 64, 16, 1
    block = 2 * conv(nf, nf, 3) + 2 * (2 * nf) + prelu
    expected = (
        conv(3, nf, 9) + prelu + nb * block + conv(nf, nf, 3) + 2 * nf + 2 * (conv(nf, 4 * nf, 3) + prelu) + conv(nf, 3, 9)
    )
    assert expected == 1_549_462
    assert sum(p.numel() for p in SRResNet(4).parameters()) == expected


def test_param_count_g1():
    ngf = 64
    expected = (
        conv(3, ngf, 7) + conv(ngf, 2 * ngf, 3) + conv(2 * ngf, 4 * ngf, 3)
        + 9 * 2 * conv(4 * ngf, 4 * ngf, 3)
        + conv(4 * ngf, 2 * ngf, 3) + conv(2 * ngf, ngf, 3)  # transposed convs: same count
        + conv(ngf, 3, 7)
    )
    assert expected == 11_378_179  # CycleGAN resnet_9blocks
    assert sum(p.numel() for p in CycleGANGenerator().parameters()) == expected
    assert DEGRADATIONS[0].param_count() == expected


# ---------------------------------------------------------------- golden outputs of the authors' code


@pytest.mark.parametrize("scale", [2, 4])
def test_vega_vdsr_state_dict_loads_strictly_and_matches(scale):
    d = io()
    path = FIX / f"vega_vdsr_nf8_nb3_x{scale}.safetensors"
    model = cmod.load_cyclesr(scale, weights=rw(path), variant="vdsr")
    assert model.provenance["checkpoint_config"]["inferred_from"].startswith("tensor shapes")
    x = torch.from_numpy(d["lr"].numpy().transpose(2, 0, 1).copy()).float().div(255).unsqueeze(0)
    y = model.upscale_tensor(x)
    ref = d[f"vdsr_x{scale}_out"]
    assert_float_close(y, ref)  # float32 on another machine: tests/helpers/float_outputs.py
    # the adapter clamps and rounds with its declared rule (half away from zero, srbench.torch_utils.to_image)
    assert_uint8_matches(model.upscale(d["lr"].numpy()), ref, model.rounding)


def test_vega_generator_matches():
    d = io()
    deg = g1mod.load(4, weights=rw(FIX / "vega_g_ngf4_res2.safetensors"))
    assert_float_close(deg.translate_tensor(d["g_in"]), d["g_out"])


# ---------------------------------------------------------------- srbench checkpoints


@pytest.mark.parametrize("variant", ["vdsr", "srresnet"])
@pytest.mark.parametrize("scale", [2, 4])
def test_shapes_ranges_and_strict_reload(tmp_path, variant, scale):
    net = tiny(variant, scale)
    path = save_checkpoint(net, tmp_path / f"c_x{scale}.srbench.safetensors", {"training": {"note": "unit test"}})
    _, cfg = load_checkpoint_with_config(path)
    assert cfg["arch"] == f"cyclesr.{variant}" and cfg["scale"] == scale
    model = cmod.load_cyclesr(scale, weights=rw(path), variant=variant)
    lr = np.random.default_rng(scale).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    out = model.upscale(lr)
    assert out.shape == (9 * scale, 7 * scale, 3) and out.dtype == np.uint8
    x = torch.from_numpy(lr.transpose(2, 0, 1).copy()).float().div(255).unsqueeze(0)
    with torch.no_grad():
        direct = net(x)
    assert torch.equal(model.upscale_tensor(x), direct)  # same weights, same output, bit for bit
    assert np.array_equal(out, model.upscale(lr))  # deterministic
    assert model.provenance["weights_sha256"] == sha256_file(path)


def test_wrong_variant_or_scale_refused(tmp_path):
    path = save_checkpoint(tiny("srresnet", 4), tmp_path / "s.srbench.safetensors", {})
    with pytest.raises(WeightsError, match="architecture"):
        cmod.load_cyclesr(4, weights=rw(path), variant="vdsr")
    with pytest.raises(WeightsError, match="x4, not x2"):
        cmod.load_cyclesrgan(2, weights=rw(path), variant="srresnet")


@pytest.mark.parametrize("method", ["cyclesr", "cyclesrgan"])
def test_refuses_without_weights(method, fresh_home):
    info = INFO[method]
    loader = cmod.load_cyclesr if method == "cyclesr" else cmod.load_cyclesrgan
    with pytest.raises(WeightsError, match="no checkpoint"):
        loader(4, weights=None)
    with pytest.raises(WeightsError):
        loader(4, weights={})
    for variant in info.variants:
        with pytest.raises(WeightsError, match="train with srbench or supply one"):
            resolve(info, variant, scale=4, allow_download=True)
        wf = info.variants[variant]
        assert all(f.manual and not f.urls and f.sha256 is None for f in wf)


# ---------------------------------------------------------------- G1 degradation


def test_g1_degradation_sizes_and_determinism(tmp_path):
    torch.manual_seed(0)
    g = CycleGANGenerator(ngf=4, n_resblocks=1, scale=4)
    path = save_checkpoint(g, tmp_path / "g.srbench.safetensors", {})
    deg = g1mod.load(4, weights=rw(path))
    lr = np.random.default_rng(0).integers(0, 256, (13, 9, 3), dtype=np.uint8)  # not multiples of 4
    a = deg(lr)
    assert a.shape == lr.shape and a.dtype == np.uint8
    assert np.array_equal(a, deg(lr, seed=5))  # deterministic: the seed is ignored
    hr = np.random.default_rng(1).integers(0, 256, (32, 24, 3), dtype=np.uint8)
    assert deg.from_hr(hr).shape == (8, 6, 3)
    assert deg.input == "lr" and not deg.stochastic
    assert DEGRADATIONS[0].options == ()
    with pytest.raises(SrbenchError, match=r"degradation cyclesr-g1 takes no option 'tile'; it takes no options"):
        g1mod.load(4, weights=rw(path), options={"tile": "8"})


def test_g1_degradation_registry(fresh_home):
    from srbench.degradations import get_degradation, load_degradation

    info = get_degradation("cyclesr-g1")
    assert info is DEGRADATIONS[0] or info.name == "cyclesr-g1"
    with pytest.raises(WeightsError, match="train with srbench or supply one"):
        load_degradation("cyclesr-g1", 4)
    with pytest.raises(WeightsError, match="no checkpoint"):
        g1mod.load(4, weights=None)


# ---------------------------------------------------------------- user-trained checkpoints in the cache


def _cached(method: str, name: str) -> Path:
    path = Path(os.environ.get("SRBENCH_HOME", "")) / "weights" / method / name
    if not path.is_file():
        pytest.skip(f"no user-trained checkpoint {path} (the authors released none)")
    return path


@pytest.mark.parametrize("method", ["cyclesr", "cyclesrgan"])
@pytest.mark.parametrize("variant", ["vdsr", "srresnet"])
def test_cached_user_checkpoint_runs(method, variant):
    path = _cached(method, f"{method}_{variant}_x4.srbench.safetensors")
    loader = cmod.load_cyclesr if method == "cyclesr" else cmod.load_cyclesrgan
    model = loader(4, weights=rw(path), variant=variant)
    out = model.upscale(np.full((16, 16, 3), 128, np.uint8))
    assert out.shape == (64, 64, 3)


# ---------------------------------------------------------------- run options and multi-scale weight sets


@pytest.mark.parametrize("variant", ["vdsr", "srresnet"])
def test_tiling_is_exact_at_default_overlap(tmp_path, variant):
    path = save_checkpoint(tiny(variant, 4), tmp_path / "t.srbench.safetensors", {})
    whole = cmod.load_cyclesr(4, weights=rw(path), variant=variant)
    tiled = cmod.load_cyclesr(4, weights=rw(path), variant=variant, options={"tile": 5})
    assert tiled.provenance["tile"] == 5 and tiled.provenance["tile_overlap"] == TILE_OVERLAP
    assert tiled.provenance["tiling_exact"] and whole.provenance["tiling_exact"] is None
    x = torch.rand(1, 3, 13, 11)
    assert float((whole.upscale_tensor(x) - tiled.upscale_tensor(x)).abs().max()) < 1e-5


def test_default_overlap_bounds_the_released_size_networks():
    from srbench_methods.cyclesr.networks import (
        SRRESNET_ARCH,
        VDSR_ARCH,
        build_sr,
        receptive_field_radius,
    )

    with torch.device("meta"):
        radii = [receptive_field_radius(build_sr(a, s, {})) for a in (VDSR_ARCH, SRRESNET_ARCH) for s in SCALES]
    assert TILE_OVERLAP == max(radii) == 43
    for info in METHODS:
        assert info.option("tile_overlap").default == TILE_OVERLAP and not info.option("tile").affects_output


def test_declared_options_are_read(tmp_path):
    path = save_checkpoint(tiny("vdsr", 2), tmp_path / "t.srbench.safetensors", {})
    given = {"tile": 6, "tile_overlap": 3}
    for info in METHODS:
        assert set(given) == {o.name for o in info.options}  # every declared option is exercised here
        assert all(info.option(k).default != v for k, v in given.items())
    for loader in (cmod.load_cyclesr, cmod.load_cyclesrgan):
        model = loader(2, weights=rw(path), variant="vdsr", options={k: str(v) for k, v in given.items()})
        assert (model.tile, model.overlap) == (6, 3) and model.provenance["tile_overlap"] == 3
        assert model.provenance["tiling_exact"] is False  # the tiny net sees 2 + 1 + 1 + 1 + 2 = 7 px
        default = loader(2, weights=rw(path), variant="vdsr")
        assert (default.tile, default.overlap) == (None, TILE_OVERLAP)
    with pytest.raises(SrbenchError, match=r"method cyclesrgan takes no option 'ref'; it takes: tile, tile_overlap"):
        cmod.load_cyclesrgan(2, weights=rw(path), variant="vdsr", options={"ref": "noise"})


def test_a_deeper_checkpoint_needs_an_explicit_overlap_to_be_tiled(tmp_path):
    torch.manual_seed(0)
    deep = VDSR(2, nf=4, nb=40).eval()  # sees 40 + 1 + 1 + 1 + 2 = 45 LR px > the default overlap
    path = save_checkpoint(deep, tmp_path / "deep.srbench.safetensors", {})
    assert cmod.load_cyclesr(2, weights=rw(path), variant="vdsr").tile is None  # whole image: fine
    with pytest.raises(SrbenchError, match=r"sees 45 LR px .* give tile_overlap=45"):
        cmod.load_cyclesr(2, weights=rw(path), variant="vdsr", options={"tile": 16})
    exact = cmod.load_cyclesr(2, weights=rw(path), variant="vdsr", options={"tile": 16, "tile_overlap": 45})
    assert exact.provenance["tiling_exact"]


def test_loader_picks_the_file_of_its_scale(tmp_path):
    files = {}
    for s in (2, 4):
        p = save_checkpoint(tiny("vdsr", s, seed=s), tmp_path / f"cyclesr_vdsr_x{s}.srbench.safetensors", {})
        files[p.name] = ResolvedWeight(WeightFile(p.name, scale=s), p, sha256_file(p), "trained")
    model = cmod.load_cyclesr(2, weights=files, variant="vdsr")
    assert model.provenance["weights_sha256"] == files["cyclesr_vdsr_x2.srbench.safetensors"].sha256
