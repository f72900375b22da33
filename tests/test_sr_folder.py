"""A folder of a researcher's own SR outputs: layouts, file-name rules, samples, every problem in one error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srbench.errors import FolderOutputsError, SrbenchError
from srbench.names import safe_name
from srbench.sr_folder import (
    FolderIndex,
    FolderSpec,
    Wanted,
    index_folder,
    parse_folder_method,
)

SIZE = (4, 6)  # (height, width) of every tiny SR image here
SET5 = ("baby", "bird", "butterfly")


def _png(path: Path, size=SIZE, value: int = 7, **save) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.full((*size, 3), value, np.uint8)
    arr[0, 0] = (1, 2, 3)
    Image.fromarray(arr).save(path, **save)
    return path


def _want(dataset: str, scale: int, images, size=SIZE) -> list[Wanted]:
    return [Wanted(dataset, scale, image, size) for image in images]


def _problems(excinfo) -> dict[str, list[str]]:
    return {g: lines for g, lines in excinfo.value.problems.items() if lines}


def _rel(index: FolderIndex) -> dict[tuple[str, int, str], list[str]]:
    return {k: [p.relative_to(index.root).as_posix() for p in v] for k, v in index.files.items()}


# ------------------------------------------------------------------ layouts


def test_layout_dataset_scale_with_two_scales_and_aliases(tmp_path):
    for s in (2, 4):
        for image in SET5:
            _png(tmp_path / "Set5" / f"X{s}" / f"{image}.png")
    _png(tmp_path / "BSD100" / "x4" / "3096.png")  # b100 is scored too, found by its alias
    _png(tmp_path / "Set14" / "x4" / "baboon.png")  # not scored by this run
    _png(tmp_path / "Set5" / "x3" / "baby.png")  # a scale not scored
    wanted = _want("set5", 2, SET5) + _want("set5", 4, SET5) + _want("b100", 4, ["3096"])
    index = index_folder(tmp_path, wanted, aliases={"b100": ["BSD100", "B100"]})
    assert index.layout == "dataset/xS"
    assert _rel(index)[("set5", 2, "baby")] == ["Set5/X2/baby.png"]
    assert _rel(index)[("b100", 4, "3096")] == ["BSD100/x4/3096.png"]
    assert len(index.files) == 7
    assert sorted(index.ignored) == ["Set14/", "Set5/x3/"]


def test_layout_dataset_one_scale_per_dataset(tmp_path):
    for image in SET5:
        _png(tmp_path / "set5" / f"{image}.png")
    _png(tmp_path / "Urban100" / "img_001.png")
    wanted = _want("set5", 4, SET5) + _want("urban100", 4, ["img_001"])
    index = index_folder(FolderSpec(tmp_path, "mine"), wanted, aliases={"urban100": ["Urban100"]})
    assert index.layout == "dataset"
    assert _rel(index)[("urban100", 4, "img_001")] == ["Urban100/img_001.png"]


def test_layout_dataset_refused_when_the_dataset_is_scored_at_two_scales(tmp_path):
    for image in SET5:
        _png(tmp_path / "set5" / f"{image}.png")
    with pytest.raises(FolderOutputsError) as e:
        index_folder(tmp_path, _want("set5", 2, SET5) + _want("set5", 4, SET5))
    assert "set5/x2/, set5/x4/" in str(e.value) and list(_problems(e)) == ["layout"]


def test_layout_flat_only_for_one_dataset_at_one_scale(tmp_path):
    for image in SET5:
        _png(tmp_path / f"{image}_x4_SR.png")
    index = index_folder(tmp_path, _want("set5", 4, SET5))
    assert index.layout == "flat" and len(index.files) == 3
    with pytest.raises(FolderOutputsError) as e:
        index_folder(tmp_path, _want("set5", 4, SET5) + _want("set5", 2, SET5))
    assert "flat folder" in str(e.value) and "set5 x2, set5 x4" in str(e.value)


def test_a_folder_one_level_too_high_gets_a_hint(tmp_path):
    _png(tmp_path / "bicubic" / "set5" / "x4" / "baby.png")
    with pytest.raises(FolderOutputsError) as e:
        index_folder(tmp_path, _want("set5", 4, ["baby"]) + _want("set14", 4, ["baboon"]))
    assert "did you mean the folder bicubic/" in str(e.value)


def test_a_flat_folder_holding_a_scale_folder_gets_a_hint(tmp_path):
    _png(tmp_path / "x4" / "baby.png")
    with pytest.raises(FolderOutputsError) as e:
        index_folder(tmp_path, _want("set5", 4, ["baby"]))
    assert _problems(e)["layout"] == [(
        f"nothing matched directly in the folder, which holds x4/: give folder:{tmp_path / 'x4'}, "
        "or a folder holding <dataset>/x4/")]
    assert str(e.value).endswith("\n  not looked into: x4/")


def test_missing_dataset_and_scale_folders_are_one_line_each(tmp_path):
    _png(tmp_path / "set5" / "x2" / "baby.png")
    _png(tmp_path / "set5" / "baby.png")
    with pytest.raises(FolderOutputsError) as e:
        index_folder(tmp_path, _want("set5", 4, ["baby"]) + _want("set14", 4, ["baboon", "barbara"]))
    assert sorted(_problems(e)["missing"]) == [
        "set14 x4: no folder for set14 (looked for set14, any case); all 2 images missing",
        ("set5 x4: no folder set5/x4/ (layout dataset/xS); the image is missing; set5/ holds 1 image file directly, "
         "not used in this layout"),
    ]


def test_unclear_dataset_folders_are_refused(tmp_path):
    _png(tmp_path / "Set5" / "baby.png")
    _png(tmp_path / "set5" / "baby.png")
    _png(tmp_path / "RealSR" / "x4" / "Canon_003.png")
    wanted = _want("set5", 4, ["baby"]) + _want("realsr_v3_x4", 4, ["Canon_003"]) + _want("realsr_x4", 4, ["Canon_003"])
    with pytest.raises(FolderOutputsError) as e:
        index_folder(tmp_path, wanted, aliases={"realsr_v3_x4": ["RealSR"], "realsr_x4": ["realsr"]})
    assert _problems(e) == {"layout": ["RealSR/: fits several datasets of the run (realsr_v3_x4, realsr_x4)",
                                       "set5: several folders (Set5/, set5/); keep one"]}


# ------------------------------------------------------------------ srbench's own --save-images


def test_srbench_save_images_folder_indexes_perfectly(tmp_path):
    from srbench.run_writer import RunWriter

    names = ["baby", "my photo (1)", "my_photo_1_", "img_001"]
    writer = RunWriter(tmp_path)
    for s in (2, 4):
        for i, image in enumerate(names):
            writer.save_images("bicubic", "set5", s, image, [np.full((*SIZE, 3), i, np.uint8)], stochastic=False)
            writer.save_images("dsrvae", "set5", s, image, [np.full((*SIZE, 3), k, np.uint8) for k in range(3)],
                               stochastic=True)
        writer.save_reference("set5", s, "baby", np.zeros((*SIZE, 3), np.uint8), np.zeros((1, 1, 3), np.uint8))
    wanted = _want("set5", 2, names) + _want("set5", 4, names)
    index = index_folder(tmp_path / "images" / "bicubic", wanted)
    assert index.layout == "dataset/xS" and index.ignored == [] and len(index.files) == 8
    assert _rel(index)[("set5", 4, "my photo (1)")] == [f"set5/x4/{safe_name('my photo (1)')}.png"]
    assert _rel(index)[("set5", 4, "my_photo_1_")] == ["set5/x4/my_photo_1_.png"]
    sampled = index_folder(tmp_path / "images" / "dsrvae", wanted, samples=3)
    assert _rel(sampled)[("set5", 2, "my photo (1)")] == [f"set5/x2/{safe_name('my photo (1)')}/s{k}.png" for k in range(3)]


# ------------------------------------------------------------------ file names


@pytest.mark.parametrize("file, image", [
    ("baby.png", "baby"),
    ("baby_x4.png", "baby"),
    ("baby_X4.png", "baby"),
    ("baby-4x.png", "baby"),
    ("baby_SR.png", "baby"),
    ("baby_sr.png", "baby"),
    ("baby.x4.png", "baby"),
    ("baby_EDSR_x4.png", "baby"),
    ("img_001_ESRGAN.png", "img_001"),
    ("img001.png", "img_001"),
    ("IMG001_x4.png", "img_001"),
    ("Baby.PNG", "baby"),
    ("0801_x4_SR.bmp", "0801"),
    ("img_10_SR.png", "img_10"),
    ("img_1_SR.png", "img_1"),
    ("img_1-0.png", "img_1"),
    ("0801x4.png", "0801"),
    ("0801x4w_SR.png", "0801"),
    ("baby_LR_SR.png", "baby"),
    ("Canon_003_LR4_out.png", "Canon_003"),
    ("baby_HRNet.png", "baby"),
])
def test_a_file_name_names_its_image(tmp_path, file, image):
    _png(tmp_path / file)
    images = ["baby", "img_001", "0801", "img_1", "img_10", "Canon_003"]
    with pytest.raises(FolderOutputsError) as e:  # the other images are missing
        index_folder(tmp_path, _want("x", 4, images))
    missing = _problems(e)["missing"]
    assert set(_problems(e)) == {"missing"}
    assert len(missing) == 5 and not any(f" {image}: " in line for line in missing)


@pytest.mark.parametrize("file, why", [
    ("baby_LR.png", "tag 'LR': named as an LR image (an SR output named after its LR file: baby_LR_SR.png)"),
    ("baby_x4_lr.png", "tag 'lr': named as an LR image (an SR output named after its LR file: baby_x4_lr_SR.png)"),
    ("baby_LRbicx4.png", "tag 'LRbicx4': named as an LR image (an SR output named after its LR file: baby_LRbicx4_SR.png)"),
    ("baby_HR.png", "tag 'HR': an HR / ground-truth image, not SR"),
    ("baby_HR_x4.png", "tag 'HR': an HR / ground-truth image, not SR"),
    ("baby-GT.png", "tag 'GT': an HR / ground-truth image, not SR"),
    ("baby_x2.png", "tag 'x2': another scale than x4"),
    ("baby_SR_2x.png", "tag '2x': another scale than x4"),
    ("babyx2.png", ""),
    ("babyx4foo.png", ""),
    ("baby (copy).png", ""),
    ("lena.png", ""),
])
def test_files_that_are_not_sr_of_the_image_are_extra(tmp_path, file, why):
    _png(tmp_path / file)
    with pytest.raises(FolderOutputsError) as e:
        index_folder(tmp_path, _want("set5", 4, ["baby"]))
    assert _problems(e)["extra"] == [file + (f" ({why})" if why else "")]
    assert _problems(e)["missing"] == ["set5 x4 baby: no file (expected baby.png)"]


def test_the_longest_image_name_wins(tmp_path):
    _png(tmp_path / "img_10_SR.png", value=10)
    _png(tmp_path / "img_1_SR.png", value=1)
    index = index_folder(tmp_path, _want("urban100", 4, ["img_1", "img_10"]))
    assert _rel(index) == {("urban100", 4, "img_1"): ["img_1_SR.png"], ("urban100", 4, "img_10"): ["img_10_SR.png"]}


def test_a_file_fitting_two_images_is_ambiguous(tmp_path):
    _png(tmp_path / "IMG001.png")
    with pytest.raises(FolderOutputsError) as e:
        index_folder(tmp_path, _want("d", 4, ["img_001", "img-001"]))
    assert _problems(e)["ambiguous"] == ["IMG001.png: fits several images (img-001, img_001)"]


def test_two_files_for_one_image_are_ambiguous(tmp_path):
    _png(tmp_path / "baby_x4.png")
    _png(tmp_path / "baby_SR.png")
    with pytest.raises(FolderOutputsError) as e:
        index_folder(tmp_path, _want("set5", 4, ["baby"]))
    assert _problems(e) == {"ambiguous": ["set5 x4 baby: several files (baby_SR.png, baby_x4.png)"]}


# ------------------------------------------------------------------ samples


def test_samples_in_folder_form_and_file_form(tmp_path):
    for k in range(3):
        _png(tmp_path / "baby" / f"s{k}.png", value=k)
        _png(tmp_path / f"bird_SR_s{k}.png", value=k)
        _png(tmp_path / f"Butterfly-s{k}.png", value=k)
    index = index_folder(tmp_path, _want("set5", 4, SET5), samples=3)
    assert _rel(index) == {
        ("set5", 4, "baby"): ["baby/s0.png", "baby/s1.png", "baby/s2.png"],
        ("set5", 4, "bird"): ["bird_SR_s0.png", "bird_SR_s1.png", "bird_SR_s2.png"],
        ("set5", 4, "butterfly"): ["Butterfly-s0.png", "Butterfly-s1.png", "Butterfly-s2.png"],
    }


def test_sample_indices_missing_extra_doubled_or_absent(tmp_path):
    for k in (0, 2):
        _png(tmp_path / "baby" / f"s{k}.png")  # s1 missing
    for k in range(4):
        _png(tmp_path / f"bird_s{k}.png")  # s3 is one too many
    _png(tmp_path / "butterfly.png")  # no sample index
    _png(tmp_path / "head_s0.png")
    _png(tmp_path / "head" / "s0.png")  # s0 twice
    _png(tmp_path / "head" / "s1.png")
    _png(tmp_path / "head" / "s2.png")
    _png(tmp_path / "head" / "notes.png")
    with pytest.raises(FolderOutputsError) as e:
        index_folder(tmp_path, _want("set5", 4, [*SET5, "head", "woman"]), samples=3)
    p = _problems(e)
    assert p["samples"] == [
        "set5 x4 baby: missing s1 (found s0, s2)",
        "set5 x4 bird: s3 beyond the 3 samples of the run (found s0, s1, s2, s3)",
        "butterfly.png: no sample index for butterfly (name the files butterfly/s0..s2.png or butterfly_s0..s2.png)",
    ]
    assert p["ambiguous"] == ["set5 x4 head s0: several files (head/s0.png, head_s0.png)"]
    assert p["extra"] == ["head/notes.png (in a sample folder, files are s0.png, s1.png, ...)"]
    assert p["missing"] == ["set5 x4 woman: no file (expected woman/s0..s2.png or woman_s0..s2.png)"]


def test_with_one_sample_an_s_tag_is_a_tag_only_when_alone(tmp_path):
    _png(tmp_path / "baby_s0.png")
    _png(tmp_path / "bird_s0.png")
    _png(tmp_path / "bird_s1.png")
    with pytest.raises(FolderOutputsError) as e:
        index_folder(tmp_path, _want("set5", 4, ["baby", "bird"]))
    assert _problems(e) == {"ambiguous": [
        "set5 x4 bird: several files (bird_s0.png, bird_s1.png); sample files? this run scores one sample per image"]}
    (tmp_path / "bird_s1.png").unlink()
    assert len(index_folder(tmp_path, _want("set5", 4, ["baby", "bird"])).files) == 2


# ------------------------------------------------------------------ checks, and one message for all


def test_one_message_lists_missing_wrong_size_and_extra_together(tmp_path):
    _png(tmp_path / "set5" / "x4" / "baby.png", size=(5, 6))
    _png(tmp_path / "set5" / "x4" / "bird.png")
    _png(tmp_path / "set5" / "x4" / "lena.png")
    _png(tmp_path / "set5" / "x4" / "head.png", size=(1, 2))
    _png(tmp_path / "set5" / "x4" / "woman.png", size=(1, 1))
    with pytest.raises(FolderOutputsError) as e:
        index_folder(tmp_path, _want("set5", 4, SET5) + _want("set5", 4, ["head"]) + _want("set5", 4, ["woman"], (4, 4)))
    text = str(e.value)
    assert e.value.exit_code == 2 and isinstance(e.value, SrbenchError)
    assert text.splitlines()[0] == f"SR outputs in {tmp_path} (layout dataset/xS): 5 problems"
    assert "set5 x4 butterfly: no file (expected set5/x4/butterfly.png)" in text
    assert "set5/x4/baby.png: expected 4x6, got 5x6\n" in text
    assert "set5/x4/head.png: expected 4x6, got 1x2\n" in text
    assert "set5/x4/woman.png: expected 4x4, got 1x1 (1/4 of the expected size: the LR image?)" in text
    assert "for made LR the expected size is the HR cropped to a multiple of the scale" in text
    assert "    set5/x4/lena.png" in text
    assert text.index("missing") < text.index("wrong size") < text.index("extra")


def test_a_group_shows_twenty_lines_then_counts(tmp_path):
    _png(tmp_path / "other.png")
    with pytest.raises(FolderOutputsError) as e:
        index_folder(tmp_path, _want("urban100", 4, [f"img_{i:03d}" for i in range(1, 26)]))
    lines = str(e.value).splitlines()
    assert "  missing (no SR file for an image of the run): 25" in lines
    assert "    ... and 5 more" in lines and sum("no file" in line for line in lines) == 20


def test_jpeg_and_other_formats_are_refused(tmp_path):
    Image.new("RGB", SIZE[::-1]).save(tmp_path / "baby_SR.jpg")
    Image.new("RGB", SIZE[::-1]).save(tmp_path / "bird.gif")
    with pytest.raises(FolderOutputsError) as e:
        index_folder(tmp_path, _want("set5", 4, ["baby", "bird"]))
    assert _problems(e) == {"lossy": ["baby_SR.jpg (baby)"], "unsupported": ["bird.gif (bird)"]}
    assert "lossy format (JPEG): save SR outputs losslessly (PNG)" in str(e.value)


def test_files_that_are_not_images_are_not_looked_at(tmp_path):
    _png(tmp_path / "baby.png")
    (tmp_path / "README.txt").write_text("my model's outputs")
    (tmp_path / "results.json").write_text("{}")
    (tmp_path / ".DS_Store").write_bytes(b"\0\1")
    _png(tmp_path / ".baby_old.png")
    (tmp_path / ".thumbs").mkdir()
    index = index_folder(tmp_path, _want("set5", 4, ["baby"]))
    assert _rel(index) == {("set5", 4, "baby"): ["baby.png"]} and index.ignored == []


def test_an_unreadable_file_is_a_problem(tmp_path):
    (tmp_path / "baby.png").write_bytes(b"not a png at all")
    with pytest.raises(FolderOutputsError) as e:
        index_folder(tmp_path, _want("set5", 4, ["baby"]))
    assert _problems(e) == {"unreadable": ["baby.png: UnidentifiedImageError"]}


def test_no_such_folder(tmp_path):
    with pytest.raises(FolderOutputsError, match="no such folder"):
        index_folder(tmp_path / "nope", _want("set5", 4, ["baby"]))


# ------------------------------------------------------------------ identity


def test_identity_follows_pixels_not_files(tmp_path):
    _png(tmp_path / "baby.png", compress_level=1)
    for k in range(2):
        _png(tmp_path / "bird" / f"s{k}.png", value=k)
    wanted = _want("set5", 4, ["baby"])
    first = index_folder(tmp_path, wanted).identity()
    assert len(first) == 64 and first == index_folder(tmp_path, wanted).identity()
    _png(tmp_path / "baby.png", compress_level=9)  # same pixels, other bytes
    assert index_folder(tmp_path, wanted).identity() == first
    (tmp_path / "baby.png").unlink()
    _png(tmp_path / "baby.bmp")
    assert index_folder(tmp_path, wanted).identity() == first
    arr = np.asarray(Image.open(tmp_path / "baby.bmp")).copy()
    arr[3, 5, 1] += 1
    Image.fromarray(arr).save(tmp_path / "baby.bmp")
    assert index_folder(tmp_path, wanted).identity() != first
    (tmp_path / "baby.bmp").unlink()
    sampled = index_folder(tmp_path, _want("set5", 4, ["bird"]), samples=2)
    swapped = FolderIndex(sampled.root, sampled.layout, {k: v[::-1] for k, v in sampled.files.items()})
    assert swapped.identity() != sampled.identity()  # the sample order is part of the identity


# ------------------------------------------------------------------ folder:PATH[@label]


def test_parse_folder_method(tmp_path, monkeypatch):
    out = tmp_path / "my_sr"
    out.mkdir()
    assert parse_folder_method("esrgan") is None and parse_folder_method("bicubic") is None
    assert parse_folder_method(f"folder:{out}") == FolderSpec(out.resolve(), "my_sr")
    assert parse_folder_method(f"folder:{out}@ESRGAN-v2.1+ft") == FolderSpec(out.resolve(), "ESRGAN-v2.1+ft")
    monkeypatch.chdir(out)
    assert parse_folder_method("folder:.") == FolderSpec(out.resolve(), "my_sr")
    at = tmp_path / "me@host" / "out"
    at.mkdir(parents=True)
    assert parse_folder_method(f"folder:{at}") == FolderSpec(at.resolve(), "out")  # '@' then a '/': part of PATH
    assert parse_folder_method(f"folder:{at}@x") == FolderSpec(at.resolve(), "x")


def test_parse_folder_method_errors(tmp_path):
    out = tmp_path / "run@2"
    out.mkdir()
    (tmp_path / "file.png").write_bytes(b"")
    (tmp_path / "my outputs").mkdir()
    cases = {
        "folder:": "no folder given",
        "folder:@mine": "no folder given",
        f"folder:{tmp_path}/absent": "no such folder",
        f"folder:{tmp_path}/file.png": "is a file, not a folder",
        f"folder:{tmp_path}@bad label": "label 'bad label' after '@' is not valid",
        f"folder:{tmp_path}@": "label '' after '@' is not valid",
        f"folder:{out}": f"to use the folder '{out}', add a label: folder:{out}@2",
        f"folder:{tmp_path}/my outputs": "is not a valid method label",
    }
    for text, message in cases.items():
        with pytest.raises(FolderOutputsError, match=None) as e:
            parse_folder_method(text)
        assert message in str(e.value), text
        assert e.value.exit_code == 2
    assert parse_folder_method(f"folder:{out}@run2") == FolderSpec(out.resolve(), "run2")
    assert "folder:" + f"{tmp_path}/my outputs@my_outputs" in _message(f"folder:{tmp_path}/my outputs")


def _message(text: str) -> str:
    with pytest.raises(FolderOutputsError) as e:
        parse_folder_method(text)
    return str(e.value)
