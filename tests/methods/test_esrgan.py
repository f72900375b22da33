"""ESRGAN adapter: golden outputs of the official code, strict/safe loading, options, real checkpoints."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import srbench_methods.esrgan.model as esrgan_model
import torch
from helpers.float_outputs import assert_float_close, assert_uint8_matches
from safetensors.torch import load_file
from srbench_methods.esrgan import METHODS, TILE_OVERLAP
from srbench_methods.esrgan.arch import BASICSR_KEY_MAP, RRDBNet, basicsr_key

from srbench.errors import ImageError, SrbenchError, WeightsError
from srbench.hashing import sha256_file
from srbench.method_api import WeightFile
from srbench.weights import ResolvedWeight, resolve

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "esrgan"
OFFICIAL = FIX / "official_nf16_nb2_gc8.pth"  # xinntao/ESRGAN RRDBNet(3, 3, 16, 2, gc=8)
BASICSR = FIX / "basicsr_nf16_nb1_gc8.pth"  # BasicSR RRDBNet(num_feat=16, num_block=1, num_grow_ch=8), {"params": ...}
INFO = METHODS[0]


def _w(path: Path, name: str | None = None) -> dict[str, ResolvedWeight]:
    name = name or path.name
    return {name: ResolvedWeight(WeightFile(name), path, sha256_file(path), "user")}


@pytest.fixture
def small_arch(monkeypatch):
    """Let load() accept the reduced fixture networks (it refuses anything but the released size)."""

    def set_arch(nb):
        monkeypatch.setattr(esrgan_model, "RELEASED_ARCH", (3, 3, 16, nb, 8))

    return set_arch


# ---------------------------------------------------------------- metadata


def test_metadata():
    assert INFO.name == "esrgan" and INFO.scales == (4,) and INFO.default_variant == "esrgan"
    assert list(INFO.variants) == ["esrgan", "psnr", "basicsr", "basicsr-psnr"]
    (perc,) = INFO.variants["esrgan"]
    assert perc.name == "RRDB_ESRGAN_x4.pth" and perc.manual and perc.size == 66_929_193
    assert perc.sha256 == "65fece06e1ccb48853242aa972bdf00ad07a7dd8938d2dcbdf4221b59f6372ce"
    assert "drive.google.com" in perc.urls[0]
    assert INFO.variants["psnr"][0].name == "RRDB_PSNR_x4.pth"
    (bsr,) = INFO.variants["basicsr"]
    assert not bsr.manual and bsr.urls[0].startswith("https://github.com/xinntao/Real-ESRGAN/releases/download/")
    assert INFO.param_count() == 16_697_987
    assert INFO.loader == "srbench_methods.esrgan.model:load" and "@InProceedings{wang2018esrgan" in INFO.citation



def _conv(cin: int, cout: int, k: int) -> int:
    return cin * cout * k * k + cout


def test_architecture_of_the_paper_and_the_official_code():
    """ESRGAN paper (Wang et al., ECCVW 2018): Sec. 3.1 - RRDBs of dense blocks, no batch norm, residual
    scaling; Sec. 4.1 - x4, 23 RRDBs in the final generator. The widths are the official code's:
    xinntao/ESRGAN test.py builds RRDBNet(3, 3, 64, 23, gc=32) (RRDBNet_arch.py: 3 dense blocks of 5 convs
    per RRDB, nearest x2 upsampling twice), which the released files fit with strict=True."""
    with torch.device("meta"):
        net = RRDBNet()
        out = net(torch.zeros(1, 3, 5, 7))
    assert (net.nb, len(net.RRDB_trunk)) == (23, 23)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.modules())
    for rrdb in net.RRDB_trunk:
        for rdb in (rrdb.RDB1, rrdb.RDB2, rrdb.RDB3):
            convs = (rdb.conv1, rdb.conv2, rdb.conv3, rdb.conv4, rdb.conv5)
            assert [(c.in_channels, c.out_channels) for c in convs] == [(64, 32), (96, 32), (128, 32), (160, 32), (192, 64)]
            assert all(c.kernel_size == (3, 3) for c in convs)
    assert out.shape == (1, 3, 20, 28)  # x4
    rdb = sum(_conv(64 + 32 * i, 32, 3) for i in range(4)) + _conv(64 + 4 * 32, 64, 3)
    # conv_first + 23 RRDBs + trunk_conv, upconv1, upconv2, HRconv + conv_last
    total = _conv(3, 64, 3) + 23 * 3 * rdb + 4 * _conv(64, 64, 3) + _conv(64, 3, 3)
    assert total == sum(p.numel() for p in net.parameters()) == INFO.param_count() == 16_697_987


def test_paper_table_rows_agree_with_the_method_info():
    rows = {r.what: r for r in INFO.paper_vs_srbench}
    assert rows["scale"].srbench == "x4" and INFO.scales == (4,)
    assert rows["output rounding"].srbench == INFO.rounding == "half_even"
    assert "23 RRDBs" in rows["generator"].paper and "23 RRDBs" in rows["generator"].srbench
    assert "gc=32" in rows["features / growth channels"].why
    # every weight variant is accounted for: its own row, or named in the row of the model it re-releases
    weight_rows = [r for r in INFO.paper_vs_srbench if r.what.startswith("weights, variant ")]
    for v in INFO.variants:
        assert any(r.what == f"weights, variant {v}" or f"{v}:" in r.srbench for r in weight_rows), v


def test_missing_checkpoint_message_offline(fresh_home, monkeypatch):
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    with pytest.raises(WeightsError) as exc:
        resolve(INFO, "esrgan", scale=4)
    assert "RRDB_ESRGAN_x4.pth" in str(exc.value) and "17VYV_SoZZesU6mbxz2dMAIccSSlqLecY" in str(exc.value)


# ---------------------------------------------------------------- golden outputs of the official code


def test_official_fixture_reproduced(small_arch):
    small_arch(2)
    io = load_file(FIX / "official_io.safetensors")
    model = esrgan_model.load(4, weights=_w(OFFICIAL, "RRDB_ESRGAN_x4.pth"))
    assert model.provenance["checkpoint_format"] == "official"
    assert model.provenance["weights"] == {"RRDB_ESRGAN_x4.pth": sha256_file(OFFICIAL)}
    # the official test.py input: uint8 / 255 (float64) -> float32, RGB
    x = torch.from_numpy(io["input_uint8"].numpy().transpose(2, 0, 1).copy()).float().div(255).unsqueeze(0)
    assert torch.equal(x, io["input_float"])
    raw = model.forward(x)
    assert_float_close(raw, io["output_raw"])  # float32 on another machine: tests/helpers/float_outputs.py
    # the PNG official test.py wrote (clamp, x255, round half to even), back in RGB order
    sr = model.upscale(io["input_uint8"].numpy())
    assert sr.dtype == np.uint8 and sr.shape == (64, 64, 3)
    assert_uint8_matches(sr, io["output_raw"], model.rounding, ref_u8=io["output_uint8"])
    assert (sr == 0).any() and (sr == 255).any()  # clamping on both sides was exercised


def test_basicsr_fixture_reproduced_through_the_key_mapping(small_arch):
    small_arch(1)
    io = load_file(FIX / "basicsr_io.safetensors")
    model = esrgan_model.load(4, weights=_w(BASICSR, "ESRGAN_SRx4_DF2KOST_official-ff704c30.pth"), variant="basicsr")
    assert model.provenance["checkpoint_format"] == "basicsr" and model.provenance["variant"] == "basicsr"
    assert model.provenance["sha256_prefix_in_name_matches"] is False  # a fixture, not the ff704c30 file
    lr = io["input_uint8"].numpy()
    x = torch.from_numpy(lr.transpose(2, 0, 1).copy()).float().div(255).unsqueeze(0)
    assert_float_close(model.forward(x), io["output_raw"])
    assert_uint8_matches(model.upscale(lr), io["output_raw"], model.rounding, ref_u8=io["output_uint8"])


def test_basicsr_key_mapping():
    assert basicsr_key("body.12.rdb3.conv5.weight") == "RRDB_trunk.12.RDB3.conv5.weight"
    assert basicsr_key("conv_body.bias") == "trunk_conv.bias"
    assert basicsr_key("conv_up1.weight") == "upconv1.weight" and basicsr_key("conv_up2.bias") == "upconv2.bias"
    assert basicsr_key("conv_hr.weight") == "HRconv.weight" and basicsr_key("conv_last.bias") == "conv_last.bias"
    assert basicsr_key("body.0.rdb4.conv1.weight") == "body.0.rdb4.conv1.weight"  # unknown: left for strict load
    # every BasicSR name of the fixture lands on a parameter of the official layout, one to one
    raw = torch.load(BASICSR, weights_only=True)["params"]
    mapped = {basicsr_key(k) for k in raw}
    assert mapped == set(RRDBNet(nf=16, nb=1, gc=8).state_dict()) and len(mapped) == len(raw)
    assert len(BASICSR_KEY_MAP) == 7


def test_params_preferred_over_params_ema(tmp_path, small_arch):
    small_arch(1)
    params = torch.load(BASICSR, weights_only=True)["params"]
    ema = {k: torch.zeros_like(v) for k, v in params.items()}
    both = tmp_path / "both.pth"
    torch.save({"params_ema": ema, "params": params}, both)
    state, fmt = esrgan_model.state_dict_from_checkpoint(torch.load(both, weights_only=True))
    assert fmt == "basicsr" and torch.equal(state["conv_first.weight"], params["conv_first.weight"])
    only_ema = tmp_path / "ema.pth"
    torch.save({"params_ema": params}, only_ema)
    model = esrgan_model.load(4, weights=_w(only_ema), variant="basicsr")
    io = load_file(FIX / "basicsr_io.safetensors")
    assert_uint8_matches(model.upscale(io["input_uint8"].numpy()), io["output_raw"], model.rounding, ref_u8=io["output_uint8"])


# ---------------------------------------------------------------- refusing wrong checkpoints


def test_released_architecture_is_required():
    with pytest.raises(WeightsError, match=r"nb=2.*released ESRGAN models"):
        esrgan_model.load(4, weights=_w(OFFICIAL))


@pytest.mark.parametrize(
    "edit, expect",
    [
        (lambda s: s.pop("RRDB_trunk.1.RDB3.conv5.bias"), "missing keys: RRDB_trunk.1.RDB3.conv5.bias"),
        (lambda s: s.__setitem__("extra.weight", torch.zeros(1)), "unexpected keys: extra.weight"),
        (lambda s: s.__setitem__("HR_conv.weight", s.pop("HRconv.weight")), "missing keys: HRconv.weight; unexpected keys: HR_conv.weight"),
        (lambda s: s.__setitem__("upconv1.bias", torch.zeros(17)), "shape mismatches: upconv1.bias"),
    ],
)
def test_wrong_keys_are_rejected(tmp_path, small_arch, edit, expect):
    small_arch(2)
    state = dict(torch.load(OFFICIAL, weights_only=True))
    edit(state)
    bad = tmp_path / "RRDB_ESRGAN_x4.pth"
    torch.save(state, bad)
    with pytest.raises(WeightsError) as exc:
        esrgan_model.load(4, weights=_w(bad))
    assert expect in str(exc.value) and "RRDBNet" in str(exc.value)


def test_renamed_basicsr_key_is_rejected(tmp_path, small_arch):
    small_arch(1)
    params = dict(torch.load(BASICSR, weights_only=True)["params"])
    params["conv_upsample1.weight"] = params.pop("conv_up1.weight")
    bad = tmp_path / "bad.pth"
    torch.save({"params": params}, bad)
    with pytest.raises(WeightsError, match=r"missing keys: upconv1.weight; unexpected keys: conv_upsample1.weight"):
        esrgan_model.load(4, weights=_w(bad), variant="basicsr")


def test_not_an_rrdbnet_checkpoint(tmp_path):
    bad = tmp_path / "x.pth"
    torch.save({"weight": torch.zeros(2)}, bad)
    with pytest.raises(WeightsError, match="not an ESRGAN/RRDBNet checkpoint"):
        esrgan_model.load(4, weights=_w(bad))


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_malicious_checkpoint_is_not_executed(tmp_path):
    marker = tmp_path / "marker"
    state = dict(torch.load(OFFICIAL, weights_only=True))
    state["conv_first.weight"] = _Evil(str(marker))
    bad = tmp_path / "RRDB_ESRGAN_x4.pth"
    torch.save(state, bad)
    with pytest.raises(WeightsError, match="cannot read checkpoint"):
        esrgan_model.load(4, weights=_w(bad))
    assert not marker.exists()


def test_never_runs_without_weights():
    for weights in (None, {}):
        with pytest.raises(WeightsError, match="never runs with random"):
            esrgan_model.load(4, weights=weights)


def test_bad_requests():
    with pytest.raises(SrbenchError, match="x4 models only"):
        esrgan_model.load(2, weights=_w(OFFICIAL))
    with pytest.raises(SrbenchError, match="no variant"):
        esrgan_model.load(4, weights=_w(OFFICIAL), variant="nope")
    with pytest.raises(SrbenchError, match="tile"):
        esrgan_model.load(4, weights=_w(OFFICIAL), options={"tile": "big"})


# ---------------------------------------------------------------- inputs and tiling


def test_grey_input_and_wrong_dtype(small_arch):
    small_arch(2)
    model = esrgan_model.load(4, weights=_w(OFFICIAL))
    grey = np.random.default_rng(0).integers(0, 256, (9, 7), dtype=np.uint8)
    sr = model.upscale(grey)
    assert sr.shape == (36, 28, 3)
    assert np.array_equal(sr, model.upscale(np.repeat(grey[:, :, None], 3, axis=2)))
    with pytest.raises(ImageError):
        model.upscale(grey.astype(np.float32))
    with pytest.raises(ImageError):
        model.upscale(np.zeros((4, 4, 4), np.uint8))


def test_tile_option_matches_whole_image(small_arch):
    small_arch(2)
    lr = load_file(FIX / "official_io.safetensors")["input_uint8"].numpy()
    whole = esrgan_model.load(4, weights=_w(OFFICIAL))
    tiled = esrgan_model.load(4, weights=_w(OFFICIAL), options={"tile": 8, "tile_overlap": 34})
    assert tiled.provenance["tiling_exact"] and tiled.provenance["tile"] == 8
    assert tiled.provenance["receptive_field_radius_lr"] == 34
    x = torch.from_numpy(lr.transpose(2, 0, 1).copy()).float().div(255)[None]
    ref = whole.forward(x)
    assert (tiled.forward(x) - ref).abs().max().item() <= 1e-5
    approx = esrgan_model.load(4, weights=_w(OFFICIAL), options={"tile": 8, "tile_overlap": 4})
    assert approx.provenance["tiling_exact"] is False and approx.provenance["tile_overlap"] == 4
    assert (approx.forward(x) - ref).abs().max().item() > 1e-3  # the fixture net sees far: seams show
    assert whole.provenance["tile"] is None and whole.provenance["tiling_exact"]


def test_declared_options_are_read(small_arch):
    small_arch(2)
    given = {"tile": 8, "tile_overlap": 5}
    assert set(given) == {o.name for o in INFO.options}  # every declared option is exercised here
    assert all(INFO.option(k).default != v for k, v in given.items())
    model = esrgan_model.load(4, weights=_w(OFFICIAL), options={k: str(v) for k, v in given.items()})  # as a CLI gives them
    assert (model.tile, model.overlap) == (8, 5)
    assert model.provenance["tile"] == 8 and model.provenance["tile_overlap"] == 5
    default = esrgan_model.load(4, weights=_w(OFFICIAL))
    assert default.tile is None and default.overlap == INFO.option("tile_overlap").default == TILE_OVERLAP == 32
    assert INFO.option("tile").affects_output  # approximate tiling: tile is part of the method's identity


def test_options_of_other_methods_are_refused(small_arch):
    small_arch(2)
    for key in ("ref", "quantize", "seed"):
        with pytest.raises(SrbenchError, match=rf"method esrgan takes no option '{key}'; it takes: tile, tile_overlap"):
            esrgan_model.load(4, weights=_w(OFFICIAL), options={key: "1", "tile": "8"})
    with pytest.raises(SrbenchError, match=r"option tile=-1: must be >= 0"):
        esrgan_model.load(4, weights=_w(OFFICIAL), options={"tile": -1})


# ---------------------------------------------------------------- real checkpoints (skip when absent)


def _real(variant: str) -> dict[str, ResolvedWeight]:
    (wf,) = INFO.variants[variant]
    path = Path(os.environ.get("SRBENCH_HOME", "~/.cache/srbench")).expanduser() / "weights" / "esrgan" / wf.name
    if not path.is_file():
        pytest.skip(f"real checkpoint {wf.name} not present at {path} (import it with `srbench weights import esrgan`)")
    return {wf.name: ResolvedWeight(wf, path, sha256_file(path), "user")}


def _dataset_y(model, mirror: Path, dataset: str):
    from PIL import Image

    from srbench.conventions import modcrop, rgb_to_grey
    from srbench.imresize import imresize
    from srbench.metrics.base import MetricContext
    from srbench.metrics.fidelity import psnr_y, ssim_y

    ctx, P, S = MetricContext(scale=4), psnr_y(), ssim_y()
    ps, ss = [], []
    for f in sorted((mirror / dataset / "HR").glob("*.png")):
        hr = modcrop(np.asarray(Image.open(f)), 4)
        sr = model.upscale(imresize(hr, 1 / 4))
        if hr.ndim == 2:
            sr = rgb_to_grey(sr)
        ps.append(P(sr, hr, ctx))
        ss.append(S(sr, hr, ctx))
    return float(np.mean(ps)), float(np.mean(ss))


@pytest.mark.slow
def test_real_psnr_model_matches_published_numbers(mirror):
    """ESRGAN README / paper Table: RRDB (PSNR-oriented, DF2K) x4 Set5 32.73/0.9011, Set14 28.99/0.7917 (Y)."""
    weights = _real("psnr")
    model = esrgan_model.load(4, device="auto", weights=weights, variant="psnr")
    p5, s5 = _dataset_y(model, mirror, "set5")
    assert abs(p5 - 32.73) <= 0.05 and abs(s5 - 0.9011) <= 0.003, (p5, s5)
    p14, s14 = _dataset_y(model, mirror, "set14")
    assert abs(p14 - 28.99) <= 0.05 and abs(s14 - 0.7917) <= 0.003, (p14, s14)


def _baby_lr(mirror: Path) -> np.ndarray:
    from PIL import Image

    from srbench.imresize import imresize

    return imresize(np.asarray(Image.open(mirror / "set5" / "HR" / "baby.png"))[:128, :128], 1 / 4)


def test_real_esrgan_checkpoint_is_the_release_and_runs(mirror):
    weights = _real("esrgan")
    (wf,) = INFO.variants["esrgan"]
    assert next(iter(weights.values())).sha256 == wf.sha256, "not the released RRDB_ESRGAN_x4.pth"
    model = esrgan_model.load(4, device="auto", weights=weights)
    assert model.provenance["checkpoint_format"] == "official"
    assert model.upscale(_baby_lr(mirror)).shape == (128, 128, 3)


def test_real_basicsr_release_equals_the_original(mirror):
    """BasicSR's ESRGAN_SRx4_DF2KOST_official is a key-renamed copy of RRDB_ESRGAN_x4: same output."""
    original, basicsr = _real("esrgan"), _real("basicsr")
    assert next(iter(basicsr.values())).sha256.startswith("ff704c30")
    lr = _baby_lr(mirror)
    a = esrgan_model.load(4, device="auto", weights=original).upscale(lr)
    b = esrgan_model.load(4, device="auto", weights=basicsr, variant="basicsr")
    assert b.provenance["checkpoint_format"] == "basicsr" and b.provenance["sha256_prefix_in_name_matches"]
    assert np.array_equal(b.upscale(lr), a)
