"""SRGAN adapter (leftthomas/SRGAN@b0323c6): golden outputs of the official code with the released weights,
Set5 x4 fidelity, strict/safe loading, options."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import srbench_methods.srgan.model as srgan_model
import torch
from helpers.float_outputs import assert_float_close, assert_uint8_matches
from safetensors.torch import load_file
from srbench_methods.srgan import METHODS, TILE_OVERLAP

from srbench.errors import ImageError, SrbenchError, WeightsError
from srbench.hashing import sha256_file
from srbench.method_api import WeightFile
from srbench.weights import ResolvedWeight, import_file, resolve

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "srgan"
INFO = METHODS[0]
COMMIT = "b0323c6ca4ca920f7daa41ba05f44bd220557cd9"

# Set5 x4, RGB protocol (LR = MATLAB-bicubic of the modcropped HR), default quantisation (truncation as the
# official test_image.py): measured with this adapter, identical to the official code's outputs
SET5_X4 = {"psnr_y": 30.7136, "ssim_y": 0.8642}


def _w(path: Path, name: str | None = None) -> dict[str, ResolvedWeight]:
    name = name or path.name
    return {name: ResolvedWeight(WeightFile(name), path, sha256_file(path), "user")}


def _x(lr: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(lr.transpose(2, 0, 1).copy()).float().div(255).unsqueeze(0)


# ---------------------------------------------------------------- metadata


def test_metadata():
    assert INFO.name == "srgan" and INFO.scales == (2, 4, 8) and INFO.default_variant == "leftthomas"
    files = INFO.variants["leftthomas"]
    assert [f.scale for f in files] == [2, 4, 8]
    for f in files:
        assert f.name == f"netG_epoch_{f.scale}_100.pth" and not f.manual and len(f.sha256) == 64
        assert f.urls[0] == f"https://raw.githubusercontent.com/leftthomas/SRGAN/{COMMIT}/epochs/{f.name}"
    assert INFO.param_count() == 734_092
    assert "@InProceedings{ledig2017srgan" in INFO.citation



def _conv(cin: int, cout: int, k: int) -> int:
    return cin * cout * k * k + cout


def _generator_params(n_blocks: int, post_bn: bool, scale: int) -> int:
    """Parameters of an SRGAN generator laid out as Ledig et al. (CVPR 2017) Fig. 4, PReLUs with one slope:
    k9n64s1 + PReLU; n_blocks x (k3n64s1, BN, PReLU, k3n64s1, BN); k3n64s1 + (BN if post_bn else PReLU);
    log2(scale) x (k3n256s1, pixel shuffle, PReLU); k9n3s1."""
    bn = 2 * 64  # affine weight + bias
    res = 2 * _conv(64, 64, 3) + 2 * bn + 1
    up = _conv(64, 256, 3) + 1
    n_up = {2: 1, 4: 2, 8: 3}[scale]
    return _conv(3, 64, 9) + 1 + n_blocks * res + _conv(64, 64, 3) + (bn if post_bn else 1) + n_up * up + _conv(64, 3, 9)


def test_architecture_against_the_paper_and_the_reproduction():
    """Paper (Ledig et al., CVPR 2017, Sec. 2.2, 3.2, Fig. 4): B = 16 residual blocks of two k3n64s1 convs with
    BN and PReLU, k9n64s1 first / k9n3s1 last convs, conv + BN after the residual blocks, two sub-pixel blocks
    (k3n256s1, pixel shuffle x2, PReLU) at x4. No official code exists: srbench runs the generator of
    leftthomas/SRGAN@b0323c6 (model.py), which the released files fit - 5 residual blocks and conv + PReLU
    (no BN) after them. Both differences are PaperValue rows."""
    from srbench_methods.srgan.arch import (
        FrozenBatchNorm2d,
        Generator,
        ResidualBlock,
        UpsampleBlock,
        count_parameters,
    )

    for scale in (2, 4, 8):
        with torch.device("meta"):
            g = Generator(scale)
            out = g(torch.zeros(1, 3, 5, 6))
        assert out.shape == (1, 3, 5 * scale, 6 * scale)
        blocks = [m for m in g.modules() if isinstance(m, ResidualBlock)]
        assert len(blocks) == 5  # the paper: 16
        for b in blocks:
            for c in (b.conv1, b.conv2):
                assert (c.in_channels, c.out_channels, c.kernel_size, c.padding) == (64, 64, (3, 3), (1, 1))
            assert isinstance(b.bn1, FrozenBatchNorm2d) and isinstance(b.bn2, FrozenBatchNorm2d)
        assert (g.block1[0].kernel_size, g.block1[0].out_channels) == ((9, 9), 64)
        assert (g.block8[-1].kernel_size, g.block8[-1].in_channels, g.block8[-1].out_channels) == ((9, 9), 64, 3)
        assert not any(isinstance(m, FrozenBatchNorm2d) for m in g.block7.modules())  # the paper has BN here
        ups = [m for m in g.block8 if isinstance(m, UpsampleBlock)]
        assert len(ups) == {2: 1, 4: 2, 8: 3}[scale] and all(u.conv.out_channels == 256 for u in ups)
        assert count_parameters(scale) == _generator_params(5, post_bn=False, scale=scale)
    assert INFO.param_count() == _generator_params(5, post_bn=False, scale=4) == 734_092
    # the paper's Fig. 4 generator (B = 16, BN after the blocks) would have about twice as many
    assert _generator_params(16, post_bn=True, scale=4) == 1_549_462


def test_paper_table_rows_agree_with_the_method_info():
    rows = {r.what: r for r in INFO.paper_vs_srbench}
    assert rows["residual blocks"].paper.startswith("B = 16") and rows["residual blocks"].srbench == "5"
    assert rows["scale"].paper.startswith("x4") and rows["scale"].srbench == "x2, x4, x8" and INFO.scales == (2, 4, 8)
    assert rows["output rounding"].srbench.startswith(INFO.rounding)


def test_mirror_files_are_the_upstream_files(srgan_weights):
    """The declared sha256s are those of the files in the repository at b0323c6 (the mirror holds them
    byte for byte: git blob ids 6c6642a3 / b816dc65 / a5d84b05)."""
    for f in INFO.variants["leftthomas"]:
        path = srgan_weights / f.name
        assert sha256_file(path) == f.sha256 and path.stat().st_size == f.size


def test_resolve_picks_the_file_of_the_scale(fresh_home, srgan_weights):
    for scale in (2, 4, 8):
        got = resolve(INFO, None, scale=scale, overrides={"srgan": srgan_weights})
        assert list(got) == [f"netG_epoch_{scale}_100.pth"] and next(iter(got.values())).provenance == "official"
    imported = import_file(INFO, srgan_weights / "netG_epoch_4_100.pth")
    assert imported.provenance == "official"
    got = resolve(INFO, None, scale=4, allow_download=False)
    model = srgan_model.load(4, weights=got)
    assert model.provenance["weights"] == {"netG_epoch_4_100.pth": INFO.variants["leftthomas"][1].sha256}


# ---------------------------------------------------------------- golden outputs of the official code


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_official_outputs_reproduced(srgan_weights, scale):
    io = load_file(FIX / "official_io.safetensors")
    model = srgan_model.load(scale, weights=_w(srgan_weights / f"netG_epoch_{scale}_100.pth"))
    lr = io[f"x{scale}_input_uint8"].numpy()
    raw = model.forward(_x(lr))
    assert raw.shape == (1, 3, 16 * scale, 16 * scale)
    ref = io[f"x{scale}_output_raw"]
    assert_float_close(raw, ref)  # float32 on another machine: tests/helpers/float_outputs.py
    assert_uint8_matches(model.upscale(lr), ref, model.rounding, ref_u8=io[f"x{scale}_output_uint8"])  # ToPILImage


def test_quantisation_modes(srgan_weights):
    io = load_file(FIX / "official_io.safetensors")
    lr = io["x4_input_uint8"].numpy()
    raw = io["x4_output_raw"]
    trunc = srgan_model.load(4, weights=_w(srgan_weights / "netG_epoch_4_100.pth"))
    rnd = srgan_model.load(4, weights=_w(srgan_weights / "netG_epoch_4_100.pth"), options={"quantize": "round"})
    assert trunc.provenance["quantize"] == "truncate" and rnd.provenance["quantize"] == "round"
    assert (trunc.rounding, rnd.rounding) == ("truncate", "half_away") and INFO.rounding == "truncate"
    a, b = trunc.upscale(lr), rnd.upscale(lr)
    assert_uint8_matches(a, raw, trunc.rounding)  # floor(255 x) except at a float32 hair from an integer
    assert_uint8_matches(b, raw, rnd.rounding)
    a, b = a.astype(int), b.astype(int)
    assert (b - a).min() >= 0 and (b != a).mean() > 0.3  # same float output: rounding never below truncation


@pytest.mark.slow
def test_set5_x4_fidelity(srgan_weights, mirror):
    from PIL import Image

    from srbench.conventions import modcrop
    from srbench.imresize import imresize
    from srbench.metrics.base import MetricContext
    from srbench.metrics.fidelity import psnr_y, ssim_y

    model = srgan_model.load(4, weights=_w(srgan_weights / "netG_epoch_4_100.pth"))
    ctx, P, S = MetricContext(scale=4), psnr_y(), ssim_y()
    ps, ss = [], []
    for f in sorted((mirror / "set5" / "HR").glob("*.png")):
        hr = modcrop(np.asarray(Image.open(f).convert("RGB")), 4)
        sr = model.upscale(imresize(hr, 1 / 4))
        ps.append(P(sr, hr, ctx))
        ss.append(S(sr, hr, ctx))
    assert len(ps) == 5
    assert abs(np.mean(ps) - SET5_X4["psnr_y"]) <= 0.005, np.mean(ps)
    assert abs(np.mean(ss) - SET5_X4["ssim_y"]) <= 0.0005, np.mean(ss)


# ---------------------------------------------------------------- tiling, inputs, errors


def test_tiling_is_exact_at_the_default_overlap(srgan_weights):
    lr = load_file(FIX / "official_io.safetensors")["x4_input_uint8"].numpy()
    whole = srgan_model.load(4, weights=_w(srgan_weights / "netG_epoch_4_100.pth"))
    tiled = srgan_model.load(4, weights=_w(srgan_weights / "netG_epoch_4_100.pth"), options={"tile": "8"})
    assert tiled.provenance["tile"] == 8 and tiled.provenance["tile_overlap"] == 18 and tiled.provenance["tiling_exact"]
    assert (tiled.forward(_x(lr)) - whole.forward(_x(lr))).abs().max().item() <= 1e-5


def test_grey_and_bad_inputs(srgan_weights):
    model = srgan_model.load(2, weights=_w(srgan_weights / "netG_epoch_2_100.pth"))
    grey = np.random.default_rng(0).integers(0, 256, (6, 5), dtype=np.uint8)
    assert np.array_equal(model.upscale(grey), model.upscale(np.repeat(grey[:, :, None], 3, axis=2)))
    with pytest.raises(ImageError):
        model.upscale(grey.astype(np.int16))


def test_wrong_scale_checkpoint_is_rejected(srgan_weights):
    with pytest.raises(WeightsError) as exc:
        srgan_model.load(4, weights=_w(srgan_weights / "netG_epoch_2_100.pth"))
    msg = str(exc.value)
    assert "does not fit Generator: missing keys:" in msg and "block8.2.weight" in msg
    assert "unexpected keys: block8.1.bias, block8.1.weight" in msg


@pytest.mark.parametrize(
    "edit, expect",
    [
        (lambda s: s.pop("block3.bn2.running_var"), "missing keys: block3.bn2.running_var"),
        (lambda s: s.__setitem__("block3.bn2.num_batches_tracked", torch.tensor(0)), "unexpected keys: block3.bn2.num_batches_tracked"),
        (lambda s: s.__setitem__("block9.weight", s.pop("block8.2.weight")), "missing keys: block8.2.weight; unexpected keys: block9.weight"),
    ],
)
def test_wrong_keys_are_rejected(tmp_path, srgan_weights, edit, expect):
    state = dict(torch.load(srgan_weights / "netG_epoch_4_100.pth", weights_only=True, map_location="cpu"))
    edit(state)
    bad = tmp_path / "netG_epoch_4_100.pth"
    torch.save(state, bad)
    with pytest.raises(WeightsError, match=expect):
        srgan_model.load(4, weights=_w(bad))


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_malicious_checkpoint_is_not_executed(tmp_path):
    marker = tmp_path / "marker"
    bad = tmp_path / "netG_epoch_4_100.pth"
    torch.save({"block1.0.weight": _Evil(str(marker))}, bad)
    with pytest.raises(WeightsError):
        srgan_model.load(4, weights=_w(bad))
    assert not marker.exists()


def _random_generator(tmp_path: Path, scale: int) -> dict[str, ResolvedWeight]:
    """A checkpoint of the right layout with random weights (for option handling, not for outputs)."""
    from srbench_methods.srgan.arch import Generator

    torch.manual_seed(scale)
    path = tmp_path / f"netG_epoch_{scale}_100.pth"
    torch.save(Generator(scale).state_dict(), path)
    return _w(path)


def test_declared_options_are_read(tmp_path):
    weights = _random_generator(tmp_path, 4)
    given = {"tile": 8, "tile_overlap": 20, "quantize": "round"}
    assert set(given) == {o.name for o in INFO.options}  # every declared option is exercised here
    assert all(INFO.option(k).default != v for k, v in given.items())
    model = srgan_model.load(4, weights=weights, options={k: str(v) for k, v in given.items()})
    assert (model.tile, model.overlap, model.quantize, model.rounding) == (8, 20, "round", "half_away")
    assert model.provenance["tile_overlap"] == 20 and model.provenance["quantize"] == "round"
    default = srgan_model.load(4, weights=weights)
    assert (default.tile, default.overlap, default.quantize) == (None, TILE_OVERLAP, "truncate")


def test_default_overlap_is_the_receptive_field_radius():
    from srbench_methods.srgan.arch import receptive_field_radius

    assert TILE_OVERLAP == max(receptive_field_radius(s) for s in INFO.scales) == INFO.option("tile_overlap").default
    assert not INFO.option("tile").affects_output  # exact tiling at the default overlap


def test_options_of_other_methods_are_refused(tmp_path):
    weights = _random_generator(tmp_path, 2)
    with pytest.raises(SrbenchError, match=r"method srgan takes no option 'ref'; it takes: tile, tile_overlap, quantize"):
        srgan_model.load(2, weights=weights, options={"ref": "r.png"})
    with pytest.raises(SrbenchError, match=r"option quantize='floor': expected one of truncate, round"):
        srgan_model.load(2, weights=weights, options={"quantize": "floor"})


def test_bad_requests(tmp_path):
    dummy = tmp_path / "netG_epoch_4_100.pth"
    dummy.write_bytes(b"")
    with pytest.raises(WeightsError, match="never runs with random"):
        srgan_model.load(4, weights=None)
    with pytest.raises(SrbenchError, match="scale 3"):
        srgan_model.load(3, weights=_w(dummy))
    with pytest.raises(SrbenchError, match="quantize"):
        srgan_model.load(4, weights=_w(dummy), options={"quantize": "floor"})
