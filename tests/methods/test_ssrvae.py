"""SSRVAE adapter (SR network) and the styleVAE degradation. No code or weights were released, so
there are no golden outputs: the attention layers are checked against direct (naive) formulas."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from srbench_methods.ssrvae import ATTENTION_CHUNK, DEGRADATIONS, METHODS, TILE_OVERLAP
from srbench_methods.ssrvae import degradation as sdeg
from srbench_methods.ssrvae import model as smod
from srbench_methods.ssrvae.networks import (
    LocalRelationAttention,
    NonLocalAttention,
    SSRVAENet,
    StyleVAE,
)

from srbench.checkpoint_format import save_checkpoint
from srbench.errors import SrbenchError, WeightsError
from srbench.hashing import sha256_file
from srbench.method_api import WeightFile
from srbench.weights import ResolvedWeight, resolve


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
            if isinstance(m, (NonLocalAttention, LocalRelationAttention)):
                m.gamma.fill_(0.7)  # trained nets have gamma != 0: exercise the attention paths
    return net.eval()


def _tiny_vae(seed=0):
    torch.manual_seed(seed)
    return StyleVAE(nf=4, n_res=1, style_dim=3, mlp_dim=8, n_style_down=3).eval()


# ---------------------------------------------------------------- parameter counts


def test_param_count_sr():
    nf, inner = 64, 64 // 8
    block = 2 * conv(nf, nf, 3) + 2 * conv(nf, inner, 1) + conv(nf, nf, 1) + 1  # body, q, k, v, gamma
    expected = conv(3, nf, 3) + 8 * block + 8 * block + 2 * conv(nf, 4 * nf, 3) + conv(nf, 3, 3)
    assert expected == 1_563_859
    assert sum(p.numel() for p in SSRVAENet().parameters()) == expected == METHODS[0].param_count()


def test_param_count_stylevae():
    nf, dim, sd = 64, 256, 8
    res = 2 * conv(dim, dim, 3)
    content = conv(3, nf, 7) + conv(nf, 2 * nf, 4) + conv(2 * nf, dim, 4) + 4 * res
    style = conv(3, nf, 7) + conv(nf, 2 * nf, 4) + conv(2 * nf, dim, 4) + 2 * conv(dim, dim, 4) + conv(dim, 2 * sd, 1)
    n_adain = 4 * 2 * 2 * dim  # 4 AdaIN residual blocks x 2 AdaIN layers x (scale, shift) x channels
    mlp = lin(sd, 256) + lin(256, 256) + lin(256, n_adain)
    decoder = 4 * res + conv(dim, 3, 7)
    assert content + style + mlp + decoder == 14_031_891
    assert sum(p.numel() for p in StyleVAE().parameters()) == content + style + mlp + decoder
    assert DEGRADATIONS[0].param_count() == content + style + mlp + decoder


# ---------------------------------------------------------------- attention layers vs direct formulas


def test_nonlocal_attention_is_exact_softmax_attention():
    torch.manual_seed(1)
    att = NonLocalAttention(8, reduction=4, chunk=5)
    with torch.no_grad():
        att.gamma.fill_(0.5)
        f = torch.randn(2, 8, 4, 5)
        q, k, v = (m(f).flatten(2) for m in (att.query, att.key, att.value))
        w = torch.softmax(torch.einsum("bci,bcj->bij", q, k), dim=-1)
        ref = 0.5 * torch.einsum("bcj,bij->bci", v, w).reshape(2, 8, 4, 5)
        assert torch.allclose(att(f), ref, atol=1e-6)


def test_local_relation_attention_matches_unfold_formula():
    torch.manual_seed(2)
    att = LocalRelationAttention(8, reduction=4, window=3)
    with torch.no_grad():
        att.gamma.fill_(2.0)
        f = torch.randn(1, 8, 5, 4)
        q, k, v = att.query(f), att.key(f), att.value(f)
        ku = torch.nn.functional.unfold(k, 3, padding=1).view(1, 2, 9, 20)
        vu = torch.nn.functional.unfold(v, 3, padding=1).view(1, 8, 9, 20)
        inside = torch.nn.functional.unfold(torch.ones(1, 1, 5, 4), 3, padding=1).view(1, 9, 20) > 0
        sim = -((q.view(1, 2, 1, 20) - ku) ** 2).sum(1)
        w = torch.softmax(sim.masked_fill(~inside, float("-inf")), dim=1)
        ref = 2.0 * (vu * w[:, None]).sum(2).view(1, 8, 5, 4)
        assert torch.allclose(att(f), ref, atol=1e-5)


# ---------------------------------------------------------------- SR adapter


def test_shapes_ranges_reload_determinism(tmp_path):
    net = _tiny_sr()
    path = save_checkpoint(net, tmp_path / "ssrvae_x4.srbench.safetensors", {"training": {"loss": "L1"}})
    model = smod.load(4, weights=rw(path), options={"attention_chunk": 7})
    lr = np.random.default_rng(0).integers(0, 256, (9, 6, 3), dtype=np.uint8)
    out = model.upscale(lr)
    assert out.shape == (36, 24, 3) and out.dtype == np.uint8
    assert np.array_equal(out, model.upscale(lr))
    x = torch.from_numpy(lr.transpose(2, 0, 1).copy()).float().div(255).unsqueeze(0)
    with torch.no_grad():
        direct = net(x)
    assert torch.allclose(model.upscale_tensor(x), direct, atol=1e-6)  # only the query chunking differs
    assert model.provenance["checkpoint_config"]["arch_params"]["window"] == 3
    assert not METHODS[0].stochastic and METHODS[0].scales == (4,)


def test_refuses_without_weights_or_config(tmp_path, fresh_home):
    with pytest.raises(WeightsError, match="no checkpoint"):
        smod.load(4, weights=None)
    with pytest.raises(WeightsError, match="train with srbench or supply one"):
        resolve(METHODS[0], None, scale=4, allow_download=True)
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
    assert smod.load(4, weights=rw(path)).upscale(np.full((12, 12, 3), 90, np.uint8)).shape == (48, 48, 3)


def test_tiling_option_is_accepted(tmp_path):
    path = save_checkpoint(_tiny_sr(), tmp_path / "ssrvae_x4.srbench.safetensors", {})
    model = smod.load(4, weights=rw(path), options={"tile": 4, "tile_overlap": 2})
    assert model.provenance["tiling_exact"] is False
    assert model.upscale(np.zeros((9, 7, 3), np.uint8)).shape == (36, 28, 3)


def test_declared_options_are_read(tmp_path):
    info = METHODS[0]
    path = save_checkpoint(_tiny_sr(), tmp_path / "ssrvae_x4.srbench.safetensors", {})
    given = {"attention_chunk": 5, "tile": 4, "tile_overlap": 2}
    assert set(given) == {o.name for o in info.options}  # every declared option is exercised here
    assert all(info.option(k).default != v for k, v in given.items())
    model = smod.load(4, weights=rw(path), options={k: str(v) for k, v in given.items()})
    chunks = {m.chunk for m in model.net.modules() if isinstance(m, NonLocalAttention)}
    assert chunks == {5} and model.provenance["attention_chunk"] == 5
    assert (model.tile, model.overlap) == (4, 2)
    default = smod.load(4, weights=rw(path))
    assert {m.chunk for m in default.net.modules() if isinstance(m, NonLocalAttention)} == {ATTENTION_CHUNK}
    assert (default.tile, default.overlap) == (None, TILE_OVERLAP)
    assert info.option("tile").affects_output and not info.option("attention_chunk").affects_output
    # the chunk is memory only: the attention is exact for any chunk
    x = torch.rand(1, 3, 7, 6)
    assert torch.allclose(model.net(x), default.net(x), atol=1e-6)
    with pytest.raises(SrbenchError, match=r"method ssrvae takes no option 'ref'; it takes: attention_chunk, tile, tile_overlap"):
        smod.load(4, weights=rw(path), options={"ref": "x"})
    with pytest.raises(SrbenchError, match=r"option attention_chunk='0': must be >= 1"):
        smod.load(4, weights=rw(path), options={"attention_chunk": "0"})
