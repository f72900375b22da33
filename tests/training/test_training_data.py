"""srbench.training.data and .cifar: sources, test-set refusal, validation split, deterministic batches."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.training_data import smooth_images

from srbench import datasets as ds
from srbench.training import cifar
from srbench.training.data import (
    ImageStore,
    PatchSampler,
    TrainingDataError,
    _augment,
    resolve_sources,
    split_validation,
)


def _bicubic(hr, scale, rng):
    from srbench.imresize import imresize

    return imresize(hr, 1 / scale)


def test_folder_source_hashes_pixels(tmp_path):
    folder = smooth_images(tmp_path / "a", 3, 32)
    (folder / "notes.txt").write_text("not an image")
    (src,) = resolve_sources(f"folder:{folder}")
    assert [im.name for im in src.images] == ["a/im00", "a/im01", "a/im02"]
    assert src.images[0].load().shape == (32, 32, 3)
    again = resolve_sources(f"folder:{folder}")[0].manifest_sha256
    assert again == src.manifest_sha256
    smooth_images(folder, 1, 32, seed=5)  # im00 changes
    assert resolve_sources(f"folder:{folder}")[0].manifest_sha256 != src.manifest_sha256


def test_test_sets_are_refused_unless_forced(tmp_path):
    with pytest.raises(TrainingDataError, match="'demo' is a test set.*--force"):
        resolve_sources("demo")
    (src,) = resolve_sources("demo", force=True)
    assert len(src.images) == 4
    # a folder holding a test image is refused too, naming the image
    from PIL import Image

    folder = smooth_images(tmp_path / "mixed", 2, 32)
    ref = ds.resolve("demo").images[0]
    Image.fromarray(ds.load_hr(ref)).save(folder / "copy.png")
    with pytest.raises(TrainingDataError, match=r"copy\.png = demo/astronaut"):
        resolve_sources(f"folder:{folder}")
    assert len(resolve_sources(f"folder:{folder}", force=True)[0].images) == 3


def test_training_sets_are_declared_and_not_scored():
    specs = ds.specs()
    train = {n for n, s in specs.items() if s.use == "train"}
    assert {"div2k_train", "flickr2k", "cifar10", "div2k_train_unknown_x4",
            "ntire2020_rwsr_t1_train_hr", "ntire2020_rwsr_t1_train_lr"} <= train
    assert specs["cifar10"].source_format == "cifar10-binary"
    assert specs["cifar10"].downloads[0]["md5"] == "c32a1d4ab5d03f1284b67883e8d87530"
    from srbench.errors import SrbenchError
    from srbench.plan import RunConfig, plan

    with pytest.raises(SrbenchError, match="'div2k_train' is a training set"):
        plan(RunConfig(methods=["bicubic"], datasets=["div2k_train"], scales=[4]))


def test_missing_training_set_says_where_to_get_it():
    with pytest.raises(Exception, match="div2k_train") as e:
        resolve_sources("div2k_train")
    assert "DIV2K_train_HR.zip" in str(e.value) or "offline" in str(e.value)


def test_split_validation(tmp_path):
    src = resolve_sources(f"folder:{smooth_images(tmp_path / 'a', 5, 32)}")
    train, val = split_validation(src, 2)
    assert [im.name for im in val] == ["a/im03", "a/im04"] and len(train) == 3
    with pytest.raises(TrainingDataError, match="cannot spare 5"):
        split_validation(src, 5)
    assert split_validation(src, 0) == (src[0].images, [])


def test_sampler_is_a_function_of_seed_step_rank(tmp_path):
    src = resolve_sources(f"folder:{smooth_images(tmp_path / 'a', 4, 40)}")
    store = ImageStore(src[0].images)
    s = PatchSampler(store, 4, 16, 3, seed=1, degrade=_bicubic)
    hr, lr = s.arrays(7)
    assert hr.shape == (3, 16, 16, 3) and lr.shape == (3, 4, 4, 3) and hr.dtype == lr.dtype == np.uint8
    np.testing.assert_array_equal(s.arrays(7)[0], hr)
    np.testing.assert_array_equal(PatchSampler(ImageStore(src[0].images), 4, 16, 3, seed=1, degrade=_bicubic).arrays(7)[1], lr)
    assert not np.array_equal(s.arrays(8)[0], hr)
    assert not np.array_equal(PatchSampler(store, 4, 16, 3, seed=1, rank=1, degrade=_bicubic).arrays(7)[0], hr)
    np.testing.assert_array_equal(lr[0], _bicubic(hr[0], 4, None))


def test_sampler_unpaired_and_errors(tmp_path):
    hr = ImageStore(resolve_sources(f"folder:{smooth_images(tmp_path / 'h', 2, 40)}")[0].images)
    lr = ImageStore(resolve_sources(f"folder:{smooth_images(tmp_path / 'l', 2, 12, seed=3)}")[0].images)
    h, low = PatchSampler(hr, 4, 32, 2, seed=0, lr=lr).arrays(0)
    assert h.shape == (2, 32, 32, 3) and low.shape == (2, 8, 8, 3)
    with pytest.raises(TrainingDataError, match="not a multiple of the scale"):
        PatchSampler(hr, 4, 30, 2, seed=0, lr=lr)
    with pytest.raises(TrainingDataError, match=r"h/im0[01]: 40x40 is smaller than the 48x48"):
        PatchSampler(hr, 4, 48, 1, seed=0, lr=lr).arrays(0)


def test_augment_gives_the_eight_symmetries():
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(3, 2, 3) * 3
    sq = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    assert len({_augment(sq, c).tobytes() for c in range(8)}) == 8
    assert _augment(img, 0).tobytes() == img.tobytes()


def test_image_store_evicts_but_serves(tmp_path):
    src = resolve_sources(f"folder:{smooth_images(tmp_path / 'a', 4, 32)}")[0]
    store = ImageStore(src.images, max_bytes=32 * 32 * 3 * 2)
    for i in (0, 1, 2, 3, 0):
        assert store.get(i).shape == (32, 32, 3)
    assert len(store._cache) <= 2


# -- CIFAR-10 ----------------------------------------------------------------------------------------

def test_cifar_reads_the_binary_archive_in_place(cached_cifar):
    name, archive, train, test = cached_cifar
    (src,) = resolve_sources(name)
    assert len(src.images) == 40 and len(src.validation) == 4
    np.testing.assert_array_equal(src.images[9].load(), train[9])
    np.testing.assert_array_equal(src.validation[3].load(), test[3])
    assert src.manifest_sha256 == __import__("hashlib").sha256(train.tobytes()).hexdigest()
    _, val = split_validation([src], 256)
    assert len(val) == 4  # CIFAR's own test batch, not training images


def test_cifar_md5_mismatch_and_corruption(cached_cifar):
    name, archive, *_ = cached_cifar
    data = bytearray(archive.read_bytes())
    data[-10] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(TrainingDataError, match="md5 .* does not match the declared"):
        resolve_sources(name)


def test_cifar_offline_without_archive_says_where(synthetic_cifar, fresh_home):
    name, *_ = synthetic_cifar
    with pytest.raises(TrainingDataError, match=f"cifar-10-binary.tar.gz is not in {fresh_home}/datasets/{name}"):
        resolve_sources(name)


def test_cifar_download_verifies_md5(synthetic_cifar, fresh_home, monkeypatch):
    name, src, train, _ = synthetic_cifar
    monkeypatch.setenv("SRBENCH_OFFLINE", "0")
    (got,) = resolve_sources(name)
    assert (fresh_home / "datasets" / name / src.name).is_file()
    np.testing.assert_array_equal(got.images[0].load(), train[0])


def test_cifar_decode_rejects_partial_records():
    with pytest.raises(TrainingDataError, match="not a whole number"):
        cifar.decode_batch(b"\x00" * 100, "x")


def test_image_ranges(tmp_path):
    folder = smooth_images(tmp_path / "a", 5, 32)
    (whole,) = resolve_sources(f"folder:{folder}")
    (part,) = resolve_sources(f"folder:{folder}@2-4")
    assert [im.name for im in part.images] == ["a/im01", "a/im02", "a/im03"]
    assert part.name.endswith("@2-4") and part.manifest_sha256 != whole.manifest_sha256
    assert resolve_sources(f"folder:{folder}@2-4")[0].manifest_sha256 == part.manifest_sha256
    with pytest.raises(TrainingDataError, match="has 5 images, so the range must lie within 1-5"):
        resolve_sources(f"folder:{folder}@4-9")
