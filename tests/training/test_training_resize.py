"""srbench.training.resize: MATLAB bicubic on torch batches equals srbench.imresize."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srbench.imresize import imresize
from srbench.training.resize import bicubic, bicubic_down, bicubic_uint8


def test_float_resize_is_imresize_and_differentiable():
    x = torch.rand(2, 3, 32, 48, dtype=torch.float64, requires_grad=True)
    want = np.stack([imresize(x[i].detach().numpy().transpose(1, 2, 0), 0.25).transpose(2, 0, 1) for i in range(2)])
    got = bicubic_down(x, 4)
    np.testing.assert_allclose(got.detach().numpy(), want, atol=1e-12)
    got.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # any output size, float32 within float32 precision (the recipes' dtype)
    y = np.random.default_rng(1).random((32, 40, 3))
    t = torch.from_numpy(y).permute(2, 0, 1)[None].float()
    np.testing.assert_allclose(bicubic(t, (8, 10))[0].permute(1, 2, 0).numpy(), imresize(y, 0.25), atol=1e-5)
    with pytest.raises(ValueError, match="not a multiple of 4"):
        bicubic_down(torch.zeros(1, 3, 30, 32), 4)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_uint8_path_is_bit_identical_to_imresize(scale):
    imgs = (np.random.default_rng(scale).random((3, 36, 48, 3)) * 255).astype(np.uint8)
    t = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255
    got = (bicubic_uint8(t, scale) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert np.array_equal(got, np.stack([imresize(im, 1 / scale) for im in imgs]))
