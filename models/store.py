"""The user's model store: models imported with ``main.py models import``, outside the repo.

Where: ``$HOMETWIN_MODEL_STORE`` if set, else ``$XDG_DATA_HOME/hometwin/models`` or
``~/.local/share/hometwin/models``. The layout is the zoo's (``models/artifacts``):
``<store>/<model>/<variant>.card.json`` beside its artifact, plus ``source.json`` (what was
imported, from where, how). So every reader of cards — ``find_card``, ``runtime.load``,
``recommend`` — takes a stored model by name once :func:`model_root` has said where it lives.

This module knows paths only (no cards, no torch): ``models.cards`` builds on it.
"""

from __future__ import annotations

import os
from pathlib import Path

STORE_ENV = "HOMETWIN_MODEL_STORE"
ZOO_DIR = Path(__file__).resolve().parent / "artifacts"
SOURCE_FILE = "source.json"


def store_dir() -> Path:
    """The store's folder (it may not exist yet)."""
    if os.environ.get(STORE_ENV):
        return Path(os.environ[STORE_ENV]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "hometwin" / "models"


def _has_cards(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*.card.json"))


def zoo_models(zoo: Path = ZOO_DIR) -> list[str]:
    """Names of the shipped models (a folder of cards under ``models/artifacts``)."""
    return sorted(p.parent.name for p in zoo.glob("*/fp32.card.json"))


def stored_models(store: Path | None = None) -> list[str]:
    """Names of the imported models in the store."""
    folder = store or store_dir()
    return sorted(p.name for p in folder.glob("[!.]*") if _has_cards(p)) if folder.is_dir() else []


def is_stored(model: str) -> bool:
    """True when ``model`` is an imported model (in the store, not in the zoo)."""
    return not _has_cards(ZOO_DIR / model) and _has_cards(store_dir() / model)


def model_root(model: str) -> Path:
    """The folder that holds ``model``'s cards: the zoo's if it ships, else the store's.

    A zoo name always wins (the importer refuses to shadow one), so a shipped scenario means
    the same model on every machine."""
    return store_dir() if is_stored(model) else ZOO_DIR
