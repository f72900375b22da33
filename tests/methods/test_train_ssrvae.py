"""``srbench train ssrvae``: the recipe (methods/ssrvae/train.py) on tiny unpaired data, CPU only.

Tiny networks (recipe extras), 32 px HR crops of 48x48 smooth random images, real LR = other smooth
images with noise. Checks: both stages' losses go down, an interrupted run resumes exactly, the two
exported files load strictly in the SR adapter and the ssrvae-stylevae degradation (``srbench run``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.training_data import train_log

from srbench.errors import SrbenchError
from srbench.images import write_png
from srbench.training.loop import train

REPO = Path(__file__).resolve().parents[2]
SR_FILE = "ssrvae_x4.srbench.safetensors"
VAE_FILE = "ssrvae_stylevae_x4.srbench.safetensors"
#: tiny networks: every recipe extra that sizes a network
TINY = {"batch": 2, "patch": 32, "nf": 8, "style_dim": 8, "n_style_res": 1, "n_gen_res": 1, "n_content_res": 1,
        "n_global": 1, "n_local": 1, "reduction": 2, "window": 3, "mine_nf": 8}


def _smooth(rng: np.random.Generator, noise: float = 0.0) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    a = gaussian_filter(rng.random((48, 48, 3)), sigma=(3, 3, 0))
    a = (a - a.min()) / (np.ptp(a) + 1e-9) * 255
    if noise:
        a = a + rng.normal(0, noise, a.shape)
    return np.clip(a + 0.5, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[str, str]:
    root = tmp_path_factory.mktemp("ssrvae_data")
    rng = np.random.default_rng(0)
    for name, noise in (("hr", 0.0), ("lr", 8.0)):
        (root / name).mkdir()
        for i in range(8):
            write_png(root / name / f"im{i}.png", _smooth(rng, noise))
    return f"folder:{root / 'hr'}", f"folder:{root / 'lr'}"


def _train(data, out: Path, steps: int, **kw):
    hr, lr = data
    overrides = {**TINY, **kw.pop("overrides", {})}
    return train(method="ssrvae", data=hr, lr_data=lr, steps=steps, out=out, progress=False, val_images=2,
                 overrides=overrides, **kw)



def _tensors(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))


@pytest.fixture(scope="module")
def straight(data, tmp_path_factory) -> Path:
    """8 steps (4 styleVAE + 4 SR) without interruption."""
    out = tmp_path_factory.mktemp("ssrvae_run") / "straight"
    res = _train(data, out, 8)
    assert res.finished and [p.name for p in res.files] == [SR_FILE, VAE_FILE]
    return out


def test_recipe_values_and_listing():
    from srbench.listing import recipe_lines
    from srbench.training.loop import load_recipe

    r = load_recipe("ssrvae")
    hp = r.hyper("paper")
    assert (hp.steps, hp.batch, hp.patch, hp.lr) == (225_000, 16, 64, 1e-4)
    assert [s.name for s in r.stages] == ["stylevae", "sr"]
    assert r.stage_steps(hp.steps)[0][1] == 10 * 180_000 // 16  # 10 styleVAE epochs (Sec. 4.1)
    assert (hp.extra["lambda_kl"], hp.extra["lambda_rec"], hp.extra["lambda_mi"]) == (1.0, 1.0, 10.0)
    assert r.data == "unpaired" and r.hyper("short").steps == 20_000
    text = "\n".join(recipe_lines("ssrvae"))
    assert "srbench train ssrvae" in text and "training: paper vs srbench" in text and "lambda3" in text
    with pytest.raises(SrbenchError, match="sr_style"):
        r.build(4, r.hyper("short", {**TINY, "sr_style": "bogus"}))
    # the default networks are the adapter's (paper sizes)
    nets = r.build(4, hp)
    from srbench_methods.ssrvae import PARAMS_SR, PARAMS_STYLEVAE

    assert sum(p.numel() for p in nets["sr"].parameters()) == PARAMS_SR
    assert sum(p.numel() for p in nets["stylevae"].vae.parameters()) == PARAMS_STYLEVAE


def test_losses_go_down(data, tmp_path):
    out = tmp_path / "run"
    _train(data, out, 48, overrides={"lr": 1e-3}, val_every=1000, checkpoint_every=1000)
    rows = train_log(out)
    assert [r["stage"] for r in rows] == ["stylevae"] * 24 + ["sr"] * 24
    vae, sr = rows[:24], rows[24:]
    assert all({"loss", "kl", "rec", "mi"} <= set(r) for r in vae) and all("l1" in r for r in sr)

    def drop(rs, key):
        early = statistics.median(r[key] for r in rs[:6])
        late = statistics.median(r[key] for r in rs[-6:])
        return early, late

    for rs, key in ((vae, "loss"), (vae, "rec"), (sr, "l1")):
        early, late = drop(rs, key)
        assert late < 0.8 * early, (key, early, late)
    assert all(r["kl"] >= 0 for r in vae)  # Eq. 3 as a KL (non-negative), not the printed negative


def test_resume_is_exact(data, straight, tmp_path):
    out = tmp_path / "sliced"
    first = _train(data, out, 8, pause_after=3)  # paused inside the styleVAE stage
    assert not first.finished and first.files == []
    second = _train(data, out, 8, pause_after=3, resume=True)  # paused inside the SR stage
    assert not second.finished
    last = _train(data, out, 8, resume=True)
    assert last.finished
    for name in (SR_FILE, VAE_FILE):
        a, b = _tensors(straight / name), _tensors(out / name)
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), (name, k)

    def losses(rows):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]

    assert losses(train_log(out)) == losses(train_log(straight))


def test_exported_files_load_strictly(straight, tmp_path):
    from srbench_methods.ssrvae.model import load

    from srbench.degradations import load_degradation
    from srbench.registry import get_method
    from srbench.weights import resolve

    info, _ = get_method("ssrvae")
    model = load(4, "cpu", weights=resolve(info, "default", scale=4, overrides={"ssrvae": str(straight / SR_FILE)}))
    assert model.provenance["arch_params"]["nf"] == 8
    assert model.provenance["checkpoint_config"]["training"]["steps"] == 8
    hr = _smooth(np.random.default_rng(5))
    deg = load_degradation("ssrvae-stylevae", 4, weights={"ssrvae-stylevae": str(straight / VAE_FILE)})
    lr = deg(hr, seed=1)
    assert lr.shape == (12, 12, 3) and lr.dtype == np.uint8
    assert model.upscale(lr).shape == (48, 48, 3)

    # the command line: the styleVAE makes the LR, the SR network super-resolves it
    run = tmp_path / "srbench_run"
    env = {**os.environ, "SRBENCH_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "srbench", "run", "-m", "ssrvae", "-d", "demo", "--degradation", "ssrvae-stylevae",
           "--weights", f"ssrvae={straight / SR_FILE}", "--weights", f"ssrvae-stylevae={straight / VAE_FILE}",
           "--out", str(run), "--no-progress"]
    p = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == 0, p.stderr + p.stdout
    manifest = json.loads((run / "manifest.json").read_text())
    from srbench.hashing import sha256_file

    assert manifest["methods"]["ssrvae"]["weights"][SR_FILE]["sha256"] == sha256_file(straight / SR_FILE)
    assert manifest["degradation"]["provenance"]["x4"]["weights_sha256"] == sha256_file(straight / VAE_FILE)
    assert "ssrvae,demo,4,psnr_y," in (run / "summary.csv").read_text()
