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


@pytest.mark.parametrize("scale", [2, 4])
def test_srresnet_matches_its_seeded_golden(tmp_path, scale):
    """srbench's SRResNet has no reference code to match (Vega's cannot be built): a golden output on seeded
    weights keeps it stable (tests/fixtures/cyclesr/README.md)."""
    from seeded_weights import seeded_state  # tests/methods is on sys.path

    with np.load(FIX / "srresnet_seeded.npz") as f:
        g = {k: f[k] for k in f.files}
    net = SRResNet(scale, nf=int(g["nf"]), nb=int(g["nb"]))
    net.load_state_dict(seeded_state(net.state_dict(), int(g[f"state_seed_x{scale}"])), strict=True)
    path = save_checkpoint(net, tmp_path / f"cyclesr_srresnet_x{scale}.srbench.safetensors", {})
    model = cmod.load_cyclesr(scale, weights=rw(path), variant="srresnet")
    x = torch.from_numpy(g["lr"].transpose(2, 0, 1).copy()).float().div(255).unsqueeze(0)
    ref = torch.from_numpy(g[f"out_x{scale}"]).unsqueeze(0)
    assert_float_close(model.upscale_tensor(x), ref)
    assert_uint8_matches(model.upscale(g["lr"]), ref, model.rounding)


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


# ---------------------------------------------------------------- the paper's (and its references') sizes (srbench issue 17)


def _convs(net) -> list[tuple[str, int, int, int, int]]:
    """(kind, in, out, kernel, stride) of every convolution, in module order."""
    return [
        ("T" if isinstance(m, torch.nn.ConvTranspose2d) else "C", m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0])
        for m in net.modules()
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
    ]


def _count(net, kind) -> int:
    return sum(isinstance(m, kind) for m in net.modules())


@pytest.mark.parametrize("scale", [2, 4])
def test_srresnet_is_the_original_srresnet(scale):
    """Sec. 4.1: the original SRResNet (Ledig et al. 2017, Fig. 4): 9x9 head + PReLU, 16 residual blocks of 64
    channels (conv-BN-PReLU-conv-BN), conv-BN + global skip, x2 sub-pixel stages with PReLU, 9x9 tail."""
    from srbench_methods.cyclesr.networks import SRRESNET_DEFAULTS, _SRResBlock

    net = SRResNet(scale).eval()
    assert SRRESNET_DEFAULTS["nb"] == 16 and SRRESNET_DEFAULTS["nf"] == 64
    n_up = {2: 1, 4: 2}[scale]
    assert _count(net, _SRResBlock) == 16
    c64, up = ("C", 64, 64, 3, 1), ("C", 64, 256, 3, 1)
    assert _convs(net) == [("C", 3, 64, 9, 1), *[c64] * (2 * 16 + 1), *[up] * n_up, ("C", 64, 3, 9, 1)]
    assert _count(net, torch.nn.BatchNorm2d) == 2 * 16 + 1 and _count(net, torch.nn.PReLU) == 1 + 16 + n_up
    shuffles = [m for m in net.modules() if isinstance(m, torch.nn.PixelShuffle)]
    assert len(shuffles) == n_up and all(m.upscale_factor == 2 for m in shuffles)
    assert _count(net, torch.nn.ReLU) == 0 and _count(net, torch.nn.Tanh) == 0  # PReLU throughout; linear output
    with torch.no_grad():
        assert net(torch.rand(1, 3, 6, 5)).shape == (1, 3, 6 * scale, 5 * scale)


@pytest.mark.parametrize("scale", [2, 4])
def test_vdsr_is_the_modified_vdsr_of_the_reference_code(scale):
    """The paper (Sec. 4.1) names a modified VDSR for NTIRE17 T2 without its sizes; Vega's cyclesr.yml gives
    SR_nb 20, SR_nf 64 (VDSR's own depth and width), BatchNorm, and x2 pixel-shuffle post-upsampling."""
    from srbench_methods.cyclesr.networks import VDSR_DEFAULTS

    net = VDSR(scale).eval()
    assert (VDSR_DEFAULTS["nb"], VDSR_DEFAULTS["nf"], VDSR_DEFAULTS["norm"]) == (20, 64, "batch")
    n_up = {2: 1, 4: 2}[scale]
    body = net.model[1].submodule
    c64, up = ("C", 64, 64, 3, 1), ("C", 64, 256, 3, 1)
    assert _convs(body) == [c64] * 21 and _count(body, torch.nn.BatchNorm2d) == 21 and _count(body, torch.nn.ReLU) == 20
    assert _convs(net) == [("C", 3, 64, 3, 1), *[c64] * 21, *[up] * n_up, c64, ("C", 64, 3, 3, 1)]
    assert _count(net, torch.nn.PixelShuffle) == n_up
    with torch.no_grad():  # no bicubic pre-upsampling: the LR goes in as it is
        assert net(torch.rand(1, 3, 6, 5)).shape == (1, 3, 6 * scale, 5 * scale)


def test_g1_is_cyclegans_resnet_generator():
    """CycleGAN's generator (Sec. 3.2/4.1: CycleGAN with its hyper-parameters unchanged): c7s1-64, d128, d256,
    9 x R256, u128, u64, c7s1-3 + tanh; instance norm without affine parameters (Vega's choices)."""
    from srbench_methods.cyclesr.networks import G1_DEFAULTS, _GResBlock

    g = CycleGANGenerator().eval()
    assert (G1_DEFAULTS["ngf"], G1_DEFAULTS["n_resblocks"], G1_DEFAULTS["norm"]) == (64, 9, "instance")
    assert _count(g, _GResBlock) == 9
    assert _convs(g) == [
        ("C", 3, 64, 7, 1), ("C", 64, 128, 3, 2), ("C", 128, 256, 3, 2),
        *[("C", 256, 256, 3, 1)] * 18,
        ("T", 256, 128, 3, 2), ("T", 128, 64, 3, 2), ("C", 64, 3, 7, 1),
    ]
    norms = [m for m in g.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert len(norms) == 3 + 18 + 2 and not any(m.affine for m in norms)
    assert isinstance(list(g.generator.children())[-1], torch.nn.Tanh)
    with torch.no_grad():
        assert g.translate(torch.rand(1, 3, 10, 7)).shape == (1, 3, 10, 7)  # LR -> LR of the same size


def test_paper_vs_srbench_tables(capsys):
    from helpers.listing import listed_entry

    from srbench.cli import main

    infos = {i.name: i for i in (*METHODS, *DEGRADATIONS)}
    for info in infos.values():
        whats = [r.what for r in info.paper_vs_srbench]
        assert whats and len(whats) == len(set(whats)), info.name
    for name in ("cyclesr", "cyclesrgan"):
        rows = {r.what: r for r in infos[name].paper_vs_srbench}
        assert rows["SR module, NTIRE17 T2"].paper == "modified VDSR (Sec. 4.1)"
        assert rows["SR module, NTIRE18 T2 / T4"].paper == "original SRResNet (Sec. 4.1)"
        assert "16 res. blocks of 64" in rows["SR module, NTIRE18 T2 / T4"].srbench
        assert rows["VDSR depth / width"].paper == "not stated" and "20 x" in rows["VDSR depth / width"].srbench
        assert set(infos[name].variants) == {"vdsr", "srresnet"}
    g1 = {r.what: r for r in infos["cyclesr-g1"].paper_vs_srbench}
    assert "9 residual blocks" in g1["G1 sizes"].srbench and "(Sec. 3.1)" in g1["synthetic LR"].paper
    assert main(["list", "methods", "--verbose"]) == 0 and main(["list", "degradations", "--verbose"]) == 0
    out = capsys.readouterr().out
    for name, info in infos.items():
        entry = listed_entry(out, name)
        assert "paper vs srbench:" in entry and all(r.what in entry for r in info.paper_vs_srbench), name
