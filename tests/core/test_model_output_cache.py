"""The model-output cache, a core service (``simulator.cache``): content-addressed keys, the
folder from ``$HOMETWIN_CACHE``, one subfolder per store, damaged entries recomputed."""

from __future__ import annotations

import numpy as np

from simulator import cache


def test_cache_keys_follow_content_and_the_folder_follows_the_environment(monkeypatch, tmp_path):
    assert cache.digest(1, "a", np.arange(3)) == cache.digest(1, "a", np.arange(3))
    assert cache.digest(1, "a", np.arange(3)) != cache.digest(1, "a", np.arange(4))
    assert cache.digest({"x": 1.0}) != cache.digest({"x": 1})  # types count
    store = cache.Store("smart_home")  # the smart home's folder: warm caches stay valid
    monkeypatch.setenv("HOMETWIN_CACHE", "off")
    assert cache.cache_dir() is None
    store.save("t", "k", {"value": np.ones(2)})
    assert store.load("t", "k") is None
    monkeypatch.setenv("HOMETWIN_CACHE", str(tmp_path))
    calls = []
    first = store.array("t", "k", lambda: calls.append(1) or np.arange(5.0))
    second = store.array("t", "k", lambda: calls.append(1) or np.zeros(5))
    assert calls == [1] and np.array_equal(first, second)
    (tmp_path / "smart_home" / "t" / "k.npz").write_bytes(b"not a zip")  # damaged: recomputed
    assert np.array_equal(store.array("t", "k", lambda: np.zeros(5)), np.zeros(5))


def test_a_store_fingerprints_its_sources(tmp_path):
    source = tmp_path / "make.py"
    source.write_text("x = 1\n")
    before = cache.Store("app", sources=(source,)).code_fingerprint()
    source.write_text("x = 2\n")
    assert cache.Store("app", sources=(source,)).code_fingerprint() != before
