"""srbench.training.loop with the smallest recipe (hvae-cnn): resume, interrupts, errors, time budget, CLI, DDP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers.training_data import smooth_images
from safetensors.torch import load_file

from srbench import datasets as ds
from srbench.training import loop
from srbench.training.loop import TrainingError, TrainingInterrupted, train

ROOT = Path(__file__).resolve().parents[2]




@pytest.fixture
def data(tmp_path):
    return f"folder:{smooth_images(tmp_path / 'hr', 8, 48)}"


def _kw(data, **extra):
    return dict(method="hvae-cnn", data=data, steps=8, progress=False, overrides={"batch": 2}, val_every=4,
                checkpoint_every=2, **extra)


def _tensors(path):
    return load_file(str(path))


def _same(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_straight_run_writes_checkpoint_provenance_and_curves(data, tmp_path):
    r = train(out=tmp_path / "o", **_kw(data))
    assert r.finished and [p.name for p in r.files] == ["hvae-cnn_x4.srbench.safetensors"]
    prov = json.loads((tmp_path / "o" / "provenance.json").read_text())
    assert prov["recipe"] == "hvae-cnn:paper" and prov["steps"] == 8 and prov["seed"] == 0
    assert prov["hyper"]["batch"] == 2 and prov["hyper"]["lr"] == 1e-3
    assert prov["data"][0]["n_images"] == 8 and len(prov["data"][0]["pixel_manifest_sha256"]) == 64
    assert prov["validation_images"] == 4 and prov["final_validation"]["step"] == 8
    assert prov["wall_seconds"] > 0 and "srbench_commit" in prov
    # the provenance travels inside the checkpoint's config (recorded in run manifests)
    from srbench.checkpoint_format import read_config

    cfg = read_config(r.files[0])
    assert cfg["arch"] == "hvae.cnn" and cfg["training"]["recipe"] == "hvae-cnn:paper"
    assert cfg["training"]["data"] == prov["data"]
    log = [json.loads(x) for x in (tmp_path / "o" / "train_log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == list(range(1, 9)) and all("mse" in row for row in log)
    val = [json.loads(x) for x in (tmp_path / "o" / "validation.jsonl").read_text().splitlines()]
    assert [v["step"] for v in val] == [4, 8] and all(v["bicubic_psnr_y"] > 20 for v in val)


def test_pause_and_resume_is_exact(data, tmp_path):
    a = train(out=tmp_path / "a", **_kw(data))
    p = train(out=tmp_path / "b", pause_after=3, **_kw(data))
    assert not p.finished and p.files == [] and p.provenance["steps"] == 3
    b = train(out=tmp_path / "b", resume=True, **_kw(data))
    assert _same(_tensors(a.files[0]), _tensors(b.files[0]))
    assert a.validation == b.validation
    rows = (tmp_path / "b" / "train_log.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in rows] == list(range(1, 9))  # no duplicated rows after resume
    with pytest.raises(TrainingError, match="this run is finished"):
        train(out=tmp_path / "b", resume=True, **_kw(data))


def test_ctrl_c_saves_state_and_resume_continues_exactly(data, tmp_path, monkeypatch):
    from srbench_methods.hvae.train import HVAECNNRecipe

    straight = train(out=tmp_path / "a", **_kw(data))
    original = HVAECNNRecipe.train_step
    calls = []

    def step_then_interrupt(self, *args):
        out = original(self, *args)
        calls.append(1)
        if len(calls) == 5:
            os.kill(os.getpid(), signal.SIGINT)  # the loop's handler: finish this step, save, stop
        return out

    monkeypatch.setattr(HVAECNNRecipe, "train_step", step_then_interrupt)
    with pytest.raises(TrainingInterrupted, match="interrupted after step 5.*--resume"):
        train(out=tmp_path / "b", **_kw(data))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
    monkeypatch.setattr(HVAECNNRecipe, "train_step", original)
    resumed = train(out=tmp_path / "b", resume=True, **_kw(data))
    assert _same(_tensors(straight.files[0]), _tensors(resumed.files[0]))


def test_non_finite_loss_stops_with_the_last_state_kept(data, tmp_path, monkeypatch):
    from srbench_methods.hvae.train import HVAECNNRecipe

    original = HVAECNNRecipe.train_step
    n = []

    def nan_at_5(self, *args):
        out = original(self, *args)
        n.append(1)
        return {"mse": float("nan")} if len(n) == 5 else out

    monkeypatch.setattr(HVAECNNRecipe, "train_step", nan_at_5)
    with pytest.raises(TrainingError, match=r"step 5 \(cnn\): loss mse is not finite; the last saved state \(step 4\)"):
        train(out=tmp_path / "o", **_kw(data))
    st = torch.load(tmp_path / "o" / loop.STATE_FILE, weights_only=True)
    assert st["step"] == 4 and not st["finished"]


def test_resume_refuses_other_options_and_reuse_of_a_folder(data, tmp_path):
    train(out=tmp_path / "o", pause_after=2, **_kw(data))
    with pytest.raises(TrainingError, match=r"another run configuration \(hyper: saved .*'batch': 2.*now .*'batch': 4"):
        train(out=tmp_path / "o", resume=True, **{**_kw(data), "overrides": {"batch": 4}})
    with pytest.raises(TrainingError, match="already holds a training run: pass --resume"):
        train(out=tmp_path / "o", **_kw(data))
    with pytest.raises(TrainingError, match="nothing to resume"):
        train(out=tmp_path / "new", resume=True, **_kw(data))


def test_time_budget(data, tmp_path):
    r = train(out=tmp_path / "o", method="hvae-cnn", data=data, minutes=0.03, progress=False,
              overrides={"batch": 2}, val_every=1000)
    assert r.finished and r.provenance["steps"] >= 1 and r.provenance["minutes"] == 0.03
    assert r.provenance["final_validation"]["step"] == r.provenance["steps"]  # validated at the end


def test_option_errors(data, tmp_path):
    from srbench.errors import SrbenchError

    with pytest.raises(SrbenchError, match="trains x4, not x2"):
        train(out=tmp_path / "o", **{**_kw(data), "scale": 2})
    with pytest.raises(SrbenchError, match=r"unknown recipe values \['gamma'\]"):
        train(out=tmp_path / "o", **{**_kw(data), "overrides": {"gamma": 1}})
    with pytest.raises(SrbenchError, match="--lr-data is not used"):
        train(out=tmp_path / "o", lr_data=data, **_kw(data))
    with pytest.raises(SrbenchError, match="'bicubic' has no training recipe"):
        train(out=tmp_path / "o", **{**_kw(data), "method": "bicubic"})


def test_loss_goes_down_on_learnable_data(data, tmp_path):
    r = train(out=tmp_path / "o", method="hvae-cnn", data=data, steps=60, progress=False,
              overrides={"batch": 4}, val_every=30)
    rows = [json.loads(x)["mse"] for x in (tmp_path / "o" / "train_log.jsonl").read_text().splitlines()]
    assert sum(rows[-10:]) / 10 < 0.5 * sum(rows[:10]) / 10
    assert r.validation[-1]["psnr_y"] > r.validation[0]["psnr_y"]


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "srbench", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=ROOT, timeout=300)


def test_cli_train_then_run_and_import(data, tmp_path, fresh_home):
    out = tmp_path / "o"
    r = _cli("train", "hvae-cnn", "--data", data, "--steps", "4", "--set", "batch=2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    ckpt = out / "hvae-cnn_x4.srbench.safetensors"
    assert f"checkpoint: {ckpt}" in r.stdout and "PSNR-Y" in r.stdout and "bicubic" in r.stdout
    r = _cli("run", "-m", "hvae-cnn", "-d", "demo", "--weights", f"hvae-cnn={ckpt}", "--out", str(tmp_path / "run"))
    assert r.returncode == 0, r.stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert json.dumps(manifest).count(__import__("srbench.hashing", fromlist=["x"]).sha256_file(ckpt)) >= 1
    r = _cli("weights", "import", "hvae-cnn", str(ckpt))
    assert r.returncode == 0 and "imported hvae-cnn_x4.srbench.safetensors" in r.stdout, r.stderr
    r = _cli("train", "hvae-cnn", "--data", "set5", "--steps", "4", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "'set5' is a test set" in r.stderr


def test_cli_help_lists_train():
    r = _cli("train", "--help")
    assert r.returncode == 0 and "--resume" in r.stdout and "--minutes" in r.stdout and "--pause-after" in r.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DDP_WORKER = r"""
import hashlib, json, os, sys
import torch
from srbench.training.loop import Trainer, TrainConfig
budget = json.loads(sys.argv[3])
cfg = TrainConfig(method="hvae-cnn", data=sys.argv[1], progress=False, overrides={"batch": 4},
                  out=sys.argv[2], device="cpu", **budget)
t = Trainer(cfg)
t.run()
h = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in t.nets["cnn"].parameters())).hexdigest()
print("WEIGHTS", os.environ["RANK"], h, t.sampler.batch_size)
"""


@pytest.mark.parametrize("budget", [{"steps": 4}, {"minutes": 0.02}])
def test_ddp_two_processes_on_cpu_stay_in_sync(data, tmp_path, budget):
    """torch's own DDP (gloo on CPU, as torchrun would start it): both ranks end with the same weights,
    each with half of the batch, and only rank 0 writes files - also with a time budget, where the ranks
    must agree on when each stage ends."""
    port = _free_port()
    procs = []
    for rank in (0, 1):
        env = {**os.environ, "WORLD_SIZE": "2", "RANK": str(rank), "LOCAL_RANK": str(rank),
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1"}
        procs.append(subprocess.Popen([sys.executable, "-c", DDP_WORKER, data, str(tmp_path / "o"), json.dumps(budget)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT))
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    lines = [next(ln for ln in o[0].splitlines() if ln.startswith("WEIGHTS")).split() for o in outs]
    assert lines[0][2] == lines[1][2] and lines[0][3] == lines[1][3] == "2"
    prov = json.loads((tmp_path / "o" / "provenance.json").read_text())
    assert prov["world_size"] == 2 and (prov["steps"] == 4 if "steps" in budget else prov["steps"] >= 1)


def test_validation_on_a_dataset_with_given_lr(data, tmp_path, monkeypatch):
    """--val-data: a declared paired set is validated on its own LR (not on LR the recipe makes)."""
    import numpy as np
    from PIL import Image

    from srbench.imresize import imresize
    from srbench.training.loop import _psnr_y

    root = tmp_path / "mirror" / "datasets" / "tinyval"
    hr_dir = smooth_images(root / "HR", 2, 32, seed=7)
    (root / "LR" / "x4").mkdir(parents=True)
    rng = np.random.default_rng(0)
    pairs = []
    for p in sorted(hr_dir.iterdir()):
        hr = np.asarray(Image.open(p))
        lr = np.clip(imresize(hr, 0.25).astype(int) + rng.integers(-20, 21, (8, 8, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(lr).save(root / "LR" / "x4" / p.name)
        pairs.append((hr, lr))
    yml = tmp_path / "val.yaml"
    yml.write_text("datasets:\n  tinyval:\n    title: t\n    scales: [4]\n    lr:\n      4: {name: '{image}'}\n    images: null\n")
    monkeypatch.setenv("SRBENCH_DATASETS", str(yml))
    monkeypatch.setenv("SRBENCH_MIRROR", str(tmp_path / "mirror"))
    ds.specs.cache_clear()
    r = train(out=tmp_path / "o", val_data="tinyval", **_kw(data))
    want = np.mean([_psnr_y(imresize(lr, 4), hr, 4) for hr, lr in pairs])
    assert r.validation[-1]["n_images"] == 2 and r.provenance["validation_data"] == "tinyval"
    assert abs(r.validation[-1]["bicubic_psnr_y"] - want) < 1e-9
    assert r.provenance["data"][0]["n_images"] == 8  # nothing held out of the training data
