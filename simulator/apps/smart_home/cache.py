"""A content-addressed on-disk cache of the smart home's prepared inputs and model outputs.

Building a night's inputs (rendering frames, synthesizing speech, generating IMU windows)
and running the models over them is most of a run's wall time, and neither depends on
simulation state. Both are stored here under a key that hashes everything they are made
from: the inputs themselves as drawn from the seed and the night (times, labels, modes,
words, voices…), the params that shape them, the source of the generators and of the code
that builds the streams (so a change to any of them is a new key), numpy's version, and
for model outputs the card (model, variant, version) with the bytes of its artifact and
the runtime's version. A hit gives bit-identical values to a fresh computation (tested).

Where: ``$HOMETWIN_CACHE`` if set (``off`` turns the cache off), else
``$XDG_CACHE_HOME/hometwin`` or ``~/.cache/hometwin``. Entries are small ``.npz`` files
(a night: well under 1 MB), written atomically, so parallel sweep workers can share them;
delete the folder to clear it.
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

ENV = "HOMETWIN_CACHE"
OFF = ("off", "0", "none", "false")
_PACKAGE = Path(__file__).resolve().parent
_ROOT = _PACKAGE.parents[2]
# The code that makes the cached values: a change to any of these files is a new key.
SOURCES = (
    _PACKAGE / "inputs.py",
    _PACKAGE / "streams.py",
    _PACKAGE / "gating.py",
    _ROOT / "models" / "data" / "images.py",
    _ROOT / "models" / "data" / "audio.py",
    _ROOT / "models" / "data" / "imu.py",
)


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
def code_fingerprint() -> str:
    """Hash of the generators' and stream builders' source and of numpy's version."""
    digest = hashlib.sha256(np.__version__.encode())
    for path in SOURCES:
        digest.update(path.read_bytes())
    return digest.hexdigest()


@cache
def _file_digest(path: Path, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def card_fingerprint(card: Any) -> str:
    """What a model's outputs depend on besides its inputs: the card, its artifact's bytes
    and the runtime's version."""
    from models.cards import ARTIFACTS_DIR  # JSON only: light

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


def path_for(kind: str, key: str) -> Path | None:
    root = cache_dir()
    return None if root is None else root / "smart_home" / kind / f"{key[:40]}.npz"


def load(kind: str, key: str) -> dict[str, np.ndarray] | None:
    """The arrays stored under ``kind``/``key``, or ``None`` (off, missing or unreadable)."""
    path = path_for(kind, key)
    if path is None or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):  # a truncated or foreign file: recompute
        return None


def save(kind: str, key: str, arrays: dict[str, np.ndarray]) -> None:
    """Store ``arrays`` under ``kind``/``key`` (atomically; nothing when the cache is off)."""
    path = path_for(kind, key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)
    except OSError:  # a read-only or full disk: the run goes on without the cache
        return


def array(kind: str, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """The array cached under ``kind``/``key``, else ``compute()``, stored for next time."""
    hit = load(kind, key)
    if hit is not None and "value" in hit:
        return hit["value"]
    value = np.asarray(compute())
    save(kind, key, {"value": value})
    return value
