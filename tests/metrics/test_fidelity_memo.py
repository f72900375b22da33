"""MetricContext.memo: the Y metrics of one (SR, HR) pair share its luma planes, and nothing else changes."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from srbench.metrics import fidelity
from srbench.metrics.base import MetricContext, memoized
from srbench.metrics.fidelity import psnr_y, ssim_y, ssim_y_matlab

METRICS = (psnr_y(), ssim_y(), ssim_y_matlab())


def _pair(seed, shape=(40, 52, 3)):
    rng = np.random.default_rng(seed)
    hr = rng.integers(0, 256, shape, dtype=np.uint8)
    sr = np.clip(hr + rng.normal(0, 9, shape), 0, 255).astype(np.uint8)
    return sr, hr


@pytest.fixture
def luma_calls(monkeypatch):
    calls = []
    real = fidelity.to_luma

    def counting(img):
        calls.append(img)
        return real(img)

    monkeypatch.setattr(fidelity, "to_luma", counting)
    return calls


@pytest.mark.parametrize("shape", [(40, 52, 3), (37, 45)])  # RGB, and grey / luma-protocol planes
def test_shared_context_gives_the_same_values(shape):
    sr, hr = _pair(1, shape)
    for scale in (2, 3, 4):
        alone = [m(sr, hr, MetricContext(scale=scale)) for m in METRICS]
        ctx = MetricContext(scale=scale)
        shared = [m(sr, hr, ctx) for m in METRICS]
        assert shared == alone
        assert [m(sr, hr, ctx) for m in METRICS] == alone  # from the memo, again


def test_shared_context_computes_luma_once_per_image(luma_calls):
    sr, hr = _pair(2)
    ctx = MetricContext(scale=3)
    for m in METRICS:
        m(sr, hr, ctx)
    assert len(luma_calls) == 2 and luma_calls[0] is sr and luma_calls[1] is hr
    for m in METRICS:
        m(sr, hr, MetricContext(scale=3))
    assert len(luma_calls) == 2 + 2 * len(METRICS)  # a fresh context each time: no sharing


def test_memo_is_only_used_for_the_pair_it_was_computed_from(luma_calls):
    sr, hr = _pair(3)
    sr2, hr2 = _pair(4)
    ctx = MetricContext(scale=2)
    first = psnr_y()(sr, hr, ctx)
    # a context reused (wrongly) for another pair recomputes: the value is that pair's own
    assert psnr_y()(sr2, hr2, ctx) == psnr_y()(sr2, hr2, MetricContext(scale=2))
    assert psnr_y()(sr2, hr, ctx) == psnr_y()(sr2, hr, MetricContext(scale=2))
    assert psnr_y()(sr, hr, ctx) == first
    # ... and a different shave (scale) is a different entry of the same memo
    assert psnr_y()(sr, hr, MetricContext(scale=4, memo=ctx.memo)) == psnr_y()(sr, hr, MetricContext(scale=4))


def test_shared_planes_are_read_only():
    sr, hr = _pair(5)
    ctx = MetricContext(scale=2)
    psnr_y()(sr, hr, ctx)
    y_sr, y_hr = fidelity._planes(sr, hr, ctx)
    assert not y_sr.flags.writeable and not y_hr.flags.writeable
    with pytest.raises(ValueError):
        y_sr[0, 0] = 0.0


def test_contexts_without_a_memo_still_work(luma_calls):
    sr, hr = _pair(6)
    plain = SimpleNamespace(scale=2, image="x")  # any object with the fields a metric reads
    assert [m(sr, hr, plain) for m in METRICS] == [m(sr, hr, MetricContext(scale=2)) for m in METRICS]
    assert memoized(None, "k", sr, hr, lambda: 7) == 7


def test_memo_does_not_change_context_equality_or_repr():
    a, b = MetricContext(scale=2, image="x"), MetricContext(scale=2, image="x")
    psnr_y()(*_pair(7), a)
    assert a.memo and not b.memo
    assert a == b and repr(a) == repr(b) and "memo" not in repr(a)
