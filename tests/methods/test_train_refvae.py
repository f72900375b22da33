"""RefVAE's training recipe (methods/refvae/train.py) on synthetic HR crops, x4 and x8: the loss goes down,
pause + resume is exact, the export loads strictly in the adapter (``srbench run``), validation is the
adapter's path, and the recipe refuses to run without ``vgg_r41.pth`` or the ImageNet VGG19 weights.

Frozen networks are stand-ins: ``vgg_r41.pth`` = seeded random Encoder4 weights (``SRBENCH_VGG_R41``), VGG19 /
AlexNet = random tensors with torchvision's ``features`` keys and shapes (``SRBENCH_VGG19``; the LPIPS
trunk in a temporary ``TORCH_HOME``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers.training_data import declare_tiny, fake_vgg19, load_state, smooth_images, train_log
from seeded_weights import seeded_state  # tests/methods is on sys.path

from srbench import datasets as ds
from srbench.errors import SrbenchError, WeightsError
from srbench.training.loop import train

STEPS = 6
OVERRIDES = {"batch": 2, "patch": 64, "ref_size": 64}


def fake_alexnet(torch_home: Path) -> None:
    """The LPIPS trunk file where srbench's lpips backend looks for it (random torchvision alexnet features)."""
    from torchvision.models import alexnet

    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(1)
    torch.save({f"features.{k}": v for k, v in alexnet().features.state_dict().items()},
               folder / "alexnet-owt-7be5be79.pth")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from srbench_methods.refvae.network import Encoder4

    root = tmp_path_factory.mktemp("refvae_train")
    enc = root / "vgg_r41.pth"
    torch.save(seeded_state(Encoder4().state_dict(), 41), enc)
    fake_alexnet(root / "torch")
    with pytest.MonkeyPatch.context() as mp:
        home = root / "home"
        mp.setenv("SRBENCH_HOME", str(home))
        mp.setenv("SRBENCH_OFFLINE", "1")
        mp.setenv("TORCH_HOME", str(root / "torch"))
        mp.setenv("SRBENCH_VGG19", str(fake_vgg19(root / "vgg19-fake.pth")))
        mp.setenv("SRBENCH_VGG_R41", str(enc))
        ds.specs.cache_clear()
        data = f"folder:{smooth_images(root / 'hr', 6, 96)}"
        yield SimpleNamespace(root=root, home=home, data=data, mp=mp, enc=enc)
    ds.specs.cache_clear()


def _kw(env, scale=4, steps=STEPS):
    return dict(method="refvae", data=env.data, scale=scale, steps=steps, progress=False, val_images=1,
                val_every=3, checkpoint_every=100, overrides=OVERRIDES)


@pytest.fixture(scope="module")
def runs(env):
    a = train(out=env.root / "a", **_kw(env))
    paused = train(out=env.root / "b", pause_after=3, **_kw(env))
    b = train(out=env.root / "b", resume=True, **_kw(env))
    return SimpleNamespace(a=a, b=b, paused=paused)



def test_presets_follow_the_paper():
    from srbench_methods.refvae.train import RefVAERecipe

    r = RefVAERecipe()
    p = r.presets["paper"]
    assert (p.steps, p.batch, p.patch, p.lr) == (50_000, 16, 256, 1e-4)  # Sec. 4.1: 5e4 it., batch 16, 32 px LR at x8
    e = p.extra
    assert (e["content"], e["style"], e["lpips"], e["tv"], e["kl"]) == (1, 10, 1, 1, 1)  # Sec. 4.1, as printed
    assert (e["weight_decay"], e["beta1"], e["ref_size"], e["ref"]) == (1e-4, 0.9, 256, "other")
    assert r.scales == (4, 8) and r.lr_factor("refvae", 0.5) == 0.1
    assert {"loss weights", "references in training", "style loss (Eq. 7)"} <= {v.what for v in r.paper_vs_srbench}
    with pytest.raises(SrbenchError, match="ref must be"):
        r.hyper("paper", {"ref": "wikiart"})


def test_trains_and_the_loss_goes_down(runs, env):
    log = train_log(env.root / "a")
    assert [row["step"] for row in log] == list(range(1, STEPS + 1))
    assert all({"loss", "content", "style", "lpips", "tv", "kl", "adv", "d_loss"} <= set(r) for r in log)
    loss = [r["loss"] for r in log]
    assert sum(loss[-2:]) < sum(loss[:2]), loss
    assert [r["lr_factor"] for r in log] == [1.0] * 3 + [0.1] * 3
    val = runs.a.validation
    assert [v["step"] for v in val] == [3, 6] and all(np.isfinite(v["psnr_y"]) for v in val)


def test_pause_and_resume_is_exact(runs, env):
    assert not runs.paused.finished and runs.paused.provenance["steps"] == 3
    assert [p.name for p in runs.a.files] == ["ConVAE_4x.pth", "vgg_r41.pth"] == [p.name for p in runs.b.files]
    ta, tb = load_state(runs.a.files[0]), load_state(runs.b.files[0])
    assert ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)
    assert runs.a.validation == runs.b.validation
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert strip(train_log(env.root / "a")) == strip(train_log(env.root / "b"))


def test_export_and_srbench_run(runs, env):
    from srbench.hashing import sha256_file
    from srbench.results import load as load_results

    net_file, enc_file = runs.a.files
    cfg = json.loads(net_file.with_name(net_file.name + ".srbench-trained").read_text())
    assert cfg["arch"] == "refvae.x4" and cfg["training"]["recipe"] == "refvae:paper"
    assert cfg["encoder"]["sha256"] == sha256_file(env.enc) == sha256_file(enc_file)  # the encoder it was trained with
    name = declare_tiny(env.root, env.home, env.mp)
    run = env.root / "run"
    cmd = [sys.executable, "-m", "srbench", "run", "--methods", "refvae", "--datasets", name, "--scale", "4",
           "--weights", f"refvae={runs.a.out}", "--out", str(run), "--no-progress", "--device", "cpu"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    (m,) = json.loads((run / "manifest.json").read_text())["methods"].values()
    assert m["weights"]["ConVAE_4x.pth"]["provenance"] == "trained"
    assert all(np.isfinite(r["value"]) for r in load_results(run).rows())


def test_x8_trains_and_loads_strictly(env):
    from srbench_methods.refvae.model import load

    from srbench import registry, weights

    r = train(out=env.root / "x8", **_kw(env, scale=8, steps=2))
    assert [p.name for p in r.files] == ["ConVAE_8x.pth", "vgg_r41.pth"]
    info, _ = registry.get_method("refvae")
    res = weights.resolve(info, None, 8, {"refvae": str(r.out)})
    assert res["ConVAE_8x.pth"].provenance == "trained"
    model = load(8, weights=res)
    lr = (np.random.default_rng(0).random((9, 11, 3)) * 255).astype(np.uint8)
    assert model.upscale(lr).shape == (72, 88, 3)


def test_super_resolve_is_the_adapters_path(runs, env):
    """Validation = the adapter's default: the LR as reference (PIL bicubic to 256), z = mu."""
    from srbench_methods.refvae.model import RefVAE, _pad_multiple, ref_from_lr
    from srbench_methods.refvae.model import _tensor as tensor
    from srbench_methods.refvae.network import Z_DIM
    from srbench_methods.refvae.train import RefVAERecipe

    from srbench.torch_utils import to_tensor

    r = RefVAERecipe()
    hp = r.hyper("paper", {**OVERRIDES, "lpips": 0})
    torch.manual_seed(0)
    nets = r.build(4, hp)
    for m in nets.values():
        m.eval()
    lr = (np.random.default_rng(3).random((13, 10, 3)) * 255).astype(np.uint8)  # odd side: padded at x4
    with torch.no_grad():
        got = r.super_resolve(nets, to_tensor(lr))
    adapter = RefVAE(nets["net"].net, nets["enc"], torch.device("cpu"), ref="lr", latent="mean")
    want = adapter.forward(_pad_multiple(tensor(lr, "cpu"), 2), tensor(ref_from_lr(lr), "cpu"), torch.zeros(1, Z_DIM))
    assert got.shape == (1, 3, 52, 40) and torch.allclose(got, want[:, :, :52, :40], atol=1e-6)


def test_refuses_without_vgg_r41_or_vgg19(env, tmp_path, monkeypatch):
    from srbench_methods.refvae.train import RefVAERecipe

    r = RefVAERecipe()
    hp = r.hyper("paper", OVERRIDES)
    monkeypatch.delenv("SRBENCH_VGG_R41")
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path / "empty"))
    monkeypatch.setenv("SRBENCH_MIRROR", "")
    with pytest.raises(WeightsError, match=r"vgg_r41\.pth.*srbench weights import refvae"):
        r.build(4, hp)
    monkeypatch.setenv("SRBENCH_VGG_R41", str(env.enc))
    monkeypatch.delenv("SRBENCH_VGG19")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(WeightsError, match=r"vgg19-dcbb9e9d\.pth"):
        r.build(4, hp)
