"""Golden comparisons of float32 network outputs that hold on any CPU and any thread count.

A golden fixture stores what the official code's network returned on the machine that made it. The same
float32 network on another machine, or with another number of threads, returns slightly different
numbers: a convolution output is a sum of ``n`` products (``n = 9 * C_in`` for a 3x3 convolution) and
the order of that sum depends on how the kernel (oneDNN / MKL / OpenMP) blocks and splits the work,
which changes with the CPU's vector width and the thread count. Measured against
the fixtures of tests/methods/ (made on another machine) on a 2-thread AMD EPYC: up to 2.3e-6 with the
defaults at 1, 2 or 3 threads, up to 1.2e-5 (the CycleGAN generator) with oneDNN limited to SSE4.1
(``ONEDNN_MAX_CPU_ISA=SSE41``) or switched off (``torch.backends.mkldnn.enabled = False``), exactly 0
with ``ONEDNN_MAX_CPU_ISA=AVX2``. So "bit for bit" or "1e-6" is a property of the machine, not of the
adapter; what float32 can promise is this:

* each reordered sum differs by a few units of float32 rounding, ``u = 2**-24`` (float32 eps = 2**-23 =
  1.19e-7), times the size of its terms. The worst-case bound ``n * u`` per layer, added up over a network
  ``L`` layers deep, would exceed a uint8 step for large networks and is never reached: the rounding
  errors have random signs and grow like ``sqrt(n * L) * u``. The networks of these fixtures have at most
  ``n = 16384`` products per output (RefVAE) and ``L = 40`` layers (convolutions and linear layers), which
  gives ``sqrt(16384 * 40) * 6e-8 = 5e-5`` on activations of order 1 (measured: at most 1.2e-5);
* :data:`FLOAT32_ATOL` = 1e-4 is safely above that (and 8x above the largest difference measured), and
  far below one uint8 step of an output in [0, 1] (1/255 = 3.9e-3). A real bug (a wrong layer, key,
  padding, scale or clamp) moves outputs by orders of magnitude more. For outputs that are not in [0, 1]
  (latent means, standard deviations, a decoder without a final clamp) the bound is relative:
  ``FLOAT32_ATOL * max(1, max |ref|)``.

This assumes full float32 arithmetic (CPU, or CUDA with TF32 off): TF32 keeps 10 mantissa bits and needs a
bound of its own. Comparisons that are exact by construction (the same weights through the same code
path, e.g. a checkpoint reloaded strictly) stay ``torch.equal`` / ``np.array_equal``: they do not reorder.

The uint8 image is held to the same reasoning by :func:`assert_uint8_matches`: rounding is exact, so the
adapter's uint8 output must equal the reference at every value whose reference float (x 255) is farther
than the tolerance (x 255) from a rounding boundary of the adapter's rule; only values within that band
may differ, and by at most 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srbench.conventions import ROUNDING, to_uint8

#: absolute bound for a float32 network output in [0, 1] against a golden fixture (see the module docstring)
FLOAT32_ATOL = 1e-4
#: float32 machine epsilon (2**-23)
FLOAT32_EPS = float(np.finfo(np.float32).eps)


def as_hwc(x) -> np.ndarray:
    """A torch tensor or array as a numpy array (uint8 kept, else float64); a 1xCxHxW batch of one image
    (network layout) becomes HxWxC, anything else is taken as it is (images are HxWxC or HxW)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim == 4:
        if x.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of shape {x.shape}")
        x = x[0].transpose(1, 2, 0)
    return x if x.dtype == np.uint8 else x.astype(np.float64)


def assert_float_close(got, ref, atol: float = FLOAT32_ATOL) -> float:
    """``max |got - ref| <= atol * max(1, max |ref|)`` for float network outputs of the same shape.

    ``got`` and ``ref`` are compared as given (tensors or arrays, any layout, the same for both). Prints and
    returns the largest difference.
    """
    g = got.detach().cpu().double().numpy() if hasattr(got, "detach") else np.asarray(got, dtype=np.float64)
    r = ref.detach().cpu().double().numpy() if hasattr(ref, "detach") else np.asarray(ref, dtype=np.float64)
    assert g.shape == r.shape, f"shape {g.shape} != reference {r.shape}"
    assert np.isfinite(g).all(), "the output holds NaN/inf"
    bound = atol * max(1.0, float(np.abs(r).max(initial=0.0)))
    diff = float(np.abs(g - r).max(initial=0.0))
    assert diff <= bound, f"max |output - reference| = {diff:.3g} > {bound:.3g} (float32 tolerance)"
    print(f"float: max |output - reference| = {diff:.3g} (bound {bound:.3g})")
    return diff


@dataclass(frozen=True)
class Uint8Match:
    """What :func:`assert_uint8_matches` found: values compared, values near a rounding boundary (the band),
    and how many of those differed (by 1)."""

    n_values: int
    n_near_boundary: int
    n_differ: int

    def __str__(self) -> str:
        return (f"uint8: {self.n_values} values, {self.n_near_boundary} within the float32 band of a rounding "
                f"boundary, {self.n_differ} of them differ by 1; all others equal")


def boundary_distance(v255: np.ndarray, rule: str) -> np.ndarray:
    """Distance of each value (on the [0, 255] scale, before clipping) to the nearest rounding boundary of
    ``rule``: k + 0.5 (k = 0..254) for the rounding rules, k (k = 1..255) for truncation."""
    if rule not in ROUNDING:
        raise ValueError(f"unknown rounding rule {rule!r}")
    off, lo, hi = (0.0, 1.0, 255.0) if rule == "truncate" else (0.5, 0.5, 254.5)
    nearest = np.clip(np.round(v255 - off) + off, lo, hi)
    return np.abs(v255 - nearest)


def assert_uint8_matches(got_u8, ref_float, rule: str, ref_u8=None, atol: float = FLOAT32_ATOL) -> Uint8Match:
    """The adapter's uint8 image against a golden float output (on the [0, 1] scale) and its uint8 image.

    ``ref_u8`` is the uint8 image the official code saved; by default it is ``to_uint8(255 * ref_float,
    rule)``. Values whose ``255 * ref_float`` is farther than ``255 * (atol + FLOAT32_EPS)`` from a rounding
    boundary of ``rule`` (the FLOAT32_EPS covers a x255 done in float32) must be equal; values within that
    band may differ by at most 1. Layouts: see :func:`as_hwc`. Prints and returns the counts.
    """
    got = as_hwc(got_u8)
    ref = as_hwc(ref_float)
    assert got.dtype == np.uint8, f"the adapter returned {got.dtype}, not uint8"
    assert got.shape == ref.shape, f"shape {got.shape} != reference {ref.shape}"
    want = to_uint8(255.0 * ref, rule) if ref_u8 is None else as_hwc(ref_u8)
    assert want.dtype == np.uint8 and want.shape == got.shape
    near = boundary_distance(255.0 * ref, rule) <= 255.0 * (atol + FLOAT32_EPS)
    diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
    far_bad = int(np.count_nonzero(diff[~near]))
    assert far_bad == 0, (
        f"{far_bad} uint8 values differ from the reference away from any rounding boundary (rule {rule!r}): "
        "not a float32 effect"
    )
    assert int(diff.max(initial=0)) <= 1, f"uint8 values differ by up to {int(diff.max())} near a boundary"
    report = Uint8Match(int(got.size), int(np.count_nonzero(near)), int(np.count_nonzero(diff)))
    print(report)
    return report
