"""Method registry: built-in adapter packages, entry points, broken adapters isolated, name parsing."""

from __future__ import annotations

import sys
import textwrap
from types import SimpleNamespace

import pytest
import srbench_methods

from srbench import registry
from srbench.cli import main
from srbench.errors import SrbenchError, UnknownNameError
from srbench.method_api import MethodInfo, WeightFile, parse_method_name


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch):
    registry.methods.cache_clear()
    monkeypatch.setattr(registry, "BROKEN", {})
    yield
    registry.methods.cache_clear()


class FakeEP:
    def __init__(self, name, load):
        self.name = name
        self._load = load

    def load(self):
        return self._load()


def _fake_entry_points(monkeypatch, eps):
    seen = []

    def fake(*, group):
        seen.append(group)
        return list(eps) if group == registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(registry, "entry_points", fake)
    return seen


def _info(name, **kw):
    fields = dict(name=name, title=name, paper="test", learned=False, loader="os.path:join")
    return MethodInfo(**{**fields, **kw})


@pytest.fixture
def extra_adapters(tmp_path, monkeypatch):
    """Adapter packages in a second folder of srbench_methods.__path__: one good, two broken, one plain module."""
    root = tmp_path / "adapters"
    pkgs = {
        "zz_good": """
            from srbench.method_api import MethodInfo
            METHODS = [MethodInfo(name="zzgood", title="ZZ", paper="test", learned=False, loader="os.path:join")]
        """,
        "zz_broken": """
            raise RuntimeError("boom from a broken adapter")
        """,
        "zz_badtype": """
            METHODS = ["not a MethodInfo"]
        """,
    }
    for name, body in pkgs.items():
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text(textwrap.dedent(body))
    (root / "zz_plainmodule.py").write_text("raise RuntimeError('plain modules are not adapters')\n")
    monkeypatch.setattr(srbench_methods, "__path__", [*srbench_methods.__path__, str(root)])
    _fake_entry_points(monkeypatch, [])
    yield root
    for name in [*pkgs, "zz_plainmodule"]:
        sys.modules.pop(f"srbench_methods.{name}", None)


def test_builtin_bicubic_is_registered():
    known = registry.methods()
    assert "bicubic" in known
    info = known["bicubic"]
    assert isinstance(info, MethodInfo) and not info.learned and "luma" in info.protocols
    assert callable(registry.import_object(info.loader))


def test_broken_adapter_does_not_break_the_others(extra_adapters, capsys):
    known = registry.methods()
    assert "bicubic" in known and "zzgood" in known
    assert set(registry.BROKEN) == {"zz_broken", "zz_badtype"}
    assert registry.BROKEN["zz_broken"] == "RuntimeError: boom from a broken adapter"
    assert registry.BROKEN["zz_badtype"].startswith("TypeError:")
    assert "zz_plainmodule" not in registry.BROKEN  # plain modules are not imported at all
    # asking for the broken one explains why
    with pytest.raises(SrbenchError, match="failed to load: RuntimeError: boom"):
        registry.get_method("zz_broken")
    # `srbench list` still works and shows the broken adapter
    assert main(["list", "methods"]) == 0
    out = capsys.readouterr().out
    assert "bicubic" in out and "zzgood" in out
    assert "zz_broken" in out and "BROKEN" in out


def test_entry_points_are_read(monkeypatch):
    third = SimpleNamespace(METHODS=[_info("thirdparty", scales=(2, 4))])

    def broken():
        raise ImportError("missing dependency of a plugin")

    seen = _fake_entry_points(monkeypatch, [FakeEP("thirdparty", lambda: third), FakeEP("brokenplugin", broken)])
    known = registry.methods()
    assert seen == ["srbench.methods"]
    assert known["thirdparty"].scales == (2, 4)
    assert "bicubic" in known
    assert registry.BROKEN == {"brokenplugin": "ImportError: missing dependency of a plugin"}
    info, variant = registry.get_method("thirdparty")
    assert info is third.METHODS[0] and variant is None


def test_entry_point_shadowing_warns(monkeypatch):
    replacement = _info("bicubic", title="Other bicubic")
    _fake_entry_points(monkeypatch, [FakeEP("shadow", lambda: SimpleNamespace(METHODS=[replacement]))])
    with pytest.warns(UserWarning, match="shadows"):
        known = registry.methods()
    assert known["bicubic"] is replacement


@pytest.fixture
def multi(monkeypatch):
    info = _info("multi", variants={"fast": (WeightFile("f.pth"),), "slow": (WeightFile("s.pth"),)})
    _fake_entry_points(monkeypatch, [FakeEP("multi", lambda: SimpleNamespace(METHODS=[info]))])
    return info


@pytest.mark.parametrize("spec,variant", [
    ("multi", "fast"),  # first declared variant is the default
    ("multi:slow", "slow"),
    ("  MULTI:slow ", "slow"),
    ("multi:", "fast"),
])
def test_get_method_variants(multi, spec, variant):
    info, got = registry.get_method(spec)
    assert info is multi and got == variant


def test_unknown_variant(multi):
    with pytest.raises(UnknownNameError) as ei:
        registry.get_method("multi:slw")
    assert ei.value.kind == "variant of multi"
    assert ei.value.suggestions == ["slow"]
    assert "Did you mean 'slow'" in str(ei.value) and "fast" in str(ei.value)


def test_unknown_method_suggests():
    with pytest.raises(UnknownNameError) as ei:
        registry.get_method("bicubik")
    assert "bicubic" in ei.value.suggestions
    assert "Did you mean 'bicubic'" in str(ei.value)


@pytest.mark.parametrize("spec,expect", [
    ("esrgan:psnr", ("esrgan", "psnr")),
    ("bicubic", ("bicubic", None)),
    ("ESRGAN : PSNR", ("esrgan", "PSNR")),
])
def test_parse_method_name(spec, expect):
    assert parse_method_name(spec) == expect


def test_import_object():
    import os.path

    assert registry.import_object("os.path:join") is os.path.join
    assert registry.import_object("os.path") is os.path
    assert registry.import_object("srbench:registry") is registry
    with pytest.raises(AttributeError):
        registry.import_object("os.path:no_such_function")


def test_metrics_registry_has_defaults():
    known = registry.metrics()
    assert {"psnr_y", "ssim_y"} <= {n for n, m in known.items() if m.default}
    assert registry.get_metric("psnr_y").name == "psnr_y"
