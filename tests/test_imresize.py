"""MATLAB-exact bicubic: bit-exact against the 457 reference LR images made with MATLAB imresize."""

from __future__ import annotations

import json

import numpy as np
import pytest

from srbench.conventions import modcrop
from srbench.hashing import sha256_pixels
from srbench.images import read_image
from srbench.imresize import cubic, imresize, matlab_round


def _hr(mirror, dataset, name):
    return read_image(next((mirror / dataset / "HR").glob(name + ".*")))


def test_all_457_reference_lr_images_bit_exact(mirror, reference):
    ref = json.loads((reference / "bicubic_lr_pixels.json").read_text())
    checked, wrong = 0, []
    for dataset, scales in ref.items():
        for skey, images in scales.items():
            s = int(skey[1:])
            for name, info in images.items():
                lr = imresize(modcrop(_hr(mirror, dataset, name), s), 1 / s)
                checked += 1
                if sha256_pixels(lr) != info["sha256_pixels"]:
                    wrong.append(f"{dataset}/{skey}/{name}")
    assert checked == 457
    assert wrong == []


def test_set5_lr_files_pixel_equal(mirror, reference):
    for s in (2, 3, 4):
        for f in sorted((reference / "set5_lr_matlab" / f"x{s}").glob("*.png")):
            lr = imresize(modcrop(_hr(mirror, "set5", f.stem), s), 1 / s)
            np.testing.assert_array_equal(lr, read_image(f))


def test_matlab_round_is_half_away_from_zero():
    np.testing.assert_array_equal(matlab_round(np.array([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999])), [1, 2, 3, -1, -2, 2])


def test_cubic_kernel_values():
    # Keys kernel, a = -0.5: k(0)=1, k(1)=k(2)=0, k(0.5)=0.5625, k(1.5)=-0.0625
    np.testing.assert_allclose(cubic(np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])), [1, 0.5625, 0, -0.0625, 0, 0])


def test_output_sizes_and_types():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
    up = imresize(img, 3)
    assert up.shape == (39, 51, 3) and up.dtype == np.uint8
    down = imresize(img.astype(np.float64), 1 / 2)
    assert down.shape == (7, 9, 3) and down.dtype == np.float64  # ceil(13/2), ceil(17/2)
    assert imresize(img, output_shape=(20, 10)).shape == (20, 10, 3)
    grey = imresize(img[:, :, 0], 2)
    assert grey.shape == (26, 34)


def test_constant_image_is_preserved():
    img = np.full((12, 12, 3), 77, np.uint8)
    np.testing.assert_array_equal(imresize(img, 4), 77)
    np.testing.assert_array_equal(imresize(img, 1 / 3), 77)


def test_upscaling_interpolates_linear_ramp_exactly_inside():
    # cubic convolution reproduces linear functions away from the borders
    ramp = np.tile(np.arange(32, dtype=np.float64), (32, 1))
    up = imresize(ramp, 2)
    x = (np.arange(64) + 0.5) / 2 - 0.5  # MATLAB sample positions (0-based)
    np.testing.assert_allclose(up[10, 4:-4], x[4:-4], atol=1e-12)


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        imresize(np.zeros((2, 2, 2, 2), np.uint8), 2)
    with pytest.raises(TypeError):
        imresize(np.zeros((4, 4), np.int32), 2)
    with pytest.raises(ValueError):
        imresize(np.zeros((4, 4), np.uint8), -1)
