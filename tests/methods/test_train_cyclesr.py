"""CycleSR / CycleSRGAN training recipes (methods/cyclesr/train.py) on tiny synthetic unpaired folders."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from helpers.training_data import one_thread, train_log  # noqa: F401 - a fixture
from safetensors.torch import load_file

from srbench.training.loop import train

#: tiny networks and crops (HR 32 -> LR 8 at x4), so that a step takes well under a second on two cores
TINY = {"batch": 2, "patch": 32, "ngf": 4, "g_blocks": 1, "ndf": 4, "d_layers": 1, "nf": 8, "nb": 1, "pool": 4}

pytestmark = pytest.mark.usefixtures("one_thread")


def _smooth_pngs(folder, n: int, size: int, seed: int):
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        small = (rng.random((size // 4, size // 4, 3)) * 255).astype(np.uint8)
        Image.fromarray(small).resize((size, size), Image.BICUBIC).save(folder / f"im{i:02d}.png")
    return folder




@pytest.fixture
def unpaired(tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    hr = _smooth_pngs(tmp_path / "hr", 8, 48, seed=0)
    lr = _smooth_pngs(tmp_path / "lr", 8, 48, seed=1)  # unrelated "real" LR images
    return {"data": f"folder:{hr}", "lr_data": f"folder:{lr}"}


@pytest.fixture
def fake_vgg(tmp_path, monkeypatch):
    """A file with the keys and shapes of torchvision's vgg19().features up to conv5_4 (He-scaled random
    values: the loss is real, the features are not ImageNet's)."""
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512]
    g = torch.Generator().manual_seed(0)
    state, idx, c_in = {}, 0, 3
    for v in cfg:
        if v == "M":
            idx += 1
            continue
        state[f"features.{idx}.weight"] = torch.randn(v, c_in, 3, 3, generator=g) * math.sqrt(2.0 / (9 * c_in))
        state[f"features.{idx}.bias"] = torch.zeros(v)
        idx, c_in = idx + 2, v  # conv, ReLU
    path = tmp_path / "vgg19-fake.pth"
    torch.save(state, path)
    monkeypatch.setenv("SRBENCH_VGG19", str(path))
    return path



def _same_files(a, b):
    assert [p.name for p in a.files] == [p.name for p in b.files]
    for pa, pb in zip(a.files, b.files):
        ta, tb = load_file(str(pa)), load_file(str(pb))
        assert ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta), pa.name


def _load_method(method: str, scale: int, path):
    """The adapter's loader fed as ``srbench run --methods METHOD --weights NAME=path`` feeds it (strict load)."""
    from srbench import registry
    from srbench.weights import resolve

    info, variant = registry.get_method(method)
    weights = resolve(info, variant, scale=scale, overrides={info.name: str(path)})
    return registry.import_object(info.loader)(scale=scale, weights=weights, variant=variant)


# -- the objective --------------------------------------------------------------------------------

def test_presets_follow_the_paper():
    from srbench_methods.cyclesr.train import CycleSRGANRecipe, CycleSRRecipe

    v, s, gan = CycleSRRecipe("vdsr"), CycleSRRecipe("srresnet"), CycleSRGANRecipe(None)
    p = v.presets["paper"]
    assert (p.batch, p.patch, p.lr, p.extra["lr_trans"]) == (64, 480, 1e-4, 2e-4)  # Sec. 4.1 (+ Vega's batch / crop)
    assert (p.extra["beta1"], p.extra["beta2"]) == (0.9, 0.999)  # Sec. 4.1
    assert (p.extra["lambda_cyc"], p.extra["lambda_idt"], p.extra["pool"]) == (10.0, 0.5, 50)  # CycleGAN's defaults
    assert v.presets["paper"].extra["lambda_sr_trans"] == v.presets["paper"].extra["lambda_mse"] == 1e3  # NTIRE17 T2
    assert s.presets["paper"].extra["lambda_sr_trans"] == s.presets["paper"].extra["lambda_mse"] == 1e2  # NTIRE18
    assert gan.variant == "vdsr" and gan.presets["paper"].extra["lambda_adv"] == 5e-3
    # 5 + 1 pre-training epochs, 100 + 100 joint epochs of 255 steps
    plan = v.stage_steps(p.steps)
    assert p.steps == 52_530 and [st.name for st, _ in plan] == ["g1", "sr_pre", "joint"]
    assert all(abs(n - want) <= 1 for (_, n), want in zip(plan, (1275, 255, 51_000)))  # floor of float shares
    assert v.lr_factor("joint", 0.25) == 1.0 and v.lr_factor("joint", 0.75) == pytest.approx(0.5)
    assert v.presets["short"].extra == p.extra and v.presets["short"].steps < p.steps // 5
    whats = {r.what for r in gan.paper_vs_srbench}
    assert {"L_SR (CycleSRGAN)", "collaborative training", "optimiser", "schedule"} <= whats


class _Recording:
    """A StepContext that records which networks a loss sends gradients to (every gradient cleared first)."""

    def __init__(self, nets, opts):
        from srbench.training.recipe import StepContext

        self.inner = StepContext(torch.device("cpu"), opts, False)
        self.nets, self.seen = nets, []

    def autocast(self):
        return self.inner.autocast()

    def backward(self, loss, *names):
        for m in self.nets.values():
            m.zero_grad(set_to_none=True)
        loss.backward()
        got = {k for k, m in self.nets.items() if any(p.grad is not None and p.grad.abs().sum() > 0 for p in m.parameters())}
        self.seen.append((names, got))
        for n in names:
            self.inner.optimizers[n].step()
        return float(loss.detach())


def _expected_joint_losses(r, nets, batch, hp):
    """The joint step's losses computed independently, before any update (Eq. 2, 3, 5 with the
    recipe's CycleGAN / ESRGAN choices)."""
    import torch.nn.functional as F

    from srbench.training.resize import bicubic_uint8 as bicubic_down

    e = hp.extra
    hr, y = batch.hr, batch.lr
    t, d, srn = nets["trans"], nets["d_trans"], nets["sr"]
    with torch.no_grad():
        x = bicubic_down(hr, 4)
        fy, fx = t.g1(x), t.g2(y)
        want = {
            "cyc": F.l1_loss(t.g2(fy), x) + F.l1_loss(t.g1(fx), y),
            "idt": F.l1_loss(t.g1(y), y) + F.l1_loss(t.g2(x), x),
            "g_adv": ((d.d1(fy) - 1) ** 2).mean() + ((d.d2(fx) - 1) ** 2).mean(),
        }
        sr = srn(fy)
        want["sr_trans"] = want["mse"] = F.mse_loss(sr, hr)
        want["trans"] = (want["g_adv"] + e["lambda_cyc"] * want["cyc"] + e["lambda_cyc"] * e["lambda_idt"] * want["idt"]
                         + e["lambda_sr_trans"] * want["sr_trans"])
        if r.gan:
            want["percep"] = F.l1_loss(nets["vgg"](sr), nets["vgg"](hr))
            cr, cf = nets["d_sr"].net(hr), nets["d_sr"].net(sr)
            want["g_ra"] = 0.5 * (F.softplus(cr - cf.mean()).mean() + F.softplus(-(cf - cr.mean())).mean())
    return {k: float(v) for k, v in want.items()}


@pytest.mark.parametrize("method", ["cyclesr", "cyclesrgan"])
def test_joint_step_alternates_as_eq5(method, request):
    """The joint step's loss values are Eq. 2 / 5 (and Eq. 3 for CycleSRGAN), and each update touches only
    its module: L'_Trans the translation generators (through the held SR network and discriminators),
    D1/D2 their own loss, L_SR the SR network (G1's output held constant)."""
    from srbench.training.loop import load_recipe
    from srbench.training.recipe import Batch

    r = load_recipe(method)
    if r.gan:
        request.getfixturevalue("fake_vgg")
    hp = r.hyper("short", {**TINY, **({"ndf_sr": 4} if r.gan else {})})
    torch.manual_seed(0)
    nets = r.build(4, hp)
    ctx = _Recording(nets, r.optimizers(nets, hp))
    g = torch.Generator().manual_seed(1)
    batch = Batch(torch.randint(0, 256, (2, 3, 32, 32), generator=g) / 255.0, torch.rand(2, 3, 8, 8, generator=g))
    want = _expected_joint_losses(r, nets, batch, hp)
    logs = r.train_step("joint", batch, nets, ctx, hp)
    for k, v in want.items():
        assert logs[k] == pytest.approx(v, rel=1e-4, abs=1e-6), k
    expected = [(("trans",), {"trans"}), (("d_trans",), {"d_trans"}), (("sr",), {"sr"})]
    if r.gan:
        expected.append((("d_sr",), {"d_sr"}))
        assert {"d_sr", "sr"} <= set(logs)
    assert ctx.seen == expected
    ctx.seen.clear()
    assert "sr_trans" not in r.train_step("g1", batch, nets, ctx, hp)  # pre-training: no SR feedback
    assert [n for n, _ in ctx.seen] == [("trans",), ("d_trans",)]


# -- training, resuming, loading --------------------------------------------------------------------

def test_cyclesr_vdsr_trains_resumes_exactly_and_loads_strictly(unpaired, tmp_path):
    steps = 16
    kw = dict(method="cyclesr:vdsr", steps=steps, progress=False, overrides={**TINY, "lr": 1e-3},
              val_every=1000, checkpoint_every=1000, **unpaired)
    a = train(out=tmp_path / "a", **kw)
    assert [p.name for p in a.files] == ["cyclesr_vdsr_x4.srbench.safetensors", "cyclesr_g1_x4.srbench.safetensors"]
    assert [s["name"] for s in a.provenance["stages"]] == ["g1", "sr_pre", "joint"]
    rows = train_log(tmp_path / "a")
    cyc = [r["cyc"] for r in rows if "cyc" in r]
    mse = [r["mse"] for r in rows if r["stage"] == "joint"]
    assert np.mean(cyc[-4:]) < np.mean(cyc[:4]), cyc
    assert np.mean(mse[-4:]) < np.mean(mse[:4]), mse

    first = train(out=tmp_path / "b", pause_after=steps // 2, **kw)
    assert not first.finished and first.files == []
    b = train(out=tmp_path / "b", resume=True, **kw)
    _same_files(a, b)

    # srbench run loads both strictly: the SR network as the method, G1 as the cyclesr-g1 degradation
    from srbench.api import evaluate

    sr, g1 = (str(p) for p in a.files)
    res = evaluate(methods="cyclesr:vdsr", datasets="demo", scales=4, weights={"cyclesr": sr, "cyclesr-g1": g1},
                   degradation="cyclesr-g1", out=tmp_path / "run")
    assert set(res.summary["method"]) == {"cyclesr"} and len(res.summary) and res.summary["value"].notna().all()
    cfg = json.loads((tmp_path / "a" / "cyclesr_g1_x4.srbench.safetensors.json").read_text())
    assert cfg["arch"] == "cyclesr.g1" and cfg["scale"] == 4 and cfg["training"]["trained_with"] == "cyclesr:vdsr"


def test_cyclesr_srresnet_x2_resumes_and_loads(unpaired, tmp_path):
    from srbench.degradations import load_degradation

    kw = dict(method="cyclesr:srresnet", scale=2, steps=6, progress=False, overrides={**TINY},
              val_every=1000, checkpoint_every=1000, **unpaired)
    a = train(out=tmp_path / "a", **kw)
    train(out=tmp_path / "b", pause_after=4, **kw)
    b = train(out=tmp_path / "b", resume=True, **kw)
    _same_files(a, b)
    sr_path, g1_path = a.files
    assert sr_path.name == "cyclesr_srresnet_x2.srbench.safetensors" and g1_path.name == "cyclesr_g1_x2.srbench.safetensors"
    model = _load_method("cyclesr:srresnet", 2, sr_path)
    assert model.upscale(np.zeros((10, 12, 3), np.uint8)).shape == (20, 24, 3)
    deg = load_degradation("cyclesr-g1", 2, weights={"cyclesr-g1": str(g1_path)})
    assert deg(np.zeros((10, 12, 3), np.uint8)).shape == (10, 12, 3)


def test_cyclesrgan_trains_with_perceptual_and_adversarial_losses(unpaired, tmp_path, fake_vgg):
    kw = dict(method="cyclesrgan", steps=6, progress=False, overrides={**TINY, "ndf_sr": 4},
              val_every=1000, checkpoint_every=1000, **unpaired)
    a = train(out=tmp_path / "a", **kw)
    joint = [r for r in train_log(tmp_path / "a") if r["stage"] == "joint"]
    assert joint and all({"mse", "percep", "g_ra", "d_sr", "sr_trans"} <= set(r) for r in joint)
    train(out=tmp_path / "b", pause_after=3, **kw)
    b = train(out=tmp_path / "b", resume=True, **kw)
    _same_files(a, b)  # the frozen VGG is not in the state; the pools and BatchNorm statistics are
    assert a.files[0].name == "cyclesrgan_vdsr_x4.srbench.safetensors"
    model = _load_method("cyclesrgan", 4, a.files[0])
    assert model.upscale(np.zeros((8, 8, 3), np.uint8)).shape == (32, 32, 3)


def test_cyclesrgan_refuses_without_vgg_weights(unpaired, tmp_path, monkeypatch):
    from srbench.errors import WeightsError

    monkeypatch.delenv("SRBENCH_VGG19", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    with pytest.raises(WeightsError, match=r"VGG19 weights \(vgg19-dcbb9e9d\.pth.*offline"):
        train(method="cyclesrgan", steps=2, progress=False, overrides=TINY, out=tmp_path / "o", **unpaired)


def test_lr_crop_must_suit_the_generators(unpaired, tmp_path):
    from srbench.errors import SrbenchError

    with pytest.raises(SrbenchError, match="multiple of 4"):
        train(method="cyclesr", steps=2, progress=False, overrides={**TINY, "patch": 24}, out=tmp_path / "o", **unpaired)
