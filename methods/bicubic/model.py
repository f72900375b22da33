"""Bicubic upscaling with MATLAB's imresize rules (no weights, deterministic)."""

from __future__ import annotations

import numpy as np

from srbench.imresize import imresize
from srbench.method_api import SRModel, check_options


class Bicubic(SRModel):
    def __init__(self, scale: int):
        self.scale = scale
        self.provenance = {"implementation": "srbench.imresize (MATLAB-exact)"}

    def upscale(self, lr: np.ndarray) -> np.ndarray:
        return imresize(lr, self.scale)

    def upscale_luma(self, lr_y: np.ndarray) -> np.ndarray:
        return imresize(np.asarray(lr_y, dtype=np.float64), self.scale)


def load(scale: int, device: str = "cpu", weights=None, variant=None, options=None) -> Bicubic:
    from srbench_methods.bicubic import METHODS

    check_options(METHODS[0], options)  # bicubic takes none
    return Bicubic(scale)
