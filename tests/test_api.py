"""The Python API: srbench.evaluate / srbench.load (docs/api.md)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import srbench
from srbench.errors import SrbenchError

DEMO = dict(datasets="demo", scale=4, metrics="psnr_y,ssim_y")


def _nearest(lr: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(lr, 4, axis=0), 4, axis=1)


def test_evaluate_summary_equals_the_runs_summary_csv(tmp_path):
    res = srbench.evaluate(methods="bicubic", out=tmp_path / "r", **DEMO)
    assert res.path == tmp_path / "r"
    csv = pd.read_csv(res.path / "summary.csv")
    got = res.summary
    assert list(got["metric"]) == list(csv["metric"])
    assert list(got["value"]) == list(csv["value"])  # exactly: summary.csv holds repr() of the floats
    assert list(got["n_images"]) == list(csv["n_images"]) == [4, 4]


def test_load_of_two_runs_concatenates(tmp_path):
    a = srbench.evaluate(methods="bicubic", out=tmp_path / "a", **DEMO)
    b = srbench.evaluate(model=_nearest, name="nearest", out=tmp_path / "b", **DEMO)
    both = srbench.load(a.path, b.path)
    assert set(both.summary["method"]) == {"bicubic", "nearest"}
    assert len(both.summary) == len(a.summary) + len(b.summary)
    assert len(both.per_image) == len(a.per_image) + len(b.per_image)
    pivot = both.summary.pivot_table(index="method", columns="metric", values="value")
    assert pivot.loc["bicubic", "psnr_y"] > pivot.loc["nearest", "psnr_y"]


def test_a_callable_without_version_is_not_cached_and_one_with_version_is(tmp_path):
    calls = []

    def counted(lr):
        calls.append(1)
        return _nearest(lr)

    first = srbench.evaluate(model=counted, name="net", out=tmp_path / "a", **DEMO)
    srbench.evaluate(model=counted, name="net", out=tmp_path / "b", **DEMO)
    assert len(calls) == 8  # no identity: every image computed again
    assert first.sources[0].manifest["methods"]["net"]["source"]["identity"] == "none (not cached)"
    calls.clear()
    v1 = srbench.evaluate(model=counted, name="net", version="v1", out=tmp_path / "c", **DEMO)
    again = srbench.evaluate(model=counted, name="net", version="v1", out=tmp_path / "d", **DEMO)
    assert len(calls) == 4  # the second call found every SR image in the cache
    assert list(v1.summary["value"]) == list(again.summary["value"]) == list(first.summary["value"])


def test_an_nn_module_is_evaluated_with_its_state_dict_as_identity(tmp_path):
    torch = pytest.importorskip("torch")

    class Nearest(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gain = torch.nn.Parameter(torch.ones(1))

        def forward(self, x):
            return torch.nn.functional.interpolate(x * self.gain, scale_factor=4, mode="nearest")

    net = Nearest()
    res = srbench.evaluate(model=net, name="tnet", out=tmp_path / "m", **DEMO)
    by_call = srbench.evaluate(model=_nearest, name="nearest", out=tmp_path / "c", **DEMO)
    assert list(res.summary["value"]) == list(by_call.summary["value"])  # nearest upsampling is exact either way
    sha = set(res.summary["weights_sha256"])
    assert len(sha) == 1 and len(sha.pop()) == 64
    with torch.no_grad():
        net.gain.fill_(0.5)
    darker = srbench.evaluate(model=net, name="tnet", out=tmp_path / "m2", **DEMO)
    assert set(darker.summary["weights_sha256"]) != set(res.summary["weights_sha256"])
    assert darker.summary["value"].iloc[0] < res.summary["value"].iloc[0]


def test_a_model_with_a_registered_name_is_refused(tmp_path):
    with pytest.raises(SrbenchError, match="registered method"):
        srbench.evaluate(model=_nearest, name="bicubic", out=tmp_path / "x", **DEMO)


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(SrbenchError, match="unknown option"):
        srbench.evaluate(methods="bicubic", out=tmp_path / "x", colour="blue", **DEMO)
    with pytest.raises(SrbenchError, match="needs name="):
        srbench.evaluate(model=_nearest, out=tmp_path / "x", **DEMO)
    with pytest.raises(SrbenchError, match="nothing to evaluate"):
        srbench.evaluate(out=tmp_path / "x", **DEMO)
    with pytest.raises(SrbenchError, match="datasets="):
        srbench.evaluate(methods="bicubic", out=tmp_path / "x")
    with pytest.raises(SrbenchError, match="not both"):
        srbench.evaluate(methods="bicubic", datasets="demo", scale=4, scales=[4], out=tmp_path / "x")


def test_a_wrong_size_output_of_a_model_is_refused(tmp_path):
    with pytest.raises(SrbenchError, match="shape"):
        srbench.evaluate(model=lambda lr: lr, name="identity", out=tmp_path / "x", **DEMO)


def test_import_srbench_stays_light():
    code = "import sys, srbench; print(sorted(m for m in ('pandas', 'torch', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
