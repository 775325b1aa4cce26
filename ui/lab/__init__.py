"""The model lab window (``python main.py lab``, or Models ▸ Model lab in the main window).

Pick a model and a recipe, set its knobs, run it in a background process (progress, cancel),
then compare before → after: the cards, per-class accuracy, confusion matrices, per-layer
precision and sparsity, the sensitivity plot and the cost on every device profile; make the
variant table for every device; rank everything on the leaderboard.

This package's ``__init__`` and :mod:`ui.lab.recipe_process` import no Qt: the recipe process
imports them (spawned, so it loads only what it needs).
"""

from __future__ import annotations

from pathlib import Path

from models.cards import ARTIFACTS_DIR


def lab_models(root: Path = ARTIFACTS_DIR) -> list[str]:
    """The models the lab offers: every model with trained FP32 weights and card under ``root``
    (the zoo's today). The one list the window reads: a user model store adds its names here."""
    root = Path(root)
    return sorted(p.parent.name for p in root.glob("*/fp32.card.json") if (p.parent / "fp32.pt").exists())
