"""hvae / hvae-cnn adapters and the hvae-gauss degradation (DTU 02456 project).

Golden fixtures: the notebooks' own model classes at reduced widths (tests/fixtures/hvae/README.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from helpers.float_outputs import assert_float_close
from helpers.listing import listed_entry
from srbench_methods.hvae import DEGRADATIONS, METHODS, TILE_BATCH, TILE_OVERLAP
from srbench_methods.hvae import degradation as hdeg
from srbench_methods.hvae import model as hmod
from srbench_methods.hvae.networks import SRVAE, SRCNN4x, cnn_receptive_field_radius

from srbench.checkpoint_format import save_checkpoint
from srbench.errors import SrbenchError, WeightsError
from srbench.hashing import sha256_file
from srbench.method_api import WeightFile
from srbench.weights import ResolvedWeight, resolve

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "hvae"
INFO = {m.name: m for m in METHODS}


def rw(path: Path) -> dict[str, ResolvedWeight]:
    path = Path(path)
    return {path.name: ResolvedWeight(WeightFile(path.name), path, sha256_file(path), "user")}


def conv(cin, cout, k):
    return cin * cout * k * k + cout


def lin(fin, fout):
    return fin * fout + fout


def io():
    from safetensors.torch import load_file

    return load_file(str(FIX / "io.safetensors"))


def t(img: np.ndarray):
    return torch.from_numpy(img.transpose(2, 0, 1).copy()).float().div(255).unsqueeze(0)


@pytest.fixture
def tiny_vae(tmp_path):
    torch.manual_seed(3)
    net = SRVAE(latent=12, e1=4, e2=4, d1=4, d2=6, d3=4)
    return net, save_checkpoint(net, tmp_path / "hvae_x4.srbench.safetensors", {"training": "unit test"})


@pytest.fixture
def tiny_cnn(tmp_path):
    torch.manual_seed(4)
    net = SRCNN4x(c1=4, c2=4, c3=6, c4=4)
    return net, save_checkpoint(net, tmp_path / "hvae-cnn_x4.srbench.safetensors", {})


# ---------------------------------------------------------------- parameter counts (report / notebooks)


def test_param_counts():
    cnn = conv(3, 64, 3) + conv(64, 64, 5) + conv(64, 128, 5) + conv(128, 64, 5) + conv(64, 3, 5)
    assert cnn == 518_851
    assert sum(p.numel() for p in SRCNN4x().parameters()) == cnn == INFO["hvae-cnn"].param_count()
    latent, flat = 192, 3 * 8 * 8  # "a 192 long vector", the 8x8 RGB LR flattened
    encoder = conv(3, 64, 5) + conv(64, 32, 5) + conv(32, 3, 3) + lin(flat, 2 * latent)
    prior = lin(flat, 2 * latent)
    decoder = lin(latent, flat) + conv(3, 64, 3) + conv(64, 128, 5) + conv(128, 64, 5) + conv(64, 3, 3)
    assert encoder + prior + decoder == 655_558
    assert sum(p.numel() for p in SRVAE().parameters()) == encoder + prior + decoder == INFO["hvae"].param_count()


# ---------------------------------------------------------------- golden outputs of the notebooks' classes


def test_notebook_cnn_matches():
    d = io()
    model = hmod.load_cnn(4, weights=rw(FIX / "notebook_cnn_c6-5-7-4.safetensors"))  # no srbench config
    assert model.provenance["checkpoint_config"]["arch_params"] == {"c1": 6, "c2": 5, "c3": 7, "c4": 4}
    y = model.upscale_tensor(t(d["lr_cnn"].numpy()))
    assert y.shape == d["cnn_out"].shape == (1, 3, 40, 48)
    assert_float_close(y, d["cnn_out"])  # float32 on another machine: tests/helpers/float_outputs.py


def test_notebook_vae_matches():
    d = io()
    model = hmod.load_vae(4, weights=rw(FIX / "notebook_vae_l16.safetensors"))
    net = model.net
    x = t(d["lr_vae"].numpy())  # 8x16 LR: two tiles side by side
    assert_float_close(model.upscale_tensor(x), d["vae_mean_out"])
    tiles = torch.cat([x[..., 0:8], x[..., 8:16]])
    with torch.no_grad():
        mu, log_sigma = net.prior(tiles)
        assert_float_close(mu, d["prior_mu"])
        assert_float_close(log_sigma.exp(), d["prior_sigma"])
        sampled = net(tiles, d["eps"])
        stitched = torch.cat([sampled[0:1], sampled[1:2]], dim=3)
        assert_float_close(stitched, d["vae_sample_out"])
        qmu, qlog_sigma = net.posterior(d["hr"])
        assert_float_close(qmu, d["post_mu"])
        assert_float_close(qlog_sigma.exp(), d["post_sigma"])


# ---------------------------------------------------------------- shapes, ranges, determinism, reload


@pytest.mark.parametrize("size", [(8, 8), (16, 24), (11, 5)])
def test_shapes_and_ranges(tiny_vae, tiny_cnn, size):
    lr = np.random.default_rng(sum(size)).integers(0, 256, (*size, 3), dtype=np.uint8)
    for net, path, loader in ((*tiny_vae, hmod.load_vae), (*tiny_cnn, hmod.load_cnn)):
        model = loader(4, weights=rw(path))
        out = model.upscale(lr)
        assert out.shape == (size[0] * 4, size[1] * 4, 3) and out.dtype == np.uint8
        assert np.array_equal(out, model.upscale(lr))
        got = model.upscale_tensor(t(lr))
        if isinstance(net, SRCNN4x):
            with torch.no_grad():
                assert torch.equal(got, net(t(lr)))  # reloaded strictly: same output bit for bit
        else:
            assert 0.0 < float(got.min()) and float(got.max()) < 1.0  # sigmoid
            if size == (8, 8):
                with torch.no_grad():
                    assert torch.equal(got, net(t(lr)))  # one tile: the network itself


def test_vae_tiles_are_independent(tiny_vae):
    _, path = tiny_vae
    model = hmod.load_vae(4, weights=rw(path))
    lr = np.random.default_rng(0).integers(0, 256, (8, 16, 3), dtype=np.uint8)
    whole = model.upscale_tensor(t(lr))
    left = model.upscale_tensor(t(lr[:, :8]))
    right = model.upscale_tensor(t(lr[:, 8:]))
    assert torch.allclose(whole, torch.cat([left, right], dim=3), atol=1e-6)


def test_vae_sampling_is_seeded(tiny_vae):
    _, path = tiny_vae
    model = hmod.load_vae(4, weights=rw(path))
    lr = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    a = model.sample(lr, 2, seed=7)
    b = model.sample(lr, 2, seed=7)
    c = model.sample(lr, 2, seed=8)
    assert len(a) == 2 and all(x.shape == (32, 32, 3) and x.dtype == np.uint8 for x in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(a[0], a[1])  # two draws of one call differ
    noisy = hmod.load_vae(4, weights=rw(path), options={"obs_noise": True}).sample(lr, 1, seed=7)[0]
    assert not np.array_equal(noisy, a[0])
    assert INFO["hvae"].stochastic and not INFO["hvae-cnn"].stochastic


@pytest.mark.parametrize("method", ["hvae", "hvae-cnn"])
def test_refuses_without_weights(method, fresh_home):
    loader = hmod.load_vae if method == "hvae" else hmod.load_cnn
    with pytest.raises(WeightsError, match="no checkpoint"):
        loader(4, weights=None)
    with pytest.raises(WeightsError, match="train with srbench or supply one"):
        resolve(INFO[method], None, scale=4, allow_download=True)


def test_wrong_arch_refused(tiny_cnn):
    _, path = tiny_cnn
    with pytest.raises(WeightsError, match="architecture"):
        hmod.load_vae(4, weights=rw(path))


# ---------------------------------------------------------------- degradation


def test_gauss_degradation_matches_notebook_pipeline():
    from scipy import ndimage as ndi

    hr = np.random.default_rng(5).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    # the notebook's cell, on [0, 1] float32 as torchvision's ToTensor gives it
    img = hr.astype(np.float32) / 255
    temp = np.copy(img)
    for i in range(3):
        temp[:, :, i] = ndi.gaussian_filter(img[:, :, i], sigma=1)
    ref = np.zeros((8, 8, 3), np.float32)
    for i in np.arange(2, 32, 4):
        for j in np.arange(2, 32, 4):
            ref[(i - 2) // 4, (j - 2) // 4, :] = temp[i, j, :]
    deg = hdeg.load(4)
    lr = deg(hr)
    assert lr.shape == (8, 8, 3) and lr.dtype == np.uint8
    assert np.abs(lr.astype(float) - ref * 255).max() <= 0.5 + 1e-3  # rounding only
    assert deg(np.zeros((36, 20, 3), np.uint8)).shape == (9, 5, 3)
    assert np.array_equal(deg(hr, seed=1), deg(hr, seed=2))


def test_gauss_degradation_registered():
    from srbench.degradations import get_degradation, load_degradation

    assert get_degradation("hvae-gauss").name == DEGRADATIONS[0].name
    hr = np.full((16, 16, 3), 77, np.uint8)
    assert np.array_equal(load_degradation("hvae-gauss", 4)(hr), np.full((4, 4, 3), 77, np.uint8))


def test_cached_user_checkpoint_runs():
    for method in ("hvae", "hvae-cnn"):
        path = Path(os.environ.get("SRBENCH_HOME", "")) / "weights" / method / f"{method}_x4.srbench.safetensors"
        if not path.is_file():
            pytest.skip(f"no user-trained checkpoint {path} (the authors released none)")
        loader = hmod.load_vae if method == "hvae" else hmod.load_cnn
        assert loader(4, weights=rw(path)).upscale(np.full((8, 8, 3), 100, np.uint8)).shape == (32, 32, 3)


def test_cnn_tiling_is_exact(tiny_cnn):
    _, path = tiny_cnn
    whole = hmod.load_cnn(4, weights=rw(path))
    tiled = hmod.load_cnn(4, weights=rw(path), options={"tile": 6})
    assert tiled.provenance["tiling_exact"] and tiled.overlap == TILE_OVERLAP >= cnn_receptive_field_radius()
    assert not INFO["hvae-cnn"].option("tile").affects_output
    x = torch.rand(1, 3, 17, 13)
    assert float((whole.upscale_tensor(x) - tiled.upscale_tensor(x)).abs().max()) < 1e-5


def test_declared_options_are_read(tiny_cnn, tiny_vae):
    cnn_given, vae_given = {"tile": 6, "tile_overlap": 3}, {"tile_batch": 3, "obs_noise": True}
    for name, given in (("hvae-cnn", cnn_given), ("hvae", vae_given)):
        assert set(given) == {o.name for o in INFO[name].options}  # every declared option is exercised here
        assert all(INFO[name].option(k).default != v for k, v in given.items())
    cnn = hmod.load_cnn(4, weights=rw(tiny_cnn[1]), options={k: str(v) for k, v in cnn_given.items()})
    assert (cnn.tile, cnn.overlap) == (6, 3) and cnn.provenance["tiling_exact"] is False
    vae = hmod.load_vae(4, weights=rw(tiny_vae[1]), options={"tile_batch": "3", "obs_noise": "true"})  # as a CLI gives them
    assert (vae.tile_batch, vae.obs_noise) == (3, True) and vae.provenance["obs_noise"] is True
    default = hmod.load_vae(4, weights=rw(tiny_vae[1]))
    assert (default.tile_batch, default.obs_noise) == (TILE_BATCH, False)
    with pytest.raises(SrbenchError, match=r"method hvae takes no option 'tile'; it takes: tile_batch, obs_noise"):
        hmod.load_vae(4, weights=rw(tiny_vae[1]), options={"tile": 6})
    with pytest.raises(SrbenchError, match=r"option obs_noise='maybe': expected true or false"):
        hmod.load_vae(4, weights=rw(tiny_vae[1]), options={"obs_noise": "maybe"})


@pytest.mark.parametrize("obs_noise", [False, True])
def test_tile_batch_does_not_change_samples(tiny_vae, obs_noise):
    """tile_batch is declared affects_output=False: the draws do not depend on it."""
    lr = np.random.default_rng(2).integers(0, 256, (16, 24, 3), dtype=np.uint8)  # 6 tiles
    outs = []
    for batch in (1, 4, TILE_BATCH):
        model = hmod.load_vae(4, weights=rw(tiny_vae[1]), options={"tile_batch": batch, "obs_noise": obs_noise})
        x = t(lr)
        with torch.no_grad():
            outs.append((model.upscale_tensor(x, torch.Generator().manual_seed(3)), model.sample(lr, 2, seed=3)))
    assert not INFO["hvae"].option("tile_batch").affects_output and INFO["hvae"].option("obs_noise").affects_output
    for raw, samples in outs[1:]:
        assert torch.allclose(raw, outs[0][0], atol=1e-6)
        assert all(np.abs(a.astype(int) - b.astype(int)).max() <= 1 for a, b in zip(samples, outs[0][1]))
    assert not np.array_equal(outs[0][1][0], outs[0][1][1])  # two draws still differ


def test_gauss_sigma_option_is_read():
    info = DEGRADATIONS[0]
    assert {o.name for o in info.options} == {"sigma"} and info.option("sigma").default == hdeg.SIGMA == 1.0
    hr = np.random.default_rng(6).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    sharp = hdeg.load(4, options={"sigma": "0.5"})
    assert sharp.sigma == 0.5 and sharp.provenance["sigma"] == 0.5
    assert not np.array_equal(sharp(hr), hdeg.load(4)(hr))
    with pytest.raises(SrbenchError, match=r"option sigma='-1': must be >= 0"):
        hdeg.load(4, options={"sigma": "-1"})
    with pytest.raises(SrbenchError, match=r"degradation hvae-gauss takes no option 'seed'"):
        hdeg.load(4, options={"seed": 1})


# ---------------------------------------------------------------- the report's values (papers/hvae.md, srbench issue 17)


def _leaf_calls(net, fn) -> list[tuple[str, tuple[int, ...]]]:
    """(module name, output shape) of every leaf module ``fn`` runs, in call order."""
    seen = []
    hooks = [
        m.register_forward_hook(lambda mod, inp, out, n=n: seen.append((n, tuple(out.shape))))
        for n, m in net.named_modules()
        if n and not list(m.children())
    ]
    try:
        with torch.no_grad():
            fn()
    finally:
        for h in hooks:
            h.remove()
    return seen


def test_vae_latent_and_prior_are_the_reports():
    """Sec. 4: a 192-long latent; the prior = the 8x8 RGB LR flattened, through one linear layer."""
    from srbench_methods.hvae.networks import VAE_DEFAULTS

    net = SRVAE().eval()
    assert net.latent == VAE_DEFAULTS["latent"] == 192 == 3 * 8 * 8
    y = torch.rand(2, 3, 8, 8)
    assert _leaf_calls(net, lambda: net.prior(y)) == [("lin_pri", (2, 2 * 192))]  # one layer, nothing else
    assert isinstance(net.lin_pri, torch.nn.Linear) and (net.lin_pri.in_features, net.lin_pri.out_features) == (192, 384)
    assert sum(p.numel() for p in net.lin_pri.parameters()) == lin(192, 384) == 74_112
    with torch.no_grad():
        mu, log_sigma = net.prior(y)
        h = torch.relu(y.reshape(2, 192) @ net.lin_pri.weight.T + net.lin_pri.bias)  # channel-major flattening
    assert mu.shape == log_sigma.shape == (2, 192)
    assert torch.allclose(mu, h[:, :192]) and torch.allclose(log_sigma, h[:, 192:])
    # test time uses only the prior and the decoder: the encoder q(z|HR) never runs
    calls = _leaf_calls(net, lambda: net(y))
    assert calls[0] == ("lin_pri", (2, 384)) and calls[-1] == ("conv_7", (2, 3, 32, 32))
    assert {n for n, _ in calls}.isdisjoint({"conv_1", "conv_2", "conv_3", "pool", "lin_1"})


def test_observation_std_is_the_reports(tiny_vae):
    """Sec. 4: normal observation model with a fixed std of 0.01 (added by sample() with obs_noise=true)."""
    assert hmod.OBS_SIGMA == 0.01
    _, path = tiny_vae
    clean = hmod.load_vae(4, weights=rw(path))
    noisy = hmod.load_vae(4, weights=rw(path), options={"obs_noise": True})
    x = torch.rand(1, 3, 32, 32)  # 16 tiles, 49,152 output values
    a = clean.upscale_tensor(x, torch.Generator().manual_seed(5))
    b = noisy.upscale_tensor(x, torch.Generator().manual_seed(5))  # same latent draws, then the noise
    d = (b - a).flatten()
    assert abs(float(d.std()) - 0.01) < 0.0005 and abs(float(d.mean())) < 0.0005


def test_cnn_layer_order_is_the_reports():
    """Sec. 3: conv, x2 up-scaling, conv, x2 up-scaling, then three more convolutions."""
    net = SRCNN4x().eval()
    calls = _leaf_calls(net, lambda: net(torch.rand(1, 3, 8, 8)))
    assert [(n, s[1], s[-1]) for n, s in calls] == [
        ("conv_1", 64, 8), ("up", 64, 16), ("conv_2", 64, 16), ("up", 64, 32),
        ("conv_3", 128, 32), ("conv_4", 64, 32), ("conv_5", 3, 32),
    ]


def test_paper_vs_srbench_tables(capsys):
    from srbench_methods.hvae import SIGMA

    from srbench.cli import main

    infos = {i.name: i for i in (*METHODS, *DEGRADATIONS)}
    for info in infos.values():
        whats = [r.what for r in info.paper_vs_srbench]
        assert whats and len(whats) == len(set(whats)), info.name
    vae = {r.what: r for r in infos["hvae"].paper_vs_srbench}
    assert vae["latent size"].paper == "192 (Sec. 4)" and vae["latent size"].srbench == "192"
    assert "one linear layer" in vae["prior p(z|LR)"].paper and "one Linear(192, 384)" in vae["prior p(z|LR)"].srbench
    assert "0.01 (Sec. 4)" in vae["observation model"].paper and f"{hmod.OBS_SIGMA}^2" in vae["observation model"].srbench
    assert vae["beta"].paper == "0.5 (Sec. 4)" and vae["beta"].srbench == "0.5 in srbench train"  # training only
    cnn = {r.what: r for r in infos["hvae-cnn"].paper_vs_srbench}
    assert "(Sec. 3" in cnn["layer order"].paper
    gauss = {r.what: r for r in infos["hvae-gauss"].paper_vs_srbench}
    assert gauss["sigma"].paper == "not stated" and gauss["sigma"].srbench.startswith(f"{SIGMA:g} ") and SIGMA == 1.0
    assert "imagesloader.ipynb" in gauss["sigma"].why
    assert main(["list", "methods", "--verbose"]) == 0 and main(["list", "degradations", "--verbose"]) == 0
    out = capsys.readouterr().out
    for name, info in infos.items():
        entry = listed_entry(out, name)
        assert "paper vs srbench:" in entry and all(r.what in entry for r in info.paper_vs_srbench), name
