"""Test-only adapters for the run-folder, option and failure tests (put on ``sys.path`` by the tests).

* ``crash``: raises ``RuntimeError`` on the call number ``STATE["crash_at"]`` (1-based);
* ``float01``: returns bicubic / 255 as float64 - the [0, 1] float output the runner must refuse;
* ``knobs``: declares options (``gain`` changes the output, ``batch`` does not) and records what it got.

Nothing here is shipped with srbench.
"""

from __future__ import annotations

import numpy as np

from srbench.imresize import imresize
from srbench.method_api import MethodInfo, OptionSpec, SRModel

STATE: dict = {"crash_at": None, "calls": 0, "options": []}

KNOB_OPTIONS = (
    OptionSpec("gain", "added to every pixel", "int", 0, minimum=0),
    OptionSpec("batch", "a batch size (cannot change the output)", "int", 4, minimum=1, affects_output=False),
    OptionSpec("mode", "a choice", "choice", "a", choices=("a", "b")),
)


def reset(crash_at=None) -> None:
    STATE.update(crash_at=crash_at, calls=0, options=[])


class _Model(SRModel):
    def __init__(self, scale: int, mode: str, options: dict):
        self.scale, self.mode, self.options = scale, mode, dict(options or {})
        STATE["options"].append(dict(self.options))

    def upscale(self, lr):
        STATE["calls"] += 1
        up = imresize(lr, self.scale)
        if self.mode == "crash" and STATE["crash_at"] == STATE["calls"]:
            raise RuntimeError("CUDA out of memory (simulated)")
        if self.mode == "float01":
            return up.astype(np.float64) / 255.0
        if self.mode == "knobs":
            return np.clip(up.astype(int) + int(self.options.get("gain", 0)), 0, 255).astype(np.uint8)
        return up


def _loader(mode: str):
    def load(scale, device="cpu", weights=None, variant=None, options=None):
        return _Model(scale, mode, options)

    return load


load_crash = _loader("crash")
load_float01 = _loader("float01")
load_knobs = _loader("knobs")


def info(name: str, mode: str, **kw) -> MethodInfo:
    fields = dict(
        name=name, title=name.title(), paper="test", scales=(2, 3, 4, 8), protocols=("rgb",),
        learned=False, loader=f"run_test_adapters:load_{mode}", adapter_version="1",
        options=KNOB_OPTIONS if mode == "knobs" else (),
    )
    fields.update(kw)
    return MethodInfo(**fields)
