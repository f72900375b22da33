"""dSRVAE adapter: equivalence with the official code (Holmes-Alan/dSRVAE test.py) and the adapter API.

Golden outputs: tests/fixtures/dsrvae/README.md (official classes, weights from :func:`seeded_weights.seeded_state`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers.float_outputs import assert_float_close, assert_uint8_matches
from srbench_methods.dsrvae import METHODS
from srbench_methods.dsrvae import model as dm
from srbench_methods.dsrvae.network import Denoiser, SRNet

from srbench.errors import SrbenchError, WeightsError
from srbench.method_api import WeightFile
from srbench.torch_utils import to_image
from srbench.weights import ResolvedWeight
from seeded_weights import seeded_state  # noqa: E402  (tests/methods is on sys.path)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "dsrvae" / "golden.npz"
INFO = METHODS[0]


@pytest.fixture(scope="module")
def golden():
    with np.load(FIX) as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope="module")
def states(golden):
    den_seed, sr_seed = (int(s) for s in golden["state_seeds"])
    with torch.device("meta"):
        den, sr = Denoiser(), SRNet(dim=int(golden["sr_dim"]))
    return seeded_state(den.state_dict(), den_seed), seeded_state(sr.state_dict(), sr_seed)


@pytest.fixture(scope="module")
def model(states, golden):
    den = dm._empty(Denoiser)
    den.load_state_dict(states[0], strict=True)
    sr = dm._empty(SRNet, dim=int(golden["sr_dim"]))
    sr.load_state_dict(states[1], strict=True)
    return dm.DSRVAE(sr, den, torch.device("cpu"))


def _hwc(t):
    return t[0].permute(1, 2, 0).numpy()


# ---------------------------------------------------------------- equivalence with the official code


def test_full_pipeline_matches_official(golden, model):
    # the latents sample() draws for the fixture's seed are the ones injected into the official run
    latents = dm.draw_latents(4, model._gen(int(golden["latent_seed"])))
    assert np.array_equal(torch.cat(latents).numpy(), golden["latents"])
    sr = model.forward_patches(dm._to_tensor(golden["lr"], "cpu"), latents)
    out = _hwc(sr)
    assert out.shape == tuple(golden["sr_shape"])
    ref = golden["sr_sub"]
    assert_float_close(out[::4, ::4], ref)  # float32 on another machine: tests/helpers/float_outputs.py
    # whole-image moments catch anything off the stored grid
    o64 = out.astype(np.float64)
    assert abs(o64.sum() - float(golden["sr_sum"])) <= 1e-6 * abs(float(golden["sr_sumsq"]))
    assert abs((o64**2).sum() - float(golden["sr_sumsq"])) <= 1e-6 * float(golden["sr_sumsq"])
    # the saved image: np.uint8(clamp(255 * SR)) - truncation; only values at a boundary may flip
    saved = to_image(sr, INFO.rounding)
    assert_uint8_matches(saved[::4, ::4], ref, INFO.rounding, ref_u8=golden["saved_sub"])


def test_sr_subnetwork_matches_official(golden, model):
    with torch.no_grad():
        out = _hwc(model.sr_net(dm._to_tensor(golden["lr"][:24, :24], "cpu")))
    assert_float_close(out, golden["sr_only"])


def test_residual_block_uses_the_official_in_place_relu():
    from srbench_methods.dsrvae.network import PreActResBlock

    blk = PreActResBlock(2)
    for p in blk.parameters():
        torch.nn.init.zeros_(p)
    x = torch.tensor([-1.0, 2.0]).view(1, 2, 1, 1).repeat(1, 1, 3, 3)
    assert torch.equal(blk(x), torch.relu(x))  # skip carries relu(x), not x


# ---------------------------------------------------------------- patching (test.py / image_utils.py)


def test_patch_starts_follow_patchify_tensor():
    assert dm.patch_starts(128, 128, 8) == [0, 0]  # 128 // 120 = 1, 120 < 128 -> a second patch at 0
    assert dm.patch_starts(136, 128, 8) == [0, 8]
    assert dm.patch_starts(250, 128, 8) == [0, 120, 122]
    assert dm.patch_starts(240, 128, 8) == [0, 112]
    assert dm.patch_starts(1000, 512, 32) == [0, 480, 488]


def test_recompose_is_a_normalised_blend():
    h, w = 520, 600
    patches = [torch.full((1, 3, 512, 512), 0.25) for _ in range(len(dm.patch_starts(h, 512, 32)) * len(dm.patch_starts(w, 512, 32)))]
    out = dm.recompose(patches, h, w, overlap=32)
    assert out.shape == (1, 3, h, w)
    assert torch.allclose(out, torch.full_like(out, 0.25), atol=1e-6)
    with pytest.raises(ValueError):
        dm.recompose(patches[:-1], h, w, overlap=32)


def test_symmetric_padding_to_a_patch():
    x = torch.arange(5.0).view(1, 1, 1, 5).repeat(1, 3, 2, 1)
    p = dm.pad_to_patch(x, patch=13)
    assert p.shape == (1, 3, 13, 13)
    assert p[0, 0, 0].tolist() == [0, 1, 2, 3, 4, 4, 3, 2, 1, 0, 0, 1, 2]
    assert torch.equal(dm.pad_to_patch(torch.zeros(1, 3, 130, 140)), torch.zeros(1, 3, 130, 140))


def test_small_images_are_padded_and_cropped_back(model, monkeypatch):
    lr = (np.arange(57 * 86 * 3) % 251).astype(np.uint8).reshape(57, 86, 3)  # Set5 'woman' at x4
    seen = {}

    def spy(x, latents):
        seen["x"], seen["n"] = x, len(latents)
        up = x.repeat_interleave(4, 2).repeat_interleave(4, 3)  # a stand-in x4 "SR"
        return (up * 255 + 0.5) / 255  # survives the official truncation exactly

    monkeypatch.setattr(model, "forward_patches", spy)
    sr = model.upscale(lr)
    assert seen["x"].shape == (1, 3, 128, 128) and seen["n"] == 4
    idx_h = dm._symmetric_index(57, 128)
    assert torch.equal(seen["x"][0, :, :, :86], dm._to_tensor(lr, "cpu")[0][:, idx_h])
    assert sr.shape == (228, 344, 3) and sr.dtype == np.uint8
    assert np.array_equal(sr[::4, ::4], lr)  # cropped back to the original content
    # the denoiser alone, at LR scale: an identity denoiser gives the LR back through the blending
    monkeypatch.setattr(model, "denoiser", lambda p, z: p)
    assert np.array_equal(model.denoise(lr), lr)


# ---------------------------------------------------------------- sampling


def test_latents_are_seeded_per_patch(model, monkeypatch):
    seen = []

    def spy(x, latents):
        seen.append(torch.cat(list(latents), 0))
        _, _, h, w = x.shape
        return torch.zeros(1, 3, 4 * h, 4 * w)

    monkeypatch.setattr(model, "forward_patches", spy)
    lr = np.zeros((130, 250, 3), np.uint8)  # 2 x 3 patches
    model.sample(lr, 2, seed=11)
    model.sample(lr, 2, seed=11)
    model.sample(lr, 1, seed=12)
    model.upscale(lr)
    model.sample(lr, 1, seed=0)
    assert seen[0].shape == (6, 512)
    assert torch.equal(seen[0], seen[2]) and torch.equal(seen[1], seen[3])  # reproducible
    assert not torch.equal(seen[0], seen[1])  # a fresh draw per sample
    assert not torch.equal(seen[0], seen[4])  # seed matters
    assert len(set(seen[0][:, 0].tolist())) == 6  # one draw per patch
    g = torch.Generator().manual_seed(11)
    assert torch.equal(seen[0][0], torch.randn(1, 512, generator=g)[0])  # documented draw order
    assert torch.equal(seen[5], seen[6])  # upscale = sample of the default seed 0
    monkeypatch.setattr(model, "latent", "zero")
    model.upscale(lr)
    assert torch.count_nonzero(seen[-1]) == 0


def test_bad_latent_option(states):
    sr = SRNet(dim=8)
    with pytest.raises(SrbenchError):
        dm.DSRVAE(sr, None, torch.device("cpu"), latent="median")
    with pytest.raises(SrbenchError, match=r"option latent='median': expected one of sample, zero"):
        dm.load(4, options={"latent": "median"})


def test_the_seed_is_not_an_option():
    """srbench run --seed reaches sample() only; upscale() is sample(lr, 1, DEFAULT_SEED)[0]."""
    with pytest.raises(SrbenchError, match=r"method dsrvae takes no option 'seed'; it takes: latent \(the seed is not an option"):
        dm.load(4, options={"seed": "3"})
    with pytest.raises(SrbenchError, match=r"takes no option 'tile'"):
        dm.load(4, options={"tile": "64"})


# ---------------------------------------------------------------- loading


def _rw(name: str) -> ResolvedWeight:
    return ResolvedWeight(WeightFile(name), Path(f"/nonexistent/{name}"), "0" * 64, "user")


def test_refuses_to_run_without_weights():
    with pytest.raises(WeightsError):
        dm.load(4)
    with pytest.raises(WeightsError):
        dm.load(4, weights={"VAE_SR.pth": _rw("VAE_SR.pth")})  # full needs the denoiser too
    with pytest.raises(SrbenchError):
        dm.load(2, weights={})
    with pytest.raises(SrbenchError):
        dm.load(4, variant="denoise-only", weights={})


def test_loads_dataparallel_checkpoints_strictly(states, monkeypatch):
    den_state = {f"module.{k}": v for k, v in states[0].items()}
    den_state["module.denoise_feat.0.conv.weight"] = torch.zeros(64, 6, 3, 3)  # training-only keys
    den_state["module.SR_final.0.bias"] = torch.zeros(3)
    with torch.device("meta"):
        sr_template = SRNet().state_dict()
    sr_state = {f"module.{k}": v for k, v in seeded_state(sr_template, 5).items()}
    files = {"VAE_denoiser.pth": den_state, "VAE_SR.pth": sr_state}
    monkeypatch.setattr("srbench.weights.load_checkpoint", lambda p: dict(files[Path(p).name]))
    weights = {n: _rw(n) for n in files}
    given = {"latent": "zero"}
    assert set(given) == {o.name for o in INFO.options}  # every declared option is exercised here
    assert all(INFO.option(k).default != v for k, v in given.items())
    m = dm.load(4, weights=weights, options=given)
    assert m.provenance["variant"] == "full" and m.provenance["dropped_training_keys"] == 2
    assert m.provenance["weights"] == {"VAE_SR.pth": "0" * 64, "VAE_denoiser.pth": "0" * 64}
    assert m.latent == "zero" and m.provenance["latent"] == "zero" and "upscale_seed" not in m.provenance
    assert dm.load(4, weights=weights).latent == "sample"
    assert torch.equal(m.sr_net.recon[0].weight, sr_state["module.recon.0.weight"])
    only = dm.load(4, weights={"VAE_SR.pth": weights["VAE_SR.pth"]}, variant="sr-only")
    assert only.denoiser is None and only.provenance["latent"] == "n/a"
    # strictness: a missing or an unknown key is an error, not a silent random init
    del den_state["module.SR_mu.0.bias"]
    with pytest.raises(WeightsError, match="missing keys: SR_mu.0.bias"):
        dm.load(4, weights=weights)
    sr_state["module.extra.weight"] = torch.zeros(1)
    with pytest.raises(WeightsError, match="unexpected keys: extra.weight"):
        dm.load(4, weights=weights, variant="sr-only")


def test_sr_only_variant_is_the_subnetwork_on_the_whole_image(golden, states):
    sr = SRNet(dim=int(golden["sr_dim"]))
    sr.load_state_dict(states[1])
    m = dm.DSRVAE(sr, None, torch.device("cpu"))
    lr = golden["lr"][:24, :24]
    ref = np.clip(golden["sr_only"] * 255.0, 0, 255).astype(np.uint8)
    out = m.upscale(lr)
    assert np.count_nonzero(out != ref) <= 0.001 * out.size
    assert all(np.array_equal(o, out) for o in m.sample(lr, 2, seed=4))
    with pytest.raises(SrbenchError):
        m.denoise(lr)


# ---------------------------------------------------------------- metadata


def test_metadata():
    assert INFO.name == "dsrvae" and INFO.scales == (4,) and INFO.stochastic and not INFO.reference_based
    assert INFO.code_license == "none stated" and "@InProceedings" in INFO.citation
    assert list(INFO.variants) == ["full", "sr-only"] and INFO.default_variant == "full"
    assert [f.name for f in INFO.variants["full"]] == ["VAE_denoiser.pth", "VAE_SR.pth"]
    assert all(f.manual and f.urls and f.urls[0].startswith("https://drive.google.com/") for fs in INFO.variants.values() for f in fs)
    # SRNet(64): conv 3->64 + PReLU, 4 blocks of 2 convs 64->64, conv 64->3
    conv = lambda cin, cout, k: cin * cout * k * k + cout
    sr = conv(3, 64, 3) + 1 + 8 * conv(64, 64, 3) + conv(64, 3, 3)
    assert sr == 298_948 == INFO.param_count("sr-only")
    assert INFO.param_count() == 74_750_126



# ---------------------------------------------------------------- architecture vs the paper


def _conv(cin: int, cout: int, k: int) -> int:
    return cin * cout * k * k + cout


def _lin(cin: int, cout: int) -> int:
    return cin * cout + cout


def _nparams(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_architecture_has_the_sizes_the_paper_states():
    """Liu et al., CVPRW 2020, Sec. 4.1: latent vector length 512; the DAE decoder has 2 deconvolutions
    (kernel 6, stride 4, padding 1) and 3 residual blocks (kernel 3, stride 1, padding 1); the SRSN has 4
    residual blocks of 64 kernels (3, 1, 1). Sec. 3.2: the SRSN starts with a bicubic up-sampling.
    Widths the paper does not give follow the official test.py, which the checkpoints fit:
    VAE_denoise_vali(input_dim=3, dim=32, feat_size=8, z_dim=512) and VAE_SR(input_dim=3, dim=64)."""
    from srbench_methods.dsrvae.network import PATCH, Z_DIM, PreActResBlock

    with torch.device("meta"):
        den, sr = Denoiser(), SRNet()
        noise = den.noise_map(torch.zeros(1, Z_DIM))
        sr_out = sr(torch.zeros(1, 3, 8, 8))
    # latent: 512 (Sec. 4.1), both on the (unused) encoder side and into the decoder
    assert Z_DIM == 512 and den.VAE_decoder[0].in_features == 512
    assert den.q_z_mu.out_features == den.q_z_logvar[0].out_features == 512
    # DAE decoder: exactly two deconvolutions k6 s4 p1 (Sec. 4.1): 8x8 -> 32 -> 128, the 128 px noise map
    deconvs = [m for m in den.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(d.kernel_size, d.stride, d.padding) for d in deconvs] == [((6, 6), (4, 4), (1, 1))] * 2
    assert noise.shape == (1, 32, PATCH, PATCH) and PATCH == 128
    # ... and three residual blocks k3 s1 p1 (Sec. 4.1), 32 channels wide (official dim=32; not in the paper)
    den_blocks = list(den.SR_recon)
    assert len(den_blocks) == 3 and all(isinstance(b, PreActResBlock) for b in den_blocks)
    for b in den_blocks:
        for c in (b.conv1, b.conv2):
            assert (c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding) == (32, 32, (3, 3), (1, 1), (1, 1))
    # SRSN: four residual blocks of 64 kernels k3 s1 p1 (Sec. 4.1), after a bicubic x4 (Sec. 3.2)
    sr_blocks = list(sr.feat)
    assert len(sr_blocks) == 4 and all(isinstance(b, PreActResBlock) for b in sr_blocks)
    for b in sr_blocks:
        for c in (b.conv1, b.conv2):
            assert (c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding) == (64, 64, (3, 3), (1, 1), (1, 1))
    assert sr_out.shape == (1, 3, 32, 32)
    # the DAE's VGG19 encoder (Sec. 3.1, 4.1) is training-only and not in the checkpoint: the only conv of the
    # test-time denoiser that reads RGB is the LR branch's first. The checkpoint's encoder side is the Linear
    # head on VGG19 pool5 features of a 128 px patch (main_denoiser.py: VGGFeatureExtractor(feature_layer=36)):
    # 512 x 4 x 4 = 8192 inputs
    assert den.VAE_encoder[0].in_features == 512 * (PATCH // 32) ** 2 == 8192
    assert [c.in_channels for c in den.modules() if isinstance(c, torch.nn.Conv2d) and c.in_channels == 3] == [3]


def test_parameter_counts_follow_from_the_layer_sizes():
    """The counts in the notes, rebuilt from the layer sizes above (official modules.py layout); the paper
    states none."""
    with torch.device("meta"):
        den, sr = Denoiser(), SRNet()
    prelu = 1  # single-slope PReLU after every ConvBlock / DeconvBlock
    lr_feat = _conv(3, 64, 3) + _conv(64, 64, 3) + _conv(64, 32, 3) + 3 * prelu
    deconv = lambda cin, cout: cin * cout * 36 + cout  # k6 ConvTranspose2d
    decoder = _conv(128, 128, 1) + deconv(128, 128) + deconv(128, 64) + _conv(64, 32, 3) + 4 * prelu
    res_blocks = 3 * 2 * _conv(32, 32, 3)
    head = _conv(32, 3, 3)
    latent_decoder = _lin(512, 4096) + _lin(4096, 8192)
    encoder = _lin(8192, 4096) + 2 * _lin(4096, 512)  # in the checkpoint, unused at test time
    assert _nparams(den.LR_feat) == lr_feat and _nparams(den.decoder) == decoder
    assert _nparams(den.SR_recon) == res_blocks and _nparams(den.SR_mu) == head
    assert _nparams(den.VAE_decoder) == latent_decoder
    assert _nparams(den.VAE_encoder) + _nparams(den.q_z_mu) + _nparams(den.q_z_logvar) == encoder == 37_753_856
    srsn = _conv(3, 64, 3) + prelu + 4 * 2 * _conv(64, 64, 3) + _conv(64, 3, 3)
    assert _nparams(sr) == srsn == 298_948
    test_time = lr_feat + decoder + res_blocks + head + latent_decoder + srsn
    assert test_time == 36_996_270 and test_time + encoder == INFO.param_count() == 74_750_126


def test_paper_table_records_the_supervised_table_2_model():
    rows = {r.what: r for r in INFO.paper_vs_srbench}
    t2 = rows["model behind Table 2"]
    assert "supervised" in t2.paper and "Sec. 4.3" in t2.paper and "unsupervised" in t2.srbench and t2.why
    assert "SUPERVISED variant" in INFO.notes and "Sec. 4.3" in INFO.notes
    assert rows["latent vector length"].paper.startswith("512") and rows["latent vector length"].srbench == "512"
    assert rows["residual block width"].srbench == "SRSN 64; DAE 32" and rows["residual block width"].why


# ---------------------------------------------------------------- the real checkpoints


def _real_weights() -> dict[str, ResolvedWeight]:
    from srbench.hashing import sha256_file
    from srbench.paths import home, mirrors

    roots = [home() / "weights" / "dsrvae"] + [m / "weights" / "dsrvae" for m in mirrors()]
    found = {}
    for wf in INFO.variants["full"]:
        p = next((r / wf.name for r in roots if (r / wf.name).is_file()), None)
        if p is None:
            pytest.skip(
                f"real dSRVAE checkpoint {wf.name} not found in {', '.join(map(str, roots))}: get it from "
                f"{wf.urls[0]} and run `srbench weights import dsrvae {wf.name}` (with SRBENCH_HOME set)"
            )
        found[wf.name] = ResolvedWeight(wf, p, sha256_file(p), "user")
    return found


def test_real_checkpoints_load_strictly_and_run():
    weights = _real_weights()
    device = os.environ.get("SRBENCH_TEST_DEVICE", "cpu")
    m = dm.load(4, device=device, weights=weights)
    yy, xx = np.indices((130, 140))
    lr = (128 + 60 * np.sin(yy[:, :, None] / 9.0 + xx[:, :, None] / 13.0 + np.array([0, 1, 2]))).astype(np.uint8)
    a, b = m.sample(lr, 2, seed=1)
    assert a.shape == (520, 560, 3) and not np.array_equal(a, b)
    assert np.array_equal(m.sample(lr, 1, seed=1)[0], a)
    # a trained SR of a smooth image stays close to its bicubic enlargement (random weights would not)
    from srbench.imresize import imresize

    assert np.abs(a.astype(float) - imresize(lr, 4).astype(float)).mean() < 20
