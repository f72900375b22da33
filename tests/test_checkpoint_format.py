"""srbench's checkpoint format for user-trained weights (safetensors + JSON config)."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

import srbench
from srbench.checkpoint_format import (
    FORMAT,
    FORMAT_VERSION,
    METADATA_KEY,
    check_config,
    load_checkpoint_with_config,
    read_config,
    save_checkpoint,
    sidecar_path,
    single_weight,
)
from srbench.errors import WeightsError
from srbench.method_api import MethodInfo, WeightFile
from srbench.weights import import_file, load_strict, resolve


class Net(torch.nn.Module):
    def __init__(self, ch=4):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, ch, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(ch)
        self.out = torch.nn.Conv2d(ch, 3, 1)

    def forward(self, x):
        return self.out(self.bn(self.conv(x)))

    def checkpoint_config(self):
        return {"arch": "test.net", "scale": 1, "arch_params": {"ch": self.conv.out_channels}}


def _net(seed=0, ch=4):
    torch.manual_seed(seed)
    net = Net(ch)
    net.bn.running_mean.uniform_(-1, 1)
    net.bn.num_batches_tracked.fill_(3)
    return net.eval()


def test_round_trip_strict_and_identical_output(tmp_path):
    net = _net()
    path = save_checkpoint(net, tmp_path / "m.srbench.safetensors", {"training": {"data": "DIV2K", "iters": 10}})
    state, cfg = load_checkpoint_with_config(path)
    assert cfg["format"] == FORMAT and cfg["format_version"] == FORMAT_VERSION
    assert cfg["arch"] == "test.net" and cfg["scale"] == 1 and cfg["arch_params"] == {"ch": 4}
    assert cfg["srbench_version"] == srbench.__version__ and cfg["created"].endswith("Z")
    assert cfg["training"] == {"data": "DIV2K", "iters": 10}
    assert set(state) == set(net.state_dict())
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
    assert state["bn.num_batches_tracked"].dtype == torch.int64
    other = Net(cfg["arch_params"]["ch"]).eval()
    load_strict(other, state)
    x = torch.rand(1, 3, 5, 6)
    with torch.no_grad():
        assert torch.equal(other(x), net(x))
    side = json.loads(sidecar_path(path).read_text())
    assert side == cfg  # human-readable copy of the embedded config


def test_strict_reload_rejects_other_shapes(tmp_path):
    path = save_checkpoint(_net(ch=4), tmp_path / "m.srbench.safetensors", {})
    state, _ = load_checkpoint_with_config(path)
    with pytest.raises(WeightsError, match="shape mismatches"):
        load_strict(Net(5), state)
    state.pop("out.bias")
    with pytest.raises(WeightsError, match="missing keys: out.bias"):
        load_strict(Net(4), state)


def test_embedded_config_wins_over_sidecar(tmp_path):
    path = save_checkpoint(_net(), tmp_path / "m.srbench.safetensors", {"scale": 2})
    sidecar_path(path).write_text(json.dumps({"arch": "something.else"}))
    assert read_config(path)["arch"] == "test.net" and read_config(path)["scale"] == 2
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        assert json.loads(f.metadata()[METADATA_KEY])["arch"] == "test.net"


def test_plain_state_dicts_need_a_sidecar_config(tmp_path):
    from safetensors.torch import save_file

    net = _net()
    plain = tmp_path / "plain.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(plain))
    with pytest.raises(WeightsError, match="no srbench config"):
        load_checkpoint_with_config(plain)
    state, cfg = load_checkpoint_with_config(plain, require_config=False)
    assert cfg is None and set(state) == set(net.state_dict())
    sidecar_path(plain).write_text(json.dumps({"arch": "test.net", "scale": 1, "arch_params": {"ch": 4}}))
    assert load_checkpoint_with_config(plain)[1]["arch"] == "test.net"
    pth = tmp_path / "plain.pth"  # torch.save'd state dict (read with weights_only=True)
    torch.save(net.state_dict(), pth)
    sidecar_path(pth).write_text(json.dumps({"arch": "test.net"}))
    state, cfg = load_checkpoint_with_config(pth)
    assert cfg["arch"] == "test.net" and torch.equal(state["conv.weight"], net.conv.weight)


def test_bad_configs_refused(tmp_path):
    plain = {"w": torch.zeros(2)}
    with pytest.raises(ValueError, match="arch"):
        save_checkpoint(plain, tmp_path / "a.safetensors", {})
    with pytest.raises(ValueError, match=".safetensors"):
        save_checkpoint(plain, tmp_path / "a.pt", {"arch": "x"})
    with pytest.raises(ValueError, match="plain JSON"):
        save_checkpoint(plain, tmp_path / "a.safetensors", {"arch": "x", "bad": object()})
    with pytest.raises(ValueError, match="non-finite"):
        save_checkpoint({"w": torch.tensor([float("nan")])}, tmp_path / "a.safetensors", {"arch": "x"})
    path = save_checkpoint(plain, tmp_path / "b.safetensors", {"arch": "x"}, sidecar=False)
    assert not sidecar_path(path).exists()
    newer = tmp_path / "c.safetensors"
    from safetensors.torch import save_file

    save_file(plain, str(newer), metadata={METADATA_KEY: json.dumps({"format": FORMAT, "format_version": 99, "arch": "x"})})
    with pytest.raises(WeightsError, match="newer"):
        load_checkpoint_with_config(newer)
    save_file(plain, str(newer), metadata={METADATA_KEY: "{not json"})
    with pytest.raises(WeightsError, match="not valid JSON"):
        load_checkpoint_with_config(newer)
    with pytest.raises(WeightsError, match="does not exist"):
        load_checkpoint_with_config(tmp_path / "missing.safetensors")


def test_shared_tensors_are_saved(tmp_path):
    lin = torch.nn.Linear(3, 3)
    state = {"a": lin.weight, "b": lin.weight, "view": lin.weight[0]}  # shared memory
    path = save_checkpoint(state, tmp_path / "s.safetensors", {"arch": "x"})
    got, _ = load_checkpoint_with_config(path)
    assert torch.equal(got["a"], got["b"]) and torch.equal(got["view"], lin.weight[0])


def test_check_config_and_single_weight(tmp_path):
    cfg = {"arch": "a.b", "scale": 4, "arch_params": {"n": 1}}
    assert check_config(cfg, "p", "a.b", 4) == {"n": 1}
    assert check_config(cfg, "p", ("x", "a.b"), None) == {"n": 1}
    with pytest.raises(WeightsError, match="architecture 'a.b'"):
        check_config(cfg, "p", "c.d", 4)
    with pytest.raises(WeightsError, match="x4, not x2"):
        check_config(cfg, "p", "a.b", 2)
    with pytest.raises(WeightsError, match="docs/checkpoints.md"):
        single_weight(None, "m")
    with pytest.raises(WeightsError, match="one checkpoint"):
        single_weight({"a": 1, "b": 2}, "m")
    assert single_weight({"a": 1}, "m") == 1


def test_trained_files_import_and_resolve_as_trained(tmp_path, fresh_home):
    wf = WeightFile("toy_x1.srbench.safetensors", manual=True, source="no official checkpoint: train with srbench or supply one")
    info = MethodInfo(name="toy", title="Toy", paper="-", variants={"default": (wf,)})
    with pytest.raises(WeightsError, match="train with srbench"):
        resolve(info, "default")
    src = save_checkpoint(_net(), tmp_path / "toy_x1.srbench.safetensors", {})
    import_file(info, src)
    got = resolve(info, "default")["toy_x1.srbench.safetensors"]
    assert got.provenance == "trained"
    assert load_checkpoint_with_config(got.path)[1]["arch"] == "test.net"
