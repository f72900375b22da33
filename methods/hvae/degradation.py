"""The LR degradation of the 02456 hierarchical-VAE project: Gaussian blur (sigma 1) + subsampling by 4.

From the project's ``imagesloader.ipynb`` (the cell that writes the training/test sets): each channel
of the [0, 1] float HR image goes through ``scipy.ndimage.gaussian_filter(sigma=1)`` (its defaults:
``mode='reflect'``, ``truncate=4.0``, so a 9-tap kernel), then rows and columns 2, 6, 10, ... are kept
(``np.arange(2, 32, 4)``: the sample nearest to the centre of each 4x4 block). An earlier exploratory
cell used sigma = 0.5; the saved data sets use sigma = 1. The notebook keeps the LR as float; srbench's
uint8 API rounds it half away from zero (the filter runs in float64).
"""

from __future__ import annotations

import numpy as np

from srbench.conventions import quantize
from srbench.degradation_api import INPUT_HR, Degradation
from srbench.method_api import check_options

from . import DEGRADATIONS, SIGMA

NAME = "hvae-gauss"
OFFSET = 2  # first sampled row/column


class HVAEGaussDegradation(Degradation):
    input = INPUT_HR
    stochastic = False

    def __init__(self, scale: int = 4, sigma: float = SIGMA):
        if scale != 4:
            raise ValueError(f"{NAME} is defined for x4 (offset 2, step 4), not x{scale}")
        self.scale = scale
        self.sigma = float(sigma)
        self.provenance = {"sigma": self.sigma, "truncate": 4.0, "mode": "reflect", "offset": OFFSET, "step": scale}

    def __call__(self, img: np.ndarray, seed: int | None = None) -> np.ndarray:
        from scipy.ndimage import gaussian_filter

        img = np.asarray(img)
        if img.dtype != np.uint8:
            raise TypeError(f"{NAME} takes uint8 images, got {img.dtype}")
        grey = img.ndim == 2
        f = img.astype(np.float64)[..., None] if grey else img.astype(np.float64)
        blurred = np.stack(
            [gaussian_filter(f[:, :, c], sigma=self.sigma, mode="reflect", truncate=4.0) for c in range(f.shape[2])], axis=2
        )
        lr = quantize(blurred[OFFSET :: self.scale, OFFSET :: self.scale])
        return lr[:, :, 0] if grey else lr


def load(scale: int = 4, device: str = "cpu", weights=None, variant=None, options=None) -> HVAEGaussDegradation:
    """Options (``DegradationInfo.options``): ``sigma``."""
    opts = check_options(DEGRADATIONS[0], options)
    return HVAEGaussDegradation(scale, sigma=opts["sigma"])
