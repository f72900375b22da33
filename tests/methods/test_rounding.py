"""Every learned adapter turns its network's float output into uint8 with the rule it declares.

The network of each adapter is replaced by one that returns crafted values: ``(k + 0.5) / 255`` (where the
rules ``half_away`` and ``half_even`` disagree for even k, and ``truncate`` differs from both), ``(k + 0.7) /
255`` (truncation vs rounding) and values outside [0, 1] (clipping). The adapter's uint8 must be
``to_uint8(255 * x, info.rounding)`` with the multiplication in float32, as the official codes do it - and
must differ from every other rule, so a wrong ``MethodInfo.rounding`` (or a float64 multiplication)
fails here. The golden fixture tests next to each adapter check the official bytes themselves.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from srbench.checkpoint_format import save_checkpoint
from srbench.conventions import ROUNDING, to_uint8
from srbench.hashing import sha256_file
from srbench.method_api import WeightFile
from srbench.weights import ResolvedWeight

#: the rule of each method's official (or reference) code, as its notes state it
OFFICIAL_RULE = {
    "bicubic": "half_away",  # MATLAB uint8() (srbench.imresize)
    "esrgan": "half_even",  # test.py: (output * 255.0).round() on float32
    "srgan": "truncate",  # test_image.py: ToPILImage, x.mul(255).byte()
    "dsrvae": "truncate",  # test.py: np.uint8(clamp(255 * SR))
    "refvae": "truncate",  # eval_*x.py: np.uint8(clamp(255 * SR))
    "cyclesr": "half_away",  # no official code path to uint8: srbench's convention
    "cyclesrgan": "half_away",
    "ssrvae": "half_away",
    "hvae-cnn": "half_away",
    "hvae": "half_away",
}

_V = np.array(
    [(k + 0.5) / 255 for k in (2, 3, 130, 131)] + [(k + 0.7) / 255 for k in (10, 200)] + [50.3 / 255, -0.25, 1.25, 0.0, 1.0],
    dtype=np.float32,
)


def crafted(n: int, h: int, w: int) -> torch.Tensor:
    """``n x 3 x h x w`` float32: value ``_V[(c + i + 2 j) % len(_V)]`` at channel c, row i, column j
    (a function of the position only, so a crop of a larger output holds the same values)."""
    c, i, j = np.indices((3, h, w))
    return torch.from_numpy(_V[(c + i + 2 * j) % len(_V)]).expand(n, 3, h, w).contiguous()


def expected(h: int, w: int, rule: str) -> np.ndarray:
    x255 = crafted(1, h, w)[0].permute(1, 2, 0).numpy() * np.float32(255)  # float32, as the official codes
    return to_uint8(x255, rule)


class Crafted:
    """Stands in for a network call: the crafted ``scale``-times output for its first argument's size."""

    def __init__(self, scale: int, like):
        self.scale = scale
        self.latent = getattr(like, "latent", None)  # hvae draws eps of its network's latent size

    def __call__(self, x, *_):
        return crafted(x.shape[0], self.scale * x.shape[-2], self.scale * x.shape[-1])


def rw(path) -> dict[str, ResolvedWeight]:
    return {path.name: ResolvedWeight(WeightFile(path.name), path, sha256_file(path), "user")}


# ---------------------------------------------------------------- one builder per adapter
# Each returns (info, model, attribute): the loaded model and the name of the network call to replace
# (its first argument is the LR-sized tensor; the replacement returns the crafted ``scale``-times output).


def _esrgan(tmp_path, monkeypatch):
    import srbench_methods.esrgan.model as em
    from srbench_methods.esrgan import METHODS
    from srbench_methods.esrgan.arch import RRDBNet

    monkeypatch.setattr(em, "RELEASED_ARCH", (3, 3, 8, 1, 4))
    path = tmp_path / "RRDB_ESRGAN_x4.pth"
    torch.save(RRDBNet(nf=8, nb=1, gc=4).state_dict(), path)
    return METHODS[0], em.load(4, weights=rw(path)), "net"


def _srgan(quantize):
    def build(tmp_path, monkeypatch):
        import srbench_methods.srgan.model as sm
        from srbench_methods.srgan import METHODS
        from srbench_methods.srgan.arch import Generator

        path = tmp_path / "netG_epoch_4_100.pth"
        torch.save(Generator(4).state_dict(), path)
        info = METHODS[0]
        if quantize == "round":  # the option changes the rule: quantize=round is half_away
            info = replace(info, rounding="half_away")
        return info, sm.load(4, weights=rw(path), options={"quantize": quantize}), "net"

    return build


def _dsrvae(variant):
    def build(tmp_path, monkeypatch):
        from srbench_methods.dsrvae import METHODS
        from srbench_methods.dsrvae import model as dm
        from srbench_methods.dsrvae.network import SRNet

        sr = dm._empty(SRNet, dim=4)
        if variant == "sr-only":
            return METHODS[0], dm.DSRVAE(sr, None, torch.device("cpu")), "sr_net"
        # the official chop_forward (patching, denoiser, SR net, blending) is replaced as a whole
        return METHODS[0], dm.DSRVAE(sr, torch.nn.Identity(), torch.device("cpu")), "forward_patches"

    return build


def _refvae(tmp_path, monkeypatch):
    from srbench_methods.refvae import METHODS
    from srbench_methods.refvae import model as rm

    class Net(torch.nn.Module):
        up_factor = 8

    return METHODS[0], rm.RefVAE(Net(), torch.nn.Identity(), torch.device("cpu")), "forward"  # encoders + net


def _cyclesr(method):
    def build(tmp_path, monkeypatch):
        from srbench_methods.cyclesr import METHODS
        from srbench_methods.cyclesr import model as cm
        from srbench_methods.cyclesr.networks import VDSR

        path = save_checkpoint(VDSR(4, nf=4, nb=1), tmp_path / "c.srbench.safetensors", {})
        model = (cm.load_cyclesr if method == "cyclesr" else cm.load_cyclesrgan)(4, weights=rw(path), variant="vdsr")
        return next(m for m in METHODS if m.name == method), model, "net"

    return build


def _ssrvae(tmp_path, monkeypatch):
    from srbench_methods.ssrvae import METHODS
    from srbench_methods.ssrvae import model as sm
    from srbench_methods.ssrvae.networks import SSRVAENet

    net = SSRVAENet(nf=4, n_global=1, n_local=1, reduction=4, window=3)
    return METHODS[0], sm.load(4, weights=rw(save_checkpoint(net, tmp_path / "s.srbench.safetensors", {}))), "net"


def _hvae(method):
    def build(tmp_path, monkeypatch):
        from srbench_methods.hvae import METHODS
        from srbench_methods.hvae import model as hm
        from srbench_methods.hvae.networks import SRVAE, SRCNN4x

        net = SRCNN4x(c1=2, c2=2, c3=2, c4=2) if method == "hvae-cnn" else SRVAE(latent=4, e1=2, e2=2, d1=2, d2=2, d3=2)
        path = save_checkpoint(net, tmp_path / f"{method}.srbench.safetensors", {})
        model = (hm.load_cnn if method == "hvae-cnn" else hm.load_vae)(4, weights=rw(path))
        return next(m for m in METHODS if m.name == method), model, "net"  # hvae: one 8x8 tile here

    return build


BUILDERS = {
    "esrgan": _esrgan,
    "srgan": _srgan("truncate"),
    "srgan[quantize=round]": _srgan("round"),
    "dsrvae": _dsrvae("full"),
    "dsrvae:sr-only": _dsrvae("sr-only"),
    "refvae": _refvae,
    "cyclesr": _cyclesr("cyclesr"),
    "cyclesrgan": _cyclesr("cyclesrgan"),
    "ssrvae": _ssrvae,
    "hvae-cnn": _hvae("hvae-cnn"),
    "hvae": _hvae("hvae"),
}


def test_the_crafted_values_tell_the_rules_apart():
    x = crafted(1, 4, 6)[0].permute(1, 2, 0).numpy()
    outs = {rule: expected(4, 6, rule) for rule in ROUNDING}
    for a in ROUNDING:
        for b in ROUNDING:
            assert a == b or not np.array_equal(outs[a], outs[b]), (a, b)
        if a != "truncate":  # x255 in float64 would round some halves the other way
            assert not np.array_equal(to_uint8(x.astype(np.float64) * 255, a), outs[a])
    assert outs["half_away"].min() == 0 and outs["half_away"].max() == 255  # clipped on both sides


def test_every_method_states_its_official_rule():
    from srbench import registry

    for name, rule in OFFICIAL_RULE.items():
        assert registry.methods()[name].rounding == rule, name
    assert {n.split("[")[0].split(":")[0] for n in BUILDERS} == set(OFFICIAL_RULE) - {"bicubic"}  # every learned one


@pytest.mark.parametrize("name", list(BUILDERS))
def test_output_follows_the_declared_rule(name, tmp_path, monkeypatch):
    info, model, attribute = BUILDERS[name](tmp_path, monkeypatch)
    s = model.scale
    monkeypatch.setattr(model, attribute, Crafted(s, getattr(model, attribute)))
    assert model.rounding == info.rounding
    lr = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    outs = [model.upscale(lr)] + (list(model.sample(lr, 2, seed=1)) if info.stochastic else [])
    for out in outs:
        assert out.dtype == np.uint8 and out.shape == (8 * s, 8 * s, 3)
        assert np.array_equal(out, expected(8 * s, 8 * s, info.rounding)), f"{name}: not {info.rounding}"
        for other in set(ROUNDING) - {info.rounding}:
            assert not np.array_equal(out, expected(8 * s, 8 * s, other))
