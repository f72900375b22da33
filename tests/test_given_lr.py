"""Datasets that bring their own LR: paired and LR-only sets, the 'given' protocol, NR-only scoring."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srbench import datasets as ds
from srbench.cli import main
from srbench.conventions import shave, to_luma
from srbench.errors import DatasetError
from srbench.images import write_png
from srbench.imresize import imresize
from srbench.plan import RunConfig
from srbench.results import load as load_results
from srbench.runner import run


@pytest.fixture(autouse=True)
def _clean_specs():
    ds.specs.cache_clear()
    yield
    ds.specs.cache_clear()


def _per_image(out: Path) -> list[dict]:
    import csv

    with open(out / "per_image.csv", newline="") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------ RealSRSet (mirrored, LR-only)


def test_realsrset_niqe_equals_niqe_of_the_bicubic_upscales(mirror, torch_home, fresh_home, tmp_path, capsys):
    """`srbench run -m bicubic -d realsrset --scale 4 --metrics niqe`: NIQE per image = srbench's NIQE of
    bicubic x4 of the given LR (the file, not a re-sampled one)."""
    from srbench.metrics.no_reference import niqe_score, pirm_plane

    out = tmp_path / "run"
    assert main(["run", "-m", "bicubic", "-d", "realsrset", "--scale", "4", "--metrics", "niqe", "--out", str(out),
                 "--no-progress"]) == 0
    rows = {r["image"]: r for r in _per_image(out) if r["metric"] == "niqe"}
    spec = ds.get_spec("realsrset")
    assert sorted(rows) == sorted(spec.lr["any"].images) and len(rows) == 20
    folder = mirror / "realsrset" / "LR"
    for name in ("Lincoln", "oldphoto2", "tiger"):
        lr = np.asarray(Image.open(folder / f"{name}.png").convert("RGB"))
        expect = niqe_score(pirm_plane(imresize(lr, 4)))
        assert float(rows[name]["value"]) == pytest.approx(expect, abs=1e-12), name
        assert rows[name]["protocol"] == "given"
    summary = load_results(out).rows()
    assert [(r["dataset"], r["protocol"], r["metric"], r["n_images"]) for r in summary] == [("realsrset", "given", "niqe", 20)]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["legs"][0] == {"dataset": "realsrset", "kind": "lr-only", "protocol": {"x4": "given"}, "metrics": ["niqe"]}


@pytest.mark.parametrize("metrics", ["psnr_y", "psnr_y,niqe", "lpips"])
def test_full_reference_metrics_on_an_lr_only_set_are_refused(mirror, fresh_home, tmp_path, capsys, metrics):
    out = tmp_path / "run"
    rc = main(["run", "-m", "bicubic", "-d", "realsrset", "--scale", "4", "--metrics", metrics, "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and not out.exists()
    fr = [m for m in metrics.split(",") if m != "niqe"]
    assert f"dataset realsrset has no HR; full-reference metrics {', '.join(fr)} cannot run; use " in err
    assert "niqe, nrqm, pi" in err


def test_realsrset_made_lr_is_refused(mirror, fresh_home, tmp_path, capsys):
    assert main(["run", "-m", "bicubic", "-d", "realsrset", "--metrics", "niqe", "--lr-source", "made",
                 "--out", str(tmp_path / "run")]) == 2
    assert "has no HR to make LR from" in capsys.readouterr().err


def test_realsrset_downloads_are_its_official_files():
    spec = ds.get_spec("realsrset")
    urls = [d["url"] for d in spec.downloads]
    assert len(urls) == 20 and all(u.startswith("https://raw.githubusercontent.com/cszn/BSRGAN/5ce1a9c6") for u in urls)
    assert all(d["format"] == "file" and len(d["sha256"]) == 64 for d in spec.downloads)


# ------------------------------------------------------------------ a user's paired set


def _paired_set(tmp_path, monkeypatch, lr_of, name="mypairs", extra="") -> Path:
    """A paired x4 dataset in a user YAML: HR = random-ish images, LR = ``lr_of(hr)`` (any resampling)."""
    root = tmp_path / "mirror"
    rng = np.random.default_rng(3)
    for i, (h, w) in enumerate([(64, 80), (48, 48), (67, 50)]):
        base = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
        hr = np.asarray(Image.fromarray(base).resize((w, h), Image.BICUBIC))
        write_png(root / "datasets" / name / "HR" / f"im{i}.png", hr)
        write_png(root / "datasets" / name / "LR" / f"im{i}_lr.png", lr_of(hr))
    yaml = tmp_path / "mine.yaml"
    yaml.write_text(f"datasets:\n  {name}:\n    title: mine\n    scales: [4]\n    images: null\n"
                    f"    lr:\n      4: {{name: \"{{image}}_lr\"}}\n{extra}")
    monkeypatch.setenv("SRBENCH_DATASETS", str(yaml))
    monkeypatch.setenv("SRBENCH_MIRROR", str(root))
    ds.specs.cache_clear()
    return root


def _pil_box(hr):  # some other resampling than MATLAB bicubic, on the modcropped HR
    h, w = hr.shape[0] // 4, hr.shape[1] // 4
    return np.asarray(Image.fromarray(hr[: 4 * h, : 4 * w]).resize((w, h), Image.BOX))


def test_paired_set_is_scored_with_its_own_lr(tmp_path, monkeypatch, fresh_home):
    root = _paired_set(tmp_path, monkeypatch, _pil_box)
    out = run(RunConfig(methods=["bicubic"], datasets=["mypairs"], scales=[4], metrics=["psnr_y"], out=tmp_path / "run",
                        progress=False))
    rows = {r["image"]: float(r["value"]) for r in _per_image(out)}
    for i in range(3):
        hr = np.asarray(Image.open(root / "datasets/mypairs/HR" / f"im{i}.png"))
        lr = np.asarray(Image.open(root / "datasets/mypairs/LR" / f"im{i}_lr.png"))
        sr = imresize(lr, 4)  # bicubic of exactly the given LR
        hr = hr[: sr.shape[0], : sr.shape[1]]
        a, b = shave(to_luma(sr), 4), shave(to_luma(hr), 4)
        expect = 10 * np.log10(255.0**2 / np.mean((a - b) ** 2))
        assert rows[f"im{i}"] == pytest.approx(expect, abs=1e-10)
    assert {r["protocol"] for r in load_results(out).rows()} == {"given"}
    # --lr-source made: the same set with MATLAB-bicubic LR from its HR, under its own protocol label
    made = run(RunConfig(methods=["bicubic"], datasets=["mypairs"], scales=[4], metrics=["psnr_y"], out=tmp_path / "made",
                         progress=False, lr_source="made"))
    (given_row,), (made_row,) = load_results(out).rows(), load_results(made).rows()
    assert made_row["protocol"] == "rgb" and made_row["value"] != given_row["value"]


def test_paired_set_lr_hashes_are_recorded_and_checked(tmp_path, monkeypatch, fresh_home):
    root = _paired_set(tmp_path, monkeypatch, _pil_box)
    run(RunConfig(methods=["bicubic"], datasets=["mypairs"], scales=[4], metrics=["psnr_y"], out=tmp_path / "a", progress=False))
    lock = ds.cache_root("mypairs") / "lr_x4.pixels.lock.json"
    assert sorted(json.loads(lock.read_text())) == ["im0", "im1", "im2"]
    lr = root / "datasets/mypairs/LR/im1_lr.png"
    arr = np.asarray(Image.open(lr)).copy()
    arr[0, 0, 0] ^= 1
    write_png(lr, arr)
    with pytest.raises(DatasetError, match="the x4 LR of image 'im1'"):
        run(RunConfig(methods=["bicubic"], datasets=["mypairs"], scales=[4], metrics=["psnr_y"], out=tmp_path / "b",
                      progress=False))


def test_given_lr_of_the_wrong_size_names_the_image(tmp_path, monkeypatch, fresh_home):
    _paired_set(tmp_path, monkeypatch, lambda hr: hr[::2, ::2].copy())  # x2 LR declared as x4
    with pytest.raises(DatasetError, match=r"image 'im0': the given x4 LR is 40x32, so the HR should be 160x128"):
        run(RunConfig(methods=["bicubic"], datasets=["mypairs"], scales=[4], metrics=["psnr_y"], out=tmp_path / "r",
                      progress=False))


def test_missing_given_lr_says_where_to_put_it(tmp_path, monkeypatch, fresh_home):
    root = _paired_set(tmp_path, monkeypatch, _pil_box)
    (root / "datasets/mypairs/LR/im2_lr.png").unlink()
    with pytest.raises(DatasetError) as ei:
        ds.resolve("mypairs", offline=True, scales=[4])
    msg = str(ei.value)
    assert "given LR image(s) for x4 not found: im2_lr" in msg and "named <image>_lr.png" in msg


def test_luma_protocol_with_given_lr_is_refused(tmp_path, monkeypatch, fresh_home, capsys):
    _paired_set(tmp_path, monkeypatch, _pil_box)
    assert main(["run", "-m", "bicubic", "-d", "mypairs", "--protocol", "luma", "--out", str(tmp_path / "r")]) == 2
    assert "gives its own LR at x4, and the 'luma' protocol makes LR from HR" in capsys.readouterr().err


# ------------------------------------------------------------------ LR-only sets from a folder / a download


def test_lr_only_set_hashed_on_first_use_and_downloaded_per_file(tmp_path, monkeypatch, fresh_home):
    """An LR-only set with per-file downloads (format: file, as RealSRSet's raw GitHub URLs): fetched,
    verified by file sha256 and stored, then scored offline."""
    from srbench.hashing import sha256_file

    src = tmp_path / "upstream"
    rng = np.random.default_rng(0)
    entries = []
    for name in ("a", "b"):
        smooth = Image.fromarray(rng.integers(0, 255, (5, 5, 3), dtype=np.uint8)).resize((40, 40), Image.BICUBIC)
        write_png(src / f"{name}.png", np.asarray(smooth))
        entries.append(f"      - {{url: \"{(src / f'{name}.png').as_uri()}\", sha256: {sha256_file(src / f'{name}.png')}, "
                       "format: file, role: lr, scale: any}")
    yaml = tmp_path / "nr.yaml"
    yaml.write_text("datasets:\n  nrset:\n    title: nr\n    scales: [2, 4]\n    hr: false\n    downloads:\n"
                    + "\n".join(entries) + "\n    lr:\n      any: {images: null}\n")
    monkeypatch.setenv("SRBENCH_DATASETS", str(yaml))
    monkeypatch.setenv("SRBENCH_MIRROR", "")
    ds.specs.cache_clear()
    with pytest.raises(DatasetError, match="Downloading is off"):
        ds.resolve("nrset", offline=True, scales=[4])
    rd = ds.resolve("nrset", offline=False, scales=[4])
    assert [r.name for r in rd.images] == ["a", "b"] and (ds.cache_root("nrset") / "LR" / "a.png").is_file()
    out = run(RunConfig(methods=["bicubic"], datasets=["nrset"], scales=[2], metrics=["lr_psnr_input"],
                        out=tmp_path / "run", progress=False, offline=True))
    (row,) = load_results(out).rows()
    assert row["protocol"] == "given" and row["n_images"] == 2 and row["value"] > 30  # bicubic is LR-consistent


def test_paired_hr_from_another_dataset(tmp_path, monkeypatch, fresh_home):
    """DIV2K mild/wild take their HR from div2k_val (hr_from); the LR is looked up per HR image name."""
    spec = ds.get_spec("div2k_val_mild")
    assert spec.hr_from == "div2k_val" and spec.given_lr(4).name == "{image}x4m" and spec.kind == "paired"
    root = tmp_path / "m"
    rng = np.random.default_rng(1)
    hr = rng.integers(0, 255, (32, 40, 3), dtype=np.uint8)
    write_png(root / "datasets/div2k_val/HR/0801.png", hr)
    write_png(root / "datasets/div2k_val_mild/LR/0801x4m.png", hr[::4, ::4].copy())
    monkeypatch.setenv("SRBENCH_MIRROR", str(root))
    rd = ds.resolve("div2k_val_mild", offline=True, scales=[4])
    (ref,) = rd.images
    assert ref.name == "0801" and ref.path.parent.name == "HR" and ref.lr[4].path.name == "0801x4m.png"


def test_hr_name_pattern(tmp_path, monkeypatch, fresh_home):
    """RealSR names its pairs Canon_001_HR.png / Canon_001_LR4.png."""
    root = tmp_path / "m"
    rng = np.random.default_rng(2)
    for cam in ("Canon_001", "Nikon_007"):
        hr = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
        write_png(root / "datasets/realsr_v3_x4/HR" / f"{cam}_HR.png", hr)
        write_png(root / "datasets/realsr_v3_x4/LR" / f"{cam}_LR4.png", hr[::4, ::4].copy())
    write_png(root / "datasets/realsr_v3_x4/HR/notes.png", hr)  # not an *_HR file: ignored
    monkeypatch.setenv("SRBENCH_MIRROR", str(root))
    rd = ds.resolve("realsr_v3_x4", offline=True, scales=[4])
    assert [r.name for r in rd.images] == ["Canon_001", "Nikon_007"]
    assert rd.images[1].lr[4].path.name == "Nikon_007_LR4.png"


def test_every_declared_real_world_set_names_its_source():
    for name in ("ntire2020_rwsr_t1_val", "ntire2020_rwsr_t2_val", "div2k_val_unknown_x4", "div2k_val_mild",
                 "div2k_val_wild", "realsr_v3_x2", "realsr_v3_x3", "realsr_v3_x4", "drealsr_x4", "realsrset"):
        spec = ds.get_spec(name)
        assert spec.citation and spec.terms and spec.homepage.startswith("https://"), name
        assert spec.lr, name
        assert spec.downloads or spec.user_supplied, name
    assert not os.environ.get("SRBENCH_DATASETS")


def test_lr_only_set_with_fid_against_a_reference_folder(mirror, torch_home, fresh_home, tmp_path, capsys):
    """FID of the SR images of an LR-only set against another image set (SSRVAE-style), from the CLI."""
    ref = tmp_path / "ref"
    ref.mkdir()
    for name in ("baby", "bird", "head"):
        (ref / f"{name}.png").write_bytes((mirror / "set5" / "HR" / f"{name}.png").read_bytes())
    base = ["run", "-m", "bicubic", "-d", "realsrset", "--scale", "2", "--no-progress"]
    assert main([*base, "--metrics", "niqe,fid_ref", "--out", str(tmp_path / "r0")]) == 2
    assert "name it with --fid-ref DATASET or --fid-ref FOLDER" in capsys.readouterr().err
    assert main([*base, "--metrics", "niqe", "--fid-ref", str(ref), "--out", str(tmp_path / "r1")]) == 2
    assert "which this run does not compute" in capsys.readouterr().err
    out = tmp_path / "run"
    assert main([*base, "--metrics", "fid_ref", "--fid-ref", str(ref), "--out", str(out)]) == 0
    (row,) = load_results(out).rows()
    assert row["metric"] == "fid_ref" and row["protocol"] == "given" and row["n_images"] == 20 and row["value"] > 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["fid_ref"]["kind"] == "folder" and m["fid_ref"]["n_images"] == 3
