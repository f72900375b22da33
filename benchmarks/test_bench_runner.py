"""Throughput of the whole runner (bicubic, Set5, x2/x3/x4, PSNR/SSIM) with an empty cache each round."""

from __future__ import annotations

import importlib.util
import itertools

import pytest

_counter = itertools.count()


@pytest.mark.parametrize("protocol", ["rgb", "luma"])
@pytest.mark.benchmark(group="runner-set5")
def test_runner_bicubic_set5(benchmark, set5, tmp_path, monkeypatch, protocol):
    if importlib.util.find_spec("srbench.runner") is None:
        pytest.skip("srbench.runner not present")
    from srbench.runner import RunConfig, run

    def setup():
        i = next(_counter)
        # a fresh cache per round: measure the computation, not cache hits
        monkeypatch.setenv("SRBENCH_HOME", str(tmp_path / f"home{i}"))
        cfg = RunConfig(
            methods=["bicubic"],
            datasets=["set5"],
            scales=[2, 3, 4],
            metrics=["psnr_y", "ssim_y"],
            out=tmp_path / f"run{i}",
            protocol=protocol,
            progress=False,
            offline=True,
        )
        return (cfg,), {}

    out = benchmark.pedantic(run, setup=setup, rounds=3, iterations=1)
    assert (out / "summary.csv").is_file()
