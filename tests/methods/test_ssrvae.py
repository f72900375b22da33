"""SSRVAE adapter (SR network) and the styleVAE degradation, architecture v2 (the paper's sizes).

No code or weights were released, so nothing official can be matched: the layers are checked against what
the paper states (Ma et al., arXiv:1912.10227, Sec. 3.1, 3.2, 4.1), the attention modules against direct
formulas (Eq. 7-11), and a golden fixture made with srbench's own networks on seeded weights keeps the
adapter stable (tests/fixtures/ssrvae/README.md, tests/methods/ssrvae_golden.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

import ssrvae_golden as gold  # tests/methods is on sys.path
from helpers.float_outputs import assert_float_close, assert_uint8_matches
from srbench_methods.ssrvae import (
    ATTENTION_CHUNK,
    DEGRADATIONS,
    METHODS,
    PARAMS_SR,
    PARAMS_STYLEVAE,
    TILE_OVERLAP,
)
from srbench_methods.ssrvae import degradation as sdeg
from srbench_methods.ssrvae import model as smod
from srbench_methods.ssrvae.networks import (
    ARCH_VERSION,
    AttentionResBlock,
    GlobalAttention,
    LocalAttention,
    ResBlock,
    SSRVAENet,
    StyledResBlock,
    StyleVAE,
)

from srbench.checkpoint_format import read_config, save_checkpoint, sidecar_path
from srbench.errors import SrbenchError, WeightsError
from srbench.hashing import sha256_file
from srbench.method_api import WeightFile
from srbench.weights import ResolvedWeight, resolve

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "ssrvae"
INFO, DINFO = METHODS[0], DEGRADATIONS[0]


def rw(path: Path) -> dict[str, ResolvedWeight]:
    path = Path(path)
    return {path.name: ResolvedWeight(WeightFile(path.name), path, sha256_file(path), "user")}


def conv(cin, cout, k):
    return cin * cout * k * k + cout


def lin(fin, fout):
    return fin * fout + fout


def _tiny_sr(seed=0):
    torch.manual_seed(seed)
    net = SSRVAENet(nf=8, n_global=2, n_local=2, reduction=4, window=3)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (GlobalAttention, LocalAttention)):
                m.lam.fill_(0.7)  # trained nets have lambda != 0: exercise the attention paths
    return net.eval()


def _tiny_vae(seed=0):
    torch.manual_seed(seed)
    return StyleVAE(nf=4, style_dim=3, n_style_res=1, n_gen_res=1, n_content_res=1).eval()


def _convs(net):
    return {name: m for name, m in net.named_modules() if isinstance(m, torch.nn.Conv2d)}


def _tensor(img):
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float().div(255).unsqueeze(0)


# ---------------------------------------------------------------- parameter counts (layer by layer)


def test_param_count_sr():
    nf, inner = 64, 64 // 8
    attn = 3 * conv(nf, inner, 1) + conv(inner, nf, 1) + 1  # f, g, h (or q, k, h), v, lambda
    block = 2 * conv(nf, nf, 3) + attn
    expected = conv(3, nf, 3) + 8 * block + 8 * block + 2 * conv(nf, 4 * nf, 3) + conv(nf, 3, 3)
    assert expected == 1_514_835 == PARAMS_SR  # adapter v1: 1,563,859
    assert sum(p.numel() for p in SSRVAENet().parameters()) == expected == INFO.param_count()


def test_param_count_stylevae():
    nf, sd = 64, 256
    res = 2 * conv(nf, nf, 3)
    content = conv(3, nf, 3) + 2 * conv(nf, nf, 3) + 2 * res  # IN has no parameters
    style = conv(3, nf, 3) + 8 * res + 2 * lin(nf, sd)  # mu and log var heads
    generator = 2 * (res + lin(sd, 2 * nf)) + conv(nf, 3, 3)  # block + its AdaIN's FC layer; RGB conv
    assert content + style + generator == 1_064_515 == PARAMS_STYLEVAE  # adapter v1: 14,031,891
    assert sum(p.numel() for p in StyleVAE().parameters()) == content + style + generator == DINFO.param_count()


# ---------------------------------------------------------------- the sizes the paper states


def test_sr_network_follows_sec_3_2():
    net = SSRVAENet()
    # five parts: shallow conv, GARN, LARN, upscale module, reconstruction layer (in that order)
    assert [n for n, _ in net.named_children()] == ["head", "global_blocks", "local_blocks", "upsampler", "tail"]
    assert isinstance(net.head, torch.nn.Conv2d)  # shallow feature extractor: one conv (Sec. 3.2)
    garbs, larbs = list(net.global_blocks), list(net.local_blocks)
    assert len(garbs) == 8 and len(larbs) == 8  # 8 GARBs, 8 LARBs (Sec. 3.2)
    assert all(isinstance(b, AttentionResBlock) and isinstance(b.attn, GlobalAttention) for b in garbs)
    assert all(isinstance(b, AttentionResBlock) and isinstance(b.attn, LocalAttention) for b in larbs)
    for b in garbs + larbs:
        a = b.attn
        projections = (a.f, a.g, a.h, a.v) if isinstance(a, GlobalAttention) else (a.q, a.k, a.h, a.v)
        assert all(p.kernel_size == (1, 1) for p in projections)  # W_f, W_g, W_h, W_v / f_theta_q, f_theta_k: 1x1
        assert a.lam.numel() == 1 and a.lam.requires_grad  # Eq. 9: a learnable scalar
    assert (garbs[0].attn.f.out_channels, garbs[0].attn.v.in_channels, garbs[0].attn.v.out_channels) == (8, 8, 64)
    assert larbs[0].attn.window == 7
    # every other conv is 3x3 (the styleVAE's kernel size, Sec. 4.1; the SR net has the same size)
    one_by_one = {n for n, m in _convs(net).items() if n.endswith(("attn.f", "attn.g", "attn.q", "attn.k", "attn.h", "attn.v"))}
    assert len(one_by_one) == 16 * 4
    assert all(m.kernel_size == (3, 3) for n, m in _convs(net).items() if n not in one_by_one)
    # upscaler: two x2 sub-pixel stages; reconstruction conv to RGB
    shuffles = [m for m in net.upsampler if isinstance(m, torch.nn.PixelShuffle)]
    assert len(shuffles) == 2 and all(s.upscale_factor == 2 for s in shuffles)
    assert (net.tail.in_channels, net.tail.out_channels) == (64, 3)


def test_stylevae_follows_sec_3_1_and_4_1():
    net = StyleVAE()
    assert net.style_dim == 256  # latent code size 256 (Sec. 4.1)
    assert net.style_encoder.mu.out_features == net.style_encoder.logvar.out_features == 256
    assert all(m.kernel_size == (3, 3) for m in _convs(net).values())  # every conv 3x3 (Sec. 4.1)
    assert len(_convs(net)) == 7 + 17 + 5  # E_HR: 1 + 2 strided + 2x2, E_LR: 1 + 8x2, G: 2x2 + 1
    # residual blocks: reference (style) network 8, generate network 2 (Sec. 4.1); content encoder 2 (srbench)
    assert sum(isinstance(m, ResBlock) for m in net.style_encoder.modules()) == 8
    assert len(net.generator.blocks) == 2
    assert sum(isinstance(m, ResBlock) for m in net.generator.modules()) == 2
    assert sum(isinstance(m, ResBlock) for m in net.content_encoder.modules()) == 2
    # no normalisation inside E_LR or inside G's blocks (G's only normalisation is its AdaIN)
    for sub in (net.style_encoder, net.generator):
        assert not any(isinstance(m, torch.nn.InstanceNorm2d) for m in sub.modules())
    # y_s, y_b come from the code through one fully connected layer per AdaIN (no mapping MLP)
    linears = [m for m in net.generator.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(256, 128)] * 2


def test_adain_follows_each_generator_block():
    """Eq. 2 after each residual block of G: each block's output has, per channel, the spatial mean y_b and
    standard deviation |y_s| that its FC layer gives for the code (not so inside the block)."""
    torch.manual_seed(3)
    net = StyleVAE(nf=8, style_dim=5).eval()
    content, z = torch.randn(1, 8, 6, 7), torch.randn(1, 5)
    outs, hooks_input = [], {}

    def hook(m, i, o):
        hooks_input[m] = i[0]
        outs.append((m, o))

    hooks = [b.register_forward_hook(hook) for b in net.generator.blocks]
    with torch.no_grad():
        net.decode(content, z)
        for h in hooks:
            h.remove()
        assert len(outs) == 2
        for block, out in outs:
            y_s, y_b = block.affine(z).chunk(2, dim=1)
            assert torch.allclose(out.mean(dim=(2, 3)), y_b, atol=1e-5)
            normalised = (out - y_b[:, :, None, None]) / y_s[:, :, None, None]  # unit variance (up to IN's eps)
            assert torch.allclose(normalised.var(dim=(2, 3), unbiased=False), torch.ones(1, 8), atol=1e-3)
            pre = block.res(hooks_input[block])
            assert not torch.allclose(pre.mean(dim=(2, 3)), y_b, atol=1e-2)  # the block's own output is not
    assert all(isinstance(b, StyledResBlock) for b in net.generator.blocks)


def test_sr_network_has_the_size_of_the_stylevae():
    """Sec. 4.1 says the SR network's size is the styleVAE's. srbench reads "size" as *layer size*, the
    sentence before it using "size" for the 3x3 kernels of the convolutions: every conv of both
    networks is 3x3 (the SR net's 1x1 attention projections are stated separately, Sec. 3.2) and both work
    at one feature width, 64 channels (not stated; srbench's choice). It is not read as an equal parameter
    count (the paper gives no widths, so none could be matched): 1,514,835 vs 1,064,515. The other
    possible reading, image size, holds by construction: the styleVAE's LR output is the SR net's input
    and the SR net maps it back to the HR size."""
    sr, vae = SSRVAENet(), StyleVAE()
    sr_convs = {n: m for n, m in _convs(sr).items() if ".attn." not in n}
    assert {m.kernel_size for m in sr_convs.values()} == {m.kernel_size for m in _convs(vae).values()} == {(3, 3)}

    def widths(convs):  # feature widths inside the network (RGB in/out and the sub-pixel 4x expansion aside)
        return {c for m in convs.values() for c in (m.in_channels, m.out_channels)} - {3, 4 * 64}

    assert widths(sr_convs) == widths(_convs(vae)) == {64} == {sr.arch_params["nf"]} == {vae.arch_params["nf"]}
    assert (PARAMS_SR, PARAMS_STYLEVAE) == (1_514_835, 1_064_515)
    row = next(r for r in INFO.paper_vs_srbench if r.what == "size vs styleVAE")
    assert "1,514,835" in row.srbench and "1,064,515" in row.srbench
    tiny_sr, tiny_vae = _tiny_sr(), _tiny_vae()
    with torch.no_grad():
        lr = tiny_vae(torch.zeros(1, 3, 32, 24), torch.zeros(1, 3))
        assert tiny_sr(lr).shape == (1, 3, 32, 24)


def test_paper_vs_srbench_tables():
    for info, must in ((INFO, ("GARBs in GARN", "LARBs in LARN", "upscale module", "size vs styleVAE", "LA window")),
                       (DINFO, ("latent code size", "kernel size", "AdaIN placement", "residual blocks, generate network G"))):
        rows = {r.what: r for r in info.paper_vs_srbench}
        assert len(rows) == len(info.paper_vs_srbench) >= 15 and set(must) <= set(rows)
        for r in rows.values():  # a stated value names its section / equation; an unstated one says why
            assert "Sec." in r.paper or "Eq." in r.paper or (r.paper == "not stated" and r.why), r
    d = {r.what: r for r in DINFO.paper_vs_srbench}
    assert d["latent code size"].paper.startswith("256") and d["latent code size"].srbench == "256"
    assert d["residual blocks, reference (style) network E_LR"].srbench == "8"
    assert d["residual blocks, generate network G"].srbench == "2"
    assert INFO.adapter_version == DINFO.adapter_version == "2"


def test_listing_prints_the_tables(capsys):
    from srbench.cli import main

    assert main(["list", "methods", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "1,514,835" in out and "GARBs in GARN" in out and "8 (Sec. 3.2)" in out
    assert main(["list", "degradations", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "1,064,515" in out and "latent code size" in out and "256 (Sec. 4.1)" in out


# ---------------------------------------------------------------- attention modules vs direct formulas


def test_global_attention_is_eq_7_to_9():
    torch.manual_seed(1)
    att = GlobalAttention(8, reduction=4, chunk=5)
    with torch.no_grad():
        att.lam.fill_(0.5)
        x = torch.randn(2, 8, 4, 5)
        f, g, h = (m(x).flatten(2) for m in (att.f, att.g, att.h))
        s = torch.einsum("bci,bcj->bij", f, g)  # s_ij = f(x_i)^T g(x_j)
        beta = torch.softmax(s, dim=1)  # beta_{j,i}: normalised over i (Eq. 7)
        agg = torch.einsum("bij,bci->bcj", beta, h).reshape(2, 2, 4, 5)
        ref = 0.5 * att.v(agg) + x  # Eq. 8-9
        assert torch.allclose(att(x), ref, atol=1e-5)


def test_local_attention_is_eq_10_11():
    torch.manual_seed(2)
    att = LocalAttention(8, reduction=4, window=3)
    with torch.no_grad():
        att.lam.fill_(2.0)
        x = torch.randn(1, 8, 5, 4)
        q, k, h = att.q(x), att.k(x), att.h(x)
        ku = torch.nn.functional.unfold(k, 3, padding=1).view(1, 2, 9, 20)
        hu = torch.nn.functional.unfold(h, 3, padding=1).view(1, 2, 9, 20)
        inside = torch.nn.functional.unfold(torch.ones(1, 1, 5, 4), 3, padding=1).view(1, 9, 20) > 0
        phi = -((q.view(1, 2, 1, 20) - ku) ** 2).sum(1)  # Eq. 11, summed over the query/key channels
        omega = torch.softmax(phi.masked_fill(~inside, float("-inf")), dim=1)  # Eq. 10
        agg = (hu * omega[:, None]).sum(2).view(1, 2, 5, 4)
        ref = 2.0 * att.v(agg) + x
        assert torch.allclose(att(x), ref, atol=1e-5)


# ---------------------------------------------------------------- golden outputs (seeded weights)


@pytest.fixture(scope="module")
def golden():
    with np.load(FIX / "golden.npz") as f:
        return {k: f[k] for k in f.files}


def test_golden_inputs_and_seeds(golden):
    assert [int(s) for s in golden["seeds"]] == [gold.SR_SEED, gold.VAE_SEED, gold.Z_SEED, gold.REF_SEED]
    for k, v in gold.inputs().items():
        assert np.array_equal(golden[k], v), k
    assert (FIX / "golden.npz").stat().st_size < 200_000


def test_sr_golden_through_the_checkpoint(golden, tmp_path):
    """The full-size SR net on seeded weights, saved with srbench's checkpoint format and loaded by the
    adapter (strictly): the float output within the float32 bound of the fixture, the uint8 image equal
    except within that band of a rounding boundary."""
    net = gold.sr_net()
    path = save_checkpoint(net, tmp_path / "ssrvae_x4.srbench.safetensors", {"training": {"notes": "seeded"}})
    model = smod.load(4, weights=rw(path), options={"attention_chunk": 37})
    assert model.provenance["arch_version"] == ARCH_VERSION == read_config(path)["arch_version"] == 2
    loaded = model.net.state_dict()
    assert set(loaded) == set(net.state_dict()) and all(torch.equal(loaded[k], v) for k, v in net.state_dict().items())
    x = _tensor(golden["sr_lr"])
    out = model.upscale_tensor(x)
    assert_float_close(out, torch.from_numpy(golden["sr_out"]).permute(2, 0, 1)[None])
    assert_uint8_matches(model.upscale(golden["sr_lr"]), golden["sr_out"], INFO.rounding)
    with torch.no_grad():
        assert torch.equal(model.upscale_tensor(x), out)  # deterministic


def test_stylevae_golden_through_the_checkpoint(golden, tmp_path):
    net = gold.vae_net()
    path = save_checkpoint(net, tmp_path / "ssrvae_stylevae_x4.srbench.safetensors", {})
    deg = sdeg.load(4, weights=rw(path))
    assert deg.provenance["arch_version"] == 2
    assert all(torch.equal(deg.net.state_dict()[k], v) for k, v in net.state_dict().items())
    # the prior draw of seed Z_SEED is the fixture's code; the LR of that code
    z = deg.style_code(seed=gold.Z_SEED)
    assert np.array_equal(z.numpy(), golden["vae_z"])
    hr, ref = golden["vae_hr"], golden["vae_ref"]
    assert_float_close(deg.degrade_tensor(_tensor(hr), z), torch.from_numpy(golden["vae_lr_prior"]).permute(2, 0, 1)[None])
    assert_uint8_matches(deg(hr, seed=gold.Z_SEED), golden["vae_lr_prior"], "half_away")
    # the style of a reference LR: posterior mean (no seed) and posterior sample (seed REF_SEED)
    with torch.no_grad():
        mu, logvar = deg.net.encode_style(_tensor(ref) * 2 - 1)
    assert_float_close(mu, golden["vae_mu"])  # relative bound: |mu| is not <= 1
    assert_float_close(logvar, golden["vae_logvar"])
    assert_uint8_matches(deg(hr, style_ref=ref), golden["vae_lr_refmean"], "half_away")
    assert_uint8_matches(deg(hr, seed=gold.REF_SEED, style_ref=ref), golden["vae_lr_refsample"], "half_away")


# ---------------------------------------------------------------- old (v1) checkpoints are refused


@pytest.mark.parametrize(
    "fixture, loader, arch, v1_words",
    [
        ("v1_sr_tiny.srbench.safetensors", smod.load, "SR network", "no output conv v"),
        ("v1_stylevae_tiny.srbench.safetensors", sdeg.load, "styleVAE", "MUNIT-sized: latent 8"),
    ],
)
def test_v1_checkpoint_is_refused_with_the_reason(fixture, loader, arch, v1_words, tmp_path):
    """Real checkpoints saved by adapter v1's networks (tests/fixtures/ssrvae/README.md): no arch_version."""
    path = FIX / fixture
    assert "arch_version" not in read_config(path)
    with pytest.raises(WeightsError) as err:
        loader(4, weights=rw(path))
    msg = str(err.value)
    assert f"made for srbench's SSRVAE {arch} architecture v1" in msg and v1_words in msg
    assert "adapter v2 builds architecture v2, which follows the paper" in msg
    assert "Retrain" in msg and "save_checkpoint" in msg
    if arch == "styleVAE":
        assert "latent 256, 8 residual blocks in the style network and 2 in the generator" in msg


def test_config_without_arch_version_is_v1_even_if_the_tensors_fit(tmp_path):
    """A v2-shaped state whose config lacks arch_version (hand-written, or edited) is not guessed at."""
    net = _tiny_sr()
    cfg = net.checkpoint_config()
    del cfg["arch_version"]
    path = save_checkpoint(net.state_dict(), tmp_path / "s.srbench.safetensors", cfg)
    with pytest.raises(WeightsError, match="architecture v1 .*a config without 'arch_version' is v1"):
        smod.load(4, weights=rw(path))
    # the same through a sidecar JSON (a checkpoint without embedded config)
    from safetensors.torch import save_file

    bare = tmp_path / "bare.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(bare))
    sidecar_path(bare).write_text(json.dumps(cfg), encoding="utf-8")
    with pytest.raises(WeightsError, match="architecture v1"):
        smod.load(4, weights=rw(bare))
    sidecar_path(bare).write_text(json.dumps({**cfg, "arch_version": 2}), encoding="utf-8")
    assert smod.load(4, weights=rw(bare)).upscale(np.zeros((5, 4, 3), np.uint8)).shape == (20, 16, 3)


@pytest.mark.parametrize("version, match", [(3, r"v3 is not known to this srbench .*update srbench"),
                                            ("2", "must be an integer"), (True, "must be an integer")])
def test_other_arch_versions_are_refused(version, match, tmp_path):
    path = save_checkpoint(_tiny_vae(), tmp_path / "v.srbench.safetensors", {"arch_version": version})
    with pytest.raises(WeightsError, match=match):
        sdeg.load(4, weights=rw(path))


def test_unknown_arch_params_are_refused(tmp_path):
    net = _tiny_vae()
    cfg = net.checkpoint_config()
    cfg["arch_params"] = {**cfg["arch_params"], "mlp_dim": 256}  # a v1 key in a v2 config
    path = save_checkpoint(net.state_dict(), tmp_path / "v.srbench.safetensors", cfg)
    with pytest.raises(WeightsError, match=r"unknown arch_params \['mlp_dim'\]"):
        sdeg.load(4, weights=rw(path))


def test_strict_loading_names_the_keys(tmp_path):
    state = _tiny_sr().state_dict()
    state["global_blocks.0.attn.gamma"] = torch.zeros(1)  # a v1 key
    del state["global_blocks.0.attn.lam"]
    path = save_checkpoint(state, tmp_path / "s.srbench.safetensors", _tiny_sr().checkpoint_config())
    with pytest.raises(WeightsError, match="global_blocks.0.attn"):
        smod.load(4, weights=rw(path))


# ---------------------------------------------------------------- SR adapter


def test_shapes_ranges_reload_determinism(tmp_path):
    net = _tiny_sr()
    path = save_checkpoint(net, tmp_path / "ssrvae_x4.srbench.safetensors", {"training": {"loss": "L1"}})
    model = smod.load(4, weights=rw(path), options={"attention_chunk": 7})
    lr = np.random.default_rng(0).integers(0, 256, (9, 6, 3), dtype=np.uint8)
    out = model.upscale(lr)
    assert out.shape == (36, 24, 3) and out.dtype == np.uint8
    assert np.array_equal(out, model.upscale(lr))
    x = _tensor(lr)
    with torch.no_grad():
        direct = net(x)
    assert torch.allclose(model.upscale_tensor(x), direct, atol=1e-6)  # only the query chunking differs
    assert model.provenance["checkpoint_config"]["arch_params"]["window"] == 3
    assert not INFO.stochastic and INFO.scales == (4,)


def test_refuses_without_weights_or_config(tmp_path, fresh_home):
    with pytest.raises(WeightsError, match="no checkpoint"):
        smod.load(4, weights=None)
    with pytest.raises(WeightsError, match="train with srbench or supply one"):
        resolve(INFO, None, scale=4, allow_download=True)
    from safetensors.torch import save_file

    bare = tmp_path / "bare.safetensors"
    save_file({k: v.contiguous() for k, v in _tiny_sr().state_dict().items()}, str(bare))
    with pytest.raises(WeightsError, match="no srbench config"):
        smod.load(4, weights=rw(bare))
    vae = save_checkpoint(_tiny_vae(), tmp_path / "v.srbench.safetensors", {})
    with pytest.raises(WeightsError, match="architecture"):
        smod.load(4, weights=rw(vae))


# ---------------------------------------------------------------- styleVAE degradation


@pytest.fixture
def stylevae(tmp_path):
    path = save_checkpoint(_tiny_vae(), tmp_path / "ssrvae_stylevae_x4.srbench.safetensors", {})
    return sdeg.load(4, weights=rw(path))


def test_stylevae_degradation_is_seeded(stylevae):
    hr = np.random.default_rng(3).integers(0, 256, (32, 24, 3), dtype=np.uint8)
    a, b, c = stylevae(hr, seed=1), stylevae(hr, seed=1), stylevae(hr, seed=2)
    assert a.shape == (8, 6, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    many = stylevae.sample(hr, 3, seed=10)
    assert len(many) == 3 and not np.array_equal(many[0], many[1])
    assert np.array_equal(stylevae(hr), stylevae(hr, seed=0))  # no seed: the default seed
    assert stylevae.stochastic and stylevae.input == "hr"


def test_stylevae_sizes_and_reference_style(stylevae):
    hr = np.random.default_rng(4).integers(0, 256, (30, 19, 3), dtype=np.uint8)  # not multiples of 4
    assert stylevae(hr, seed=0).shape == (8, 5, 3)
    ref = np.random.default_rng(5).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    m1 = stylevae(hr, style_ref=ref)
    assert np.array_equal(m1, stylevae(hr, style_ref=ref))  # posterior mean: deterministic
    s1, s2 = stylevae(hr, seed=1, style_ref=ref), stylevae(hr, seed=2, style_ref=ref)
    assert np.array_equal(s1, stylevae(hr, seed=1, style_ref=ref)) and not np.array_equal(s1, s2)
    assert stylevae.from_hr(hr, seed=3).shape == (8, 5, 3)
    assert stylevae(np.zeros((8, 3, 3), np.uint8), seed=0).shape == (2, 1, 3)  # a 1-pixel side: replication


def test_stylevae_registry_refuses_without_weights(fresh_home):
    from srbench.degradations import get_degradation, load_degradation

    assert get_degradation("ssrvae-stylevae").stochastic
    with pytest.raises(WeightsError, match="train with srbench or supply one"):
        load_degradation("ssrvae-stylevae", 4)
    with pytest.raises(WeightsError, match="no checkpoint"):
        sdeg.load(4, weights={})
    with pytest.raises(SrbenchError, match=r"degradation ssrvae-stylevae takes no option 'style_ref'; it takes no options"):
        sdeg.load(4, weights={}, options={"style_ref": "x.png"})


def test_cached_user_checkpoint_runs():
    path = Path(os.environ.get("SRBENCH_HOME", "")) / "weights" / "ssrvae" / "ssrvae_x4.srbench.safetensors"
    if not path.is_file():
        pytest.skip(f"no user-trained checkpoint {path} (the authors released none)")
    if "arch_version" not in (read_config(path) or {}):
        with pytest.raises(WeightsError, match="architecture v1"):
            smod.load(4, weights=rw(path))
        pytest.skip(f"{path} was made for architecture v1 (refused, as it should be): retrain it")
    assert smod.load(4, weights=rw(path)).upscale(np.full((12, 12, 3), 90, np.uint8)).shape == (48, 48, 3)


def test_tiling_option_is_accepted(tmp_path):
    path = save_checkpoint(_tiny_sr(), tmp_path / "ssrvae_x4.srbench.safetensors", {})
    model = smod.load(4, weights=rw(path), options={"tile": 4, "tile_overlap": 2})
    assert model.provenance["tiling_exact"] is False
    assert model.upscale(np.zeros((9, 7, 3), np.uint8)).shape == (36, 28, 3)


def test_declared_options_are_read(tmp_path):
    path = save_checkpoint(_tiny_sr(), tmp_path / "ssrvae_x4.srbench.safetensors", {})
    given = {"attention_chunk": 5, "tile": 4, "tile_overlap": 2}
    assert set(given) == {o.name for o in INFO.options}  # every declared option is exercised here
    assert all(INFO.option(k).default != v for k, v in given.items())
    model = smod.load(4, weights=rw(path), options={k: str(v) for k, v in given.items()})
    chunks = {m.chunk for m in model.net.modules() if isinstance(m, GlobalAttention)}
    assert chunks == {5} and model.provenance["attention_chunk"] == 5
    assert (model.tile, model.overlap) == (4, 2)
    default = smod.load(4, weights=rw(path))
    assert {m.chunk for m in default.net.modules() if isinstance(m, GlobalAttention)} == {ATTENTION_CHUNK}
    assert (default.tile, default.overlap) == (None, TILE_OVERLAP)
    assert INFO.option("tile").affects_output and not INFO.option("attention_chunk").affects_output
    # the chunk is memory only: the attention is exact for any chunk
    x = torch.rand(1, 3, 7, 6)
    assert torch.allclose(model.net(x), default.net(x), atol=1e-6)
    with pytest.raises(SrbenchError, match=r"method ssrvae takes no option 'ref'; it takes: attention_chunk, tile, tile_overlap"):
        smod.load(4, weights=rw(path), options={"ref": "x"})
    with pytest.raises(SrbenchError, match=r"option attention_chunk='0': must be >= 1"):
        smod.load(4, weights=rw(path), options={"attention_chunk": "0"})
