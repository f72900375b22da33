"""srbench.inprocess: a callable or a torch.nn.Module evaluated as a method without an adapter plugin."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from srbench.conventions import to_uint8
from srbench.errors import ImageError, MethodOutputError, SrbenchError
from srbench.inprocess import InProcessMethod, in_process_method, state_dict_sha256


def _lr(h: int = 7, w: int = 9, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


class Nearest2x(nn.Module):
    """Nearest x2 upsampling; no parameters or buffers."""

    def forward(self, x):
        return F.interpolate(x, scale_factor=2, mode="nearest")


class Shuffle2x(nn.Module):
    """1x1 conv to 12 channels + PixelShuffle(2): every output pixel depends on one LR pixel."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.conv = nn.Conv2d(3, 12, 1)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x):
        return self.shuffle(self.conv(x))


class Shuffle2xOther(Shuffle2x):
    """Same tensors as Shuffle2x, another class (its output could differ)."""


class DeviceCheck(nn.Module):
    """Asserts the input arrives on the device and in the dtype of its parameter."""

    def __init__(self, dtype=torch.float32):
        super().__init__()
        self.gain = nn.Parameter(torch.ones((), dtype=dtype))
        self.seen = []

    def forward(self, x):
        assert x.device == self.gain.device, (x.device, self.gain.device)
        assert x.dtype == self.gain.dtype, (x.dtype, self.gain.dtype)
        assert not torch.is_grad_enabled()
        assert not self.training
        self.seen.append((x.device, x.dtype))
        return F.interpolate(x * self.gain, scale_factor=2, mode="nearest")


class Constant2x(nn.Module):
    """Outputs the per-channel constants ``vals`` (a buffer) at twice the input size."""

    def __init__(self, vals):
        super().__init__()
        self.register_buffer("vals", torch.as_tensor(vals, dtype=torch.float32))

    def forward(self, x):
        n, _, h, w = x.shape
        return self.vals.view(1, 3, 1, 1).expand(n, 3, 2 * h, 2 * w).clone()


class Returns(nn.Module):
    """Returns ``make(x)``: for outputs that break the contract."""

    def __init__(self, make):
        super().__init__()
        self.make = make

    def forward(self, x):
        return self.make(x)


def _nearest_uint8(lr: np.ndarray, s: int = 2) -> np.ndarray:
    return lr.repeat(s, axis=0).repeat(s, axis=1)


# -- the callable path ----------------------------------------------------------------------------

def test_callable_output_is_returned_as_it_is():
    lr = _lr()
    calls = []

    def f(x):
        calls.append(x)
        x[0, 0] = 0  # must not reach the caller's LR
        return _nearest_uint8(x)

    m = in_process_method(f, "mynet", [2])
    assert isinstance(m, InProcessMethod) and m.label == "mynet"
    model = m.load(2, "cpu")
    before = lr.copy()
    out = model.upscale(lr)
    assert np.array_equal(lr, before), "the callable modified the runner's LR"
    assert out.dtype == np.uint8 and out.shape == (14, 18, 3)
    assert np.array_equal(out, _nearest_uint8(calls[0]))
    assert model.scale == 2


def test_callable_torch_tensor_becomes_numpy_and_float_passes_through():
    lr = _lr()
    m = in_process_method(lambda x: torch.from_numpy(_nearest_uint8(x)), "tensor-net", 2).load(2, "cpu")
    out = m.upscale(lr)
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8
    assert np.array_equal(out, _nearest_uint8(lr))
    # float output is not scaled or rounded here: the runner refuses it with its own message
    fl = in_process_method(lambda x: _nearest_uint8(x) / 255.0, "floatnet", 2).load(2, "cpu").upscale(lr)
    assert fl.dtype == np.float64 and np.allclose(fl * 255.0, _nearest_uint8(lr))


@pytest.mark.parametrize("ret", [(np.zeros((4, 4, 3), np.uint8),) * 2, [np.zeros((4, 4, 3), np.uint8)], None, {"sr": 1}])
def test_callable_returning_a_container_is_refused(ret):
    m = in_process_method(lambda x: ret, "bad", 2).load(2, "cpu")
    with pytest.raises(MethodOutputError, match=r"the callable returned a (tuple|list|NoneType|dict)"):
        m.upscale(_lr(2, 2))


def test_callable_refuses_module_only_settings():
    for kw in ({"tile": 32}, {"device": "cpu"}, {"batch_input": "chw"}, {"rounding": "truncate"}):
        key = next(iter(kw))
        with pytest.raises(SrbenchError, match=rf"{key}=.* applies to a torch.nn.Module"):
            in_process_method(lambda x: x, "f", 2, **kw)


def test_not_a_model_is_refused():
    with pytest.raises(SrbenchError, match="must be a callable .* or a torch.nn.Module, got a str"):
        in_process_method("net.pth", "mynet", 4)


# -- the nn.Module path ---------------------------------------------------------------------------

def test_module_nearest_is_bit_exact():
    lr = _lr()
    out = in_process_method(Nearest2x(), "near", 2).load(2, "cpu").upscale(lr)
    assert out.dtype == np.uint8
    assert np.array_equal(out, _nearest_uint8(lr))


def test_module_grey_lr_is_replicated():
    lr = _lr()[:, :, 0]
    out = in_process_method(Nearest2x(), "near", 2).load(2, "cpu").upscale(lr)
    assert np.array_equal(out, _nearest_uint8(np.repeat(lr[:, :, None], 3, axis=2)))


def test_module_equals_hand_computation():
    net = Shuffle2x()
    lr = _lr()
    out = in_process_method(net, "shuf", 2, rounding="half_even").load(2, "cpu").upscale(lr)
    x = torch.from_numpy(lr.transpose(2, 0, 1).copy()).float().unsqueeze(0) / 255.0
    with torch.no_grad():
        y = net(x)[0].numpy().transpose(1, 2, 0) * np.float32(255.0)
    assert np.array_equal(out, to_uint8(y, "half_even"))


@pytest.mark.parametrize("make, tile, overlap", [(Nearest2x, 3, 0), (Nearest2x, 4, 2), (Shuffle2x, 3, 0), (Shuffle2x, 5, 1)])
def test_tiling_equals_whole_image(make, tile, overlap):
    lr = _lr(11, 13)
    whole = in_process_method(make(), "w", 2).load(2, "cpu").upscale(lr)
    tiled_m = in_process_method(make(), "t", 2, tile=tile, tile_overlap=overlap)
    model = tiled_m.load(2, "cpu")
    assert np.array_equal(model.upscale(lr), whole)
    assert model.provenance["tile"] == tile and model.provenance["tile_overlap"] == overlap
    assert tiled_m.identity()["tile"] == tile


def test_rounding_rules_differ_on_halves():
    # values whose float32 product with 255 is exactly k + 0.5
    halves = [k for k in range(256) if np.float32(np.float32((k + 0.5) / 255.0) * np.float32(255.0)) == k + 0.5]
    even = [k for k in halves if k % 2 == 0 and k < 255]
    odd = [k for k in halves if k % 2 == 1 and k < 255]
    assert even and odd
    ks = [even[0], odd[0], even[-1]]
    vals = [np.float32((k + 0.5) / 255.0) for k in ks]
    lr = _lr(2, 3)
    got = {}
    for rule in ("half_away", "half_even", "truncate"):
        m = in_process_method(Constant2x(vals), "halves", 2, rounding=rule)
        assert m.info.rounding == rule
        model = m.load(2, "cpu")
        assert model.provenance["rounding"] == rule
        got[rule] = model.upscale(lr)[0, 0].tolist()
    assert got["half_away"] == [k + 1 for k in ks]
    assert got["truncate"] == ks
    assert got["half_even"] == [ks[0], ks[1] + 1, ks[2]]
    assert in_process_method(Constant2x(vals), "a", 2, rounding="half_away").identity() != \
        in_process_method(Constant2x(vals), "a", 2, rounding="truncate").identity()


def test_unknown_rounding_refused():
    with pytest.raises(SrbenchError, match="rounding 'floor' is not one of half_away"):
        in_process_method(Nearest2x(), "n", 2, rounding="floor")


def test_output_is_clipped():
    out = in_process_method(Constant2x([-0.5, 0.5, 1.7]), "clip", 2).load(2, "cpu").upscale(_lr(2, 2))
    assert out[0, 0].tolist() == [0, 128, 255]


def test_input_lands_on_the_module_device_and_dtype():
    for dtype in (torch.float32, torch.float64):
        net = DeviceCheck(dtype)
        net.train()
        m = in_process_method(net, "devnet", 2)
        model = m.load(2, "cpu")
        assert not net.training, "load() puts the module in eval mode"
        out = model.upscale(_lr())
        assert net.seen == [(torch.device("cpu"), dtype)]
        assert np.array_equal(out, _nearest_uint8(_lr()))
        assert model.provenance["device"] == "cpu"
        assert "moved_to_device" not in model.provenance


def test_device_argument_moves_the_module_and_is_recorded():
    net = DeviceCheck()
    m = in_process_method(net, "devnet", 2, device="cpu")
    model = m.load(2, "cpu")
    model.upscale(_lr())
    assert "device='cpu'" in model.provenance["moved_to_device"]
    assert model.provenance["device"] == "cpu"


def test_parameterless_module_uses_given_device():
    model = in_process_method(Nearest2x(), "near", 2).load(2, "cpu")
    assert model.provenance["device"].startswith("cpu") and "no parameters" in model.provenance["device"]


def test_provenance_and_info():
    m = in_process_method(Shuffle2x(), "shuf", (2, 4), version="v1")
    info = m.info
    assert (info.name, info.title, info.scales, info.learned, info.stochastic) == ("shuf", "shuf", (2, 4), False, False)
    assert info.paper == "in-process model (srbench.evaluate)"
    assert info.protocols == ("rgb",) and info.options == () and info.adapter_version == "inprocess-1"
    prov = m.load(2, "cpu").provenance
    assert prov["kind"] == "nn.Module"
    assert prov["class"].endswith("Shuffle2x")
    assert prov["identity"] == "version:v1"
    assert prov["tile"] == 0 and prov["rounding"] == "half_away"
    cprov = in_process_method(lambda x: x, "f", 2).load(2, "cpu").provenance
    assert cprov["kind"] == "callable" and cprov["identity"] == "none (not cached)"
    assert "<lambda>" in cprov["class"]


def test_module_returning_a_tuple_is_refused():
    m = in_process_method(Returns(lambda x: (F.interpolate(x, scale_factor=2), x)), "tup", 2).load(2, "cpu")
    with pytest.raises(MethodOutputError, match=r"tup: the module returned a tuple of 2 \(a Tensor of shape \(1, 3, 8, 8\).*one float tensor"):
        m.upscale(_lr(4, 4))
    d = in_process_method(Returns(lambda x: {"sr": x}), "dic", 2).load(2, "cpu")
    with pytest.raises(MethodOutputError, match="returned a dict with keys 'sr'"):
        d.upscale(_lr(4, 4))


def test_module_bad_outputs_are_refused():
    cases = [
        (lambda x: (F.interpolate(x, scale_factor=2) * 255).to(torch.uint8), "torch.uint8 tensor; it must return float"),
        (lambda x: F.interpolate(x, scale_factor=4), r"shape \(1, 3, 16, 16\); expected 1x3x8x8"),
        (lambda x: F.interpolate(x, scale_factor=2)[:, :1], r"shape \(1, 1, 8, 8\); expected 1x3x8x8"),
        (lambda x: F.interpolate(x, scale_factor=2)[0, 0], r"shape \(8, 8\); expected 1x3xHxW"),
    ]
    for make, msg in cases:
        with pytest.raises(MethodOutputError, match=msg):
            in_process_method(Returns(make), "bad", 2).load(2, "cpu").upscale(_lr(4, 4))
    with pytest.raises(ImageError, match="expects an HxWx3"):
        in_process_method(Nearest2x(), "n", 2).load(2, "cpu").upscale(_lr(4, 4).astype(np.float32))


def test_batch_input_layouts():
    lr = _lr()
    chw = Returns(lambda x: F.interpolate(x.unsqueeze(0), scale_factor=2)[0] if x.dim() == 3 else None)
    for tile in (0, 4):
        out = in_process_method(chw, "chw", 2, batch_input="chw", tile=tile).load(2, "cpu").upscale(lr)
        assert np.array_equal(out, _nearest_uint8(lr))
    # auto: 1x3xHxW in, a 3xHxW output is accepted; nchw insists on 4-D
    squeezed = Returns(lambda x: F.interpolate(x, scale_factor=2)[0])
    assert np.array_equal(in_process_method(squeezed, "a", 2).load(2, "cpu").upscale(lr), _nearest_uint8(lr))
    with pytest.raises(MethodOutputError, match="expected 1x3xHxW"):
        in_process_method(squeezed, "a", 2, batch_input="nchw").load(2, "cpu").upscale(lr)
    with pytest.raises(SrbenchError, match="batch_input 'nhwc' is not one of"):
        in_process_method(Nearest2x(), "a", 2, batch_input="nhwc")


# -- identity ------------------------------------------------------------------------------------

def test_identity_version_string():
    m = in_process_method(Shuffle2x(), "shuf", 2, version="2024-05-01")
    assert m.identity_text == "version:2024-05-01"
    assert m.identity()["inprocess"] == "shuf" and m.identity()["identity"] == "version:2024-05-01"
    f = in_process_method(lambda x: x, "f", 2, version="abc")
    assert f.identity() == {"inprocess": "f", "identity": "version:abc"}
    with pytest.raises(SrbenchError, match="version must be a non-empty string"):
        in_process_method(lambda x: x, "f", 2, version="  ")


def test_identity_none_for_bare_callable():
    m = in_process_method(lambda x: x, "f", 2)
    assert m.identity_text is None and m.identity() is None


def test_state_dict_hash_stable_for_same_weights():
    a, b = in_process_method(Shuffle2x(0), "s", 2), in_process_method(Shuffle2x(0), "s", 2)
    assert a.identity_text.startswith("state_dict:") and len(a.identity_text) == len("state_dict:") + 64
    assert a.identity_text == b.identity_text
    net = Shuffle2x(0)
    before = state_dict_sha256(net)
    net.to("cpu").train()
    assert state_dict_sha256(net) == before
    # a non-contiguous parameter with the same values hashes like the contiguous one
    with torch.no_grad():
        w = net.conv.weight.detach().clone()
        net.conv.weight = nn.Parameter(w.permute(1, 0, 2, 3).contiguous().permute(1, 0, 2, 3))
    assert not net.conv.weight.is_contiguous()
    assert state_dict_sha256(net) == before
    assert in_process_method(Shuffle2x(1), "s", 2).identity_text != a.identity_text


def test_state_dict_hash_changes_with_one_weight():
    net = Shuffle2x(0)
    before = state_dict_sha256(net)
    with torch.no_grad():
        net.conv.weight[3, 1, 0, 0] += 1e-6
    assert state_dict_sha256(net) != before
    net2 = Shuffle2x(0)
    net2.conv.to(torch.float64)  # same values, another dtype
    assert state_dict_sha256(net2) != before


def test_state_dict_hash_differs_between_classes():
    a, b = Shuffle2x(0), Shuffle2xOther(0)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert state_dict_sha256(a) != state_dict_sha256(b)
    # same class (Sequential) and same tensors, another structure
    torch.manual_seed(0)
    s1 = nn.Sequential(nn.Conv2d(3, 12, 1), nn.PixelShuffle(2))
    s2 = nn.Sequential(nn.Conv2d(3, 12, 1), nn.PixelShuffle(2))
    s2.load_state_dict(s1.state_dict())
    s3 = nn.Sequential(nn.Conv2d(3, 12, 1), nn.Upsample(scale_factor=2))
    s3[0].load_state_dict(s1[0].state_dict())
    assert state_dict_sha256(s1) == state_dict_sha256(s2)
    assert state_dict_sha256(s1) != state_dict_sha256(s3)


def test_bf16_buffer_hashes():
    class WithBf16(Nearest2x):
        def __init__(self):
            super().__init__()
            self.register_buffer("table", torch.arange(6, dtype=torch.bfloat16) / 3)
            self.register_buffer("scalar", torch.tensor(1.5, dtype=torch.bfloat16))

    a, b = WithBf16(), WithBf16()
    ha = state_dict_sha256(a)
    assert ha == state_dict_sha256(b)
    b.table[2] = 7
    assert state_dict_sha256(b) != ha
    c = WithBf16()
    c.scalar.fill_(2.0)
    assert state_dict_sha256(c) != ha
    assert in_process_method(a, "bf", 2).identity_text == f"state_dict:{ha}"


def test_unhashable_state_is_refused_with_a_hint():
    class Extra(Nearest2x):
        def get_extra_state(self):
            return {"mode": "x"}

        def set_extra_state(self, state):
            pass

    with pytest.raises(SrbenchError, match=r"cannot hash state_dict entry '_extra_state'.*pass version="):
        in_process_method(Extra(), "extra", 2)
    assert in_process_method(Extra(), "extra", 2, version="1").identity_text == "version:1"


# -- names and scales ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bicubic", "Bicubic", "esrgan"])
def test_registered_name_refused(name):
    with pytest.raises(SrbenchError, match=f"name {name} is a registered method; choose another name"):
        in_process_method(Nearest2x(), name, 2)


@pytest.mark.parametrize("name", ["", "-net", ".net", "my net", "esrgan:psnr", "net[x=1]", "a/b", "né", 4, None])
def test_invalid_label_refused(name):
    with pytest.raises(SrbenchError, match="is not a valid method label"):
        in_process_method(Nearest2x(), name, 2)


@pytest.mark.parametrize("name", ["mynet", "MyNet_v2.1", "edsr+", "4x-net"])
def test_valid_labels(name):
    assert in_process_method(Nearest2x(), name, 2).label == name


def test_scale_outside_scales_refused():
    m = in_process_method(Nearest2x(), "near", [2])
    with pytest.raises(SrbenchError, match="near was given for x2 only; x4 was asked for"):
        m.load(4, "cpu")
    assert in_process_method(Nearest2x(), "near", 2).info.scales == (2,)
    assert in_process_method(Nearest2x(), "near", (4, 2, 4)).info.scales == (4, 2)
    for bad in ((), (0,), (2.5,), ("4",), (True,), None):
        with pytest.raises(SrbenchError, match="scales must be positive integers"):
            in_process_method(Nearest2x(), "near", bad)
    for bad in ({"tile": -1}, {"tile_overlap": 1.5}, {"tile": True}):
        with pytest.raises(SrbenchError, match="must be an integer >= 0"):
            in_process_method(Nearest2x(), "near", 2, **bad)


def test_import_does_not_import_torch():
    code = "import srbench.inprocess, sys; assert 'torch' not in sys.modules, 'torch was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
    # a plain callable is wrapped, loaded and run without torch
    code2 = (
        "import sys, numpy as np; from srbench.inprocess import in_process_method;"
        "m = in_process_method(lambda x: x.repeat(2, 0).repeat(2, 1), 'f', 2).load(2, 'cpu');"
        "assert m.upscale(np.zeros((2, 2, 3), np.uint8)).shape == (4, 4, 3);"
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code2], check=True)
