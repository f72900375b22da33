"""``--methods folder:PATH[@label]``: a folder of SR images scored like a method (planner + runner).

The matching rules themselves are tested in test_sr_folder.py; here: the folder written by an earlier
``--save-images`` run reproduces that run's summary exactly, every problem is reported before any work,
a changed file is never scored from stale cache, samples give diversity, LR-only sets work.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from srbench.cli import main
from srbench.errors import FolderOutputsError, SrbenchError
from srbench.images import read_image, write_png
from srbench.results import load
from srbench.runner import RunConfig, run

SUMMARY_KEYS = ("dataset", "scale", "metric", "value", "n_images", "protocol", "metric_version", "dataset_version")


def _cfg(out: Path, methods, datasets=("demo",), **kw) -> RunConfig:
    kw.setdefault("metrics", ["psnr_y", "ssim_y"])
    return RunConfig(methods=list(methods), datasets=list(datasets), scales=[4], out=out, progress=False, **kw)


def _cells(out: Path) -> list[tuple]:
    return sorted(tuple(r[k] for k in SUMMARY_KEYS) for r in load(out).rows())


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "run"
    run(_cfg(out, ["bicubic"], save_images=True))
    return out


def test_saved_images_of_a_run_reproduce_its_summary_exactly(demo_run, tmp_path):
    out = run(_cfg(tmp_path / "f", [f"folder:{demo_run / 'images' / 'bicubic'}@mine"]))
    assert _cells(out) == _cells(demo_run)  # bit-identical values (repr in summary.csv), grey "camera" included
    assert {r["method"] for r in load(out).rows()} == {"mine"}
    meta = json.loads((out / "manifest.json").read_text())["methods"]["mine"]
    assert meta["source"]["kind"] == "folder" and meta["source"]["layout"] == "dataset/xS"
    assert len(meta["source"]["pixels_sha256"]) == 64
    assert {r["weights_sha256"] for r in load(out).rows()} == {meta["source"]["pixels_sha256"]}


@pytest.mark.slow
def test_a_warm_folder_run_decodes_no_file(demo_run, tmp_path, monkeypatch):
    """The second scoring of an unchanged folder takes every pixel hash from the memo (path, size, mtime)."""
    folder = tmp_path / "mine"
    shutil.copytree(demo_run / "images" / "bicubic", folder)
    first = run(_cfg(tmp_path / "a", [f"folder:{folder}@mine"]))
    import srbench.datasets
    import srbench.images

    def no_read(*a, **k):
        raise AssertionError("decoded an image")

    monkeypatch.setattr(srbench.images, "read_image", no_read)
    monkeypatch.setattr(srbench.datasets, "read_image", no_read)
    second = run(_cfg(tmp_path / "b", [f"folder:{folder}@mine"]))
    assert _cells(second) == _cells(first)
    monkeypatch.undo()
    coffee = folder / "demo" / "x4" / "coffee.png"
    arr = read_image(coffee).copy()
    arr[40:60, 40:60] = 255 - arr[40:60, 40:60]  # inside the scored area (borders are shaved)
    write_png(coffee, arr)  # a changed file: a new identity and new values
    third = run(_cfg(tmp_path / "c", [f"folder:{folder}@mine"]))
    assert _cells(third) != _cells(first)


def test_folder_reproduces_set5_and_urban100_x4(benchmark_datasets, tmp_path):
    ref = run(_cfg(tmp_path / "ref", ["bicubic"], ("set5", "urban100"), save_images=True))
    out = run(_cfg(tmp_path / "f", [f"folder:{ref / 'images' / 'bicubic'}@bicubic-files"], ("set5", "urban100")))
    assert _cells(out) == _cells(ref)
    assert len(_cells(out)) == 4


def test_one_message_names_every_missing_and_wrong_size_image_before_any_work(demo_run, tmp_path, capsys):
    folder = tmp_path / "mine"
    shutil.copytree(demo_run / "images" / "bicubic", folder)
    (folder / "demo" / "x4" / "chelsea.png").unlink()
    coffee = folder / "demo" / "x4" / "coffee.png"
    write_png(coffee, read_image(coffee)[:-4])
    rc = main(["run", "--methods", f"folder:{folder}", "--datasets", "demo", "--scale", "4",
               "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "chelsea" in err and "missing" in err
    assert "coffee" in err and "wrong size" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "manifest.json").exists()  # refused before the run folder was taken


def test_a_changed_file_is_never_scored_from_stale_cache(demo_run, tmp_path):
    folder = tmp_path / "mine"
    shutil.copytree(demo_run / "images" / "bicubic", folder)
    first = load(run(_cfg(tmp_path / "a", [f"folder:{folder}@m"])))
    path = folder / "demo" / "x4" / "astronaut.png"
    img = read_image(path).copy()
    img[:64, :64] = 255 - img[:64, :64]
    write_png(path, img)
    second = load(run(_cfg(tmp_path / "b", [f"folder:{folder}@m"])))
    a = first.per_image.set_index(["image", "metric"])["value"]
    b = second.per_image.set_index(["image", "metric"])["value"]
    assert b[("astronaut", "psnr_y")] < a[("astronaut", "psnr_y")] - 0.1
    assert b[("camera", "psnr_y")] == a[("camera", "psnr_y")]
    assert first.cells[0].weights_sha256 != second.cells[0].weights_sha256
    # the same folder into the first run folder is a different configuration now: refused, not resumed
    with pytest.raises(SrbenchError, match="another configuration"):
        run(_cfg(tmp_path / "a", [f"folder:{folder}@m"]))


def test_a_folder_label_must_not_be_a_registered_method(demo_run, tmp_path):
    with pytest.raises(SrbenchError, match="registered method"):
        run(_cfg(tmp_path / "x", [f"folder:{demo_run / 'images' / 'bicubic'}"]))  # default label "bicubic"


def test_folder_under_the_luma_protocol_is_refused(demo_run, tmp_path):
    with pytest.raises(SrbenchError, match="rgb protocol only"):
        run(_cfg(tmp_path / "x", [f"folder:{demo_run / 'images' / 'bicubic'}@m"], protocol="luma"))


def test_samples_give_diversity(demo_run, tmp_path):
    folder = tmp_path / "samples"
    rng = np.random.default_rng(0)
    for name in ("astronaut", "camera", "chelsea", "coffee"):
        base = read_image(demo_run / "images" / "bicubic" / "demo" / "x4" / f"{name}.png")
        for k in range(3):
            noisy = np.clip(base.astype(int) + rng.integers(-8, 9, base.shape), 0, 255).astype(np.uint8)
            write_png(folder / "demo" / "x4" / f"{name}_s{k}.png", noisy)
    out = run(_cfg(tmp_path / "d", [f"folder:{folder}@noisy"], samples=3, metrics=["psnr_y", "lr_psnr"]))
    res = load(out)
    per = res.per_image
    assert set(per["sample"].dropna()) == {0, 1, 2}
    # the per-image value is the mean of the samples' values
    one = per[(per.image == "astronaut") & (per.metric == "psnr_y")]
    assert abs(one[one["sample"].isna()].value.item() - one[one["sample"].notna()].value.mean()) < 1e-12
    missing = tmp_path / "missing"
    shutil.copytree(folder, missing)
    (missing / "demo" / "x4" / "coffee_s2.png").unlink()
    with pytest.raises(FolderOutputsError, match="coffee"):
        run(_cfg(tmp_path / "e", [f"folder:{missing}@noisy"], samples=3))


def test_lr_only_dataset_with_no_reference_metrics(mirror, tmp_path):
    """RealSRSet gives only LR: the folder's SR images must be scale x the given LR; scored by LR consistency."""
    from srbench import datasets as ds

    rd = ds.resolve("realsrset", scales=[4])
    folder = tmp_path / "sr"
    for ref in rd.images[:20]:
        lr = ds.load_lr(ref, 4)
        write_png(folder / f"{ref.name}_x4.png", np.repeat(np.repeat(lr, 4, 0), 4, 1))
    out = run(_cfg(tmp_path / "r", [f"folder:{folder}@nearest"], ("realsrset",), metrics=["lr_psnr_input"]))
    (row,) = load(out).rows()
    assert row["protocol"] == "given" and row["n_images"] == len(rd.images)
    assert row["value"] > 30  # nearest upsampling, downscaled again, is close to the LR
