"""Evaluation protocols: how the LR input is made and what the method and the metrics see.

``rgb`` (default; what every learned method goes through)
    LR = MATLAB bicubic 1/s of the modcropped uint8 HR (``srbench.imresize``), uint8 RGB; the method
    returns RGB; the SR is quantised to uint8 and scored on BT.601 Y (not rounded). Single-channel HR
    images (Set14 ``bridge``): the LR is single-channel, the method gets it replicated to RGB, and its
    output is brought back to grey (full-range BT.601 luma, identity on grey) for scoring.

``luma`` (the SRCNN/VDSR pipeline that produced the Set5/Set14/B100 rows of the classic bicubic table)
    Y = MATLAB ``rgb2ycbcr`` of the uint8 HR, rounded; modcrop; /255; bicubic down by 1/s and the method
    up by s in floating point, no rounding between; SR = round(clip(255 * result)); scored on Y. Only
    methods that implement ``upscale_luma`` (bicubic) support it. The two protocols differ by up to
    ~0.015 dB PSNR (Set5 x2: 33.6621 luma vs 33.6741 rgb) and are never mixed in one column: the
    protocol is part of every result row.

``given`` (datasets that bring their own LR: challenge tracks, real LR images)
    The method gets exactly the dataset's LR file (uint8 RGB; grey replicated), nothing is re-sampled.
    Otherwise as ``rgb``: SR quantised to uint8, scored on BT.601 Y against the dataset's HR, which must
    be ``scale`` times the LR (an HR up to ``scale - 1`` pixels larger is cropped top-left, i.e.
    modcropped; anything else is an error naming the image). LR-only sets have no HR: only
    no-reference metrics run. Selected automatically for every dataset that gives LR at the run's scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srbench.conventions import (
    grey_to_rgb,
    modcrop,
    quantize,
    rgb_to_grey,
    to_luma_uint8,
)
from srbench.imresize import imresize

PROTOCOLS = ("rgb", "luma")  # what --protocol chooses; "given" follows from the dataset
GIVEN = "given"


def base(protocol: str) -> str:
    """The protocol whose images a result row's metrics see: ``given`` and ``rgb:<degradation>`` are ``rgb``."""
    return "rgb" if protocol == GIVEN else protocol.partition(":")[0]


@dataclass
class Prepared:
    hr: np.ndarray | None  # what metrics compare against (uint8; HxWx3, or HxW for grey / luma); None: LR-only
    lr: np.ndarray  # the LR as produced (uint8 for rgb, float64 in [0, 1] for luma)
    method_input: np.ndarray  # what the method is given


def prepare(hr: np.ndarray, scale: int, protocol: str, degradation=None, seed: int = 0,
            lr: np.ndarray | None = None) -> Prepared:
    """HR -> (scored HR, LR, method input). ``degradation`` (a loaded :class:`Degradation`) replaces
    MATLAB bicubic in the rgb protocol; stochastic degradations draw the LR with ``seed``. A cached
    ``lr`` (rgb protocol) is used as it is."""
    hr = modcrop(hr, scale)
    if protocol == "rgb":
        if lr is not None:
            pass
        elif degradation is not None:
            lr = np.asarray(degradation.from_hr(grey_to_rgb(hr), seed=seed))
            expect = (hr.shape[0] // scale, hr.shape[1] // scale)
            if lr.shape[:2] != expect or lr.dtype != np.uint8:
                raise ValueError(f"degradation returned {lr.shape} {lr.dtype}, expected {expect} uint8")
            if hr.ndim == 2:
                lr = rgb_to_grey(lr)
        else:
            lr = imresize(hr, 1.0 / scale)
        return Prepared(hr, lr, grey_to_rgb(lr))
    if protocol == "luma":
        y = to_luma_uint8(hr)
        lr = imresize(y.astype(np.float64) / 255.0, 1.0 / scale)
        return Prepared(y, lr, lr)
    raise ValueError(f"unknown protocol {protocol!r}; choose from {PROTOCOLS}")


def prepare_given(hr: np.ndarray | None, lr: np.ndarray, scale: int, image: str = "") -> Prepared:
    """A dataset's own LR (and HR, None for LR-only sets) -> (scored HR, LR, method input); see ``given``."""
    from srbench.errors import DatasetError

    lr = np.asarray(lr)
    if hr is not None:
        want = (lr.shape[0] * scale, lr.shape[1] * scale)
        h, w = hr.shape[:2]
        if not (want[0] <= h < want[0] + scale and want[1] <= w < want[1] + scale):
            raise DatasetError(
                f"image {image!r}: the given x{scale} LR is {lr.shape[1]}x{lr.shape[0]}, so the HR should be "
                f"{want[1]}x{want[0]} (or up to {scale - 1} px larger), but it is {w}x{h}"
            )
        hr = hr[: want[0], : want[1]]
        if (hr.ndim == 2) != (lr.ndim == 2):
            raise DatasetError(f"image {image!r}: HR and given LR differ in channels ({hr.shape} vs {lr.shape})")
    return Prepared(hr, lr, grey_to_rgb(lr))


def to_scored(sr: np.ndarray, prepared: Prepared, protocol: str) -> np.ndarray:
    """Method output -> the uint8 image the metrics score (same layout as ``prepared.hr``)."""
    if protocol == "luma":
        return quantize(255.0 * np.asarray(sr, dtype=np.float64))
    sr = np.asarray(sr)
    if sr.dtype != np.uint8:
        sr = quantize(sr)
    grey = (prepared.hr if prepared.hr is not None else prepared.lr).ndim == 2
    if grey and sr.ndim == 3:
        sr = rgb_to_grey(sr)
    return sr
