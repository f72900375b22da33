"""The reduce step: rows from keys and values; set-metric parts merged in unit order."""

from __future__ import annotations

import math

import pytest

from srbench.reduce import SetMerger, unit_rows
from srbench.units import Group, UnitKeys


class _Info:
    def __init__(self, name, version="1"):
        self.name, self.version = name, version


def _group(samples=1, sample_metrics=()):
    return Group(0, "m", 4, "d", "rgb", [_Info("psnr_y")], [_Info(n) for n in sample_metrics], [], samples)


def test_rows_of_one_image_and_of_samples():
    g = _group()
    keys = UnitKeys("hr", "lr", ["s0"], {"psnr_y": ["v0"]}, {})
    assert unit_rows(g, keys, {"v0": 30.5}, 1, {}) == [("psnr_y", 30.5, None)]
    g = _group(samples=2, sample_metrics=("diversity",))
    keys = UnitKeys("hr", "lr", ["s0", "s1"], {"psnr_y": ["v0", "v1"]}, {"diversity": "dv"})
    versions: dict = {}
    rows = unit_rows(g, keys, {"v0": 30.0, "v1": 31.0, "dv": {"diversity": 0.25, "lr_psnr": "nan"}}, 2, versions)
    assert rows[:3] == [("psnr_y", 30.0, 0), ("psnr_y", 31.0, 1), ("psnr_y", 30.5, None)]
    assert rows[3] == ("diversity", 0.25, None) and rows[4][0] == "lr_psnr" and math.isnan(rows[4][1])
    assert versions == {"diversity": "1", "lr_psnr": "1"}


def test_a_deterministic_method_asked_for_samples_has_zero_diversity():
    g = _group(samples=1, sample_metrics=("diversity",))
    keys = UnitKeys("hr", "lr", ["s0"], {"psnr_y": ["v0"]}, {})
    assert unit_rows(g, keys, {"v0": 1.0}, 10, {})[-1] == ("diversity", 0.0, None)


class _Sum:
    def __init__(self):
        self.seen = []

    def merge(self, part):
        self.seen.append(part)


@pytest.mark.parametrize("arrival", [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]])
def test_parts_merge_in_unit_order_whatever_the_arrival(arrival):
    acc = _Sum()
    merger = SetMerger({"fid": acc})
    for pos in arrival:
        merger.add(pos, {"fid": [f"img{pos}"]})
    assert acc.seen == ["img0", "img1", "img2", "img3"]
