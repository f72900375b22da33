"""`srbench list`: what it says about method and metric weights is true, online and offline, without torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from srbench.cli import main

ROOT = Path(__file__).resolve().parents[1]
ALEXNET = "hub/checkpoints/alexnet-owt-7be5be79.pth"
INCEPTION = "hub/checkpoints/pt_inception-2015-12-05-6726825d.pth"
NIQE = "hub/pyiqa/niqe_modelparameters.mat"


@pytest.fixture
def torch_home(tmp_path, monkeypatch) -> Path:
    """A TORCH_HOME like the offline mirror: AlexNet, Inception and NIQE present; VGG-16 and NRQM absent.
    `srbench list` only looks at the files, so placeholders with content stand in for them."""
    home = tmp_path / "torch-home"
    for rel in (ALEXNET, INCEPTION, NIQE):
        (home / rel).parent.mkdir(parents=True, exist_ok=True)
        (home / rel).write_bytes(b"placeholder")
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path / "srbench-home"))
    return home


def _metric_lines(out: str) -> dict[str, str]:
    lines = out.splitlines()
    start = lines.index("metrics:")
    return {line.split()[0]: line for line in lines[start + 1:] if line.startswith("  ") and not line.startswith("      ")}


def _method_lines(out: str) -> dict[str, str]:
    lines = out.splitlines()
    start = lines.index("methods:")
    return {line.split()[0]: line for line in lines[start + 1:] if line.startswith("  ") and not line.startswith("      ")}


def test_metrics_with_absent_weights_are_not_available_offline(torch_home, monkeypatch, capsys):
    """Item 4: pi, nrqm and lpips_vgg were listed as "available" without their weight files."""
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    assert main(["list", "metrics"]) == 0
    lines = _metric_lines(capsys.readouterr().out)
    for name in ("pi", "nrqm", "lpips_vgg"):
        assert "weights missing" in lines[name] and "available" not in lines[name], lines[name]
    for name in ("lpips", "niqe", "fid", "fid_patch", "diversity", "psnr_y", "ssim_y", "lr_psnr"):
        assert " available " in lines[name], lines[name]


def test_metrics_online_say_downloaded_on_first_use(torch_home, monkeypatch, capsys):
    monkeypatch.delenv("SRBENCH_OFFLINE", raising=False)
    assert main(["list", "metrics"]) == 0
    lines = _metric_lines(capsys.readouterr().out)
    for name in ("pi", "nrqm", "lpips_vgg"):
        assert "weights not cached (downloaded on first use)" in lines[name], lines[name]
    assert " available " in lines["lpips"]
    # --offline says what is true without a network, whatever the environment
    assert main(["list", "metrics", "--offline"]) == 0
    lines = _metric_lines(capsys.readouterr().out)
    assert "weights missing" in lines["lpips_vgg"]


def test_damaged_empty_weight_file_is_reported(torch_home, monkeypatch, capsys):
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    (torch_home / ALEXNET).write_bytes(b"")
    assert main(["list", "metrics", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "weights damaged (empty file)" in _metric_lines(out)["lpips"]
    assert f"damaged (empty file) {torch_home / ALEXNET}" in out


def test_metrics_verbose_shows_each_weight_file(torch_home, monkeypatch, capsys):
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    assert main(["list", "metrics", "-v"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  pi "))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("      "))
    pi = "\n".join(lines[start:end])
    assert f"niqe_modelparameters.mat               present  {torch_home / NIQE}" in pi
    nrqm = torch_home / "hub" / "pyiqa" / "NRQM_model.mat"
    assert f"NRQM_model.mat                         missing  {nrqm}" in pi
    assert "(from https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/NRQM_model.mat)" in pi
    assert f"vgg16-397923af.pth                     missing  {torch_home / 'hub/checkpoints/vgg16-397923af.pth'}" in out


def test_methods_offline_are_missing_not_downloadable(torch_home, monkeypatch, capsys):
    """Item 5: srgan's weights download from GitHub, but not while offline."""
    monkeypatch.delenv("SRBENCH_OFFLINE", raising=False)
    assert main(["list", "methods"]) == 0
    assert "leftthomas:downloadable" in _method_lines(capsys.readouterr().out)["srgan"]
    assert main(["list", "methods", "--offline"]) == 0
    srgan = _method_lines(capsys.readouterr().out)["srgan"]
    assert "leftthomas:missing (offline; downloadable when online)" in srgan and "leftthomas:downloadable" not in srgan
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    assert main(["list", "methods"]) == 0
    assert "leftthomas:missing (offline; downloadable when online)" in _method_lines(capsys.readouterr().out)["srgan"]


def _imported(importtime_stderr: str) -> set[str]:
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize("argv", [["list", "metrics", "--verbose"], ["list", "--offline"]])
def test_list_does_not_import_torch(torch_home, argv):
    env = {**os.environ, "TORCH_HOME": str(torch_home)}
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "srbench", *argv], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    imported = _imported(r.stderr)
    assert "srbench" in imported
    assert not imported & {"torch", "torchvision", "lpips", "pyiqa", "pytorch_fid"}


def test_verbose_lists_options_and_rounding_of_every_method(capsys):
    from srbench import registry
    from srbench.cli import main

    assert main(["list", "methods", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert out.count("output rounding: ") == len(registry.methods())
    assert "output rounding: half_even - round half to even" in out  # esrgan
    assert "output rounding: truncate - truncate towards zero" in out  # dsrvae, refvae, srgan
    assert "latent (sample|zero, default sample): " in out  # dsrvae's option, as srbench run takes it
    assert "tile (int, default 0, does not change the output)" in out  # srgan: tiling is exact there


AUDITED = ("bicubic", "dsrvae", "refvae", "esrgan", "srgan")  # srbench issue 17: each adapter against its paper


def test_verbose_shows_the_paper_vs_srbench_table_of_each_audited_method(capsys):
    import re

    from srbench import registry

    methods = registry.methods()
    for name in AUDITED:
        info = methods[name]
        rows = info.paper_vs_srbench
        assert rows, name
        assert len({r.what for r in rows}) == len(rows), name  # one row per value
        by_what = {r.what: r for r in rows}
        # the rows that restate MethodInfo fields agree with them
        scale = by_what.get("scale") or by_what["scales"]
        assert {int(s) for s in re.findall(r"x(\d+)", scale.srbench)} == set(info.scales), name
        assert by_what["output rounding"].srbench.startswith(info.rounding), name
    assert main(["list", "methods", "--verbose"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in AUDITED:
        start = next(i for i, line in enumerate(lines) if line.startswith(f"  {name} "))
        end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("  ") and not lines[i].startswith("   "))
        block = "\n".join(lines[start:end])
        assert "paper vs srbench:" in block, name
        for r in methods[name].paper_vs_srbench:
            assert r.what in block, (name, r.what)
    dsrvae = {r.what: r for r in methods["dsrvae"].paper_vs_srbench}
    assert "supervised" in dsrvae["model behind Table 2"].paper and "unsupervised" in dsrvae["model behind Table 2"].srbench


def test_every_method_and_paper_degradation_has_a_paper_vs_srbench_table():
    """Issue 17: each adapter states, value by value, what its paper says and what srbench does. The two
    degradations that are not from a paper (bicubic, gauss-noise) are srbench's own conventions."""
    from srbench import registry
    from srbench.degradations import degradations

    missing = [n for n, i in registry.methods().items() if not i.paper_vs_srbench]
    missing += [n for n, d in degradations().items() if not d.paper_vs_srbench and n not in ("bicubic", "gauss-noise")]
    assert not missing, f"no paper-vs-srbench table: {missing}"
    for info in list(registry.methods().values()) + list(degradations().values()):
        for row in info.paper_vs_srbench:  # where the paper is silent, srbench says where its value comes from
            if row.paper.startswith("not stated"):
                assert row.why, f"{info.name}: {row.what}: srbench's choice without a source"


TRAINABLE = ("hvae-cnn", "hvae", "cyclesr", "cyclesrgan", "ssrvae", "dsrvae", "refvae")  # issue 16


def test_every_trainable_method_lists_its_recipe_beside_the_paper(capsys):
    """Issue 16: each recipe's training values are listed beside the paper's in `srbench list --verbose`."""
    from srbench import registry
    from srbench.cli import main
    from srbench.training.loop import load_recipe

    methods = registry.methods()
    assert sorted(n for n, i in methods.items() if i.training_recipe) == sorted(TRAINABLE)
    assert main(["list", "methods", "--verbose"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in TRAINABLE:
        r = load_recipe(name)
        assert r.method == name and r.paper_vs_srbench and {"paper", "short"} <= set(r.presets), name
        for row in r.paper_vs_srbench:
            if row.paper.startswith("not stated"):
                assert row.why, f"{name}: {row.what}: srbench's choice without a source"
        start = next(i for i, line in enumerate(lines) if line.startswith(f"  {name} "))
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("  ") and not lines[i].startswith("   ")),
                   len(lines))
        block = "\n".join(lines[start:end])
        assert f"training recipe (srbench train {name})" in block and "training: paper vs srbench:" in block, name
        assert "--recipe paper:" in block and "--recipe short:" in block, name
        for row in r.paper_vs_srbench:
            assert row.what in block, (name, row.what)
