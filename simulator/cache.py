"""A content-addressed on-disk cache of prepared inputs and model outputs, for any app.

Building an app's inputs (rendering frames, synthesizing speech, generating IMU windows)
and running the models over them is most of a run's wall time, and neither depends on
simulation state. An app stores both in its own :class:`Store` under a key that hashes
everything they are made from: the inputs themselves as drawn from the seed (times, labels,
modes, words, voices…), the params that shape them, the source of the generators and of the
code that builds them (:meth:`Store.code_fingerprint`: a change to any of those files is a
new key), numpy's version, and for model outputs the card (model, variant, version) with the
bytes of its artifact and the runtime's version (:func:`card_fingerprint`). A hit gives
bit-identical values to a fresh computation (tested).

Where: ``$HOMETWIN_CACHE`` if set (``off`` turns the cache off), else
``$XDG_CACHE_HOME/hometwin`` or ``~/.cache/hometwin``; each store in a folder named after it
(``smart_home/verdicts/<key>.npz``). Entries are small ``.npz`` files (a night: well under
1 MB), written atomically, so parallel sweep workers can share them; delete the folder to
clear it.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from models.cards import ARTIFACTS_DIR  # JSON only: light

ENV = "HOMETWIN_CACHE"
OFF = ("off", "0", "none", "false")
ROOT = Path(__file__).resolve().parents[1]


def cache_dir() -> Path | None:
    """The cache folder, or ``None`` when ``$HOMETWIN_CACHE`` turns it off."""
    value = os.environ.get(ENV, "").strip()
    if value.lower() in OFF:
        return None
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hometwin"


@cache
def _file_digest(path: Path, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def card_fingerprint(card: Any) -> str:
    """What a model's outputs depend on besides its inputs: the card, its artifact's bytes
    and the runtime's version."""
    path = ARTIFACTS_DIR / card.model / card.artifact
    stat = path.stat() if path.exists() else None
    artifact = _file_digest(path, stat.st_size, stat.st_mtime_ns) if stat else "missing"
    try:
        runtime = metadata.version("onnxruntime" if card.runtime == "onnxruntime" else "torch")
    except metadata.PackageNotFoundError:
        runtime = "unknown"
    return digest(card.model, card.variant, card.version, card.runtime, artifact, runtime)


def digest(*parts: Any) -> str:
    """A sha256 of ``parts`` (numbers, strings, arrays, and lists, tuples or dicts of them)."""
    h = hashlib.sha256()
    _feed(h, parts)
    return h.hexdigest()


def _feed(h, value: Any) -> None:
    if isinstance(value, np.ndarray):
        h.update(f"array{value.dtype.str}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, dict):
        h.update(b"{")
        for key in sorted(value, key=repr):
            _feed(h, key)
            _feed(h, value[key])
        h.update(b"}")
    elif isinstance(value, list | tuple):
        h.update(b"[")
        for item in value:
            _feed(h, item)
        h.update(b"]")
    elif value is None or isinstance(value, str | int | float | bool | np.generic):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    else:
        raise TypeError(f"cannot hash a {type(value).__name__} for the cache key")


class Store:
    """The cache entries of one app (or service), in the cache folder's ``space``
    subfolder; ``sources`` are the files whose code makes its values (see
    :meth:`code_fingerprint`)."""

    def __init__(self, space: str, sources: tuple[Path, ...] = ()) -> None:
        self.space = space
        self.sources = sources
        self._code: str | None = None

    def code_fingerprint(self) -> str:
        """Hash of the ``sources``' bytes and of numpy's version."""
        if self._code is None:
            h = hashlib.sha256(np.__version__.encode())
            for path in self.sources:
                h.update(path.read_bytes())
            self._code = h.hexdigest()
        return self._code

    def path_for(self, kind: str, key: str) -> Path | None:
        root = cache_dir()
        return None if root is None else root / self.space / kind / f"{key[:40]}.npz"

    def load(self, kind: str, key: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``kind``/``key``, or ``None`` (off, missing or unreadable)."""
        path = self.path_for(kind, key)
        if path is None or not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):  # a truncated or foreign file: recompute
            return None

    def save(self, kind: str, key: str, arrays: dict[str, np.ndarray]) -> None:
        """Store ``arrays`` under ``kind``/``key`` (atomically; nothing when the cache is off)."""
        path = self.path_for(kind, key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
            np.savez(tmp, **arrays)
            tmp.replace(path)
        except OSError:  # a read-only or full disk: the run goes on without the cache
            return

    def array(self, kind: str, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The array cached under ``kind``/``key``, else ``compute()``, stored for next time."""
        hit = self.load(kind, key)
        if hit is not None and "value" in hit:
            return hit["value"]
        value = np.asarray(compute())
        self.save(kind, key, {"value": value})
        return value
