"""MATLAB-exact bicubic: bit-exact against the 457 reference LR images made with MATLAB imresize."""

from __future__ import annotations

import json

import numpy as np
import pytest

from srbench.conventions import modcrop
from srbench.hashing import sha256_pixels
from srbench.images import read_image
from srbench.imresize import _contributions, _to_uint8, cubic, imresize, matlab_round


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


def _reference_imresize(img, scale=None, output_shape=None, antialias=True):
    """imresize written the plain way: gather each tap and add them in tap order (float64), round + saturate
    uint8 after each pass with ``matlab_round``. The package computes each pass as a sparse product."""
    is_uint8 = img.dtype == np.uint8
    h, w = img.shape[:2]
    if output_shape is not None:
        out_lens = tuple(int(n) for n in output_shape)
        scales = (out_lens[0] / h, out_lens[1] / w)
    else:
        out_lens = (int(np.ceil(h * scale)), int(np.ceil(w * scale)))
        scales = (float(scale), float(scale))
    out = img
    for dim in (0, 1) if scales[0] <= scales[1] else (1, 0):
        moved = np.moveaxis(out, dim, 0).astype(np.float64)
        weights, indices = _contributions(moved.shape[0], out_lens[dim], scales[dim], antialias)
        acc = np.zeros((out_lens[dim],) + moved.shape[1:])
        for t in range(weights.shape[1]):
            acc = acc + moved[indices[:, t]] * weights[:, t].reshape((-1,) + (1,) * (moved.ndim - 1))
        out = np.moveaxis(acc, 0, dim)
        if is_uint8:
            out = np.clip(matlab_round(out), 0, 255).astype(np.uint8)
    return out


def _random_image(rng, shape, kind):
    if kind == "uint8":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    img = rng.random(shape) * 255 if kind == "float64" else rng.normal(0, 300, shape)
    return img.astype(np.float32) if kind == "float32" else img


@pytest.mark.parametrize("kind", ["uint8", "float64", "float32", "wide"])
def test_sparse_passes_equal_tap_order_reference_bit_for_bit(kind):
    rng = np.random.default_rng(7)
    shapes = [(1, 1), (1, 23), (19, 1), (2, 40, 3), (13, 17), (13, 17, 3), (32, 24, 1), (45, 31, 4)]
    shapes += [tuple(int(n) for n in rng.integers(1, 70, 2)) + ((3,) if i % 2 else ()) for i in range(8)]
    checked = 0
    for shape in shapes:
        img = _random_image(rng, shape, kind)
        cases = [{"scale": s, "antialias": aa} for s in (2, 3, 4, 8, 1 / 2, 1 / 3, 1 / 4, 1 / 8) for aa in (True, False)]
        cases += [{"output_shape": tuple(int(n) for n in rng.integers(1, 150, 2))} for _ in range(3)]
        for kw in cases:
            got, want = imresize(img, **kw), _reference_imresize(img, **kw)
            assert got.dtype == want.dtype and got.shape == want.shape
            assert got.tobytes() == want.tobytes(), (shape, kind, kw)  # every bit, -0.0 included
            checked += 1
    assert checked == len(shapes) * 19


def test_sparse_passes_equal_reference_on_non_contiguous_input():
    rng = np.random.default_rng(8)
    img = rng.integers(0, 256, (30, 41, 3), dtype=np.uint8)
    transposed = np.moveaxis(np.ascontiguousarray(np.moveaxis(img, 1, 0)), 0, 1)  # the layout of imresize's output
    for view in (img[:, ::-1], img[::2, :, ::-1], np.asfortranarray(img), transposed):
        for s in (1 / 3, 2):
            np.testing.assert_array_equal(imresize(view, s), _reference_imresize(view, s))


def test_pass_rounding_is_matlab_round_then_saturation():
    ties = np.arange(-3, 259) + 0.5
    x = np.concatenate([ties, np.nextafter(ties, -np.inf), np.nextafter(ties, np.inf), [-0.0, 0.0, -1e9, 1e9],
                        np.random.default_rng(9).normal(128, 200, 5000)])
    np.testing.assert_array_equal(_to_uint8(x.copy()), np.clip(matlab_round(x), 0, 255).astype(np.uint8))
