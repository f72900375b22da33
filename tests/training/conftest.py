"""Fixtures of the srbench.training tests (the data helpers are in tests/helpers/training_data.py)."""

from __future__ import annotations

import pytest
from helpers.training_data import declare_cifar, one_thread  # noqa: F401 - a fixture

from srbench import datasets as ds


@pytest.fixture
def synthetic_cifar(tmp_path, monkeypatch, fresh_home):
    """``cifar10_tiny`` declared (file:// download + md5), not yet in the cache."""
    yield declare_cifar(tmp_path, monkeypatch)
    ds.specs.cache_clear()


@pytest.fixture
def cached_cifar(tmp_path, monkeypatch, fresh_home):
    """``cifar10_tiny`` declared and already in the srbench cache (as after a download)."""
    yield declare_cifar(tmp_path, monkeypatch, fresh_home)
    ds.specs.cache_clear()


@pytest.fixture(autouse=True)
def _training_test_environment(one_thread, monkeypatch, fresh_home):  # noqa: F811 - requests the fixture
    """Every srbench.training test: offline, a private cache, one torch thread, fresh dataset specs."""
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    ds.specs.cache_clear()
    yield
    ds.specs.cache_clear()
