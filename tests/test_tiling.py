"""srbench.tiling: tiled inference equals whole-image inference once the overlap covers the receptive field."""

from __future__ import annotations

import pytest
import torch
from srbench_methods.esrgan.arch import RRDBNet
from srbench_methods.esrgan.arch import receptive_field_radius as rrdb_radius
from srbench_methods.srgan.arch import Generator
from srbench_methods.srgan.arch import receptive_field_radius as srgan_radius

from srbench.errors import SrbenchError
from srbench.tiling import tile_grid, tiled_forward


def _rrdb(nb: int = 1, dtype=torch.float32, gain: float = 2.5) -> RRDBNet:
    """A small ESRGAN generator; conv weights amplified so that far context visibly changes the output."""
    torch.manual_seed(0)
    net = RRDBNet(nf=8, nb=nb, gc=4).eval().to(dtype)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.mul_(gain)
    return net


def _support_radius(net, scale: int, radius_hint: int, dtype=torch.float64) -> int:
    """Largest LR distance from LR pixel c whose value reaches any of the scale x scale output pixels of c
    (all sub-pixel phases at once, one backward pass). The image is large enough (2 * hint + 9) for the
    support not to be clipped by its border."""
    n = 2 * radius_hint + 9
    c = n // 2
    x = torch.rand(1, 3, n, n, dtype=dtype, requires_grad=True)
    out = net(x)
    (g,) = torch.autograd.grad(out[0, :, c * scale : (c + 1) * scale, c * scale : (c + 1) * scale].sum(), x)
    nz = (g[0].abs().sum(0) > 0).nonzero()
    assert len(nz), "no gradient at all"
    return int((nz - c).abs().max())


@pytest.mark.parametrize("nb", [1, 2])
def test_rrdb_receptive_field_radius_is_measured_exactly(nb):
    assert _support_radius(_rrdb(nb, torch.float64), 4, rrdb_radius(nb)) == rrdb_radius(nb) == 15 * nb + 4
    assert rrdb_radius(23) == 349


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_srgan_receptive_field_radius_is_measured_exactly(scale):
    torch.manual_seed(scale)
    net = Generator(scale).eval()
    assert _support_radius(net, scale, 18, torch.float32) == srgan_radius(scale) == 18


@pytest.mark.parametrize("tile", [11, 25])
def test_tiled_esrgan_equals_whole_image_at_the_receptive_field(tile):
    net = _rrdb(1)
    r = rrdb_radius(1)
    x = torch.rand(1, 3, 40, 34, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full = net(x)
        tiled = tiled_forward(net, x, 4, tile, overlap=r)
    assert tiled.shape == full.shape == (1, 3, 160, 136)
    torch.testing.assert_close(tiled, full, atol=1e-5, rtol=0)


def test_overlap_below_the_radius_is_not_exact():
    """float64 makes the seam error of a too-small overlap measurable: exactness starts at r, not before."""
    net = _rrdb(1, torch.float64)
    r = rrdb_radius(1)
    x = torch.rand(1, 3, 50, 46, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        full = net(x)
        err = {ov: (tiled_forward(net, x, 4, 16, ov) - full).abs().max().item() for ov in (0, 8, r - 1, r, r + 5)}
    assert err[0] > 1.0 and err[8] > 1e-4
    assert err[r - 1] > 1e-12
    assert err[r] < 1e-12 and err[r + 5] < 1e-12


def test_tiled_srgan_equals_whole_image():
    torch.manual_seed(3)
    net = Generator(4).eval()
    x = torch.rand(1, 3, 30, 27)
    with torch.no_grad():
        torch.testing.assert_close(tiled_forward(net, x, 4, 15, srgan_radius(4)), net(x), atol=1e-5, rtol=0)


def test_no_tile_runs_once_and_returns_fn_output():
    calls = []

    def fn(t):
        calls.append(tuple(t.shape))
        return t.repeat_interleave(2, 2).repeat_interleave(2, 3)

    x = torch.rand(1, 3, 10, 12)
    assert torch.equal(tiled_forward(fn, x, 2, None), fn(x))
    calls.clear()
    tiled_forward(fn, x, 2, 12)  # tile covers the image
    assert calls == [(1, 3, 10, 12)]
    calls.clear()
    out = tiled_forward(fn, x, 2, 4, overlap=1)
    assert torch.equal(out, fn(x)) and len(calls) == 1 + 9  # 3x3 tiles (+ the reference call)


def test_tile_grid_partitions_the_image():
    for h, w, tile, ov in [(10, 12, 4, 2), (7, 7, 7, 0), (5, 9, 1, 3), (33, 20, 16, 40)]:
        cover = torch.zeros(h, w, dtype=torch.int32)
        for (y0, y1, x0, x1), (a0, a1, b0, b1) in tile_grid(h, w, tile, ov):
            cover[y0:y1, x0:x1] += 1
            assert a0 == max(0, y0 - ov) and a1 == min(h, y1 + ov) and b0 == max(0, x0 - ov) and b1 == min(w, x1 + ov)
            assert y1 - y0 <= tile and x1 - x0 <= tile
        assert bool((cover == 1).all())
    with pytest.raises(ValueError):
        tile_grid(4, 4, 0, 1)


def test_wrong_output_size_is_an_error():
    x = torch.rand(1, 3, 10, 10)
    with pytest.raises(SrbenchError, match="expected 1xCx"):
        tiled_forward(lambda t: t, x, 2, 4)
    with pytest.raises(ValueError):
        tiled_forward(lambda t: t, torch.rand(2, 3, 8, 8), 1, 4)
