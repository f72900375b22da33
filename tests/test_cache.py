"""The content-addressed caches: raw-array images and batched values."""

from __future__ import annotations

import numpy as np

from srbench.cache import ImageCache, ValueCache


def test_images_round_trip_exactly_and_damage_is_dropped(tmp_path):
    cache = ImageCache(tmp_path, kind="sr")
    rgb = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    grey = rgb[:, :, 0].copy()
    cache.put("ab12", rgb)
    cache.put("cd34", grey)
    assert np.array_equal(cache.get("ab12"), rgb) and np.array_equal(cache.get("cd34"), grey)
    assert cache.path("ab12").suffix == ".npy"
    assert cache.get("ef56") is None
    cache.path("ab12").write_bytes(b"not an array")
    assert cache.get("ab12") is None and not cache.path("ab12").exists()  # recomputed, never trusted
    np.save(cache.path("cd34"), np.zeros((2, 2), np.float32))
    assert cache.get("cd34") is None  # only uint8 images are cache entries


def test_values_in_batches(tmp_path):
    values = ValueCache(tmp_path)
    items = {f"k{i}": float(i) for i in range(1200)} | {"d": {"a": 1.5}, "n": "nan"}
    values.put_many(items)
    got = values.get_many([*items, "missing"])
    assert got == items
    values.put("k1", 9.0)
    assert values.get("k1") == 9.0 and values.get("missing") is None
    values.close()
    assert ValueCache(tmp_path).get_many(["k1199", "d"]) == {"k1199": 1199.0, "d": {"a": 1.5}}
