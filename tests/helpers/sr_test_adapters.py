"""Test-only method adapters for the runner tests.

Tests put this folder on ``sys.path`` (``monkeypatch.syspath_prepend``) and register
``MethodInfo(loader="sr_test_adapters:load_<mode>")`` objects built by :func:`info`. Nothing here is
shipped with srbench.
"""

from __future__ import annotations

import numpy as np

from srbench.imresize import imresize
from srbench.method_api import MethodInfo, SRModel

#: shared state the tests set and read: the 1-based upscale call that raises KeyboardInterrupt
#: (``None``: never) and the number of upscale calls made so far.
STATE = {"interrupt_at": None, "calls": 0}


def reset(interrupt_at=None) -> None:
    STATE["interrupt_at"] = interrupt_at
    STATE["calls"] = 0


class TestModel(SRModel):
    __test__ = False  # not a pytest class

    def __init__(self, scale: int, mode: str):
        self.scale = scale
        self.mode = mode
        self.provenance = {"mode": mode}

    def upscale(self, lr: np.ndarray):
        STATE["calls"] += 1
        s = self.scale
        if self.mode == "flaky" and STATE["interrupt_at"] == STATE["calls"]:
            raise KeyboardInterrupt
        if self.mode == "wrong_size":
            return np.zeros((lr.shape[0] * s + 1, lr.shape[1] * s, 3), np.uint8)
        if self.mode == "nan":
            out = imresize(lr, s).astype(np.float64)
            out[0, 0, 0] = np.nan
            return out
        if self.mode == "not_array":
            return [[0, 0, 0]]
        return imresize(lr, s)


def _loader(mode: str):
    def load(scale, device="cpu", weights=None, variant=None, options=None):
        return TestModel(scale, mode)

    load.__name__ = f"load_{mode}"
    return load


load_flaky = _loader("flaky")
load_wrong_size = _loader("wrong_size")
load_nan = _loader("nan")
load_not_array = _loader("not_array")
load_plain = _loader("plain")


def info(name: str, mode: str, **kw) -> MethodInfo:
    """MethodInfo of a weight-free test method (RGB protocol only unless told otherwise)."""
    fields = dict(
        name=name, title=name.title(), paper="test", scales=(2, 3, 4, 8), protocols=("rgb",),
        learned=False, loader=f"sr_test_adapters:load_{mode}", adapter_version="1",
    )
    fields.update(kw)
    return MethodInfo(**fields)
