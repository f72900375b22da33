"""dSRVAE's training recipe (methods/dsrvae/train.py): both stages on synthetic 512 px HR crops, the loss goes
down, pause + resume is exact, the exported files load strictly in the adapter (``srbench run``,
``srbench weights import``), and the recipe refuses to run without the ImageNet VGG19 weights.

The VGG19 is a stand-in: random tensors with the keys and shapes of torchvision's ``vgg19().features``
(``SRBENCH_VGG19``). The DAE is the released architecture (74.75 M parameters, 128 px LR patches: the
recipe cannot be made smaller), so the runs are a few steps at batch 1 with ``sr_crop=16``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers.training_data import declare_tiny, fake_vgg19, load_state, smooth_images, train_log

from srbench import datasets as ds
from srbench.errors import SrbenchError, WeightsError
from srbench.training.loop import train

STEPS = 6  # 3 DAE + 3 SR steps
OVERRIDES = {"batch": 1, "sr_crop": 16}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("dsrvae_train")
    with pytest.MonkeyPatch.context() as mp:
        home = root / "home"
        mp.setenv("SRBENCH_HOME", str(home))
        mp.setenv("SRBENCH_OFFLINE", "1")
        mp.setenv("SRBENCH_VGG19", str(fake_vgg19(root / "vgg19-fake.pth")))
        ds.specs.cache_clear()
        data = f"folder:{smooth_images(root / 'hr', 4, 512)}"
        yield SimpleNamespace(root=root, home=home, data=data, mp=mp)
    ds.specs.cache_clear()


@pytest.fixture(scope="module")
def runs(env):
    kw = dict(method="dsrvae", data=env.data, steps=STEPS, progress=False, val_images=0, checkpoint_every=100,
              overrides=OVERRIDES)
    a = train(out=env.root / "a", **kw)
    paused = train(out=env.root / "b", pause_after=2, **kw)
    b = train(out=env.root / "b", resume=True, **kw)
    return SimpleNamespace(a=a, b=b, paused=paused)



def test_presets_follow_the_paper():
    from srbench_methods.dsrvae.train import DSRVAERecipe

    r = DSRVAERecipe()
    p = r.presets["paper"]
    assert (p.steps, p.batch, p.patch, p.lr) == (1_000_000, 16, 512, 1e-4)  # Sec. 4.1: 1e6 it., batch 16, 128 px LR
    assert (p.extra["weight_decay"], p.extra["beta1"], p.extra["kl"]) == (1e-4, 0.9, 1.0)
    assert [s.name for s in r.stages] == ["dae", "sr"] and r.stage_steps(p.steps) == [(r.stages[0], 500_000), (r.stages[1], 500_000)]
    assert r.lr_factor("dae", 0.49) == 1.0 and r.lr_factor("sr", 0.5) == 0.1
    assert {"optimiser", "DAE loss", "SR loss (Eq. 8)", "adversarial loss"} <= {v.what for v in r.paper_vs_srbench}
    with pytest.raises(SrbenchError, match="patch must be 512"):
        r.hyper("paper", {"patch": 256})
    with pytest.raises(SrbenchError, match="sr_crop"):
        r.hyper("paper", {"sr_crop": 40})


def test_lr_is_matlab_bicubic_plus_seeded_gaussian_noise():
    from srbench_methods.dsrvae.train import DSRVAERecipe

    from srbench.imresize import imresize

    hr = (np.random.default_rng(1).random((256, 256, 3)) * 255).astype(np.uint8)
    r = DSRVAERecipe()
    r.hyper("paper", {"noise_min": 0.0, "noise_max": 0.0})
    assert np.array_equal(r.degrade(hr, 4, np.random.default_rng(0)), imresize(hr, 0.25))
    r.hyper("paper", {"noise_min": 10.0, "noise_max": 10.0})
    a, b = r.degrade(hr, 4, np.random.default_rng(3)), r.degrade(hr, 4, np.random.default_rng(3))
    assert np.array_equal(a, b)  # only the loop's rng: the data of a step is reproducible
    resid = a.astype(float) - imresize(hr, 0.25).astype(float)
    assert abs(resid.std() - 10.0) < 0.6 and abs(resid.mean()) < 0.5


def test_trains_both_stages_and_the_loss_goes_down(runs, env):
    log = train_log(env.root / "a")
    assert [row["stage"] for row in log] == ["dae"] * 3 + ["sr"] * 3
    dae, sr = log[:3], log[3:]
    assert all({"loss", "l1", "kl"} <= set(r) for r in dae)
    assert all({"loss", "mae", "vgg", "adv", "d_loss"} <= set(r) for r in sr)
    assert dae[-1]["loss"] < 0.5 * dae[0]["loss"], dae  # the KL of q(z|T) collapses towards N(0, I)
    assert sr[-1]["mae"] < sr[0]["mae"] and sr[-1]["loss"] < sr[0]["loss"], sr
    assert [row["lr_factor"] for row in log] == [1.0, 1.0, 0.1, 1.0, 1.0, 0.1]  # x0.1 after half of each stage
    prov = runs.a.provenance
    assert prov["recipe"] == "dsrvae:paper" and prov["stages"] == [{"name": "dae", "steps": 3}, {"name": "sr", "steps": 3}]


def test_pause_and_resume_is_exact(runs, env):
    assert not runs.paused.finished and runs.paused.provenance["steps"] == 2
    names = [p.name for p in runs.a.files]
    assert names == ["VAE_denoiser.pth", "VAE_SR.pth"] == [p.name for p in runs.b.files]
    for pa, pb in zip(runs.a.files, runs.b.files):
        ta, tb = load_state(pa), load_state(pb)
        assert ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta), pa.name
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert strip(train_log(env.root / "a")) == strip(train_log(env.root / "b"))


def test_exports_the_released_file_names_with_provenance(runs):
    from srbench_methods.dsrvae.model import load_denoiser, load_sr

    den_path, sr_path = runs.a.files
    for path, arch in ((den_path, "dsrvae.denoiser"), (sr_path, "dsrvae.sr")):
        cfg = json.loads(path.with_name(path.name + ".srbench-trained").read_text())
        assert cfg["arch"] == arch and cfg["method"] == "dsrvae" and cfg["training"]["recipe"] == "dsrvae:paper"
        assert cfg["training"]["steps"] == STEPS
    den, dropped = load_denoiser(den_path)  # strict: every key of the test-time Denoiser, nothing else
    assert dropped == [] and len(load_state(den_path)) == len(den.state_dict())
    load_sr(sr_path)


def test_srbench_run_and_weights_import_load_the_export(runs, env):
    from srbench_methods.dsrvae.model import load

    from srbench import registry, weights
    from srbench.results import load as load_results

    out = runs.a.out
    name = declare_tiny(env.root, env.home, env.mp)
    run = env.root / "run"
    cmd = [sys.executable, "-m", "srbench", "run", "--methods", "dsrvae:sr-only", "--datasets", name, "--scale", "4",
           "--weights", f"dsrvae={out}", "--out", str(run), "--no-progress", "--device", "cpu"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((run / "manifest.json").read_text())
    (m,) = manifest["methods"].values()
    assert m["weights"]["VAE_SR.pth"]["provenance"] == "trained"  # the .srbench-trained marker
    assert all(np.isfinite(r["value"]) for r in load_results(run).rows())

    # the full variant through the same resolution, strictly (its 128 px patches make a CPU SR run slow)
    info, _ = registry.get_method("dsrvae")
    res = weights.resolve(info, "full", 4, {"dsrvae": str(out)})
    assert {k: r.provenance for k, r in res.items()} == {"VAE_denoiser.pth": "trained", "VAE_SR.pth": "trained"}
    model = load(4, weights=res)
    lr = (np.random.default_rng(0).random((12, 20, 3)) * 255).astype(np.uint8)
    assert model.denoise(lr).shape == lr.shape

    # srbench weights import: the files go into the cache and load from there without --weights
    for f in runs.a.files:
        weights.import_file(info, f)
    cached = weights.resolve(info, "full", 4)
    assert {r.origin for r in cached.values()} == {"cache"}
    assert load(4, weights=cached).provenance["weights"] == model.provenance["weights"]


def test_super_resolve_is_the_adapters_test_path(env):
    """Validation runs the adapter's pipeline (patching, seeded latents, blending); a 4-channel SRSN keeps
    the 512 px SR patches cheap."""
    from srbench_methods.dsrvae.model import DSRVAE
    from srbench_methods.dsrvae.network import SRNet
    from srbench_methods.dsrvae.train import DSRVAERecipe

    from srbench.conventions import DEFAULT_SEED
    from srbench.torch_utils import to_tensor

    r = DSRVAERecipe()
    hp = r.hyper("paper", OVERRIDES)
    torch.manual_seed(0)
    nets = r.build(4, hp)
    nets["sr"].net = SRNet(dim=4, n_blocks=1)
    for m in nets.values():
        m.eval()
    lr = (np.random.default_rng(2).random((20, 24, 3)) * 255).astype(np.uint8)
    with torch.no_grad():
        got = r.super_resolve(nets, to_tensor(lr))
    adapter = DSRVAE(nets["sr"].net, nets["dae"].net, torch.device("cpu"))
    want = adapter._sr_float(lr, adapter._gen(DEFAULT_SEED))
    assert got.shape == (1, 3, 80, 96) and torch.allclose(got, want, atol=1e-6)


def test_refuses_without_the_vgg19_weights(env, tmp_path, monkeypatch):
    from srbench_methods.dsrvae.train import DSRVAERecipe

    monkeypatch.delenv("SRBENCH_VGG19")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # an empty hub cache, offline
    r = DSRVAERecipe()
    with pytest.raises(WeightsError, match=r"vgg19-dcbb9e9d\.pth.*offline"):
        r.build(4, r.hyper("paper", OVERRIDES))
    with pytest.raises(SrbenchError, match="x4 only"):
        r.build(2, r.hyper("paper"))
